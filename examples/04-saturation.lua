-- 04 — Saturation versus overflow.
--
-- What happens to a number larger than the format's largest value?
--   sat: it becomes ±max (the default of OCP's FP8 E4M3FN, FP6 and FP4);
--   inf: it overflows, to ±inf where the format has one (E5M2, IEEE
--        style), or to NaN where it has none (E4M3FN: only NaN is special).
--
--     lpact examples/04-saturation.lua

require "lpact.repl"

local function show(spec, x)
  local q = lpact.format(spec):round(x)
  print(string.format("%-10s %8g -> %g", spec, x, q))
end

-- Expect: e4m3 1000 -> 448 (saturates); e4m3:inf 1000 -> nan
show("e4m3", 1000)
show("e4m3:inf", 1000)
-- 464 is halfway between 448 and the next step, 480 (which would be the
-- NaN code): the tie goes to 448's even code, even without saturation.
-- Expect: e4m3:inf 464 -> 448 and 465 -> nan
show("e4m3:inf", 464)
show("e4m3:inf", 465)
-- Expect: e5m2 1e6 -> inf (IEEE overflow); e5m2:sat 1e6 -> 57344
show("e5m2", 1e6)
show("e5m2:sat", 1e6)
-- Every "fin" format saturates: expect fp4 7 -> 6, fp2 -5 -> -2
show("fp4", 7)
show("fp2", -5)

-- In a network an inf or NaN activation poisons everything after it; a
-- saturated one is merely clipped. That is why OCP's small formats
-- saturate by default.
