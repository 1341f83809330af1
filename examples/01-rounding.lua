-- 01 — What rounding does.
--
-- A minifloat has only a handful of values. FP4 (E2M1, the OCP format)
-- has fifteen: 0, ±0.5, ±1, ±1.5, ±2, ±3, ±4, ±6. Rounding maps every real
-- number to one of them — by default the nearest one.
--
--     lpact examples/01-rounding.lua        (or paste it into lpact-repl)

require "lpact.repl"   -- the lab's short names (levels, plot, ...) in a script too

local fp4 = lpact.format "fp4"

-- Every code of FP4: its bits (sign | exponent | mantissa), its value and
-- the gap to the next value. The gaps double from one binade to the next.
print(levels "fp4")
print()

-- Each input goes to the nearest value; the error is at most half a gap.
-- Expect: 0.3 -> 0.5, 1.2 -> 1, 2.6 -> 3, 4.9 -> 4, 5.2 -> 6
for _, x in ipairs { 0.3, 1.2, 2.6, 4.9, 5.2 } do
  local q = fp4:round(x)
  print(string.format("fp4: %g -> %g  (error %+g)", x, q, q - x))
end

-- Past the largest value FP4 saturates: expect 100 -> 6 and -100 -> -6.
print(string.format("fp4: 100 -> %g, -100 -> %g", fp4:round(100), fp4:round(-100)))

-- Other rounding modes: towards zero, up (towards +inf), down (towards -inf).
-- Expect: rtz 2.9 -> 2, rup 2.1 -> 3, rdn -2.1 -> -3
for _, case in ipairs { { "rtz", 2.9 }, { "rup", 2.1 }, { "rdn", -2.1 } } do
  local f = lpact.format("fp4:" .. case[1])
  print(string.format("%s: %g -> %g", case[1], case[2], f:round(case[2])))
end

-- More mantissa bits, a finer grid: E4M3 (FP8) rounds pi to 3.25, a
-- relative error of about 3.5%; in its normal range no input is off by
-- more than half its epsilon, 2^-4 = 6.25%.
local pi8 = lpact.format("e4m3"):round(math.pi)
print(string.format("e4m3: pi -> %g  (relative error %.1f%%)", pi8, 100 * (pi8 - math.pi) / math.pi))
