-- 03 — Subnormals and flush-to-zero.
--
-- Below the smallest normal value a format can keep going with
-- "subnormal" values, evenly spaced down to zero (gradual underflow).
-- E3M2 (OCP FP6) has min normal 0.25 and subnormals 0.0625, 0.125, 0.1875.
-- Without subnormals (":nosub") nothing lies between 0 and 0.25.
--
--     lpact examples/03-subnormals.lua

require "lpact.repl"

local sub, nosub = lpact.format "e3m2", lpact.format "e3m2:nosub"
print(compare("e3m2", "e3m2:nosub"))
print()

-- Expect: 0.1 -> 0.125 with subnormals, 0 without;
--         0.2 -> 0.1875 with subnormals, 0.25 without.
for _, x in ipairs { 0.1, 0.2 } do
  print(string.format("%g -> %g with subnormals, %g without", x, sub:round(x), nosub:round(x)))
end

-- How many small activations are lost (become exactly 0)? Inputs 0.01,
-- 0.02, ..., 0.24. Expect: 3 of 24 with subnormals, 12 of 24 without.
local lost_sub, lost_nosub = 0, 0
for k = 1, 24 do
  local x = k / 100
  if sub:round(x) == 0 then lost_sub = lost_sub + 1 end
  if nosub:round(x) == 0 then lost_nosub = lost_nosub + 1 end
end
print(string.format("zeros among 24 small inputs: %d with subnormals, %d without", lost_sub, lost_nosub))

-- Note: lpact's nosub still ROUNDS in (0, 0.25): 0.2 goes up to 0.25 as
-- IEEE rounding says. Hardware "flush-to-zero" would send every input
-- below 0.25 to 0 — 24 of 24 here.
