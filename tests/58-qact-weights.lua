-- qact.weights: the weights of Linear and Conv2d layers rounded to a
-- format in the forward pass (fake quantization), against values worked
-- out by hand: per-tensor and per-channel amax scales, the straight-through
-- gradient, a convolution, removal, a training run, an experiment record,
-- and the refusals.
local t = require "lpact.tap"
local ag = require "lpact.autograd"
local nn, qact = lpact.nn, lpact.qact

local function close(a, b, tol) return math.abs(a - b) <= (tol or 1e-6) * math.max(1, math.abs(b)) end
local function all_close(got, want, tol)
  for i = 1, #want do if not close(got[i], want[i], tol) then return false end end
  return #got == #want
end
local function flat(tt)
  local out = {}
  for _, row in ipairs(tt) do
    if type(row) == "table" then for _, v in ipairs(row) do out[#out + 1] = v end else out[#out + 1] = row end
  end
  return out
end

-- W = [[0.3, -1.2], [2.5, 6.1]], FP4 (E2M1: 0, 0.5, 1, 1.5, 2, 3, 4, 6).
-- Per tensor: s = 6.1 / 6; W / s = 0.295, -1.180, 2.459, 6 -> 0.5, -1, 2, 6
-- (0.295 > 0.25 goes up to 0.5; 1.18 < 1.25 down to 1; 2.459 < 2.5 down to 2).
-- Per channel: row 1 s = 1.2 / 6 = 0.2: 1.5, -6 exactly -> 0.3, -1.2 again;
-- row 2 as per tensor.
local lin = nn.Linear(2, 2, { seed = 1 })
lin.weight.data:copy(lpact.tensor { { 0.3, -1.2 }, { 2.5, 6.1 } })
lin.bias.data:copy(lpact.tensor { 0.5, -0.5 })
local m = nn.Sequential { lin }
local n, label = qact.weights(m, "fp4")
t.ok(n == 1 and label == "fp4:amax", "one layer, label fp4:amax", tostring(n) .. " " .. tostring(label))
t.like(tostring(m), "Linear%(2 %-> 2, weights fp4:amax%)", "the model listing shows the weight format")
local s = 6.1 / 6
local eye = lpact.tensor { { 1, 0 }, { 0, 1 } }
-- y = x W^T + b: with x = I, row i of y is column i of W^T + b = (W[1][i], W[2][i]) + b
local y = m:forward(eye).data:totable()
t.ok(all_close(flat(y), { 0.5 * s + 0.5, 2 * s - 0.5, -1 * s + 0.5, 6 * s - 0.5 }),
  "per tensor: x Q(W)^T + b with Q(W) = s * {0.5, -1, 2, 6}", table.concat(flat(y), " "))
t.ok(all_close(flat(lin.weight.data:totable()), { 0.3, -1.2, 2.5, 6.1 }, 1e-7), "the float32 weights themselves are kept")

qact.weights(m, { fmt = "fp4", scale = "channel" })
y = m:forward(eye).data:totable()
t.ok(all_close(flat(y), { 0.3 + 0.5, 2 * s - 0.5, -1.2 + 0.5, 6 * s - 0.5 }),
  "per channel: row 1 exact (0.3, -1.2), row 2 as per tensor", table.concat(flat(y), " "))

qact.weights(m, { fmt = "fp4", scale = "none" })
y = m:forward(eye).data:totable()
t.ok(all_close(flat(y), { 0.5 + 0.5, 2 - 0.5, -1 + 0.5, 6 - 0.5 }),
  "scale none: 0.3 -> 0.5, 2.5 -> 2 (tie to even), -1.2 -> -1, 6.1 -> 6", table.concat(flat(y), " "))

-- the gradient passes straight through: dW = g^T x as without rounding,
-- and dx = g Q(W) (the rounded weights are the ones used)
qact.weights(m, "fp4")
local x = ag.var(lpact.tensor { { 1, 2 } }, true)
lin.weight.grad = nil
local out = m:forward(x)
out:backward(lpact.tensor { { 1, -1 } })
t.ok(all_close(flat(lin.weight.grad:totable()), { 1, 2, -1, -2 }), "dW = g^T x (straight through)",
  table.concat(flat(lin.weight.grad:totable()), " "))
t.ok(all_close(flat(x.grad:totable()), { (0.5 - 2) * s, (-1 - 6) * s }), "dx = g Q(W)",
  table.concat(flat(x.grad:totable()), " "))

qact.weights(m, "fp32")
y = m:forward(eye).data:totable()
t.ok(all_close(flat(y), { 0.8, 2.0, -0.7, 5.6 }) and not tostring(m):match("weights"), "fmt fp32 removes the rounding")

-- a convolution: one 1x1 filter per output channel, per-channel scales
local conv = nn.Conv2d(1, 2, 1, { seed = 1 })
conv.weight.data:copy(lpact.tensor { 0.3, 7 }:reshape { 2, 1, 1, 1 })
conv.bias.data:zero()
local cm = nn.Sequential { conv }
qact.weights(cm, { fmt = "fp4", scale = "channel" })
local cy = cm:forward(lpact.ones { 1, 1, 1, 1 }).data:totable()
t.ok(close(cy[1][1][1][1], 0.3) and close(cy[1][2][1][1], 7), "conv, per channel: each filter's amax is exact",
  cy[1][1][1][1] .. " " .. cy[1][2][1][1])
qact.weights(cm, { fmt = "fp4", scale = "amax" })
cy = cm:forward(lpact.ones { 1, 1, 1, 1 }).data:totable()
t.ok(close(cy[1][1][1][1], 0.5 * 7 / 6) and close(cy[1][2][1][1], 7), "conv, per tensor: 0.3 / (7/6) = 0.257 -> 0.5",
  cy[1][1][1][1] .. " " .. cy[1][2][1][1])

-- a model trains with FP8 weights and FP4 activations
local data = lpact.data.blobs { n = 600, seed = 3 }
local mm = lpact.models.mlp { 2, 16, 3, act = qact { "relu", fmt = "fp4" } }
t.is(qact.weights(mm, "fp8"), 2, "both Linear layers of the MLP")
local h = lpact.train.fit { model = mm, data = data, epochs = 3, batch = 32, lr = 1e-2, verbose = false, progress = false }
t.ok(h.epochs[3].train_loss < h.epochs[1].train_loss, "it trains (loss falls)", h.epochs[3].train_loss)

-- qact.experiment records the weight format among the modes
local r = qact.experiment { act = "relu", fmt = "fp4", model = function(act) return lpact.models.mlp { 2, 8, 3, act = act } end,
  data = data, epochs = 1, weights = { fmt = "fp8", scale = "channel" } }
t.is(r.cfg.modes.weights, "fp8:channel", "experiment: modes.weights")
t.like(lpact.results.record(r.cfg, r.history).id, "fp8%-channel", "and the record's id tells it apart")

-- refusals
for _, case in ipairs {
  { { fmt = "fp9" }, "qact.weights: option 'fmt': fp9: unknown format" },
  { { fmt = "fp8", scale = "row" }, "qact.weights: option 'scale': expected amax, channel or none, got row" },
  { { fmt = 8 }, "qact.weights: option 'fmt': a format spec expected, got number" },
  { { fmt = "fp8", scal = "amax" }, "did you mean 'scale'" },
} do
  t.raises(function() return qact.weights(lpact.models.mlp { 2, 3 }, case[1]) end, case[2], "refused: " .. case[2])
end
t.raises(function() return qact.weights(nil, "fp8") end, "qact.weights: a model expected", "refused: no model")

t.done()
