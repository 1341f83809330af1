-- Learned levels apart from rounding: qact.act_errors measures a layer
-- with learnable levels twice — as it stands, and with the format's own
-- levels — and names the level that moved furthest; the report prints
-- both. Checked against an independent computation from the layer's
-- captured inputs and the format's rounding.
local t = require "lpact.tap"
local qact = lpact.qact

-- relu in FP4 with learnable levels; the level of code 0 (+0) moved to -0.25
local spec = qact { "relu", fmt = "fp4", levels = "learnable" }
local model = lpact.models.mlp { 4, 8, 2, act = spec, seed = 3 }
local layer = qact.layers(model)[1]
layer._lv.data:set(1, -0.25)
local x = lpact.randn({ 32, 4 }, 7)

-- the layer's inputs on that pass, captured here
local seen
layer:on_input(function(_, xin) if not seen then seen = xin:clone() end end)
model:eval()
lpact.autograd.no_grad(function() return model:forward(x) end)
model:train()
layer:on_input(nil)

local errs = qact.act_errors(model, x)
local e = errs[1]
t.ok(e and e.own and e.drift, "a learnable layer gets own and drift")

-- By hand: own output Q(relu(Q(v))) in FP4, where relu of a negative is
-- -0 (code 8) and of +0 is +0 (code 0); the learned output differs only
-- where that output is +0, where it is -0.25.
local fp4 = lpact.format "fp4"
local own2, learned2, n = 0, 0, 0
for _, v in ipairs(seen:reshape { seen:numel() }:totable()) do
  local f = math.max(v, 0)
  local r = fp4:round(v)
  local q = fp4:round(r > 0 and r or (r < 0 and -0.0 or r))
  local learned = (q == 0 and 1 / q > 0) and -0.25 or q
  own2, learned2, n = own2 + (q - f) ^ 2, learned2 + (learned - f) ^ 2, n + 1
end
local own_rms, learned_rms = math.sqrt(own2 / n), math.sqrt(learned2 / n)
t.ok(math.abs(e.own.rms - own_rms) < 1e-6, string.format("own: the format's levels, RMS %.6f (by hand %.6f)", e.own.rms, own_rms))
t.ok(math.abs(e.rms - learned_rms) < 1e-6, string.format("as it stands: the learned levels, RMS %.6f (by hand %.6f)", e.rms, learned_rms))
t.ok(e.rms > e.own.rms, "the drift of +0 to -0.25 is error the format's levels do not have")
t.ok(e.drift.code == 0 and e.drift.level == 0 and e.drift.learned == -0.25 and e.drift.by == -0.25,
  "drift: code 0, the format's 0 learned as -0.25")
t.is(layer:levels()[1], -0.25, "the learned levels are put back")
t.is(layer._lv.data:numel(), 16, "and keep their size")

-- a fixed-level layer has neither
local fixed = lpact.models.mlp { 4, 8, 2, act = qact { "relu", fmt = "fp4" }, seed = 3 }
local ef = qact.act_errors(fixed, x)[1]
t.ok(ef and ef.own == nil and ef.drift == nil, "fixed levels: no own, no drift")

-- The report's table: own, learned, and the level that moved
local function rec(fmt, acc, act_errors)
  return { schema = "lpact-result/1", model = "mlp", dataset = "d", activation = "relu", format = fmt,
    modes = { levels = "learnable" }, seed = 1, epochs = 1, test_acc = acc, act_errors = act_errors }
end
local md = lpact.results.markdown {
  rec("fp32", 0.9),
  rec("fp4", 0.8, { { layer = 2, rms = 0.125, own = { rms = 0.0625 }, drift = { code = 0, level = 0.0, learned = -0.25, by = -0.25 } },
    { layer = 4, rms = 0.375, own = { rms = 0.1875 }, drift = { code = 3, level = 1.5, learned = 1.625, by = 0.125 } } }),
}
-- means over the two layers: own (0.0625 + 0.1875) / 2 = 0.125, learned
-- (0.125 + 0.375) / 2 = 0.25; the larger drift is +0 -> -0.25
t.like(md, "\n| relu | own 0%.125, learned 0%.25, %+0 → %-0%.25 |\n", "report: own 0.125, learned 0.25, +0 → -0.25")
t.like(md, "Learned levels apart from rounding", "under its heading")
t.ok(not lpact.results.markdown { rec("fp4", 0.8, { { layer = 2, rms = 0.1 } }) }:find("apart from rounding", 1, true),
  "records without own errors: no such table")

t.done()
