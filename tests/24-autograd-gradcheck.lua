-- Every autograd op's backward against central finite differences.
--
-- The checked scalar is L = sum(f(inputs) * R) for a fixed random R. The
-- forward runs in float32; the difference quotient (L(x+h) - L(x-h)) /
-- (x+h - (x-h)) is formed in double from the stored float32 inputs, and L
-- is summed in double. Tolerance |analytic - numeric| <= 2e-3 + 1e-2
-- |numeric| with h = 1e-2: float32 rounding of L (~1e-6 relative over a
-- few hundred terms of size ~1) divided by 2h gives ~1e-4, and the O(h^2)
-- truncation term is ~1e-4 times the third derivative; 2e-3 absolute plus
-- 1% relative leaves a margin of 10x over both while a wrong backward
-- (a missing factor, a transposed index) is off by O(1). Inputs of ops
-- with kinks (relu, maxpool, hardtanh, ...) are kept at least 0.05 from
-- the kinks so that x +- h never crosses one.
local t = require "lpact.tap"
local ag = require "lpact.autograd"
local OPTS = { h = 1e-2, atol = 2e-3, rtol = 1e-2, max = 48 }

local function P(shape, seed, lo, hi)
  if lo then return ag.param(lpact.rand(shape, seed, lo, hi)) end
  return ag.param(lpact.randn(shape, seed))
end

-- Values in (-3, 3) at least 0.05 from every integer and from +-0.5 (the kinks).
local function away(shape, seed)
  local r = lpact.rand(shape, seed, 0, 1)
  local flat = r:reshape { r:numel() }
  for i = 1, r:numel() do
    local u = flat:get(i)
    local k = math.floor(u * 12)              -- 12 cells of width 0.5 in [-3, 3)
    flat:set(i, -3 + k * 0.5 + 0.1 + 0.3 * (u * 12 - k))
  end
  return ag.param(r)
end

local function check(name, f, inputs, opts)
  local ok, w = ag.gradcheck(f, inputs, opts or OPTS)
  t.ok(ok, name .. (ok and "" or string.format(" (input %d element %d: analytic %.6g numeric %.6g)",
    w.input, w.index, w.analytic, w.numeric)))
end

check("add (3,4) + (4,)", ag.add, { P({ 3, 4 }, 1), P({ 4 }, 2) })
check("sub (3,1) - (4,)", ag.sub, { P({ 3, 1 }, 1), P({ 4 }, 2) })
check("mul (3,4) * (1,4)", ag.mul, { P({ 3, 4 }, 1), P({ 1, 4 }, 2) })
check("div (3,4) / (3,4) in [1,2)", ag.div, { P({ 3, 4 }, 1), P({ 3, 4 }, 2, 1, 2) })
check("neg", ag.neg, { P({ 5 }, 1) })
check("scale", function(a) return ag.scale(a, -2.5) end, { P({ 5 }, 1) })
check("pow 3", function(a) return ag.pow(a, 3) end, { P({ 5 }, 1) })
check("exp", ag.exp, { P({ 2, 3 }, 1) })
check("log on [0.5, 2)", ag.log, { P({ 2, 3 }, 1, 0.5, 2) })
check("sqrt on [0.5, 2)", ag.sqrt, { P({ 2, 3 }, 1, 0.5, 2) })
check("abs away from 0", ag.abs, { away({ 2, 3 }, 1) })
check("sum all", function(a) return ag.sum(a) end, { P({ 3, 4 }, 1) })
check("sum dim 2", function(a) return ag.sum(a, 2) end, { P({ 3, 4 }, 1) })
check("sum dim 1 keepdim", function(a) return ag.sum(a, 1, true) end, { P({ 3, 4 }, 1) })
check("mean all", function(a) return ag.mean(a) end, { P({ 3, 4 }, 1) })
check("mean dim -1", function(a) return ag.mean(a, -1) end, { P({ 2, 3, 4 }, 1) })
check("reshape", function(a) return ag.reshape(a, { 4, 3 }) end, { P({ 3, 4 }, 1) })
check("flatten", ag.flatten, { P({ 2, 3, 2, 2 }, 1) })
check("transpose", ag.transpose, { P({ 3, 4 }, 1) })
check("matmul", ag.matmul, { P({ 3, 4 }, 1), P({ 4, 5 }, 2) })
check("linear with bias", ag.linear, { P({ 3, 4 }, 1), P({ 5, 4 }, 2), P({ 5 }, 3) })
check("linear without bias", function(x, w) return ag.linear(x, w) end, { P({ 3, 4 }, 1), P({ 5, 4 }, 2) })
check("conv2d stride 1 pad 1", function(x, w, b) return ag.conv2d(x, w, b, 1, 1) end,
  { P({ 2, 3, 5, 5 }, 1), P({ 4, 3, 3, 3 }, 2), P({ 4 }, 3) })
check("conv2d stride 2 pad 0", function(x, w, b) return ag.conv2d(x, w, b, 2, 0) end,
  { P({ 2, 2, 6, 6 }, 1), P({ 3, 2, 2, 2 }, 2), P({ 3 }, 3) })
check("conv2d 5x5 no bias", function(x, w) return ag.conv2d(x, w, nil, 1, 2) end,
  { P({ 1, 2, 6, 6 }, 4), P({ 2, 2, 5, 5 }, 5) })
-- maxpool: distinct values (a shuffled ramp), spaced 0.1 apart, so no window has a near-tie
local ramp = ag.param(lpact.tensor((function()
  local v, n = {}, 2 * 2 * 4 * 4
  for i = 1, n do v[i] = (i * 37 % n) * 0.1 end
  return v
end)(), { 2, 2, 4, 4 }))
check("maxpool2d 2x2", function(x) return ag.maxpool2d(x, 2) end, { ramp }, { h = 1e-2, atol = 2e-3, rtol = 1e-2 })
check("maxpool2d 3x3 stride 1", function(x) return ag.maxpool2d(x, 3, 1) end, { ramp })
check("avgpool2d 2x2", function(x) return ag.avgpool2d(x, 2) end, { P({ 2, 2, 4, 4 }, 1) })
check("avgpool2d 3x3 stride 1 pad 1", function(x) return ag.avgpool2d(x, 3, 1, 1) end, { P({ 1, 2, 4, 4 }, 1) })
check("global_avgpool", ag.global_avgpool, { P({ 2, 3, 4, 4 }, 1) })
local rm, rv = lpact.zeros { 3 }, lpact.ones { 3 }
check("batchnorm 4-D training", function(x, g, b) return ag.batchnorm(x, g, b, rm, rv, true) end,
  { P({ 4, 3, 2, 2 }, 1), P({ 3 }, 2), P({ 3 }, 3) })
check("batchnorm 2-D training", function(x, g, b) return ag.batchnorm(x, g, b, rm, rv, true) end,
  { P({ 6, 3 }, 1), P({ 3 }, 2), P({ 3 }, 3) })
check("batchnorm eval", function(x, g, b) return ag.batchnorm(x, g, b, rm, rv, false) end,
  { P({ 6, 3 }, 1), P({ 3 }, 2), P({ 3 }, 3) })
check("dropout (fixed mask)", function(x) return ag.dropout(x, 0.3, true, 9, 0) end, { P({ 4, 5 }, 1) })
for _, rec in ipairs(lpact.activations()) do
  local a = rec.name
  check("act " .. a, function(x) return ag.act(a, x) end, { away({ 4, 6 }, 11) })
end
check("act leaky_relu alpha 0.3", function(x) return ag.act("leaky_relu", x, 0.3) end, { away({ 4, 6 }, 12) })
check("act elu alpha 0.5", function(x) return ag.act("elu", x, 0.5) end, { away({ 4, 6 }, 13) })
check("softmax", ag.softmax, { P({ 3, 5 }, 1) })
check("log_softmax", ag.log_softmax, { P({ 3, 5 }, 1) })
check("cross_entropy", function(x) return ag.cross_entropy(x, lpact.tensor { 0, 4, 2 }) end, { P({ 3, 5 }, 1) })

-- a whole small CNN, every parameter at once
local x = lpact.randn({ 2, 1, 8, 8 }, 21)
local y = lpact.tensor { 3, 1 }
local w1, b1 = P({ 4, 1, 3, 3 }, 22), P({ 4 }, 23)
local w2, b2 = P({ 5, 64 }, 24), P({ 5 }, 25)
check("conv-tanh-avgpool-linear-cross_entropy chain", function(a, b, c, d)
  local h = ag.avgpool2d(ag.act("tanh", ag.conv2d(x, a, b, 1, 1)), 2)
  return ag.cross_entropy(ag.linear(ag.flatten(h), c, d), y)
end, { w1, b1, w2, b2 })

t.done()
