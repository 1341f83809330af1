-- Optimizers against steps computed by hand on a tiny tensor (PyTorch's
-- update rules, written out below in double precision; float32 storage
-- gives the tolerance 1e-6).
local t = require "lpact.tap"
local optim = require "lpact.optim"

-- A parameter: anything with .data and .grad (a Var or a plain table).
local function P(vals, grad) return { data = lpact.tensor(vals), grad = grad and lpact.tensor(grad) } end
local function check(p, want, name)
  local got = p.data:totable()
  local ok = #got == #want
  for i = 1, #want do ok = ok and math.abs(got[i] - want[i]) <= 1e-6 * math.max(1, math.abs(want[i])) end
  t.ok(ok, name .. string.format(" (got %s, want %s)", table.concat(got, ", "), table.concat(want, ", ")))
end

-- SGD, momentum 0.9, lr 0.1, g = (0.5, 0.25) twice:
-- step 1: buf = g, p = (1, -2) - 0.1 g = (0.95, -2.025)
-- step 2: buf = 0.9 g + g = 1.9 g = (0.95, 0.475), p -= 0.1 buf -> (0.855, -2.0725)
local p = P({ 1, -2 }, { 0.5, 0.25 })
local o = optim.SGD({ p }, { lr = 0.1, momentum = 0.9 })
o:step(); check(p, { 0.95, -2.025 }, "SGD momentum step 1")
o:step(); check(p, { 0.855, -2.0725 }, "SGD momentum step 2")

-- Nesterov: step 1 buf = g, update g + 0.9 buf = 1.9 g -> (0.905, -2.0475);
-- step 2 buf = 1.9 g, update g + 0.9 * 1.9 g = 2.71 g -> (0.7695, -2.11525)
p = P({ 1, -2 }, { 0.5, 0.25 })
o = optim.SGD({ p }, { lr = 0.1, momentum = 0.9, nesterov = true })
o:step(); check(p, { 0.905, -2.0475 }, "SGD Nesterov step 1")
o:step(); check(p, { 0.7695, -2.11525 }, "SGD Nesterov step 2")

-- Plain SGD with weight decay 0.1: g + 0.1 p = (0.6, 0.05) -> (0.94, -2.005)
p = P({ 1, -2 }, { 0.5, 0.25 })
optim.SGD({ p }, { lr = 0.1, weight_decay = 0.1 }):step()
check(p, { 0.94, -2.005 }, "SGD weight decay")

-- Dampening 0.5, momentum 0.5: step 1 buf = g; step 2 buf = 0.5 g + 0.5 g = g.
p = P({ 1, -2 }, { 0.5, 0.25 })
o = optim.SGD({ p }, { lr = 0.1, momentum = 0.5, dampening = 0.5 })
o:step(); o:step(); check(p, { 0.9, -2.05 }, "SGD dampening")

-- Adam, lr 0.1, betas (0.9, 0.999), eps 1e-8 — the formula in doubles.
local function adam_ref(p0, grads, lr, b1, b2, eps, wd, decoupled)
  local pv, m, v = { table.unpack(p0) }, {}, {}
  for i = 1, #pv do m[i], v[i] = 0, 0 end
  for step, g in ipairs(grads) do
    for i = 1, #pv do
      local gi = g[i]
      if decoupled then pv[i] = pv[i] * (1 - lr * wd) else gi = gi + wd * pv[i] end
      m[i] = b1 * m[i] + (1 - b1) * gi
      v[i] = b2 * v[i] + (1 - b2) * gi * gi
      local bc1, bc2 = 1 - b1 ^ step, 1 - b2 ^ step
      pv[i] = pv[i] - lr / bc1 * m[i] / (math.sqrt(v[i]) / math.sqrt(bc2) + eps)
    end
  end
  return pv
end

-- Step 1 of Adam moves each weight by lr * g/(|g| + eps) ~ lr * sign(g):
p = P({ 1, -2 }, { 0.5, 0.1 })
o = optim.Adam({ p }, { lr = 0.1 })
o:step(); check(p, { 0.9, -2.1 }, "Adam step 1 is lr * sign(g)")
p.grad = lpact.tensor { 0.1, 0.25 }
o:step()
-- by hand: m = (0.055, 0.035), v = (0.00025975, 7.2475e-5),
-- bc1 = 0.19, bc2 = 0.001999: p1 = 0.9 - 0.1 * (0.055/0.19) / sqrt(0.00025975/0.001999)
t.near(p.data:get(1), 0.9 - 0.1 * (0.055 / 0.19) / (math.sqrt(0.00025975 / 0.001999) + 1e-8), 1e-6, "Adam step 2, first weight by hand")
check(p, adam_ref({ 1, -2 }, { { 0.5, 0.1 }, { 0.1, 0.25 } }, 0.1, 0.9, 0.999, 1e-8, 0, false), "Adam step 2")

-- Adam with L2 weight decay 0.1: g + 0.1 p = (0.6, -0.1): signs give (0.9, -1.9)
p = P({ 1, -2 }, { 0.5, 0.1 })
optim.Adam({ p }, { lr = 0.1, weight_decay = 0.1 }):step()
check(p, { 0.9, -1.9 }, "Adam L2 weight decay changes the gradient's sign")

-- AdamW, wd 0.1: p *= 1 - 0.01 first -> (0.99, -1.98), then -0.1 sign(g)
p = P({ 1, -2 }, { 0.5, 0.1 })
o = optim.AdamW({ p }, { lr = 0.1, weight_decay = 0.1 })
o:step(); check(p, { 0.89, -2.08 }, "AdamW step 1: decoupled decay then Adam")
p.grad = lpact.tensor { -0.3, 0.2 }
o:step()
check(p, adam_ref({ 1, -2 }, { { 0.5, 0.1 }, { -0.3, 0.2 } }, 0.1, 0.9, 0.999, 1e-8, 0.1, true), "AdamW step 2")
t.is(optim.AdamW({ p }).weight_decay, 0.01, "AdamW's default weight decay is 0.01")
local ab = optim.Adam({ p }, { betas = { 0.8, 0.99 } })
t.ok(ab.beta1 == 0.8 and ab.beta2 == 0.99, "betas option")

-- Parameters without a gradient are left alone.
p = P({ 1, 2 })
optim.Adam({ p }, { lr = 0.1 }):step()
check(p, { 1, 2 }, "no gradient, no change")

-- zero_grad zeroes the gradient tensors.
p = P({ 1, 2 }, { 3, 4 })
optim.SGD({ p }, { lr = 1 }):zero_grad()
check({ data = p.grad }, { 0, 0 }, "zero_grad")

-- Gradient-norm clipping: (3, 4) has norm 5; clipping to 1 gives (0.6, 0.8).
p = P({ 0, 0 }, { 3, 4 })
local q = P({ 0 }, { 0 })
local norm = optim.clip_grad_norm({ p, q }, 1)
t.near(norm, 5, 1e-6, "clip_grad_norm returns the norm before clipping")
check({ data = p.grad }, { 0.6, 0.8 }, "clipped to norm 1")
p = P({ 0, 0 }, { 0.3, 0.4 })
optim.clip_grad_norm({ p }, 1)
check({ data = p.grad }, { 0.3, 0.4 }, "a small gradient is not scaled")

-- model:parameters()-style lists work, state() and load_state() round-trip.
local w1 = P({ 1, -2, 3 }, { 0.5, 0.1, -0.2 })
local a = optim.Adam({ { name = "fc.weight", var = w1 } }, { lr = 0.05 })
a:step(); a:step()
local st = a:state()
t.is(st.kind, "Adam", "state kind")
t.is(st.step, 2, "state step")
t.ok(st.tensors["fc.weight/m"] and st.tensors["fc.weight/v"], "state tensors named <param>/<slot>")
t.is(st.hyper.lr, 0.05, "state hyper-parameters")
local w2 = { data = w1.data:clone(), grad = w1.grad:clone() }
local b = optim.Adam({ { name = "fc.weight", var = w2 } }, { lr = 1 })
b:load_state(st)
t.is(b.lr, 0.05, "load_state restores lr")
a:step(); b:step()
local same = true
for i = 1, 3 do same = same and w1.data:get(i) == w2.data:get(i) end
t.ok(same, "a restored optimizer takes the identical next step")
t.raises(function() optim.SGD({ w2 }, { lr = 1 }):load_state(st) end, "for Adam, not SGD", "another kind is refused")
st.tensors["fc.weight/m"] = lpact.zeros { 2 }
t.raises(function() b:load_state(st) end, "fc.weight/m' has shape 2, parameter has 3", "a wrong shape is refused, naming it")
t.raises(function() optim.SGD({ w2 }, {}) end, "lr", "SGD needs lr")
t.raises(function() optim.SGD({ w2 }, { lr = 1, nesterov = true }) end, "Nesterov", "Nesterov needs momentum")
t.like(tostring(optim.SGD({ w2 }, { lr = 0.1, momentum = 0.9 })), "^SGD%(lr=0.1, momentum=0.9", "tostring")
t.done()
