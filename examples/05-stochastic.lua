-- 05 — Stochastic rounding is unbiased.
--
-- Stochastic rounding (sr) rounds up with a probability equal to how far
-- the input lies towards the upper neighbour: 0.3 in FP4 (between 0 and
-- 0.5) becomes 0.5 with probability 0.6 and 0 with probability 0.4, so
-- its expected value is exactly 0.3. lpact's random bits come from a
-- seeded counter-based generator: the same seed gives the same result.
--
--     lpact examples/05-stochastic.lua

require "lpact.repl"

local n = 10000
local xs = {}
for i = 1, n do xs[i] = 0.3 end
local function mean(t) local s = 0; for _, v in ipairs(t) do s = s + v end; return s / #t end

-- Expect: rne always gives 0.5 (mean 0.5, a bias of +0.2);
--         sr gives a mean close to 0.3 (within 0.01).
local rne = lpact.format "fp4"
local sr = lpact.format "fp4:sr:seed=42"
print(string.format("mean of %d roundings of 0.3: rne %.4f, sr %.4f", n, mean(rne:round(xs)), mean(sr:round(xs))))

-- Where it matters: adding many small increments. Start at 1 and add
-- 0.01 a thousand times in E4M3 (exact sum: 11), rounding after each
-- step. Round-to-nearest is stuck at 1: the gap above 1 is 0.125, so
-- 1 + 0.01 rounds back to 1. Stochastic rounding moves up one step in
-- about 8% of the additions and ends near 11 on average.
-- Expect: rne ends at 1; sr, averaged over 20 seeds, between 10 and 12.
local e8 = lpact.format "e4m3"
local a = 1
for _ = 1, 1000 do a = e8:round(a + 0.01) end
local total, runs = 0, 20
for seed = 1, runs do
  local f, b = lpact.format("e4m3:sr:seed=" .. seed), 1
  for _ = 1, 1000 do b = f:round(b + 0.01) end
  total = total + b
end
print(string.format("1 + 1000 x 0.01 in e4m3: rne %g, sr %.2f on average over %d seeds (exact 11)", a, total / runs, runs))
