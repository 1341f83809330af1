-- Determinism: the same seed gives the same bits, and every kernel gives
-- the same bits with 1 and with 2 threads (work is split so that each
-- element is computed the same way whatever the split; OpenBLAS's sgemm
-- splits over rows/columns, not over the inner sum, for these shapes).
local t = require "lpact.tap"
local ag = require "lpact.autograd"
local K = lpact.kernels

local function run()
  local h = {}
  local function add(name, x) h[#h + 1] = { name, x:hash() } end
  local big = lpact.randn({ 300000 }, 1)
  add("randn", big)
  add("rand", lpact.rand({ 300000 }, 2))
  add("exp", big:exp())
  add("broadcast add", big:reshape { 1000, 300 } + lpact.randn({ 300 }, 3))
  add("sum_to", K.sum_to(big:reshape { 1000, 300 }, { 300 }))
  for _, rec in ipairs(lpact.activations()) do
  local a = rec.name
    add("act " .. a, K.act(a, big))
    add("act_backward " .. a, K.act_backward(a, big, big))
  end
  local out, mask = K.dropout(big, 0.3, 5, 17)
  add("dropout", out); add("dropout mask", mask)
  local x = lpact.randn({ 64, 8, 28, 28 }, 4)
  local w, b = lpact.randn({ 16, 8, 3, 3 }, 5), lpact.randn({ 16 }, 6)
  local y = K.conv2d(x, w, b, 1, 1)
  add("conv2d", y)
  local dx, dw, db = K.conv2d_backward(y, x, w, 1, 1, true, true, true)
  add("conv2d dx", dx); add("conv2d dw", dw); add("conv2d db", db)
  local mp, idx = K.maxpool2d(x, 2)
  add("maxpool", mp); add("maxpool back", K.maxpool2d_backward(mp, idx, x))
  add("avgpool", K.avgpool2d(x, 2))
  local rm, rv = lpact.zeros { 8 }, lpact.ones { 8 }
  local bo, mean, invstd = K.batchnorm(x, lpact.ones { 8 }, lpact.zeros { 8 }, rm, rv, true, 0.1, 1e-5)
  add("batchnorm", bo); add("running var", rv)
  add("batchnorm back", (K.batchnorm_backward(bo, x, mean, invstd, lpact.ones { 8 }, true, true, true, true)))
  local p, g = lpact.randn({ 200000 }, 7), lpact.randn({ 200000 }, 8)
  local m, v = lpact.zeros { 200000 }, lpact.zeros { 200000 }
  K.adam_step(p, g, m, v, 1e-3, 0.9, 0.999, 1e-8, 0.01, 1, true)
  add("adam", p)
  -- a few training steps of a small CNN through autograd
  local W1 = ag.param(lpact.randn({ 8, 1, 3, 3 }, 9) * 0.3)
  local W2 = ag.param(lpact.randn({ 10, 8 * 14 * 14 }, 10) * 0.01)
  local X, Y = lpact.rand({ 32, 1, 28, 28 }, 11), lpact.tensor((function()
    local l = {} for i = 1, 32 do l[i] = i % 10 end return l end)())
  local losses = {}
  for step = 1, 3 do
    local hdn = ag.maxpool2d(ag.act("relu", ag.conv2d(X, W1, nil, 1, 1)), 2)
    local loss = ag.cross_entropy(ag.linear(ag.flatten(hdn), W2), Y)
    loss:backward()
    losses[#losses + 1] = loss:item()
    for _, P in ipairs { W1, W2 } do
      P.data:add_(P.grad, -0.1)
      P:zero_grad()
    end
    local _ = step
  end
  add("trained W1", W1.data)
  add("trained W2", W2.data)
  return h, losses
end

local old = lpact.threads()
lpact.threads(1)
local h1, l1 = run()
local h1b = run()
lpact.threads(2)
local h2, l2 = run()
-- every call split across both threads, whatever its size (the grains
-- set only where a second thread starts: never the bits)
lpact.bench_grain(0)
local h2s, l2s = run()
lpact.bench_grain(1)
lpact.threads(old)
for i, e in ipairs(h1) do
  t.is(h1b[i][2], e[2], e[1] .. ": same seed, same bits")
  t.is(h2[i][2], e[2], e[1] .. ": 1 and 2 threads give the same bits")
  t.is(h2s[i][2], e[2], e[1] .. ": 2 threads on every call, the same bits")
end
t.same(l2, l1, "loss curve identical with 1 and 2 threads")
t.same(l2s, l1, "and with every call split")
t.ok(l1[3] < l1[1], "and the loss went down")

t.done()
