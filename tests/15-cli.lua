-- The format commands on the command line: info, levels, round, bench,
-- help — outputs worked out by hand, error lines and exit statuses.
local t = require "lpact.tap"
local B = os.getenv("LPACT_BUILD") or "build"
local exe = B .. "/lpact"

-- runs a shell command; returns stdout, stderr, exit status
local n = 0
local function run(cmd, input)
  n = n + 1
  local base = os.tmpname()
  if input then
    local fh = io.open(base .. ".in", "w")
    fh:write(input)
    fh:close()
  end
  local full = string.format("%s %s >%s.out 2>%s.err; echo $? >%s.rc", cmd,
    input and ("<" .. base .. ".in") or "</dev/null", base, base, base)
  os.execute(full)
  local function slurp(p)
    local fh = io.open(p)
    local s = fh and fh:read("a") or ""
    if fh then fh:close() end
    os.remove(p)
    return s
  end
  local out, err, rc = slurp(base .. ".out"), slurp(base .. ".err"), tonumber(slurp(base .. ".rc"))
  os.remove(base .. ".in")
  os.remove(base)
  return out, err, rc
end

-- info
local out, err, rc = run(exe .. " info fp4")
t.is(rc, 0, "info exits 0")
t.like(out, "^fp4 = e2m1:bias=1:fin:sat:rne\n", "info names the format")
t.like(out, "\n  max +6\n", "info: max 6")
t.like(out, "min subnormal +0%.5 %(2%^%-1%)", "info: min subnormal")
t.like(out, "15 distinct finite", "info: value count")
t.like(out, "3%.58 binades", "info: dynamic range")
out, err, rc = run(exe .. " info e4m9q")
t.is(err, "lpact: e4m9q: unexpected 'q' at column 5, expected ':' or end\n", "info: parse error line")
t.is(rc, 2, "info: bad spec exits 2")
out, err, rc = run(exe .. " info")
t.like(err, "^lpact: info: missing argument .format.; usage: lpact info %[%-h%] FORMAT\n$", "info without a format")
t.is(rc, 2, "exit 2")
for _, s in ipairs { "e9m1", "e4m3:bias=300", "e1m2:ieee", "fp5", "fp4:rnx" } do
  out, err, rc = run(exe .. " info " .. s)
  t.ok(rc == 2 and err:match("^lpact: [^\n]+\n$") ~= nil and out == "", "info " .. s .. ": one error line, exit 2")
end

-- levels (by hand from the E2M1 table): the gap to the next larger
-- magnitude and that gap relative to the value (0.5/0.5, 0.5/1, 0.5/1.5, ...)
out, err, rc = run(exe .. " levels fp4")
t.is(out, [[
fp4 = e2m1:bias=1:fin:sat:rne: 16 codes, 15 distinct values
code  s ee m  value  gap  rel gap  kind
0x0   0 00 0      0  0.5        —  zero
0x1   0 00 1    0.5  0.5     100%  subnormal
0x2   0 01 0      1  0.5      50%
0x3   0 01 1    1.5  0.5    33.3%
0x4   0 10 0      2    1      50%
0x5   0 10 1      3    1    33.3%
0x6   0 11 0      4    2      50%
0x7   0 11 1      6    —        —  max
0x8   1 00 0     -0  0.5        —  zero
0x9   1 00 1   -0.5  0.5     100%  subnormal
0xa   1 01 0     -1  0.5      50%
0xb   1 01 1   -1.5  0.5    33.3%
0xc   1 10 0     -2    1      50%
0xd   1 10 1     -3    1    33.3%
0xe   1 11 0     -4    2      50%
0xf   1 11 1     -6    —        —  max
]], "levels fp4")
-- the command line's table is the REPL's, every code listed, uncoloured
t.is(out, tostring(require("lpact.show").levels("fp4", nil, { list = true, color = false })) .. "\n",
  "levels fp4: the REPL's table")
out = run(exe .. " info fp8")
t.is(out, tostring(require("lpact.show").format("fp8")) .. "\n", "info fp8: the REPL's summary")
out = run(exe .. " levels e2m1:nosub")
t.like(out, "\n0x1   0 00 1      —    —        —  unused\n", "levels: a nosub code is unused")
t.like(out, "\n0x0   0 00 0      0    1        —  zero\n", "levels: nosub's gap from 0 is 1")
t.is(rc, 0, "levels exits 0")
out, err, rc = run(exe .. " levels e4m3")
local lines = {}
for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
t.is(#lines, 2 + 256, "levels e4m3: 256 codes")
t.like(lines[3 + 0x7e], "^0x7e  0 1111 110 +448 +— +—  max$", "0x7e is 448")
t.like(lines[3 + 0x7f], "^0x7f  0 1111 111 +nan .*nan$", "0x7f is NaN")
t.like(lines[3 + 0x01], "^0x01  0 0000 001 +0%.001953125  0%.001953125 +100%%  subnormal$", "0x01 is 2^-9")
t.like(lines[3 + 0xfe], "^0xfe  1 1111 110 +%-448 ", "0xfe is -448")
out, err, rc = run(exe .. " levels e5m7")
t.ok(rc == 2 and out == "" and err:match("^lpact: e5m7 has 13 bits") ~= nil, "levels refuses 13 bits politely")
out, err, rc = run(exe .. " levels fp16")
t.like(err, "^lpact: fp16 has 16 bits %(65536 codes%); levels lists formats of at most 12 bits", "levels refuses 16 bits")
t.is(rc, 2, "exit 2")
out, err, rc = run(exe .. " levels ue3m8")
t.is(rc, 0, "levels of an 11-bit format works")

-- round
out, err, rc = run(exe .. " round e2m1 --mode rtz --in bits --out bits", "0x3fc00000\n0x40600000\n0xc0a00000\n")
t.is(out, "0x3fc00000\n0x40400000\n0xc0800000\n", "round --in bits --out bits (1.5, 3.5->3, -5->-4 toward zero)")
t.is(rc, 0, "exit 0")
out, err, rc = run(exe .. " round fp4", "0.3\n2.5\n-7\ninf\n-inf\nnan\n1e-9\n-1e-9\n\n0x1.8p1\n 5 \n")
t.is(out, "0.5\n2\n-6\n6\n-6\nnan\n0\n-0\n3\n4\n", "round decimal in and out")
-- E4M3FNUZ near its max 240 = 1.875 * 2^7 (spacing 16 there): 232 is halfway
-- between 224 and 240 and goes to the even mantissa (224 = 1.75 * 2^7);
-- 236 rounds up to 240; 250 saturates to 240
out = run(exe .. " round float8_e4m3fnuz:sat", "232\n236\n250\n")
t.is(out, "224\n240\n240\n", "round writes 240, not 2.4e+02")
out, err, rc = run(exe .. " round fp8 --out code", "0.3\n464\n465\n-448\n-0\n")
t.is(out, "0x2a\n0x7e\n0x7e\n0xfe\n0x80\n", "round --out code")
out, err, rc = run(exe .. " round fp8:inf --out code", "465\n")
t.is(out, "0x7f\n", "fp8:inf: 465 -> the NaN code")
out, err, rc = run(exe .. " round fp8 --out bits", "nan\n-nan\n")
t.is(out, "0x7fc00000\n0xffc00000\n", "nan and -nan keep their sign")
out, err, rc = run(exe .. " round fp4 --in bits --out bits", "0x7fc00001\n0x00000001\n0x80000001\n")
t.is(out, "0x7fc00001\n0x00000000\n0x80000000\n", "a NaN payload passes; the smallest binary32 subnormals round to +-0")
out, err, rc = run(exe .. " round fp4 --out code", "nan\n")
t.is(out, "none\n", "fin has no NaN code")
out, err, rc = run(exe .. " round fp32", "0.1\n1e-50\n3.5e38\n")
t.is(out, "0.10000000149011612\n0\ninf\n", "fp32: doubles rounded to binary32")
out, err, rc = run(exe .. " round e3m2 --mode sr --seed 5", "0.3\n0.3\n0.3\n0.3\n0.3\n0.3\n")
local out2 = run(exe .. " round e3m2 --mode sr --seed 5", "0.3\n0.3\n0.3\n0.3\n0.3\n0.3\n")
t.is(out, out2, "sr with a seed repeats")
t.like(out, "^[0.25\n3125]+$", "sr picks the neighbours 0.25 and 0.3125")
out, err, rc = run(exe .. " round fp4", "1\n2\nabc\n4\n")
t.is(err, "lpact: line 3: 'abc' is not a number\n", "a bad line is named")
t.is(rc, 1, "a bad line exits 1")
t.is(out, "1\n2\n", "lines before it are written")
out, err, rc = run(exe .. " round fp4 --in bits", "0x3f800000\n1.0\n")
t.is(err, "lpact: line 2: '1.0' is not a binary32 bit pattern (0x%08x)\n", "bad bits line")
t.is(rc, 1, "exit 1")
for _, a in ipairs { "", "e4m9q", "fp4 --in hex", "fp4 --out oct", "fp4 --mode xyz", "fp4 --mode fin",
                     "fp4 --seed -1", "fp4 --bogus", "fp4 fp8", "fp4 --mode" } do
  out, err, rc = run(exe .. " round " .. a, "1\n")
  t.ok(rc == 2 and err:match("^lpact: [^\n]+\n$") ~= nil and out == "", "round " .. a .. ": one error line, exit 2")
end

-- bench and help
out, err, rc = run(exe .. " bench --list")
t.like(out, "quantize\n", "bench --list names quantize")
out, err, rc = run(exe .. " bench nosuch")
t.like(err, "^lpact: no benchmark 'nosuch'", "unknown bench")
t.is(rc, 2, "exit 2")
out, err, rc = run(exe .. " bench quantize 4096")
t.like(out, "memcpy of the same buffer", "bench quantize prints memcpy")
t.like(out, "\nfp2%s+sr%s+[%w]+%s+2%s+[%d.]+%s+[%d.]+%s+%d+%%%s+[%dinf.]+%%\n$", "and the last case")
t.like(out, "\nfp8%s+rne%s+portable%s+1%s", "every lane build has a row: the portable one")
t.is(rc, 0, "bench exits 0")
out, err, rc = run(exe .. " help")
for _, c in ipairs { "info", "levels", "round", "bench", "help" } do
  t.like(out, "\n  " .. c .. " +%S", "help lists " .. c)
end

-- Code piped into lpact with no arguments runs, as lua does.
local out2, err2, rc2 = run(exe, "print(1 + 1, select('#', ...))\n")
t.is(out2, "2\t0\n", "piped code runs with no arguments", err2)
t.is(rc2, 0, "... exit status 0")
out2, err2, rc2 = run(exe, "error('boom')\n")
t.is(rc2, 1, "piped code that fails: status 1")
t.like(err2, "^lpact: stdin:1: boom", "... with its message", err2)

t.done()
