-- grad_fmt: the gradient a quantized activation passes back, rounded to a
-- format (as hardware that keeps the backward pass in FP8 would): exact
-- values worked out by hand for E5M2, the amax scale, stochastic rounding
-- (unbiased, repeatable), telemetry counts, a training run, and the
-- refusals of bad options.
local t = require "lpact.tap"
local ag = require "lpact.autograd"
local qact = lpact.qact

local function grad_of(cfg, xs, gs)
  local l = qact.layer(cfg)
  local x = ag.var(lpact.tensor(xs), true)
  l:forward(x):backward(lpact.tensor(gs))
  return x.grad:totable(), l
end

-- relu in FP4, f' STE: dx = g * relu'(x), then rounded to E5M2 (2 mantissa
-- bits, max 57344, smallest subnormal 2^-16, ieee: overflow to inf):
--   x = -1:  g 1e-7 * 0 = 0           -> 0
--   x = 0.5: 0.3 = 1.2 * 2^-2         -> 1.25 * 2^-2 = 0.3125
--   x = 1:   0.3                      -> 0.3125
--   x = 2:   1e6 > 57344              -> inf
--   x = 3:   1                        -> 1
--   x = 0.7: 3e-6 < 2^-17 (half the smallest subnormal) -> 0
local xs = { -1, 0.5, 1, 2, 3, 0.7 }
local gs = { 1e-7, 0.3, 0.3, 1e6, 1, 3e-6 }
local dx, l = grad_of({ "relu", fmt = "fp4", grad_fmt = "e5m2", telemetry = true }, xs, gs)
local want = { 0, 0.3125, 0.3125, math.huge, 1, 0 }
local same = true
for i = 1, #want do same = same and dx[i] == want[i] end
t.ok(same, "e5m2 gradient: 0, 0.3125, 0.3125, inf, 1, 0 (by hand)", table.concat(dx, " "))
local tm = l:telemetry()
t.ok(tm.grad_elements == 6 and tm.grad_underflows == 1 and tm.grad_saturations == 1,
  "telemetry: 6 gradients, 1 nonzero rounded to 0 (3e-6), 1 beyond the range (1e6)",
  string.format("%s %s %s", tm.grad_elements, tm.grad_underflows, tm.grad_saturations))
t.like(l:describe(), " grad=e5m2$", "describe names the gradient format")

-- the same with a saturating E5M2: 1e6 -> 57344
local dxs = grad_of({ "relu", fmt = "fp4", grad_fmt = "e5m2:sat" }, xs, gs)
t.is(dxs[4], 57344.0, "e5m2:sat: an overflowing gradient saturates to 57344")

-- fp32 as the gradient format changes nothing
local d0 = grad_of({ "gelu", fmt = "fp4" }, xs, gs)
local d1 = grad_of({ "gelu", fmt = "fp4", grad_fmt = "fp32" }, xs, gs)
local eq = true
for i = 1, #d0 do eq = eq and d0[i] == d1[i] end
t.ok(eq, "grad_fmt = fp32 leaves the gradient as it was")

-- grad_scale = "amax": s = amax(dx) / 57344 with amax = 1e6, so dx / s is
-- in range and rounds to E5M2 there; the result is s * Q(dx / s).
local dxa, la = grad_of({ "relu", fmt = "fp4", grad_fmt = "e5m2", grad_scale = "amax" }, xs, gs)
local e5 = lpact.format "e5m2"
local s = 1e6 / 57344
local ok = dxa[4] == 1e6 and dxa[1] == 0
for _, i in ipairs { 2, 3, 5, 6 } do
  local w = s * e5:round(xs[i] > 0 and gs[i] / s or 0)
  ok = ok and math.abs(dxa[i] - w) <= 1e-6 * math.abs(w)
end
t.ok(ok, "amax: dx = s * Q(dx / s), the largest gradient exactly representable", table.concat(dxa, " "))
t.ok(math.abs(dxa[2] - 0.015625 * s) <= 1e-6, "amax: 0.3 / s = 0.0172 -> 2^-6 -> 0.2725 (by hand)", dxa[2])
t.is(dxa[6], 0.0, "amax: 3e-6 / s = 1.7e-7 still underflows (the scale serves the largest, 1e6)")
t.like(la:describe(), " grad=e5m2:amax$", "describe names the scale")

-- stochastic rounding: 0.3 lies between 0.25 and 0.3125, 80% of the way,
-- so it rounds up with probability 0.8 and the mean stays 0.3
local N = 20000
local ones, g03 = {}, {}
for i = 1, N do ones[i], g03[i] = 1, 0.3 end
local dsr, lsr = grad_of({ "relu", fmt = "fp4", grad_fmt = "e5m2:sr" }, ones, g03)
local sum, up, other = 0, 0, 0
for _, v in ipairs(dsr) do
  sum = sum + v
  if v == 0.3125 then up = up + 1 elseif v ~= 0.25 then other = other + 1 end
end
local sigma = 0.0625 * math.sqrt(0.8 * 0.2 / N)
t.is(other, 0, "sr: every gradient is 0.25 or 0.3125")
t.ok(math.abs(sum / N - 0.3) < 5 * sigma, "sr: unbiased, mean within 5 sigma of 0.3", sum / N)
t.ok(math.abs(up / N - 0.8) < 0.02, "sr: rounds up 80% of the time", up / N)
local dsr2 = grad_of({ "relu", fmt = "fp4", grad_fmt = "e5m2:sr" }, ones, g03)
local rep = true
for i = 1, N do rep = rep and dsr[i] == dsr2[i] end
t.ok(rep, "sr: a fresh layer repeats the same gradients bit for bit")
local x3 = ag.var(lpact.tensor(ones), true)
lsr:forward(x3):backward(lpact.tensor(g03))
local differ = false
local d3 = x3.grad:totable()
for i = 1, N do differ = differ or d3[i] ~= dsr[i] end
t.ok(differ, "sr: the next backward pass draws new random numbers")

-- a training run with every activation's gradient in E5M2
local data = lpact.data.blobs { n = 600, seed = 3 }
local m = lpact.models.mlp { 2, 16, 3, act = qact { "relu", fmt = "fp8", grad_fmt = "e5m2", grad_scale = "amax" } }
local h = lpact.train.fit { model = m, data = data, epochs = 3, batch = 32, lr = 1e-2, verbose = false, progress = false }
t.ok(h.losses[#h.losses] == h.losses[#h.losses] and h.epochs[3].train_loss < h.epochs[1].train_loss,
  "an MLP trains with E5M2 activation gradients (loss falls)", h.epochs[3].train_loss)

-- refusals, named by layer and option, when the layer is built
for _, case in ipairs {
  { { grad_fmt = "e9m9" }, "option 'grad_fmt': e9m9: exponent bits E = 9 out of range" },
  { { grad_fmt = 3 }, "option 'grad_fmt': a format spec expected, got number" },
  { { grad_scale = "amax" }, "option 'grad_scale': a scale for the rounded gradient: give grad_fmt as well" },
  { { grad_fmt = "e5m2", grad_scale = "max" }, "option 'grad_scale': expected none or amax, got max" },
  { { grad_fmtt = "e5m2" }, "option 'grad_fmtt': unknown option %(did you mean 'grad_fmt'%?%)" },
} do
  local cfg = case[1]
  cfg[1], cfg.fmt = "relu", "fp4"
  t.raises(function() return qact(cfg) end, case[2], "refused: " .. case[2]:gsub("%%", ""))
end

t.done()
