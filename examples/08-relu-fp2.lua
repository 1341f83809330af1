-- 08 — With fixed levels, ReLU survives FP2; tanh does not.
--
-- The study behind lpact found ReLU-like activations still usable at FP2
-- while sigmoid and tanh collapse. Here is the effect in one second: a
-- small MLP learns three interleaved spirals with its activations in
-- FP32 and in FP2 (values ±{0, 2}), gradients through the STE, and the
-- format's own values as output levels (levels = "fixed", the default).
--
-- `make demo` trains with learnable levels instead, and there tanh at FP2
-- does well (84.17% on Fashion-MNIST, above relu's 75.93%): tanh's outputs
-- round to +0 or -0 by their sign, two codes whose levels learn apart
-- into a sign function, while here both are the value 0. relu's loss in
-- the demo comes from the STE f' (with --ste clipped relu FP2 reached
-- 85.24%, docs/findings.md). Example 09 shows the learnable side on these
-- spirals; lessons `activations` and `learnable` (lpact-repl --lesson)
-- explain both, and docs/teaching.md tells the story in one page.
--
--     lpact examples/08-relu-fp2.lua

require "lpact.repl"

local ok, why = pcall(function()
  return lpact.qact and lpact.models and lpact.train and lpact.data
end)
if not ok or not why then
  print("this example needs lpact.qact, lpact.models, lpact.train and lpact.data: " .. tostring(why))
  return
end

local data = lpact.data.spirals { n = 600, classes = 3, seed = 1 }

-- Expect: relu fp32 and tanh fp32 above 90%; relu fp2 still above 80%;
-- tanh fp2 at chance level (about 33%): every tanh output rounds to 0,
-- so no signal reaches the last layer.
for _, act in ipairs { "relu", "tanh" } do
  for _, fmt in ipairs { "fp32", "fp2" } do
    local spec = fmt == "fp32" and act or lpact.qact { act, fmt = fmt }
    local model = lpact.models.mlp { 2, 64, 64, 3, act = spec, seed = 1 }
    local h = lpact.train.fit { model = model, data = data, epochs = 30, batch = 32, lr = 1e-2,
      seed = 1, verbose = false, progress = false }
    print(string.format("%-4s in %-4s test accuracy %5.1f%%", act, fmt, 100 * h.test_acc))
  end
end
