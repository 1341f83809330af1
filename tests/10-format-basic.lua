-- Formats from Lua: presets and their properties (values from the OCP MX
-- spec and by hand), rounding of numbers and tables, encode/decode.
local t = require "lpact.tap"

-- name, max, min normal, min subnormal, distinct finite values
local props = {
  {"fp8", 448, 2^-6, 2^-9, 253},        -- E4M3FN: 2*126 + 1
  {"e5m2", 57344, 2^-14, 2^-16, 247},   -- 2*123 + 1
  {"fp6", 28, 0.25, 0.0625, 63},        -- E3M2
  {"e2m3", 7.5, 1, 0.125, 63},
  {"fp4", 6, 1, 0.5, 15},               -- E2M1
  {"fp3", 3, 2, 1, 7},                  -- ours: e1m1 bias 0, ±{0,1,2,3}
  {"fp2", 2, 2, 2, 3},                  -- ours: e1m0 bias 0, ±{0,2}
}
for _, p in ipairs(props) do
  local f = lpact.format(p[1])
  t.is(f.max, p[2], p[1] .. " max")
  t.is(f.min_normal, p[3], p[1] .. " min normal")
  t.is(f.min_subnormal, p[4], p[1] .. " min subnormal")
  t.is(f.nvalues, p[5], p[1] .. " distinct values")
  t.is(#f:values(), p[5], p[1] .. " values() length")
end

local fp4 = lpact.format"fp4"
t.same(fp4:values(), {-6, -4, -3, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 3, 4, 6}, "fp4 values")
t.same(lpact.format"fp3":values(), {-3, -2, -1, 0, 1, 2, 3}, "fp3 values")
t.same(lpact.format"fp2":values(), {-2, 0, 2}, "fp2 values")
t.is(fp4.bits, 4, "fp4 bits")
t.is(fp4.ebits, 2, "fp4 ebits")
t.is(fp4.mbits, 1, "fp4 mbits")
t.is(fp4.bias, 1, "fp4 bias")
t.is(fp4.policy, "fin", "fp4 policy")
t.is(fp4.overflow, "sat", "fp4 overflow")
t.is(fp4.mode, "rne", "fp4 mode")
t.is(fp4.epsilon, 0.5, "fp4 epsilon")
t.is(fp4.name, "fp4", "name")
t.is(fp4.spec, "e2m1:bias=1:fin:sat:rne", "canonical spec")
t.ok(fp4 == lpact.format"e2m1", "fp4 == e2m1")
t.ok(fp4 ~= lpact.format"e2m1:rtz", "modes differ")
t.like(tostring(fp4), "fp4", "tostring")

-- rounding numbers (worked by hand)
t.is(fp4:round(0.3), 0.5, "0.3 -> 0.5")
t.is(fp4:round(0.25), 0.0, "0.25 tie -> 0 (even)")
t.is(fp4:round(-0.2), -0.0, "-0.2 -> -0")
t.is(fp4:round(2.5), 2.0, "2.5 tie -> 2 (even mantissa)")
t.is(fp4:round(3.5), 4.0, "3.5 tie -> 4")
t.is(fp4:round(5), 4.0, "5 tie between 4 and 6 -> 4 (4 is even)")
t.is(fp4:round(100), 6.0, "saturates")
t.is(fp4:round(-math.huge), -6.0, "-inf saturates")
t.ok(fp4:round(0/0) ~= fp4:round(0/0), "NaN stays NaN")
t.is(fp4:with"rtz":round(5.9), 4.0, "rtz")
t.is(fp4:with"rup":round(4.1), 6.0, "rup")
t.is(fp4:with"rdn":round(-4.1), -6.0, "rdn")
t.is(fp4:with"rna":round(0.25), 0.5, "rna tie away")
t.is(fp4:with"rno":round(2.1), 3.0, "rno: inexact goes to odd")
t.same(fp4:round{0.3, 1.2, -7}, {0.5, 1.0, -6.0}, "table in, table out")

-- one step from a double, never through float32: 1 + 2^-30 is not a
-- binary32 tie breaker; 2.5 + 2^-40 rounds up in fp4
t.is(fp4:round(2.5 + 2^-40), 3.0, "double just above a tie rounds up")

local e4 = lpact.format"e4m3"
t.is(e4:round(464), 448.0, "E4M3FN: 464 -> 448 (tie to even)")
t.is(e4:round(465), 448.0, "E4M3FN sat: 465 -> 448")
local e4inf = e4:with"inf"
t.ok(e4inf:round(465) ~= e4inf:round(465), "E4M3FN inf: 465 -> NaN")
t.is(e4inf:round(464), 448.0, "E4M3FN inf: 464 -> 448")
local e5 = lpact.format"e5m2"
t.is(e5:round(61440), math.huge, "E5M2: the tie above max overflows to inf")
t.is(e5:round(61439), 57344.0, "E5M2: below the tie stays at max")

-- encode / decode
t.is(e4:encode(448), 0x7e, "448 is 0x7e")
t.is(e4:decode(0x7e), 448.0, "0x7e is 448")
t.is(e4:encode(-0.0), 0x80, "-0 is 0x80")
t.ok(e4:decode(0x7f) ~= e4:decode(0x7f), "0x7f is NaN")
t.is(e4:decode(0x01), 2^-9, "0x01 is 2^-9")
t.is(fp4:encode(6), 7, "fp4 6 is 0111")
t.is(fp4:encode(-0.5), 9, "fp4 -0.5 is 1001")
t.is(fp4:encode(0.3), nil, "0.3 is not an fp4 value")

-- errors
t.raises(function() lpact.format"e4m9q" end, "e4m9q: unexpected 'q' at column 5, expected ':' or end", "parse error")
t.raises(function() lpact.format(42) end, "format or spec string expected", "type error")
t.raises(function() fp4:round("x") end, "number, table or tensor expected", "round type error")
t.raises(function() fp4:decode(16) end, "code out of range", "decode range")

t.done()
