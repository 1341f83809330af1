-- Every layer's parameter (and input) gradients, through the nn modules,
-- against central finite differences. Tensors are float32, so the
-- differences use h = 1e-3 on a loss L = sum(out * R) (R fixed random) and
-- accept |analytic - numeric| <= 2e-2 * max(1, |numeric|) per element; a
-- wrong backward (a missing term, a transposed weight) is off by O(1).
local t = require "lpact.tap"
local nn = require "lpact.nn"
local ag = require "lpact.autograd"

local H, TOL = 1e-3, 2e-2

-- Positions (lists of 1-based indices) of up to `max` elements of a shape.
local function positions(shape, max, seed)
  local n = 1
  for _, d in ipairs(shape) do n = n * d end
  local out, step = {}, math.max(1, n // max)
  local start = (seed or 0) % step
  for flat = start, n - 1, step do
    local idx, r = {}, flat
    for k = #shape, 1, -1 do idx[k] = r % shape[k] + 1; r = r // shape[k] end
    out[#out + 1] = idx
    if #out >= max then break end
  end
  return out
end

local function numeric(lossf, tensor, idx)
  local v = tensor:get(table.unpack(idx))
  local a = { table.unpack(idx) }
  a[#a + 1] = v + H
  tensor:set(table.unpack(a))
  local lp = lossf()
  a[#a] = v - H
  tensor:set(table.unpack(a))
  local lm = lossf()
  a[#a] = v
  tensor:set(table.unpack(a))
  return (lp - lm) / (2 * H)
end

-- Checks d(sum(m(x) * R))/d(param) for every parameter of m, and d/dx.
local function gradcheck(name, m, x, o)
  o = o or {}
  local xv = ag.param(x)
  local out = m:forward(xv)
  local R = lpact.randn(out.data:shape(), 99)
  local function loss_var() return ag.sum(ag.mul(m:forward(xv), R)) end
  local function loss_val()
    if o.before then o.before(m) end
    return loss_var().data:item()
  end
  if o.before then o.before(m) end
  m:zero_grad()
  loss_var():backward()
  local targets = {}
  for _, p in ipairs(m:parameters()) do targets[#targets + 1] = { name = p.name, var = p.var } end
  if not o.no_input then targets[#targets + 1] = { name = "input", var = xv } end
  for _, p in ipairs(targets) do
    local g = p.var.grad
    local worst, where = 0, nil
    if not g then
      t.ok(false, name .. ": " .. p.name .. " has no gradient")
    else
      for _, idx in ipairs(positions(p.var.data:shape(), o.max or 12, 3)) do
        local num = numeric(loss_val, p.var.data, idx)
        local ana = g:get(table.unpack(idx))
        local err = math.abs(ana - num) / math.max(1, math.abs(num))
        if err > worst then worst, where = err, string.format("at (%s): analytic %.6g, numeric %.6g", table.concat(idx, ","), ana, num) end
      end
      t.ok(worst <= TOL, string.format("%s: d/d %s (worst rel err %.2g)", name, p.name, worst))
      if worst > TOL then t.diag(where) end
    end
  end
end

gradcheck("Linear(5 -> 3)", nn.Linear(5, 3, { seed = 1 }), lpact.randn({ 4, 5 }, 2))
gradcheck("Linear no bias", nn.Linear(4, 2, { seed = 1, bias = false }), lpact.randn({ 3, 4 }, 3))
gradcheck("Conv2d(2 -> 3, 3x3, pad 1)", nn.Conv2d(2, 3, 3, { pad = 1, seed = 4 }), lpact.randn({ 2, 2, 5, 5 }, 5))
gradcheck("Conv2d(2 -> 2, 3x3, stride 2)", nn.Conv2d(2, 2, 3, { stride = 2, seed = 6 }), lpact.randn({ 2, 2, 7, 7 }, 7))
gradcheck("Conv2d 1x1 no bias", nn.Conv2d(3, 2, 1, { bias = false, seed = 8 }), lpact.randn({ 2, 3, 3, 3 }, 9))
gradcheck("MaxPool2d(2)", nn.MaxPool2d(2), lpact.randn({ 2, 2, 4, 4 }, 10))
gradcheck("AvgPool2d(2)", nn.AvgPool2d(2), lpact.randn({ 2, 2, 4, 4 }, 11))
gradcheck("GlobalAvgPool", nn.GlobalAvgPool(), lpact.randn({ 2, 3, 3, 3 }, 12))
gradcheck("BatchNorm(3) (N, C) training", nn.BatchNorm(3), lpact.randn({ 6, 3 }, 13))
gradcheck("BatchNorm(2) (N, C, H, W) training", nn.BatchNorm(2), lpact.randn({ 3, 2, 3, 3 }, 14))
local bn = nn.BatchNorm(2)
bn:eval()
gradcheck("BatchNorm(2) eval", bn, lpact.randn({ 3, 2, 2, 2 }, 15))
gradcheck("Flatten", nn.Flatten(), lpact.randn({ 2, 2, 2, 2 }, 16))
for _, a in ipairs { "tanh", "sigmoid", "gelu", "silu", "softplus", "elu", "mish" } do
  gradcheck("Activation " .. a, nn.Activation(a), lpact.randn({ 3, 4 }, 17))
end
gradcheck("Dropout(0.5) with a fixed mask", nn.Dropout(0.5, { seed = 3 }), lpact.randn({ 4, 6 }, 18),
  { before = function(m) m.ctr = 0 end })
gradcheck("Sequential conv-tanh-pool-flatten-linear", nn.Sequential {
  nn.Conv2d(1, 2, 3, { pad = 1, seed = 20 }), nn.Activation "tanh", nn.MaxPool2d(2),
  nn.Flatten(), nn.Linear(8, 3, { seed = 21 }),
}, lpact.randn({ 2, 1, 4, 4 }, 22))
gradcheck("Residual(conv-bn-tanh-conv, 1x1 conv shortcut)", nn.Residual(
  nn.Sequential { nn.Conv2d(2, 3, 3, { pad = 1, seed = 23 }), nn.BatchNorm(3), nn.Activation "tanh",
    nn.Conv2d(3, 3, 3, { pad = 1, seed = 24 }) },
  nn.Conv2d(2, 3, 1, { seed = 25 })), lpact.randn({ 2, 2, 4, 4 }, 26))
gradcheck("Residual identity shortcut", nn.Residual(nn.Sequential { nn.Linear(3, 3, { seed = 27 }), nn.Activation "tanh" }),
  lpact.randn({ 4, 3 }, 28))

-- A layer used twice (a shared layer): its gradient is the sum of both uses.
do
  local lin = nn.Linear(3, 3, { seed = 30 })
  local twice = nn.Sequential { lin, nn.Activation "tanh", lin }
  t.is(#twice:parameters(), 2, "a shared layer's parameters are listed once")
  gradcheck("a shared Linear used twice", twice, lpact.randn({ 2, 3 }, 31))
end

-- The softmax cross-entropy through a model: numeric vs analytic on the loss the trainer uses.
do
  local m = nn.Sequential { nn.Linear(4, 5, { seed = 40 }), nn.Activation "tanh", nn.Linear(5, 3, { seed = 41 }) }
  local x, y = lpact.randn({ 6, 4 }, 42), lpact.tensor { 0, 1, 2, 2, 1, 0 }
  local function loss() return ag.cross_entropy(m:forward(x), y) end
  m:zero_grad()
  loss():backward()
  local w = m:parameters()[1].var
  local worst = 0
  for _, idx in ipairs(positions(w.data:shape(), 10, 1)) do
    local num = numeric(function() return loss().data:item() end, w.data, idx)
    worst = math.max(worst, math.abs(w.grad:get(table.unpack(idx)) - num) / math.max(1, math.abs(num)))
  end
  t.ok(worst <= TOL, string.format("cross-entropy through a 2-layer net (worst rel err %.2g)", worst))
end
t.done()
