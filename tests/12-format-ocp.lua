-- The OCP Microscaling (MX) v1.0 element formats, checked against the
-- spec's tables by hand: E4M3 (our fp8/e4m3, the FN variant), E5M2, E2M3,
-- E3M2 (fp6) and E2M1 (fp4). Codes are written S.EEEE.MMM in binary.
local t = require "lpact.tap"

local function code(s) return tonumber((s:gsub("%.", "")), 2) end

-- format, {code bits, value} pairs from the spec's tables
local tables = {
  e4m3 = {
    {"0.0000.000", 0}, {"1.0000.000", -0.0},
    {"0.1111.110", 448}, {"1.1111.110", -448},             -- max normal 2^8 * 1.75
    {"0.0001.000", 2^-6},                                   -- min normal
    {"0.0000.111", 2^-6 * 0.875},                           -- max subnormal
    {"0.0000.001", 2^-9},                                   -- min subnormal
    {"0.0111.000", 1}, {"0.0111.001", 1.125}, {"0.1000.000", 2}, {"0.1110.111", 240},
  },
  e5m2 = {
    {"0.00000.00", 0}, {"0.11110.11", 57344}, {"1.11110.11", -57344},   -- 2^15 * 1.75
    {"0.00001.00", 2^-14}, {"0.00000.11", 2^-14 * 0.75}, {"0.00000.01", 2^-16},
    {"0.11111.00", math.huge}, {"1.11111.00", -math.huge},
    {"0.01111.00", 1}, {"0.01111.01", 1.25}, {"0.10000.10", 3},
  },
  e2m3 = {
    {"0.00.000", 0}, {"0.11.111", 7.5}, {"1.11.111", -7.5},             -- 2^2 * 1.875
    {"0.01.000", 1}, {"0.00.111", 0.875}, {"0.00.001", 0.125},
    {"0.10.100", 3}, {"0.01.101", 1.625},
  },
  e3m2 = {
    {"0.000.00", 0}, {"0.111.11", 28}, {"1.111.11", -28},                -- 2^4 * 1.75
    {"0.001.00", 0.25}, {"0.000.11", 0.1875}, {"0.000.01", 0.0625},
    {"0.011.00", 1}, {"0.100.10", 3}, {"0.110.01", 10},
  },
  e2m1 = {
    {"0.00.0", 0}, {"0.00.1", 0.5}, {"0.01.0", 1}, {"0.01.1", 1.5},
    {"0.10.0", 2}, {"0.10.1", 3}, {"0.11.0", 4}, {"0.11.1", 6},
    {"1.00.0", -0.0}, {"1.00.1", -0.5}, {"1.11.1", -6},
  },
}

for _, name in ipairs { "e4m3", "e5m2", "e2m3", "e3m2", "e2m1" } do
  local f = lpact.format(name)
  for _, p in ipairs(tables[name]) do
    local c = code(p[1])
    local v = math.type(p[2]) == "integer" and p[2] + 0.0 or p[2]   -- keep -0.0
    t.is(f:decode(c), v, string.format("%s %s decodes to %s", name, p[1], p[2]))
    t.is(f:encode(p[2]), c, string.format("%s %s encodes to %s", name, p[2], p[1]))
    t.is(f:round(p[2]), v, string.format("%s %s is a fixed point of round", name, p[2]))
  end
end

-- NaN encodings: E4M3 has only S.1111.111; E5M2 has S.11111.{01,10,11}
local e4, e5 = lpact.format"e4m3", lpact.format"e5m2"
t.ok(e4:decode(code"0.1111.111") ~= e4:decode(code"0.1111.111"), "E4M3 0.1111.111 is NaN")
t.ok(e4:decode(code"1.1111.111") ~= e4:decode(code"1.1111.111"), "E4M3 1.1111.111 is NaN")
for _, m in ipairs { "01", "10", "11" } do
  local v = e5:decode(code("0.11111." .. m))
  t.ok(v ~= v, "E5M2 0.11111." .. m .. " is NaN")
end
t.is(lpact.format"fp6":decode(code"0.111.11"), 28.0, "FP6 has no specials: top code is 28")
t.is(lpact.format"fp4":decode(15), -6.0, "FP4 has no specials: 0xF is -6")

-- properties from the tables
local props = {
  {"e4m3", 448, 2^-6, 2^-9, "fn"}, {"e5m2", 57344, 2^-14, 2^-16, "ieee"},
  {"e2m3", 7.5, 1, 0.125, "fin"}, {"e3m2", 28, 0.25, 0.0625, "fin"}, {"e2m1", 6, 1, 0.5, "fin"},
}
for _, p in ipairs(props) do
  local f = lpact.format(p[1])
  t.is(f.max, p[2] + 0.0, p[1] .. " max")
  t.is(f.min_normal, p[3] + 0.0, p[1] .. " min normal")
  t.is(f.min_subnormal, p[4] + 0.0, p[1] .. " min subnormal")
  t.is(f.policy, p[5], p[1] .. " policy")
end

-- OCP conversions: saturating mode clamps to max; E4M3 without saturation
-- gives NaN, E5M2 gives inf (round to nearest even)
t.is(e4:round(1e6), 448.0, "E4M3 saturating: 1e6 -> 448")
local e4n = e4:with"inf"
t.ok(e4n:round(1e6) ~= e4n:round(1e6), "E4M3 non-saturating: 1e6 -> NaN")
t.is(e5:round(1e6), math.huge, "E5M2 non-saturating: 1e6 -> inf")
t.is(e5:with"sat":round(1e6), 57344.0, "E5M2 saturating: 1e6 -> 57344")
t.is(e5:with"sat":round(-math.huge), -57344.0, "E5M2 saturating: -inf -> -57344")
t.is(lpact.format"fp4":round(math.huge), 6.0, "FP4: inf -> 6")
t.is(lpact.format"fp6":round(-1e30), -28.0, "FP6: -1e30 -> -28")

t.done()
