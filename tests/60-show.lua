-- The REPL's renderers (lpact.show) against exact text for small fixed
-- inputs, worked out by hand: FP4's levels, FP8's summary, E3M2's grid,
-- a number line, histograms, an error report; and their bad-input errors.
local t = require "lpact.tap"
local show = require "lpact.show"
require "lpact.repl"

local function lines(s)
  local out = {}
  for l in (s .. "\n"):gmatch("(.-)\n") do out[#out + 1] = l end
  return out
end
local function body(s) -- without the title line
  local l = lines(s)
  table.remove(l, 1)
  return table.concat(l, "\n")
end

-- show.num: the shortest text that reads back exactly
t.is(show.num(0.001953125), "0.001953125", "num: 2^-9 exactly")
t.is(show.num(448.0), "448", "num: integral float without .0")
t.is(show.num(-0.0), "-0", "num: negative zero keeps its sign")
t.is(show.num(0 / 0), "nan", "num: nan")
t.is(show.num(-math.huge), "-inf", "num: -inf")
t.is(show.num(0.1), "0.1", "num: 0.1 reads back")
t.is(show.num(1 / 3), "0.3333333333333333", "num: 1/3 needs 16 digits")

-- FP4 (E2M1, bias 1): values 0, 0.5 | 1, 1.5 | 2, 3 | 4, 6; the gap to the
-- next magnitude and the gap relative to the value, by hand.
local fp4 = tostring(show.levels("fp4", nil, { width = 80, color = false }))
t.like(lines(fp4)[1], "^fp4 = e2m1[^:]*:.*16 codes, 15 distinct values$", "levels fp4: title")
t.is(body(fp4), table.concat({
  "code  s ee m  value  gap  rel gap  kind",
  "0x0   0 00 0      0  0.5        —  zero",
  "0x1   0 00 1    0.5  0.5     100%  subnormal",
  "0x2   0 01 0      1  0.5      50%",
  "0x3   0 01 1    1.5  0.5    33.3%",
  "0x4   0 10 0      2    1      50%",
  "0x5   0 10 1      3    1    33.3%",
  "0x6   0 11 0      4    2      50%",
  "0x7   0 11 1      6    —        —  max",
  "0x8   1 00 0     -0  0.5        —  zero",
  "0x9   1 00 1   -0.5  0.5     100%  subnormal",
  "0xa   1 01 0     -1  0.5      50%",
  "0xb   1 01 1   -1.5  0.5    33.3%",
  "0xc   1 10 0     -2    1      50%",
  "0xd   1 10 1     -3    1    33.3%",
  "0xe   1 11 0     -4    2      50%",
  "0xf   1 11 1     -6    —        —  max",
}, "\n"), "levels fp4: every code, fields, value, gaps")

-- In colour the fields are painted, and nothing else moves.
local coloured = tostring(show.levels("fp4", nil, { width = 80, color = true }))
t.like(coloured, "\27%[31m0\27%[0m \27%[32m00\27%[0m \27%[34m0\27%[0m", "levels: sign, exponent, mantissa in colour")
t.is((coloured:gsub("\27%[[%d;]*m", "")), fp4, "levels: colour adds escape codes only")

-- The views take formats only (specs or Formats): the values are the
-- format's own decoding, never worked out again in Lua.
t.raises(function() return show.levels({ name = "x", ebits = 2, mbits = 1, bias = 1 }, nil, { width = 80 }) end,
  "^levels: a format expected %(a spec like \"fp4\" or a Format%), got table$", "levels: a description table is one line")

-- FP2 (E1M0, bias 0): ±{0, 2}
t.is(body(tostring(levels "fp2")), table.concat({
  "code  s e  value  gap  rel gap  kind",
  "0x0   0 0      0    2        —  zero",
  "0x1   0 1      2    —        —  max",
  "0x2   1 0     -0    2        —  zero",
  "0x3   1 1     -2    —        —  max",
}, "\n"), "levels fp2")

-- Learned levels stand next to the values.
local ll = lines(tostring(levels("fp2", { 0.25, 2, -0.5, -2 })))
t.is(ll[2], "code  s e  value  learned  gap  rel gap  kind", "learned levels: header")
t.is(ll[3], "0x0   0 0      0     0.25    2        —  zero", "learned levels: a moved level")
t.raises(function() return levels("fp2", { 1, 2 }) end, "2 learned levels given for 4 codes", "learned levels: wrong count")

-- E3M2 (bias 3) as a grid: one row per exponent field.
t.is(table.concat(lines(tostring(levels("e3m2", nil, { width = 80 }))), "\n", 2), table.concat({
  "s = 0 (s = 1 mirrors); rows eee × columns mm; * max; relative gap 14.3%–100%",
  "eee  scale    00      01     10      11     gap",
  "000   2^-2     0  0.0625  0.125  0.1875  0.0625",
  "001   2^-2  0.25  0.3125  0.375  0.4375  0.0625",
  "010   2^-1   0.5   0.625   0.75   0.875   0.125",
  "011    2^0     1    1.25    1.5    1.75    0.25",
  "100    2^1     2     2.5      3     3.5     0.5",
  "101    2^2     4       5      6       7       1",
  "110    2^3     8      10     12      14       2",
  "111    2^4    16      20     24     28*       4",
}, "\n"), "levels e3m2: the grid")
local function fits(text, w, h)
  local l = lines(text)
  local widest = 0
  for _, x in ipairs(l) do widest = math.max(widest, utf8.len(x)) end
  return #l <= h and widest <= w, string.format("%d lines, %d columns", #l, widest)
end
for _, spec in ipairs { "e4m3", "e3m2", "e2m3", "fp6", "e4m3:nosub", "ue4m3", "e5m2" } do
  t.ok(fits(tostring(levels(spec, nil, { width = 80 })), 80, spec == "e5m2" and 36 or 24), "levels " .. spec .. " fits one 80-column screen (24 lines; e5m2: 36)",
    select(2, fits(tostring(levels(spec, nil, { width = 80 })), 80, 24)))
end
t.ok(fits(tostring(levels("e5m2", nil, { width = 140 })), 140, 24), "levels e5m2 fits one screen at 140 columns")

-- FP8 (E4M3FN) summary: max 448 = 1.75 * 2^8, min normal 2^-6, min
-- subnormal 2^-9, epsilon 2^-3, 256 codes - 2 NaNs - one of the zeros;
-- dynamic range log2(448 / 2^-9) = 9 + log2(448) = 17.807.
local s8 = lines(tostring(show.format "fp8"))
t.is(s8[1], "fp8 = e4m3:bias=7:fn:sat:rne", "format: title")
t.is(s8[2], "  layout          1 sign + 4 exponent + 3 mantissa bits = 8 bits, 256 codes", "format: layout")
t.is(s8[3], "  bias            7 (normal exponents -6 .. 8)", "format: bias")
t.is(s8[4], "  values          253 distinct finite (+0 and -0 count once)", "format: number of values")
t.is(s8[5], "  max             448", "format: max")
t.is(s8[6], "  min normal      0.015625 (2^-6)", "format: min normal")
t.is(s8[7], "  min subnormal   0.001953125 (2^-9)", "format: min subnormal")
t.is(s8[8], "  epsilon         0.125 (2^-3), the relative gap 2^-M", "format: epsilon")
t.is(s8[9], "  dynamic range   17.81 binades (log2 of max / min positive)", "format: range")
t.is(s8[10], "  specials        no inf; NaN is the all-ones code (fn)", "format: specials")
t.is(s8[11], "  overflow        saturates to +-max (sat)", "format: overflow")
t.is(s8[12], "  rounding        rne", "format: rounding")
t.is(#s8, 12, "format: twelve lines")
t.is(lines(tostring(show.format "e4m3:nosub"))[7], "  min subnormal   none (nosub)", "format: nosub")
-- E4M3FNUZ's max is 240 = 1.875 * 2^7, written as such (not 2.4e+02).
t.is(lines(tostring(show.format "float8_e4m3fnuz"))[5], "  max             240", "format: fnuz max")
-- Fixed point (e0m3: values m/4) has no normal numbers; ue4m0 (M = 0) no
-- nonzero subnormal, and being unsigned one zero: 0 and 2^-6 .. 2^8.
local e03 = lines(tostring(show.format "e0m3"))
t.is(e03[6], "  min normal      none (no exponent bits: fixed point)", "format: fixed point has no min normal")
t.is(e03[7], "  min subnormal   0.25 (2^-2)", "format: fixed point's step")
local u40 = lines(tostring(show.format "ue4m0"))
t.is(u40[4], "  values          16 distinct finite (unsigned: one zero)", "format: unsigned zero")
t.is(u40[7], "  min subnormal   none (M = 0: no nonzero subnormal)", "format: M = 0")
-- The dynamic range is log2(max / smallest positive value), the smallest
-- taken from the codes themselves (for nosub the min normal, for E8M0 2^-127).
for _, spec in ipairs { "fp4", "e3m2:nosub", "e4m3", "float8_e4m3fnuz", "E8M0", "ue4m0", "e0m3", "e5m2:nosub", "fp2" } do
  local f = lpact.format(spec)
  local lo = math.huge
  for _, c in ipairs(f:codes()) do
    if c.value > 0 and c.value < math.huge and c.kind ~= "unused" then lo = math.min(lo, c.value) end
  end
  local want = math.log(f:info().max / lo, 2)
  t.ok(math.abs(f:info().binades - want) < 1e-12, "binades of " .. spec .. " = log2(max / min positive code)",
    string.format("%.15g vs %.15g", f:info().binades, want))
  t.like(tostring(show.format(f)), string.format("dynamic range   %.2f binades", want), "format: range of " .. spec)
end
-- every policy the engine knows has its specials line (a new policy
-- without one would print "nil")
for _, pol in ipairs(lpact.format_names().policies) do
  local f = lpact.parse_format("e4m3:" .. pol) or lpact.parse_format("ue8m0:" .. pol)
  local _, rows = show.summary(f)
  local text
  for _, r in ipairs(rows) do if r[1] == "specials" then text = r[2] end end
  t.ok(type(text) == "string" and text:find("(" .. pol .. ")", 1, true) ~= nil, "format: specials of policy " .. pol, tostring(text))
end
t.raises(function() return show.format { ebits = 2, mbits = 1, bias = 1 } end, "^format: [^\n]*$", "format: a description table is one line")
t.like(require("lpact.repl").render(lpact.format "fp4"), "layout%s+1 sign %+ 2 exponent %+ 1 mantissa", "the REPL prints a Format as its summary")

-- Number line, linear: 23 columns for 0..6, column = 1 + round(x / 6 * 22).
t.is(tostring(compare("e2m1", "e1m2", { width = 30 })), table.concat({
  "non-negative values, linear scale",
  "e2m1  |─|─|─||───|───|──────|",
  "e1m2  |─|─|─||─|─|─|─────────",
  "      0      2       4      6",
  "      | one value in a column, 2-9 that many, # ten or more",
  "e2m1  0 0.5 1 1.5 2 3 4 6",
  "e1m2  0 0.5 1 1.5 2 2.5 3 3.5",
}, "\n"), "compare e2m1 e1m2")
t.like(tostring(compare("e4m3", "e5m2", { width = 80 })), "log2 scale", "wide ranges use a log scale")
-- Rows are labelled as asked: e3m2 and e3m2:nosub differ in name; two
-- Formats of one bare name fall back to their full specs. E3M2 (bias 3)
-- has 32 non-negative values from 0.0625 (subnormal 2^-4), 29 without
-- its three subnormals (from 0.25).
local nos = lines(tostring(compare("e3m2", "e3m2:nosub", { width = 80 })))
t.like(nos[2], "^e3m2        [|]", "compare: the first row is e3m2")
t.like(nos[3], "^e3m2:nosub  [|]", "compare: the second row shows :nosub")
t.is(nos[6], "e3m2        32 values from 0.0625 to 28", "compare: e3m2's values")
t.is(nos[7], "e3m2:nosub  29 values from 0.25 to 28", "compare: e3m2:nosub's values")
local byf = lines(tostring(compare(lpact.format "e3m2", lpact.format "e3m2:nosub", { width = 90 })))
t.like(byf[2], "^e3m2:bias=3:fin:sat:rne ", "compare of two Formats named alike: the full spec")
t.like(byf[3], "^e3m2:bias=3:nosub:fin:sat:rne ", "and the other's")
-- e4m3 and e5m2 on 40 columns crowd several values into a column: digits
t.like(tostring(compare("e4m3", "e5m2", { width = 40 })), "\n%s+| one value in a column, 2%-9 that many, # ten or more\n",
  "compare explains its digit marks in a legend line")
t.raises(function() return compare("fp4") end, "two formats expected", "compare needs two formats")

-- Histograms: 6 values in 3 bins; bars of 22 cells (40 - 14 - 1 - 3) in
-- eighths: 22/3 = 7 3/8, 44/3 = 14 5/8 (rounded), 22.
t.is(tostring(hist({ 1, 2, 2, 3, 3, 3 }, { bins = 3, width = 40, color = false })), table.concat({
  "6 values, min 1, max 3, mean 2.333, sd 0.7454",
  "[    1, 1.667) 1 ███████▍",
  "[1.667, 2.333) 2 ██████████████▋",
  "[2.333,     3] 3 ██████████████████████",
}, "\n"), "hist: exact text")
t.is(tostring(hist({ 0, 0, 1, 0 / 0, 1 / 0, -1 / 0 }, { bins = 2, width = 30, color = false })), table.concat({
  "6 values, min 0, max 1, mean 0.3333, sd 0.4714",
  "[  0, 0.5) 2 ████████████████",
  "[0.5,   1] 1 ████████",
  "nan 1, -inf 1, inf 1",
}, "\n"), "hist: NaN and infinities counted apart")
local h = hist({ 5, 5, 5 }, { width = 40, color = false })
t.is(#h.counts, 1, "hist: equal values make one bin")
t.like(tostring(hist({ 1, 2, 3 }, { width = 40, color = true })), "\27%[34m", "hist: colour when asked")
t.ok(not tostring(hist({ 1, 2, 3 }, { width = 40, color = false })):find("\27", 1, true), "hist: no escape codes without colour")
t.is(hist(lpact.tensor { { 1, 2 }, { 3, 4 } }, { bins = 2 }).finite, 4, "hist of a 2-D tensor counts every element")
t.raises(function() return hist("abc") end, "a tensor or a list of numbers expected", "hist: bad argument")
t.raises(function() return hist({ 1, "x" }) end, "element 2 is a string", "hist: non-number element")

-- errors: relu in fp4 on 0, 1, ..., 6: Q(5) = 4 (a tie between 4, code
-- 0x6, and 6, code 0x7: the even code), every other integer is exact.
local e = errors("relu", "fp4", 0, 6, { n = 7, width = 60, color = false })
t.is(e.max, 1.0, "errors: max |error| is 1")
t.is(e.argmax, 5.0, "errors: at x = 5")
t.near(e.mean, 1 / 7, 1e-15, "errors: mean |error| 1/7")
t.near(e.rms, math.sqrt(1 / 7), 1e-15, "errors: RMS sqrt(1/7)")
t.near(e.bias, -1 / 7, 1e-15, "errors: mean signed error -1/7")
t.like(tostring(e), "^relu in fp4 against fp32, 7 inputs\nmax |error|  1  %(at x = 5%)", "errors: report")
local e2 = errors("tanh", "fp2", -4, 4, { n = 801 })
t.near(e2.max, math.tanh and math.tanh(4) or 0.999329299739067, 1e-12, "errors: tanh in fp2 is 0, max error tanh(4)")

-- errors of a quantized activation layer as it stands: tanh in fp2 is
-- the zero function (every |tanh| < 1 rounds to 0, 1 itself to the even 0).
if pcall(require, "lpact.qact") then
  local layer = lpact.qact.layer { "tanh", fmt = "fp2" }
  local el = errors(layer, -4, 4, { n = 801 })
  t.near(el.max, 0.999329299739067, 1e-6, "errors(layer): tanh in fp2 is 0, max error tanh(4)")
  t.like(tostring(el), "^qact tanh fp2 .* against fp32, 801 inputs", "errors(layer): its report")
  local ll2 = levels(lpact.qact.layer { "relu", fmt = "fp2", levels = "learnable" })
  t.like(tostring(ll2), "learned", "levels(layer) of learnable levels has a learned column")
  local pl2 = tostring(plot(layer, -2, 2, { width = 40, height = 5, color = false }))
  t.is(#lines(pl2), 5 + 3, "plot(layer): a chart of the layer as it stands")
  t.like(pl2, "tanh %(fp32%).*tanh in fp2", "plot(layer): its legend")
  t.is(hist(require("lpact.autograd").var(lpact.tensor { 1, 2, 3 }), { bins = 3 }).finite, 3, "hist of an autograd Var")
else
  t.diag("lpact.qact missing: layer checks skipped")
end

-- plot: structure, and one-line errors for bad input
local p = plot("relu", "fp2", -2, 2, { width = 30, height = 4, color = false })
local pl = lines(tostring(p))
t.is(#pl, 4 + 3, "plot: height rows + axis + labels + legend")
t.like(pl[#pl], "relu %(fp32%).*relu in fp2", "plot: legend")
t.ok(not tostring(p):find("\27", 1, true), "plot: no escape codes without colour")
t.raises(function() return plot(function() return 0 / 0 end, "fp4", -1, 1) end, "^plot: f%(%-1%) is NaN; nothing to draw$", "plot: NaN is one message")
t.raises(function() return plot(function() end, "fp4", -1, 1) end, "f%(%-1%) returned nil, a number expected", "plot: nil result")
t.raises(function() return plot("nosuch", "fp4", -1, 1) end, "unknown activation 'nosuch'", "plot: unknown activation")
t.raises(function() return plot("tanh", "fp4", 1, -1) end, "lo < hi expected", "plot: empty range")
t.raises(function() return plot("tanh", "nosuchformat", -1, 1) end, "^plot: [^\n]*$", "plot: a bad format is one line")
t.raises(function() return levels "e9m9" end, "^levels: [^\n]*$", "levels: a bad spec is one line")
t.raises(function() return levels(42) end, "a format expected", "levels: wrong type")
t.raises(function() return levels "fp16" end, "^levels: fp16 has 2^16 codes; levels lists formats up to 12 bits", "levels: fp16 is too large to list")
t.raises(function() return compare("fp16", "fp4") end, "^compare: fp16 has 2^16 codes", "compare: fp16 is too large to draw")
t.like(tostring(show.format "fp32"), "\n  layout          1 sign %+ 8 exponent %+ 23 mantissa bits = 32 bits, 2%^32 codes\n", "format: fp32 layout")
-- BF16: 2^16 codes less 2 * (2^7 - 1) NaNs, 2 infinities and one of the zeros.
t.like(tostring(show.format "bf16"), "values          65279 distinct finite", "format: bf16 counts its values")

-- Tensors, NumPy-like: one common width, summarised past 1000 elements.
t.is(show.tensor(lpact.tensor { { 1, 2 }, { 3, 4 } }), "Tensor (2, 2)\n[[1, 2],\n [3, 4]]", "tensor: 2 x 2")
t.is(show.tensor(lpact.arange(2000)),
  "Tensor (2000,)  min 0, max 1999, mean 999.5\n[   0,    1,    2,  ..., 1997, 1998, 1999]", "tensor: summarised")
t.is(show.tensor(lpact.arange(12) / 4, { width = 30 }), table.concat({
  "Tensor (12,)  min 0, max 2.75, mean 1.375",
  "[   0, 0.25,  0.5, 0.75,    1,",
  "  1.25,  1.5, 1.75,    2, 2.25,",
  "   2.5, 2.75]",
}, "\n"), "tensor: a long row wraps at the width")
t.is(show.tensor(lpact.tensor(3.5)), "Tensor ()\n3.5", "tensor: 0-D")
t.is(show.tensor(lpact.tensor { 1, 0 / 0, -1 / 0 }), "Tensor (3,)\n[   1,  nan, -inf]", "tensor: NaN and inf")
t.like(show.tensor(lpact.full({ 4, 5 }, 0 / 0)), "^Tensor %(4, 5%)  min nan, max nan, mean nan, 20 NaN\n", "tensor: NaN counted")
local big = show.tensor(lpact.zeros { 50, 60, 70 })
t.ok(#lines(big) <= 70, "tensor: 210000 elements in a few lines", #lines(big))
t.like(require("lpact.repl").render(lpact.tensor { 1, 2 }), "^Tensor %(2,%)\n%[1, 2%]$", "the REPL prints Tensors this way")

-- usage: the level usage of a layer's telemetry. FP2's input codes are
-- +0, 2, -0, -2 (sign | exponent); by hand: -3 and 7 saturate to -2 and 2,
-- -0.5, 0.2 and 0.9 round to zero (underflows), 0 is +0, 1.5 is 2, NaN apart.
local ul = lpact.qact.layer { "relu", fmt = "fp2", telemetry = true }
ul:forward(lpact.tensor { -3, -0.5, 0.2, 0.9, 1.5, 7, 0 / 0, 0 })
local uv = show.usage(ul, { width = 50, color = false })
t.is(tostring(uv), table.concat({
  "level usage of qact relu fp2 emulate levels=fixed ste=fprime",
  "8 inputs in 1 pass:",
  "  2 saturated (25.0%), 3 rounded to zero (37.5%), 1 NaN (12.5%)",
  "code  value  count  share",
  "0x3      -2      1  12.5%  ███████▋",
  "0x2      -0      1  12.5%  ███████▋",
  "0x0       0      3  37.5%  ███████████████████████",
  "0x1       2      2  25.0%  ███████████████▍",
}, "\n"), "usage: FP2 relu on a hand-made input, in value order with shares and bars")
t.ok(uv.figure.kind == "bars" and table.concat(uv.figure.labels, " ") == "-2 -0 0 2"
  and table.concat(uv.figure.counts, " ") == "1 1 3 2", "usage: its figure is a bar per level")
ul:forward(lpact.tensor { 2, 2 })
t.like(tostring(show.usage(ul, { width = 50, color = false })), "\n10 inputs in 2 passes:\n  2 saturated %(20%.0%%%)",
  "usage: counts add up over passes")
t.like(tostring(show.usage(ul, { width = 90, color = false })), "\n10 inputs in 2 passes: 2 saturated %(20%.0%%%), 3 rounded",
  "usage: one line when the width has room for it")
for _, w in ipairs { 70, 80 } do
  local widest = 0
  for l in (tostring(show.usage(ul, { width = w, color = false })) .. "\n"):gmatch("(.-)\n") do
    widest = math.max(widest, utf8.len(l))
  end
  t.ok(widest <= w, "usage: no line wider than the width " .. w .. " (widest " .. widest .. ")")
end
local u8 = lpact.qact.layer { "tanh", fmt = "fp8", telemetry = true }
u8:forward(lpact.tensor { 0.1, 0.1, 1, 500, -2 })
local t8 = tostring(show.usage(u8, { width = 50, color = false }))
t.like(t8, "\n0x1d  0%.1015625      2  40%.0%%", "usage: FP8 lists 0.1's code 0x1d (0.1015625) twice")
t.like(t8, "\n252 of 256 codes never used %(not listed%)$", "usage: a wide format lists only the codes used")
t.raises(function() return show.usage(lpact.qact.layer { "relu", fmt = "fp4" }) end,
  "has counted nothing yet: switch its telemetry on", "usage: a layer that has not counted is one line")
t.raises(function() return show.usage(lpact.qact.layer { "relu" }) end, "has no codes to count", "usage: an fp32 layer")
t.raises(function() return show.usage(ul, 5) end, "usage: options expected %(a table%), got number", "usage: options must be a table")
t.raises(function() return tostring(show.usage(ul, { width = "wide" })) end, "width must be a number of columns, got wide",
  "a width that is not a number is one line")
t.raises(function() return usage(3) end, "quantized activation layer %(lpact.qact%) expected, got number", "usage: a number")
t.raises(function() return usage({}) end, "a model with some", "usage: a table that holds no layer")
local um = lpact.models.mlp { 4, 3, 3, 2, act = lpact.qact { "gelu", fmt = "fp4", telemetry = true } }
um:forward(lpact.rand({ 5, 4 }, 1, -3, 3))
local umt = tostring(usage(um, { width = 60, color = false }))
t.ok(umt:match("^layer 1: level usage of qact gelu fp4") and umt:match("\n\nlayer 2: level usage of qact gelu fp4")
  and umt:match("\n15 inputs in 1 pass") and not umt:match("layer 3"), "usage(model): one report per quantized layer")

-- plain tables print inline
t.is(show.table({ 1, 2, { a = 1, b = "x" }, k = 3 }), '{1, 2, {a = 1, b = "x"}, k = 3}', "table: inline view")
local cyc = {}
cyc[1] = cyc
t.is(show.table(cyc), "{{…cycle}}", "table: cycles are cut")

-- errors_qact titles a table option as Lua would write it, not "table: 0x…"
local eq = lines(tostring(show.errors_qact("sigmoid", { fmt = "fp2", scale = { "fixed", 0.5, out = 2 } }, -6, 6)))
t.is(eq[1], "sigmoid in qact{fmt=fp2, scale={fixed, 0.5, out = 2}} against fp32, 1001 inputs",
  "errors_qact: a table-valued option in the title")

t.done()
