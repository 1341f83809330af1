-- 06 — Dynamic range versus precision.
--
-- With a fixed number of bits, every exponent bit given to range is a
-- mantissa bit taken from precision. The two FP8 formats of OCP:
--   E4M3: max 448,   smallest 2^-9,  epsilon 2^-3 (finer)
--   E5M2: max 57344, smallest 2^-16, epsilon 2^-2 (wider)
-- and the two FP6 formats: E3M2 (max 28) and E2M3 (max 7.5, finer).
--
--     lpact examples/06-range-vs-precision.lua

require "lpact.repl"

local function row(spec)
  local f = lpact.format(spec)
  print(string.format("%-5s max %-8g min subnormal %-14g epsilon %g", spec, f.max, f.min_subnormal, f.epsilon))
end
for _, s in ipairs { "e4m3", "e5m2", "e3m2", "e2m3" } do row(s) end
print()
print(compare("e3m2", "e2m3"))
print()

-- Relative error of rounding a few magnitudes (0 would mean exact).
-- Expect: e4m3 loses 0.001 badly (it becomes 0.001953125, +95.3%) and
-- clips 1000 to 448 (-55.2%); e5m2 keeps both within 2.5% (0.0009765625
-- and 1024); near 1 the finer E4M3 wins (1.1 -> 1.125, +2.3%, against
-- E5M2's 1, -9.1%).
local xs = { 0.001, 1.1, 1000 }
for _, spec in ipairs { "e4m3", "e5m2" } do
  local f, cells = lpact.format(spec), {}
  for _, x in ipairs(xs) do
    local q = f:round(x)
    cells[#cells + 1] = string.format("%g -> %g (%+.1f%%)", x, q, 100 * (q - x) / x)
  end
  print(spec .. ":  " .. table.concat(cells, ",  "))
end
-- Rule of thumb: activations with outliers want range (E5M2, E3M2);
-- well-scaled activations want precision (E4M3, E2M3).
