-- Every teaching example runs without error and prints what its comments
-- promise (the numbers below are the ones written in the examples).
local t = require "lpact.tap"
local B = os.getenv("LPACT_BUILD") or "build"

local function run(name)
  local p = io.popen(string.format("COLUMNS=80 %s/lpact examples/%s 2>&1; echo \"exit=$?\"", B, name))
  local out = p:read("a")
  p:close()
  local body, code = out:match("^(.-)exit=(%d+)\n$")
  t.is(tonumber(code), 0, name .. " runs without error")
  return body or out
end

local function has(out, plain, name)
  t.ok(out:find(plain, 1, true) ~= nil, name, not out:find(plain, 1, true) and ("missing: " .. plain) or nil)
end

local p = io.popen("ls examples")
local files = {}
for f in p:lines() do if f:match("^%d%d%-.*%.lua$") then files[#files + 1] = f end end
p:close()
t.ok(#files >= 8 and #files <= 10, "8 to 10 examples")

local out = run "01-rounding.lua"
has(out, "0x7   0 11 1      6    —        —  max", "01: the levels table of fp4")
for _, l in ipairs { "fp4: 0.3 -> 0.5", "fp4: 1.2 -> 1 ", "fp4: 2.6 -> 3", "fp4: 4.9 -> 4", "fp4: 5.2 -> 6",
  "fp4: 100 -> 6, -100 -> -6", "rtz: 2.9 -> 2", "rup: 2.1 -> 3", "rdn: -2.1 -> -3",
  "e4m3: pi -> 3.25  (relative error 3.5%)" } do
  has(out, l, "01: " .. l)
end

out = run "02-ties.lua"
has(out, "tie 2.5   rne -> 2   (code 0x4)   rna -> 3", "02: 2.5 goes to the even code")
has(out, "tie 3.5   rne -> 4   (code 0x6)   rna -> 4", "02: 3.5 -> 4")
has(out, "tie 5     rne -> 4   (code 0x6)   rna -> 6", "02: 5 -> 4 under rne, 6 under rna")
has(out, "tie 0.25  rne -> 0   (code 0x0)   rna -> 0.5", "02: 0.25 -> 0")
has(out, "mean error over 8 ties: rne 0, rna 0.5", "02: ties to even are unbiased")

out = run "03-subnormals.lua"
has(out, "0.1 -> 0.125 with subnormals, 0 without", "03: 0.1")
has(out, "0.2 -> 0.1875 with subnormals, 0.25 without", "03: 0.2")
has(out, "zeros among 24 small inputs: 3 with subnormals, 12 without", "03: lost activations")

out = run "04-saturation.lua"
for _, l in ipairs { "e4m3           1000 -> 448", "e4m3:inf       1000 -> nan", "e4m3:inf        464 -> 448",
  "e4m3:inf        465 -> nan", "e5m2          1e+06 -> inf", "e5m2:sat      1e+06 -> 57344",
  "fp4               7 -> 6", "fp2              -5 -> -2" } do
  has(out, l, "04: " .. l)
end

out = run "05-stochastic.lua"
has(out, "mean of 10000 roundings of 0.3: rne 0.5000, sr 0.3", "05: the mean of sr is 0.3")
local m = tonumber(out:match("sr (%d+%.%d+)\n"))
t.ok(m and math.abs(m - 0.3) < 0.01, "05: sr mean within 0.01 of 0.3", m)
local sr_sum = tonumber(out:match("rne 1, sr (%d+%.%d+) on average over 20 seeds"))
t.ok(sr_sum and sr_sum > 10 and sr_sum < 12, "05: rne stuck at 1, sr near 11", sr_sum)

out = run "06-range-vs-precision.lua"
has(out, "e4m3  max 448 ", "06: e4m3 max")
has(out, "e5m2  max 57344 ", "06: e5m2 max")
has(out, "e2m3  max 7.5 ", "06: e2m3 max")
has(out, "0.001 -> 0.00195312 (+95.3%)", "06: e4m3 loses 0.001")
has(out, "1000 -> 448 (-55.2%)", "06: e4m3 clips 1000")
has(out, "0.001 -> 0.000976562 (-2.3%)", "06: e5m2 keeps 0.001")
has(out, "1000 -> 1024 (+2.4%)", "06: e5m2 keeps 1000")
has(out, "1.1 -> 1.125 (+2.3%)", "06: e4m3 is finer near 1")
has(out, "1.1 -> 1 (-9.1%)", "06: e5m2 is coarser near 1")

out = run "07-tanh-sigmoid.lua"
has(out, "tanh     fp2       0.9993", "07: tanh in fp2 is 0 everywhere")
has(out, "sigmoid  fp2       0.9820", "07: sigmoid in fp2 is 0 everywhere")
t.like(out, "tanh     fp2%s+%S+%s+%S+ 1\n", "07: tanh in fp2 has one distinct output")
local e4 = tonumber(out:match("tanh     fp4%s+(%S+)"))
local e3 = tonumber(out:match("tanh     fp3%s+(%S+)"))
t.ok(e4 and e3 and e4 < e3 and e3 < 0.9993, "07: the error shrinks as bits are added")

out = run "08-relu-fp2.lua"
if out:find("this example needs", 1, true) then
  t.diag("08 skipped its training: " .. out)
else
  local acc = {}
  for act, fmt, a in out:gmatch("(%a+)%s+in (%w+)%s+test accuracy%s+([%d.]+)%%") do acc[act .. fmt] = tonumber(a) end
  t.ok(acc.relufp32 and acc.relufp32 > 90, "08: relu fp32 above 90%", acc.relufp32)
  t.ok(acc.tanhfp32 and acc.tanhfp32 > 90, "08: tanh fp32 above 90%", acc.tanhfp32)
  t.ok(acc.relufp2 and acc.relufp2 > 80, "08: relu fp2 above 80%", acc.relufp2)
  t.ok(acc.tanhfp2 and math.abs(acc.tanhfp2 - 33.3) < 3, "08: tanh fp2 at chance", acc.tanhfp2)
end

out = run "09-learned-levels.lua"
if out:find("this example needs", 1, true) then
  t.diag("09 skipped its training: " .. out)
else
  has(out, "code  s e  value  learned  gap  rel gap  kind", "09: learned levels next to the values")
  t.like(out, "2 of 4 levels moved", "09: the levels of +0 and -0 moved")
  local z1, z2 = out:match("\n0x2      %-0 +%d+ +([%d.]+)%%.-\n0x0       0 +%d+ +([%d.]+)%%")
  t.like(out, "level usage of qact tanh fp2 emulate levels=learnable ste=fprime\n4800 inputs in 1 pass:%s",
    "09: the level usage of the first layer on the 4800 test activations")
  t.ok(z1 and z2 and tonumber(z1) + tonumber(z2) > 80, "09: most inputs on ±0", tostring(z1) .. " + " .. tostring(z2))
  local fixed, learned = out:match("fixed levels ([%d.]+)%%, learned levels ([%d.]+)%%")
  t.is(tonumber(fixed), 33.3, "09: fixed levels at chance")
  t.ok(tonumber(learned) and tonumber(learned) > 80, "09: learned levels above 80%", learned)
end

out = run "10-scaling.lua"
has(out, "no scale           4096 of 4096 values became 0; relative RMS error 100.0%", "10: all lost without a scale")
local lost, err = out:match("scale amax / 6%s+(%d+) of 4096 values became 0; relative RMS error ([%d.]+)%%")
t.ok(tonumber(lost) and tonumber(lost) < 4096 / 4, "10: few lost with a scale", lost)
t.ok(tonumber(err) and tonumber(err) < 30, "10: error below 30% with a scale", err)
t.like(out, "error: 4096 values", "10: the error histogram")

t.done()
