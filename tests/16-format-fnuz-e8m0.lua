-- The names other tools use (ml_dtypes, PyTorch, OCP) and the two
-- policies they need, against tables worked out by hand: fnuz from
-- ml_dtypes' documented layout (bias one larger than IEEE's, no inf, no
-- -0, the code of -0 is the NaN) and e8m0 from the OCP MX specification
-- (unsigned, 2^(code - 127), 0xFF NaN, no zero). Every value is written
-- as a power of two so the tables can be checked by eye.
local t = require "lpact.tap"
local nan = 0 / 0
local P = function(k) return 2.0 ^ k end

-- aliases: canonical specs
local canon = {
  float8_e4m3fn = "e4m3:bias=7:fn:inf:rne", float8_e5m2 = "e5m2:bias=15:ieee:inf:rne",
  float8_e4m3fnuz = "e4m3:bias=8:fnuz:inf:rne", float8_e5m2fnuz = "e5m2:bias=16:fnuz:inf:rne",
  float8_e4m3b11fnuz = "e4m3:bias=11:fnuz:inf:rne", float6_e3m2fn = "e3m2:bias=3:fin:sat:rne",
  float6_e2m3fn = "e2m3:bias=1:fin:sat:rne", float4_e2m1fn = "e2m1:bias=1:fin:sat:rne",
  float8_e8m0fnu = "ue8m0:bias=127:e8m0:inf:rne", bfloat16 = "e8m7:bias=127:ieee:inf:rne",
  float16 = "e5m10:bias=15:ieee:inf:rne", float32 = "e8m23:bias=127:ieee:inf:rne",
  E4M3 = "e4m3:bias=7:fn:sat:rne", E2M1 = "e2m1:bias=1:fin:sat:rne", E8M0 = "ue8m0:bias=127:e8m0:sat:rne",
  e4m3fn = "e4m3:bias=7:fn:inf:rne",
}
for name, spec in pairs(canon) do
  local f = lpact.format(name)
  t.is(f.spec, spec, name .. " stands for " .. spec)
  t.is(f.name, name, name .. " keeps its name")
end
t.ok(lpact.format("float32").identity, "float32 is the identity")

-- codes by hand
local function code_table(spec, rows)
  local f = lpact.format(spec)
  for _, r in ipairs(rows) do
    t.is(f:decode(r[1]), r[2], string.format("%s: code 0x%02x is %s", spec, r[1], tostring(r[2])))
    if r[2] == r[2] then
      t.is(f:encode(r[2]), r[1], string.format("%s: %s encodes to 0x%02x", spec, tostring(r[2]), r[1]))
    end
  end
  return f
end
local fz = code_table("float8_e4m3fnuz", {
  { 0x00, 0.0 }, { 0x01, P(-10) }, { 0x07, 7 * P(-10) }, { 0x08, P(-7) }, { 0x38, 0.5 }, { 0x40, 1.0 },
  { 0x41, 1.125 }, { 0x7e, 224.0 }, { 0x7f, 240.0 }, { 0x80, nan }, { 0x81, -P(-10) }, { 0xc0, -1.0 }, { 0xff, -240.0 } })
t.is(fz:encode(nan), 0x80, "fnuz: NaN encodes to 0x80")
t.is(fz:encode(-0.0), 0x00, "fnuz: -0 encodes to 0x00 (there is no -0)")
t.is(fz.nvalues, 255, "e4m3fnuz: 255 values (127 positive, 127 negative, one zero)")
t.is(fz.max, 240.0, "e4m3fnuz max 240")
t.is(fz.min_subnormal, P(-10), "e4m3fnuz min subnormal 2^-10")
t.ok(fz.has_nan and not fz.has_inf, "fnuz: NaN, no inf")
code_table("float8_e5m2fnuz", { { 0x01, P(-17) }, { 0x04, P(-15) }, { 0x40, 1.0 }, { 0x7f, 57344.0 }, { 0x80, nan }, { 0xfc, -P(15) } })
code_table("float8_e4m3b11fnuz", { { 0x01, P(-13) }, { 0x58, 1.0 }, { 0x7f, 30.0 }, { 0x80, nan }, { 0xff, -30.0 } })
local e8 = code_table("E8M0", { { 0x00, P(-127) }, { 0x01, P(-126) }, { 0x7f, 1.0 }, { 0x80, 2.0 }, { 0xfe, P(127) }, { 0xff, nan } })
t.is(e8:encode(nan), 0xff, "e8m0: NaN encodes to 0xFF")
t.is(e8:encode(0.0), nil, "e8m0: 0 has no code")
t.is(e8:encode(1.5), nil, "e8m0: 1.5 has no code")
t.is(e8.nvalues, 255, "e8m0: 255 values, no zero")
t.is(e8:values()[1], P(-127), "e8m0: the smallest value is 2^-127, not 0")
t.is(#e8:values(), 255, "e8m0: values() lists 255")
t.is(e8.min_normal, P(-127), "e8m0 min 2^-127")
t.is(e8.max, P(127), "e8m0 max 2^127")

-- rounding, every mode, by hand
local modes = { "rne", "rna", "rtz", "rup", "rdn", "rno" }
local function round_table(spec, rows)
  local base = lpact.format(spec)
  for _, r in ipairs(rows) do
    for k, m in ipairs(modes) do
      local f = base:with(m)
      local want = r[k + 1]
      t.is(f:round(r[1]), want, string.format("%s:%s rounds %a to %s", spec, m, r[1], tostring(want)))
      -- the tensor path (lp_quantize; every input here is a float32)
      t.is(f:round(lpact.tensor { r[1] }):get(1), want, string.format("%s:%s tensor rounds %a", spec, m, r[1]))
    end
  end
end
--                       x         rne      rna      rtz      rup      rdn      rno
round_table("float8_e4m3fnuz", {
  { 1.0625,   1.0,     1.125,   1.0,     1.125,   1.0,     1.125 },   -- a tie: even code 0x40
  { -1.0625,  -1.0,    -1.125,  -1.0,    -1.0,    -1.125,  -1.125 },
  { -P(-12),  0.0,     0.0,     0.0,     0.0,     -P(-10), -P(-10) }, -- zero results are +0
  { -0.0,     0.0,     0.0,     0.0,     0.0,     0.0,     0.0 },
  { 244,      240.0,   240.0,   240.0,   nan,     240.0,   240.0 },   -- rup passes max: NaN (inf)
  { 250,      nan,     nan,     240.0,   nan,     240.0,   240.0 },   -- past the tie 248: overflow
  { -250,     nan,     nan,     -240.0,  -240.0,  nan,     -240.0 },
  { 1 / 0,    nan,     nan,     nan,     nan,     nan,     nan },     -- no inf: NaN under 'inf'
  { nan,      nan,     nan,     nan,     nan,     nan,     nan },
})
round_table("e4m3:fnuz", {   -- the same layout, saturating
  { 250,      240.0,   240.0,   240.0,   240.0,   240.0,   240.0 },
  { -1 / 0,   -240.0,  -240.0,  -240.0,  -240.0,  -240.0,  -240.0 },
  { -P(-12),  0.0,     0.0,     0.0,     0.0,     -P(-10), -P(-10) },
})
round_table("E8M0", {
  { 1.5,      2.0,     2.0,     1.0,     2.0,     1.0,     1.0 },     -- tie 1|2: even code 0x80
  { 3,        2.0,     4.0,     2.0,     4.0,     2.0,     4.0 },     -- tie 2|4: even code 0x80
  { 1.25,     1.0,     1.0,     1.0,     2.0,     1.0,     1.0 },
  { 1.75,     2.0,     2.0,     1.0,     2.0,     1.0,     1.0 },
  { 0.0,      nan,     nan,     nan,     nan,     nan,     nan },     -- no zero
  { -1,       nan,     nan,     nan,     nan,     nan,     nan },     -- no sign
  { P(-140),  P(-127), P(-127), P(-127), P(-127), P(-127), P(-127) }, -- below min: min
  { 1.75 * P(127), P(127), P(127), P(127), P(127), P(127), P(127) }, -- sat
  { 1 / 0,    P(127),  P(127),  P(127),  P(127),  P(127),  P(127) },
})
round_table("float8_e8m0fnu", {
  { 1.75 * P(127), nan, nan,   P(127),  nan,     P(127),  P(127) },   -- non-saturating
  { 1.25 * P(127), P(127), P(127), P(127), nan,  P(127),  P(127) },
})

-- bad combinations, one line each
local function msg(spec) return select(2, lpact.parse_format(spec)) end
t.like(msg("ue4m3:fnuz"), "fnuz needs a sign bit", "fnuz on an unsigned format")
t.like(msg("e8m0:e8m0"), "e8m0 is exponent%-only and unsigned", "e8m0 on a signed format")
t.like(msg("ue4m2:e8m0"), "applies to ueXm0", "e8m0 with mantissa bits")
t.like(msg("E8M0:bias=150"), "bias 150 out of range for ue8m0 %(allowed 127..149%)", "e8m0's smallest value must be a binary32")
t.like(msg("FLOAT8_E4M3FN"), "unknown format 'FLOAT8_E4M3FN'", "aliases are spelt exactly")
-- with{policy=} knows the new policies; fnuz brings its bias
t.is(lpact.format("e4m3"):with { policy = "fnuz" }.spec, "e4m3:bias=8:fnuz:sat:rne", "with{policy='fnuz'} takes bias 2^(E-1)")
t.is(lpact.format("e4m3"):with "fnuz:bias=9".spec, "e4m3:bias=9:fnuz:sat:rne", "an explicit bias wins")
-- lpact info names the canonical spec and the zero rule
local B = os.getenv("LPACT_BUILD") or "build"
local info = t.run(B .. "/lpact info float8_e4m3fnuz")
t.like(info, "^float8_e4m3fnuz = e4m3:bias=8:fnuz:inf:rne\n", "info: the canonical spec")
t.like(info, "255 distinct finite %(one zero: fnuz has no %-0%)", "info: fnuz's single zero")
t.like(info, "NaN is the code of %-0", "info: fnuz's NaN")
local lv = t.run(B .. "/lpact levels E8M0")
t.like(lv, "^E8M0 = ue8m0:bias=127:e8m0:sat:rne: 256 codes, 255 distinct values\n", "levels: the canonical spec")
t.like(lv, "\n0x00%s+00000000%s+5%.87747", "levels: code 0x00 is 2^-127")
t.like(lv, "\n0xff%s+11111111%s+nan", "levels: code 0xff is NaN")
t.done()
