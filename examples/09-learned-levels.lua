-- 09 — Learned levels move during training.
--
-- A quantized activation need not keep the format's own values: with
-- levels = "learnable" its output levels (one per code, as the lookup
-- table of an accelerator would hold them) are parameters, trained with
-- the rest of the network.
--
-- Tanh in FP2 is dead with the format's levels: every output rounds to
-- ±0 (see example 07), so the network is stuck at chance (example 08).
-- But +0 and -0 are two different codes. Once their levels can move
-- apart, the layer becomes a learned binary activation, and the network
-- learns again. This is why `make demo` (learnable levels) shows tanh at
-- FP2 above relu while example 08 (fixed levels) shows it at chance.
-- Sigmoid cannot be saved this way: its FP2 outputs are all +0, a single
-- code. The lesson `learnable` (lpact-repl --lesson learnable) walks
-- through this run step by step.
--
--     lpact examples/09-learned-levels.lua

require "lpact.repl"

local ok, why = pcall(function()
  return lpact.qact and lpact.models and lpact.train and lpact.data
end)
if not ok or not why then
  print("this example needs lpact.qact, lpact.models, lpact.train and lpact.data: " .. tostring(why))
  return
end

local data = lpact.data.spirals { n = 600, classes = 3, seed = 1 }
local function run(levels_rule)
  local act = lpact.qact { "tanh", fmt = "fp2", levels = levels_rule }
  local model = lpact.models.mlp { 2, 32, 32, 3, act = act, seed = 1 }
  local h = lpact.train.fit { model = model, data = data, epochs = 10, batch = 32, lr = 1e-2,
    seed = 1, verbose = false, progress = false }
  return model, h.test_acc
end

local model, acc = run "learnable"
local layer = lpact.qact.layers(model)[1]

-- The first activation layer's levels, the format's value next to the
-- learned one. Expect: the levels of +0 (code 0x0) and -0 (code 0x2)
-- have moved apart; ±2 stay where they were, since tanh never gets there.
print(levels(layer))
local orig, learned = layer.original:totable(), layer:levels()
local moved = 0
for i = 1, #orig do
  if orig[i] ~= learned[i] then moved = moved + 1 end
end
print(string.format("%d of %d levels moved; +0 -> %.3g, -0 -> %.3g", moved, #orig, learned[1], learned[3]))

-- Which input levels carry the activations? Count them on the test set
-- (telemetry) and draw the level usage. Pre-activations inside (-1, 1)
-- round to ±0 and the others to ±2 (beyond ±2 they count as saturated).
-- Expect about nine in ten on ±0: the network works through the two
-- levels that learned, and ±2, which tanh cannot reach, is rare.
layer:telemetry(true)
model:eval()
model:forward(data.test.x)
print(usage(layer))

-- Expect: fixed levels at chance (33.3%), learned levels above 80%.
local _, acc_fixed = run "fixed"
print(string.format("test accuracy: fixed levels %.1f%%, learned levels %.1f%%", 100 * acc_fixed, 100 * acc))
