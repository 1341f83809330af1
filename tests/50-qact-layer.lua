-- Quantized activation layers: forward values worked out by hand, the
-- three modes against each other, learnable-level gradients (hand sums and
-- finite differences through autograd), every STE rule, sorted levels,
-- freezing, formats changed by a schedule.
local t = require "lpact.tap"
local qact = lpact.qact
local ag = lpact.autograd

local function vals(v) return (v.data or v):totable() end

-- relu in FP4 (E2M1: 0 .5 1 1.5 2 3 4 6), emulate, fixed levels
local l = qact.layer { "relu", fmt = "fp4" }
local x = lpact.tensor { -1, 0.3, 0.9, 2.6, 7, 0.25, 0.75, 5 }
t.same(vals(l:forward(x)), { 0, 0.5, 1, 3, 6, 0, 1, 4 },
  "relu fp4: -1 .3 .9 2.6 7 .25 .75 5 -> 0 .5 1 3 6 0 1 4 (ties to even)")
t.like(l:describe(), "qact relu fp4 emulate levels=fixed ste=fprime", "describe")

-- tanh in FP4: tanh(Q(1.2) = 1) = .7616 -> 1; tanh(Q(.4) = .5) = .4621 -> .5;
-- tanh(Q(-3.3) = -3) = -.995 -> -1; tanh(Q(.2) = 0) = 0
local th = qact.layer { "tanh", fmt = "fp4" }
t.same(vals(th:forward(lpact.tensor { 1.2, 0.4, -3.3, 0.2 })), { 1, 0.5, -1, 0 }, "tanh fp4 by hand")

-- separate input and output formats: fp8 in (e4m3), fp2 out ({0, 2}):
-- sigmoid(2) = .88 -> 0 (below 1); relu(1.2) = 1.25 in fp8 -> 2 in fp2
local s2 = qact.layer { "relu", in_fmt = "fp8", out_fmt = "fp2" }
t.same(vals(s2:forward(lpact.tensor { 1.2, 0.9, 3.5 })), { 2, 0, 2 }, "relu fp8 -> fp2")

-- sigmoid and tanh collapse in FP2 without scaling: every output rounds to 0
local sg = qact.layer { "sigmoid", fmt = "fp2" }
local xs = {}
for i = 1, 41 do xs[i] = (i - 21) * 0.5 end
local ys = vals(sg:forward(lpact.tensor(xs)))
local allzero = true
for _, v in ipairs(ys) do if v ~= 0 then allzero = false end end
t.ok(allzero, "sigmoid fp2: all outputs are 0 (values < 1 round to 0, 1 ties to 0)")
-- an output scale rescues it: s_o = max|f| / 2, outputs {0, 2 s_o}
local sgs = qact.layer { "sigmoid", fmt = "fp2", scale = { fixed = 1, out = 0.5 } }
t.same(vals(sgs:forward(lpact.tensor { -2, -0.1, 0.1, 2 })), { 0, 0, 0, 1 },
  "sigmoid fp2 with s_o = 1/2: sigmoid(Q(x)) > 1/2 -> 1 (a step)")
-- (inputs +-0.1 round to +-0 in fp2: sigmoid(0) = .5 -> .5/.5 = 1 ties to 0)

-- lut mode starts as emulate; its table is T[code] = Q(f(value))
local le = qact.layer { "gelu", fmt = "fp6" }
local ll = qact.layer { "gelu", fmt = "fp6", mode = "lut" }
local xr = lpact.randn({ 1000 }, 3) * 3
t.same(vals(ll:forward(xr)), vals(le:forward(xr)), "lut equals emulate before training (fp6 gelu, 1000 inputs)")
local tab = ll:levels()
local info = ll.info
local okt = true
for c = 1, info.in_codes do
  local v = info.in_values[c]
  if v == v then
    local want = ll.core:round(lpact.kernels.act_value("gelu", v), "out")
    if tab[c] ~= want then okt = false end
  end
end
t.ok(okt, "every lut entry is Q_out(gelu(value)) (64 codes)")

-- ops mode: every operation rounded; sigmoid(1) in fp4 = R(1/R(1+R(e^-1))) = .5
local lo = qact.layer { "sigmoid", fmt = "fp4", mode = "ops" }
t.same(vals(lo:forward(lpact.tensor { 1, -2, 0 })), { 0.5, 0, 0.5 }, "ops sigmoid fp4 by hand")
t.is(lpact.qcore.ops("sigmoid", 1, "fp4"), 0.5, "qcore.ops")

-- learnable levels (lut): gradient of T[k] = sum of upstream grads at k
local L = qact.layer { "relu", fmt = "fp4", mode = "lut", levels = "learnable" }
local xv = ag.param(lpact.tensor { 0.9, 1.9, 1.1, -0.5, 5.5, 1.4, 0.2 })
local w = lpact.tensor { 0.5, 1, 0.25, -1, 2, 0.125, 4 }
local loss = ag.sum(ag.mul(L:forward(xv), w))
loss:backward()
local g = L._lv.grad:totable()
-- codes: .9->2 (1), 1.9->4 (2), 1.1->2, -.5->9 (-0.5), 5.5->7 (6), 1.4->3 (1.5), .2->0
local want = {}
for k = 1, 16 do want[k] = 0 end
want[3], want[5], want[10], want[8], want[4], want[1] = 0.75, 1, -1, 2, 0.125, 4
t.same(g, want, "level gradient: hand-computed sums per code")
t.same(vals(xv.grad), { 0.5, 1, 0.25, 0, 2, 0.125, 4 }, "input gradient: STE relu'(x) * g")
-- finite differences of the loss in each level (the assignment is stable)
local fd_ok = true
for k = 1, 16 do
  local T = L._lv.data
  local old = T:get(k)
  local function lossat(v)
    T:set(k, v)
    return ag.no_grad(function() return ag.sum(ag.mul(L:forward(xv.data), w)).data:item() end)
  end
  local fd = (lossat(old + 0.125) - lossat(old - 0.125)) / 0.25
  T:set(k, old)
  if math.abs(fd - want[k]) > 1e-5 then fd_ok = false; t.diag("level " .. k .. ": fd " .. fd .. " grad " .. want[k]) end
end
t.ok(fd_ok, "level gradient matches central finite differences for all 16 levels")

-- learnable output levels in emulate mode with an output scale: dL = s_o * sum g
local E = qact.layer { "relu", fmt = "fp4", levels = "learnable", scale = { fixed = 1, out = 0.5 } }
local ye = E:forward(ag.param(lpact.tensor { 0.9, 1.1, 3 }))
-- relu(1)/.5 = 2 -> code 4; relu(3)/.5 = 6 -> code 7
t.same(vals(ye), { 1, 1, 3 }, "emulate with s_o = 1/2: y = s_o Q(f/s_o)")
ag.sum(ye):backward()
local ge = E._lv.grad:totable()
t.ok(ge[5] == 1 and ge[8] == 0.5 and ge[1] == 0, "emulate level gradient = s_o * sum of grads per output code")

-- a Lua function with learnable output levels: x^2 in fp4
local LF = qact.layer { function(v) return v * v end, fmt = "fp4", levels = "learnable" }
local xf = ag.param(lpact.tensor { 1.2, -1.6 })
local yf = LF:forward(xf)
-- 1.2 -> 1 -> 1 (code 2); -1.6 -> -1.5 -> 2.25 -> 2 (code 4)
t.same(vals(yf), { 1, 2 }, "Lua function x^2 in fp4")
ag.sum(ag.mul(yf, lpact.tensor { 3, 5 })):backward()
local gf = LF._lv.grad:totable()
t.ok(gf[3] == 3 and gf[5] == 5, "its level gradient lands on the output codes 2 and 4")
-- staircase STE: slope (2 - 1)/(1.5 - 1) = 2 at 1.2, (2 - 4)/(-1.5 + 2) = -4 at -1.6
t.same(vals(xf.grad), { 6, -20 }, "Lua functions use the staircase STE: the table's slopes times g")

-- STE rules
local function grad_of(cfg, inputs)
  local layer = qact.layer(cfg)
  local v = ag.param(lpact.tensor(inputs))
  ag.sum(layer:forward(v)):backward()
  return vals(v.grad)
end
t.same(grad_of({ "tanh", fmt = "fp4", ste = "identity" }, { -7, 0.3, 9 }), { 1, 1, 1 }, "ste identity: 1")
local gt = grad_of({ "tanh", fmt = "fp4" }, { 0.5 })
t.near(gt[1], 1 - math.tanh(0.5) ^ 2, 1e-7, "ste fprime: tanh'(x) at the unquantized x")
t.same(grad_of({ "relu", fmt = "fp4", ste = "clipped" }, { -1, 2, 6, 6.5 }), { 0, 1, 1, 0 },
  "ste clipped: relu' inside [-6, 6], 0 outside")
-- staircase: relu fp4 table points (0,0) (.5,.5) ... (4,4) (6,6): slope 1 for x > 0, 0 below -0.5.
-- tanh fp4: points (1, Q(tanh 1) = 1), (1.5, Q(.905) = 1), (2, Q(.964) = 1): slope 0 there;
-- between .5 (tanh .5 = .46 -> .5) and 1 (-> 1): slope 1
t.same(grad_of({ "tanh", fmt = "fp4", ste = "staircase" }, { 0.7, 1.2, 7 }), { 1, 0, 0 },
  "ste staircase: slopes of the table's interpolation, 0 outside")

-- sorted learnable levels stay in the order of their initial values
local S = qact.layer { "relu", fmt = "fp4", mode = "lut", levels = "learnable", sorted = true }
S._lv.data:set(8, -5)   -- code 7 (relu(6) = 6) pushed below everything
S:forward(lpact.tensor { 1 })
local sv = S:levels()
local inc = true
for i = 2, #S.order do if sv[S.order[i]] < sv[S.order[i - 1]] then inc = false end end
t.ok(inc, "sorted: levels projected back to non-decreasing order")

-- freeze / unfreeze / reset
local F = qact.layer { "relu", fmt = "fp4", levels = "learnable" }
F:freeze()
local fv = ag.param(lpact.tensor { 1, 2 })
ag.sum(F:forward(fv)):backward()
t.ok(F._lv.grad == nil or F._lv.grad:abs():sum():item() == 0, "frozen levels get no gradient")
F:unfreeze()
F._lv.data:set(3, 1.25)
F:reset_levels()
t.is(F:levels()[3], 1, "reset_levels restores the format's values")
t.like(F:show_levels(), "original", "show_levels prints the original values")

-- precision schedule: fp8 for epoch 1, fp4 from epoch 2
local sched = qact.schedule { { 1, "fp8" }, { 2, "fp4" } }
t.is(sched:at(1), "fp8", "schedule at 1")
t.is(sched:at(5), "fp4", "schedule at 5")
local m = lpact.models.mlp { 4, 3, 2, act = qact { "relu", fmt = "fp2", levels = "learnable" } }
local hook = qact.scheduler(m, { precision = sched, levels = qact.schedule { { 1, "unfreeze" }, { 3, "freeze" } } })
local q1 = qact.layers(m)[1]
t.is(q1.in_spec, "fp8", "scheduler applies epoch 1's format at once")
t.is(#q1:levels(), 256, "levels follow the format (256 codes)")
hook { epoch = 1 }
t.is(q1.in_spec, "fp4", "after epoch 1: fp4")
t.is(#q1:levels(), 16, "16 levels")
hook { epoch = 2 }
t.ok(q1.frozen, "level schedule froze the levels at epoch 3")

-- stochastic rounding: unbiased on average, repeatable
local SR = qact.layer { "identity", fmt = "fp4", sr = true, sr_seed = 7 }
local n = 20000
local xsr = lpact.full({ n }, 1.2)
local mean = SR:forward(xsr).data:mean()
if type(mean) ~= "number" then mean = mean:item() end
t.near(mean, 1.2, 0.01, "sr: the mean of 20000 roundings of 1.2 (between 1 and 1.5) is 1.2")
local SR2 = qact.layer { "identity", fmt = "fp4", sr = true, sr_seed = 7 }
t.same(vals(SR2:forward(lpact.full({ 8 }, 1.2))), vals(qact.layer { "identity", fmt = "fp4", sr = true, sr_seed = 7 }:forward(lpact.full({ 8 }, 1.2))),
  "sr: same seed, same roundings")

t.done()
