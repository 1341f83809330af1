-- 10 — Scaling brings small activations into range.
--
-- FP4's smallest non-zero magnitude is 0.5. Activations of size 0.01
-- would all round to 0. Dividing by a scale s before rounding, and
-- multiplying back after, moves them onto the format's grid: a common
-- choice is s = amax / max, so the largest |x| lands on FP4's max, 6.
--
--     lpact examples/10-scaling.lua

require "lpact.repl"

local fp4 = lpact.format "fp4"
local x = lpact.randn({ 4096 }, 7) * 0.01          -- small activations, seeded

local function report(name, q)
  local xs, qs = x:totable(), q:totable()
  local zeros, se, sx = 0, 0, 0
  for i = 1, #xs do
    if qs[i] == 0 then zeros = zeros + 1 end
    se, sx = se + (qs[i] - xs[i]) ^ 2, sx + xs[i] ^ 2
  end
  print(string.format("%-18s %4d of %d values became 0; relative RMS error %.1f%%", name, zeros, #xs,
    100 * math.sqrt(se / sx)))
end

-- Expect: without a scale every value becomes 0 (relative error 100%);
-- with s = amax / 6 only a small part does, and the error falls below 30%.
report("no scale", fp4:round(x))
local amax = x:abs():max()
report("scale amax / 6", fp4:quantize(x, { scale = amax / 6 }))

-- The error histogram of the scaled version (a tensor of errors):
print(hist(fp4:quantize(x, { scale = amax / 6 }) - x, { bins = 9, width = 72, title = "error" }))
