-- Input that used to be read as a wrong number: hex integers that wrapped
-- modulo 2^64, bit patterns wider than 32 bits, CSV labels that made
-- billions of classes, trailing separators that shifted the label column,
-- non-finite features, NUL bytes inside format specs, and line handling
-- that was quadratic in the spaces of a line.
local t = require "lpact.tap"
local numtext = require "lpact.numtext"
local data = lpact.data
local B = os.getenv("LPACT_BUILD") or "build"
local exe = B .. "/lpact"

local dir = t.tmpdir()
local function write(name, s) local p = dir .. "/" .. name local f = assert(io.open(p, "wb")) f:write(s) f:close() return p end
local function slurp(p) local f = io.open(p, "rb") local s = f and f:read("a") or "" if f then f:close() end return s end
-- runs the command with stdin from a file; stdout, stderr, exit status
local function run(cmd, input)
  local inp = write("stdin", input)
  local _, _, code = os.execute(string.format("%s <%s >%s/out 2>%s/err", cmd, inp, dir, dir))
  return slurp(dir .. "/out"), slurp(dir .. "/err"), code
end
local errmsg = t.errmsg

-- numtext: hex integers exactly, by hand: 2^63 = 9223372036854775808
t.is(numtext.number("0x8000000000000000"), 2.0 ^ 63, "0x8000000000000000 is 2^63 (tonumber wraps it to -2^63)")
t.is(numtext.number("-0x10"), -16.0, "a signed hex integer")
t.is(numtext.number("0x1fffffffffffff"), 2.0 ^ 53 - 1, "53 significant bits: exact")
t.is(numtext.number("0x3ffffffffffffe"), 2.0 ^ 54 - 2, "54 digits wide, 53 significant: exact")
t.is(numtext.number("0x3fffffffffffff"), nil, "54 significant bits: refused (no double holds it)")
t.is(numtext.number("0x1" .. string.rep("0", 300)), nil, "a hex integer beyond the double range: refused")
t.is(numtext.number("0x1.8p3"), 12.0, "a hex float")
t.is(numtext.number("1e999"), math.huge, "decimal overflow reads as inf (the caller decides)")
t.is(numtext.number(" 1"), nil, "whitespace is the caller's to strip")
t.is(numtext.trim("  a  b \t"), "a  b", "trim keeps the inner spaces")

-- lpact round
local out, err, rc = run(exe .. " round e5m2", "0x8000000000000000\n")
t.is(out, "inf\n", "round e5m2: 2^63 overflows to inf (was -448 on e4m3: a wrapped integer)")
out, err, rc = run(exe .. " round e4m3", "1\n0x8000000000000001\n")
t.is(out, "1\n", "lines before a bad one are written")
t.like(err, "^lpact: line 2: '0x8000000000000001' is a hex integer with more than 53 significant bits", "a 64-bit hex integer is refused with its line")
t.is(rc, 1, "exit 1")
out, err, rc = run(exe .. " round e4m3 --in bits", "0x3f800000\n0x13f800000\n")
t.is(err, "lpact: line 2: '0x13f800000' is wider than 32 bits (not a binary32 bit pattern)\n", "--in bits refuses 33 bits")
t.is(rc, 1, "exit 1")
out = run(exe .. " round e4m3 --in bits", "0x000000003f800000\n")
t.is(out, "1\n", "leading zeros are not width")
-- a line of 200k characters with spaces inside: read in linear time (the
-- old trim pattern took minutes on this), refused as one line
local long = "1" .. string.rep(" ", 200000) .. "2"
out, err, rc = run(exe .. " round e4m3", "3\n" .. long .. "\n")
t.like(err, "^lpact: line 2: '1      [ ]*%.%.%.' is not a number\n$", "a long line with inner spaces: one error line, shortened")
t.is(out, "3\n", "the good line before it")
out = run(exe .. " round e4m3", string.rep(" ", 100000) .. "2.5" .. string.rep(" ", 100000) .. "\n")
t.is(out, "2.5\n", "200k spaces around a number are trimmed")
out, err, rc = run(exe .. " round e4m3", string.rep("7", 10 * 1024 * 1024) .. "\n")
t.is(out, "448\n", "a 10 MB line of digits is one (huge) number, saturated")

-- CSV
local function csv(name, s, o) return errmsg(data.csv, write(name, s), o) end
t.like(csv("trail.csv", "1,2,0,\n3,4,1,\n"), "trail%.csv:1: column 'c4' is empty %(a trailing separator%?%)",
  "a trailing comma is refused (it made the label a feature)")
t.like(csv("hole.csv", "1,,0\n"), "hole%.csv:1: column 'c2' is empty", "an empty cell is refused")
t.like(csv("big.csv", "1,2,9007199254740993\n"), "big%.csv:1: label '9007199254740993' is not a class number %(an integer in 0%.%.65535%)",
  "a label of 2^53+1 is refused (it made 9e15 classes)")
t.like(csv("over.csv", "1,65536\n"), "over%.csv:1: label '65536'", "label 65536 is one above the limit")
local c = data.csv(write("edge.csv", "1,65535\n"))
t.is(c.classes, 65536, "label 65535 is the largest: 65536 classes")
t.like(csv("inf.csv", "1,1e999,0\n"), "inf%.csv:1: column 'c2' is not finite: '1e999'", "an overflowing feature is refused")
t.like(csv("f32.csv", "1,-4e71,0\n"), "f32%.csv:1: column 'c2' is not finite: '%-4e71'", "a finite double beyond float32 is refused (it would be -inf)")
c = data.csv(write("f32max.csv", "3.4028234663852886e38,0\n"))
t.is(c.x:get(1, 1), 3.4028234663852886e38, "float32's largest value itself loads")
t.like(csv("f32half.csv", string.format("%.17g,0\n", 2.0 ^ 128 - 2.0 ^ 103)), "not finite", "2^128 - 2^103 (rounds to inf in float32) is refused")
t.like(csv("nan.csv", "1,nan,0\n"), "nan%.csv:1: column 'c2' is not a number", "nan is not a number unless asked for")
c = data.csv(write("nanok.csv", "1,nan,0\n-inf,1e999,1\n"), { nonfinite = true })
local v = c.x:totable()
t.ok(v[1][2] ~= v[1][2] and v[2][1] == -math.huge and v[2][2] == math.huge, "nonfinite = true lets nan, -inf and overflow through")
c = data.csv(write("hex.csv", "0x8000000000000000,0x1\n"))
t.is(c.x:get(1, 1), 2.0 ^ 63, "a hex feature is read exactly, not wrapped")
t.is(c.y:get(1), 1, "a hex label")
t.like(csv("hdr.csv", "a,b\n1,2,3\n"), "hdr%.csv:2: 3 fields, the header has 2", "a header shorter than the rows is refused")
t.like(csv("rag.csv", "1,2,0\n1,2\n"), "rag%.csv:2: 2 fields, the first row has 3", "a short row is refused with its line")

-- IDX float files holding NaN / inf are refused unless asked for
local function idx_float(name, vals)
  local hdr = string.pack(">I1I1I1I1I4", 0, 0, 0x0D, 1, #vals)
  local body = {}
  for i, x in ipairs(vals) do body[i] = string.pack(">f", x) end
  return write(name, hdr .. table.concat(body))
end
t.like(errmsg(data.idx, idx_float("nan.idx", { 1, 0 / 0, 2 })), "nan%.idx: holds NaN values %(pass nonfinite = true", "IDX with NaN refused")
t.like(errmsg(data.idx, idx_float("inf.idx", { 1, -math.huge })), "inf%.idx: holds infinite values", "IDX with -inf refused")
local x = data.idx(idx_float("nanok.idx", { 1, 0 / 0 }), { nonfinite = true })
t.ok(x:get(2) ~= x:get(2), "nonfinite = true loads the NaN")
t.is(data.idx(idx_float("ok.idx", { 1, 2.5 })):get(2), 2.5, "a finite float IDX loads")

-- format specs: a NUL byte is refused, not cut at
t.like(errmsg(lpact.format, "e4m3\0junk"), "NUL byte", "lpact.format refuses a NUL inside the spec")
local f, e = lpact.parse_format("e4m3\0")
t.ok(f == nil and e:match("NUL byte"), "parse_format too")
t.like(errmsg(function() return lpact.format("e4m3"):with("rtz\0sr") end), "NUL byte", "and Format:with")
local e2 = errmsg(lpact.format, "e4m3:\nrtz\tx")
t.ok(not e2:find("[\n\t]") and e2:find("e4m3:%?rtz%?x") ~= nil, "a control byte in a bad spec shows as '?': the error stays one line (" .. e2 .. ")")
out, err, rc = run(exe .. " round 'e2m1' --mode rne", "1\n")
t.is(out, "1\n", "a plain spec still works")

os.execute("rm -rf " .. dir)
-- excerpt: user text echoed in a message, escaped and bounded (worked by hand)
t.is(numtext.excerpt("a\0b'c\\"), "a\\000b\\'c\\\\", "excerpt: NUL as \\000, quote and backslash escaped")
t.is(numtext.excerpt("\255\n"), "\\255\\010", "excerpt: non-ASCII and newline as decimal escapes")
t.is(numtext.excerpt(string.rep("x", 41)), string.rep("x", 40) .. "...", "excerpt: 41 characters cut to 40 and marked")
t.is(numtext.excerpt(string.rep("x", 40)), string.rep("x", 40), "excerpt: 40 characters kept whole")
do
  local p = os.tmpname()
  local f = assert(io.open(p, "wb")) f:write("a,b\nx\0,1\n") f:close()
  local ok, e = pcall(lpact.data.csv, p)
  os.remove(p)
  t.ok(not ok and lpact.is_failure(e) and e.msg:find("column 'a' is not a number: 'x\\000'", 1, true) ~= nil,
    "a CSV cell with a NUL byte is echoed escaped in one line: " .. tostring(e and e.msg or e))
end
t.done()
