-- 02 — Ties go to the even code.
--
-- When an input lies exactly halfway between two values, "round to
-- nearest" must choose. IEEE 754's default (rne) picks the value whose
-- code is even (mantissa ends in 0); "ties away" (rna) picks the larger
-- magnitude. Ties to even makes the errors of many ties cancel out.
--
--     lpact examples/02-ties.lua

require "lpact.repl"

local rne = lpact.format "fp4"        -- rne is the default
local rna = lpact.format "fp4:rna"

-- FP4 values near the ties: 2 (code 0100), 3 (0101), 4 (0110), 6 (0111).
-- Expect under rne: 2.5 -> 2, 3.5 -> 4, 5 -> 4, 0.25 -> 0
-- Expect under rna: 2.5 -> 3, 3.5 -> 4, 5 -> 6, 0.25 -> 0.5
for _, x in ipairs { 2.5, 3.5, 5, 0.25 } do
  print(string.format("tie %-4g  rne -> %-3g (code %s)   rna -> %g", x, rne:round(x),
    string.format("0x%x", rne:encode(rne:round(x))), rna:round(x)))
end

-- Why it matters: E4M3 has a gap of 1 between 8 and 16, so 8.5, 9.5, ...,
-- 15.5 are all ties. Under rne half go down and half go up: the mean
-- error is 0. Under rna every one goes up: the mean error is +0.5.
-- Expect: mean error rne 0, rna 0.5
local e8, e8a = lpact.format "e4m3", lpact.format "e4m3:rna"
local sum_rne, sum_rna, n = 0, 0, 0
for k = 8, 15 do
  local x = k + 0.5
  sum_rne = sum_rne + (e8:round(x) - x)
  sum_rna = sum_rna + (e8a:round(x) - x)
  n = n + 1
end
print(string.format("mean error over %d ties: rne %g, rna %g", n, sum_rne / n, sum_rna / n))
