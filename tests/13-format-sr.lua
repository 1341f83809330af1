-- Stochastic rounding: unbiased in expectation (a statistical test with a
-- stated tolerance), the k-bit variant's documented bias, and bit-for-bit
-- repeatability (same seed, same counters; 1 vs 2 threads).
local t = require "lpact.tap"

local N = 40000
-- mean of f:round over N copies of x, with counters ctr .. ctr + N - 1
local function mean_of(f, x, ctr)
  local q = f:quantize(lpact.full({N}, x), {ctr = ctr or 0})
  local s = 0
  for _, v in ipairs(q:totable()) do s = s + v end
  return s / N
end

-- For x between neighbours lo < x < hi with p = (x - lo)/(hi - lo), the
-- mean of N draws has standard deviation (hi - lo) * sqrt(p (1 - p) / N);
-- we allow 5 of them (a false alarm about once in 1.7 million runs).
local function check(spec, x, lo, hi, want)
  local f = lpact.format(spec)
  local p = (x - lo) / (hi - lo)
  local sd = (hi - lo) * math.sqrt(p * (1 - p) / N)
  local m = mean_of(f, x)
  t.near(m, want or x, 5 * sd, string.format("%s: mean of sr(%g) over %d draws (5 sd = %.2g)", spec, x, N, 5 * sd))
end

-- x must be a binary32 value so the tensor holds it exactly
local x1 = 0.30000001192092896      -- (float)0.3
check("fp4:sr:seed=1", x1, 0, 0.5)
check("fp4:sr:seed=2", -x1, -0.5, 0)
check("fp4:sr:seed=3", 2.75, 2, 3)
check("fp8:sr:seed=4", 0.1015625 + 2^-12, 0.1015625, 0.10546875)
check("fp6:sr:seed=5", 20.5, 20, 24)
check("fp2:sr:seed=6", 0.75, 0, 2)
check("e5m2:sr:seed=7", 3e-6, 0, 2^-16)       -- below the smallest subnormal
check("fp3:sr:seed=8", 1.2, 1, 2)

-- k random bits: P(up) = floor(p * 2^k) / 2^k, so sr=1 at p = 0.6 rounds
-- up half the time and sr=4 9/16 of the time
check("fp4:sr=1:seed=9", x1, 0, 0.5, 0.25)
check("fp4:sr=4:seed=9", x1, 0, 0.5, 0.5 * 9 / 16)
check("fp4:sr=2:seed=9", 0.125, 0, 0.5, 0.125)   -- p = 1/4 exactly

-- every result is one of the two neighbours
local f = lpact.format"fp4:sr:seed=11"
local q = f:quantize(lpact.full({1000}, x1), {ctr = 0}):totable()
local okn = true
for _, v in ipairs(q) do if v ~= 0 and v ~= 0.5 then okn = false end end
t.ok(okn, "sr picks one of the two neighbours")

-- repeatability
local a = f:quantize(lpact.full({5000}, 1.3), {ctr = 100}):totable()
local b = f:quantize(lpact.full({5000}, 1.3), {ctr = 100}):totable()
t.same(a, b, "same seed, same counters: same bits")
local c = f:with"seed=12":quantize(lpact.full({5000}, 1.3), {ctr = 100}):totable()
t.ok(table.concat(a, ",") ~= table.concat(c, ","), "another seed: other draws")
-- scalar rounding draws the same counters as the tensor path
local g = lpact.format"fp4:sr:seed=11"
local same = true
for i = 0, 199 do
  if g:round(1.3, 100 + i) ~= a[i + 1] then same = false end
end
t.ok(same, "f:round(x, ctr) equals the tensor path element by element")
-- the running counter of a Format: a fresh format repeats the sequence
local r1, r2 = {}, {}
local h1, h2 = lpact.format"e3m2:sr:seed=3", lpact.format"e3m2:sr:seed=3"
for i = 1, 50 do r1[i] = h1:round(0.3) end
for i = 1, 50 do r2[i] = h2:round(0.3) end
t.same(r1, r2, "two fresh formats draw the same sequence")
h1:reset()
t.is(h1:round(0.3), r1[1], "reset() restarts the counter")

-- 1 vs 2 threads, through the engine (LPACT_THREADS), 300000 elements
local B = os.getenv("LPACT_BUILD") or "build"
local code = [[local f = lpact.format"fp6:sr:seed=21"
local x = lpact.rand({300000}, 5) * 40 - 20
local q = f:quantize(x, {ctr = 7})
local s = 0
for i, v in ipairs(q:totable()) do s = (s * 31 + math.floor(v * 64) + i) % 2147483647 end
print(s)]]
local function run(threads)
  local p = io.popen("LPACT_THREADS=" .. threads .. " " .. B .. "/lpact -e '" .. code .. "' 2>&1")
  local out = p:read("a")
  p:close()
  return out
end
local o1, o2 = run(1), run(2)
t.like(o1, "^%d+\n$", "checksum printed")
t.is(o1, o2, "1 and 2 threads: same bits")

t.done()
