-- The lpact.Format userdata from Lua: tensors (round, round_, quantize
-- with scale), with(), info(), codes(), values(), equality, and lauxlib
-- errors for every kind of wrong argument (never a crash).
local t = require "lpact.tap"

local fp4 = lpact.format"fp4"

-- tensors
local x = lpact.tensor{0.3, -0.2, 2.5, 5, 100, -7}
local y = fp4:round(x)
t.same(y:totable(), {0.5, -0.0, 2.0, 4.0, 6.0, -6.0}, "round(tensor) -> new tensor")
t.same(x:totable()[1], 0.30000001192092896, "input untouched")
local z = fp4:round_(x)
t.ok(rawequal(z, x), "round_ returns its tensor")
t.same(x:totable(), {0.5, -0.0, 2.0, 4.0, 6.0, -6.0}, "round_ rounds in place")
local m = lpact.tensor{{0.3, 1.2}, {-3.3, 9}}
t.same(fp4:round(m):shape(), {2, 2}, "shape kept")
t.same(fp4:round(m:t()):totable(), {{0.5, -3.0}, {1.0, 6.0}}, "a transposed view is read in its own order")
t.same(fp4:quantize(m:t(), {scale = 2}):totable(), {{0.0, -3.0}, {1.0, 8.0}}, "quantize reads views too")
t.raises(function() fp4:round_(m:t()) end, "contiguous tensor expected", "round_ needs a contiguous tensor")
-- scale: y = s * Q(x / s); with s = 4 the grid is 4 * fp4
local q = fp4:quantize(lpact.tensor{1.1, 5, 10, 30, -3}, {scale = 4})
t.same(q:totable(), {2.0, 4.0, 8.0, 24.0, -4.0}, "quantize with scale 4 (ties to even: -0.75 -> -1)")
t.same(fp4:quantize(lpact.tensor{1.1}):totable(), {1.0}, "quantize without options")
t.raises(function() fp4:quantize(lpact.tensor{1}, {scale = 0}) end, "positive finite", "scale 0 refused")
t.raises(function() fp4:quantize(lpact.tensor{1}, {scale = -1}) end, "positive finite", "negative scale refused")
t.raises(function() fp4:quantize(lpact.tensor{1}, {scale = "x"}) end, "scale must be a number", "scale type")
t.raises(function() fp4:quantize(lpact.tensor{1}, {ctr = 1.5}) end, "ctr must be an integer", "ctr type")
t.raises(function() fp4:quantize({1, 2}) end, "Tensor expected", "quantize wants a tensor")
t.raises(function() fp4:round_(3) end, "Tensor expected", "round_ wants a tensor")
-- every preset quantizes a tensor like rounding its numbers one by one
local vals = {}
for i = 1, 200 do vals[i] = (i - 100) * 0.173 end
local tv = lpact.tensor(vals)
for _, name in ipairs(lpact.formats) do
  local f = lpact.format(name)
  local a = f:round(tv):totable()
  local same = true
  for i, v in ipairs(tv:totable()) do
    if f:round(v) ~= a[i] and not (a[i] ~= a[i]) then same = false end
  end
  t.ok(same, name .. ": tensor path == number path")
end

-- with
local r = fp4:with"rtz"
t.is(r.mode, "rtz", "with'rtz'")
t.is(r.name, "fp4", "a mode change keeps the name")
t.is(fp4.mode, "rne", "original unchanged")
t.is(fp4:with{mode = "sr", seed = 7}.spec, "e2m1:bias=1:fin:sat:sr:seed=7", "with{mode, seed}")
t.is(fp4:with{sr_bits = 8}.spec, "e2m1:bias=1:fin:sat:sr=8", "with{sr_bits}")
t.is(fp4:with{subnormals = false}.spec, "e2m1:bias=1:nosub:fin:sat:rne", "with{subnormals=false}")
t.is(fp4:with{subnormals = false}.name, "e2m1", "a value-set change drops the preset name")
t.is(lpact.format"e4m3":with"ieee".overflow, "inf", "a policy change takes its default overflow")
t.is(lpact.format"e4m3":with"ieee:sat".overflow, "sat", "unless given")
t.is(fp4:with"rtz:rne".mode, "rne", "later options override in with()")
t.raises(function() fp4:with"foo" end, "unknown option 'foo' at column 1", "with: bad option")
t.raises(function() fp4:with{colour = "red"} end, "unknown option colour", "with: bad key")
t.raises(function() fp4:with{seed = "x"} end, "seed must be an integer", "with: bad seed type")
t.raises(function() fp4:with{mode = "fin"} end, "mode 'fin' is not one of rne rna rtz rup rdn rno sr", "with: mode must be a mode")
t.raises(function() fp4:with{policy = "sat"} end, "policy 'sat' is not one of ieee fn fin", "with: policy must be a policy")
t.is(lpact.format"e4m3":with{policy = "ieee", overflow = "sat"}.spec, "e4m3:bias=7:ieee:sat:rne", "with{policy, overflow}")
t.raises(function() fp4:with"inf" end, "needs the ieee, fn, fnuz or e8m0 policy", "with: invalid combination")

-- info and properties
local i = lpact.format"e4m3":info()
t.is(i.name, "e4m3", "info.name")
t.is(i.ncodes, 256, "info.ncodes")
t.is(i.nvalues, 253, "info.nvalues")
t.is(i.has_nan, true, "e4m3 has NaN")
t.is(i.has_inf, false, "e4m3 has no inf")
t.is(i.emin, -6, "emin")
t.is(i.emax, 8, "emax")
t.near(i.binades, math.log(448 / 2^-9, 2), 1e-12, "binades = log2(max / min subnormal)")
t.is(fp4.nonsense, nil, "unknown field is nil")
t.is(lpact.format"fp32".ncodes, 1 << 32, "fp32 has 2^32 codes")
t.is(lpact.format"fp32".identity, true, "fp32 is the identity on binary32")
t.is(lpact.format"fp32":round(0.1), 0.10000000149011612, "fp32 rounds a double to binary32")
t.is(lpact.format"fp32":round(1e39), math.huge, "fp32 overflows to inf")
t.is(lpact.format"bf16":round(1 + 2^-8), 1.0, "bf16: tie to even")
t.is(lpact.format"bf16":round(1 + 3 * 2^-8), 1.015625, "bf16: tie to even (up)")

-- codes
local cs = fp4:codes()
t.is(#cs, 16, "16 codes")
t.same(cs[8], {code = 7, value = 6.0, sign = 0, exponent = 3, mantissa = 1, kind = "normal", bits = "0 11 1"},
  "code 7 in full")
t.is(cs[2].kind, "subnormal", "code 1 is subnormal")
t.is(cs[9].kind, "zero", "code 8 is -0")
t.is(1 / cs[9].value, -math.huge, "code 8 is -0.0")
local e5 = lpact.format"e5m2":codes()
t.is(e5[0x7c + 1].kind, "inf", "e5m2 0x7c is inf")
t.is(e5[0x7d + 1].kind, "nan", "e5m2 0x7d is nan")
t.is(lpact.format"e2m1:nosub":codes()[2].kind, "unused", "nosub: exponent 0 with mantissa 1 is unused")
t.is(lpact.format"e2m1:nosub":decode(1), 0.0, "an unused code reads as zero")
t.same(lpact.format"ue2m1":values(), {0, 0.5, 1, 1.5, 2, 3, 4, 6}, "unsigned values")
t.is(lpact.format"ue2m1":round(-3), 0.0, "unsigned: negatives clamp to +0")
t.is(lpact.format"ue2m1":code(7).bits, "11 1", "unsigned code bits")
t.same(lpact.format"e0m3":values(), {-1.75, -1.5, -1.25, -1, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 1.75},
  "e0m3 is fixed point")
t.is(#lpact.format"fp16":values(), 63487, "fp16: 2 * 31743 + 1 distinct finite values")
t.raises(function() lpact.format"fp32":codes() end, "listing stops at 16 bits", "codes() refuses 32 bits")
t.raises(function() lpact.format"fp32":values() end, "listing stops at 16 bits", "values() refuses 32 bits")
t.is(lpact.format"fp32":code(0x3f800000).value, 1.0, "code() works for any size")

-- equality and strings
t.ok(lpact.format"fp8" == lpact.format"e4m3", "fp8 == e4m3")
t.ok(lpact.format"fp8" ~= lpact.format"e4m3:inf", "overflow rule matters")
t.ok(fp4 ~= "fp4", "a Format is not a string")
t.is(tostring(fp4), "Format(fp4: e2m1:bias=1:fin:sat:rne)", "tostring")
t.is(lpact.format(fp4), fp4, "lpact.format(Format) copies")

-- wrong arguments: lauxlib messages, no crash
t.raises(function() fp4:round() end, "number, table or tensor expected, got no value", "round()")
t.raises(function() fp4:round{1, "x"} end, "number expected at index 2", "round{1,'x'}")
t.raises(function() fp4:round(1, "c") end, "number expected", "round ctr type")
t.raises(function() fp4.round(42, 1) end, "lpact.Format expected", "round on a non-format")
t.raises(function() fp4:encode("x") end, "number expected", "encode('x')")
t.raises(function() fp4:decode(-1) end, "code out of range", "decode(-1)")
t.raises(function() fp4:decode(1.5) end, "number has no integer representation", "decode(1.5)")
t.raises(function() lpact.format() end, "format or spec string expected, got no value", "format()")
t.raises(function() lpact.format{} end, "format or spec string expected, got table", "format{}")
t.raises(function() lpact.parse_format(nil) end, "string expected", "parse_format(nil)")
t.lives(function() return fp4:round(0 / 0), fp4:round(-math.huge), fp4:round(math.mininteger) end, "odd numbers")
t.is(fp4:round(math.maxinteger), 6.0, "integers are numbers too")

t.done()
