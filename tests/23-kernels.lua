-- The NN kernels (lpact.kernels) on small inputs worked out by hand, and
-- against slow reference loops written here in Lua.
local t = require "lpact.tap"
local K, T = lpact.kernels, lpact.tensor

-- linear: x W^T + b
t.same(K.linear(T { { 1, 2 } }, T { { 1, 0 }, { 0, 1 }, { 1, 1 } }, T { 0, 1, 2 }):totable(), { { 1, 3, 5 } }, "linear by hand")
t.same(K.linear(T { { 1, 2 } }, T { { 1, 0 }, { 0, 1 } }):totable(), { { 1, 2 } }, "linear without bias")

-- conv2d
local x = lpact.arange(9):reshape { 1, 1, 3, 3 } + 1          -- 1..9
local w = lpact.ones { 1, 1, 2, 2 }
t.same(K.conv2d(x, w, nil, 1, 0):totable(), { { { { 12, 16 }, { 24, 28 } } } }, "conv 2x2 ones over 1..9")
t.same(K.conv2d(x, w, T { 0.5 }, 2, 1):totable(), { { { { 1.5, 5.5 }, { 11.5, 28.5 } } } }, "conv stride 2, pad 1, bias 0.5")

local function conv_ref(X, W, B, s, p)
  local N, C, H, Wd = table.unpack(X:shape())
  local O, _, kh, kw = table.unpack(W:shape())
  local OH, OW = (H + 2 * p - kh) // s + 1, (Wd + 2 * p - kw) // s + 1
  local out = lpact.zeros { N, O, OH, OW }
  for n = 1, N do for o = 1, O do for i = 1, OH do for j = 1, OW do
    local acc = B and B:get(o) or 0
    for c = 1, C do for a = 1, kh do for b = 1, kw do
      local ih, iw = (i - 1) * s - p + a, (j - 1) * s - p + b
      if ih >= 1 and ih <= H and iw >= 1 and iw <= Wd then acc = acc + X:get(n, c, ih, iw) * W:get(o, c, a, b) end
    end end end
    out:set(n, o, i, j, acc)
  end end end end
  return out
end
for _, cfg in ipairs { { 1, 0 }, { 1, 1 }, { 2, 1 }, { 2, 0 } } do
  local X, W, B = lpact.randn({ 2, 3, 6, 5 }, 1), lpact.randn({ 4, 3, 3, 3 }, 2), lpact.randn({ 4 }, 3)
  local got, want = K.conv2d(X, W, B, cfg[1], cfg[2]), conv_ref(X, W, B, cfg[1], cfg[2])
  t.same(got:shape(), want:shape(), "conv shape, stride " .. cfg[1] .. " pad " .. cfg[2])
  t.ok((got - want):abs():max() < 1e-5, "conv equals the direct loop, stride " .. cfg[1] .. " pad " .. cfg[2])
end

do -- a big batch without a backward goes through in chunks of samples: same values
  -- (within float32 summation-order noise: the chunks tile the matrix product differently)
  local X, W, B = lpact.randn({ 700, 1, 28, 28 }, 45), lpact.randn({ 16, 1, 3, 3 }, 46), lpact.randn({ 16 }, 47)
  local chunked, whole = K.conv2d(X, W, B, 1, 1), K.conv2d(X, W, B, 1, 1, true)
  t.ok((chunked - whole):abs():max() < 1e-5, "chunked conv2d agrees with the whole-batch one")
  t.is(chunked:hash(), K.conv2d(X, W, B, 1, 1):hash(), "and is reproducible")
end

do -- the backward reusing the forward's im2col gives the same bits as recomputing it
  local X, W, B = lpact.randn({ 3, 2, 7, 6 }, 41), lpact.randn({ 4, 2, 3, 3 }, 42), lpact.randn({ 4 }, 43)
  local y, work = K.conv2d(X, W, B, 2, 1, true)
  t.ok(work ~= nil and y:hash() == K.conv2d(X, W, B, 2, 1):hash(), "conv2d(..., keep) returns the same output and its workspace")
  local g = lpact.randn(y:shape(), 44)
  local a1, a2, a3 = K.conv2d_backward(g, X, W, 2, 1, true, true, true)
  local b1, b2, b3 = K.conv2d_backward(g, X, W, 2, 1, true, true, true, work)
  t.ok(a1:hash() == b1:hash() and a2:hash() == b2:hash() and a3:hash() == b3:hash(), "conv2d_backward with the kept workspace")
  t.raises(K.conv2d_backward, "conv2d_backward: workspace of 5 floats", "a wrong workspace is refused",
    g, X, W, 2, 1, true, true, true, lpact.zeros { 5 })
end

-- pooling
local p = lpact.arange(16):reshape { 1, 1, 4, 4 }
local mo, idx = K.maxpool2d(p, 2)
t.same(mo:totable(), { { { { 5, 7 }, { 13, 15 } } } }, "maxpool 2x2")
local dx = K.maxpool2d_backward(T { { { { 1, 2 }, { 3, 4 } } } }, idx, p)
t.same(dx:totable(), { { { { 0, 0, 0, 0 }, { 0, 1, 0, 2 }, { 0, 0, 0, 0 }, { 0, 3, 0, 4 } } } }, "maxpool backward routes to the argmax")
do -- 2x2 pooling on wide planes (the 4-wide vector path) against a direct scan,
   -- with many ties (small integers): the first maximum in row-major window order wins
  local X = (lpact.randn({ 2, 3, 10, 18 }, 31) * 1.5):round()
  local out, id = K.maxpool2d(X, 2)
  local bad = 0
  for n = 1, 2 do for c = 1, 3 do for i = 1, 5 do for j = 1, 9 do
    local best, bi
    for a = 0, 1 do for b = 0, 1 do
      local v = X:get(n, c, 2 * i - 1 + a, 2 * j - 1 + b)
      if best == nil or v > best then best, bi = v, (2 * i - 2 + a) * 18 + (2 * j - 2 + b) end
    end end
    if out:get(n, c, i, j) ~= best then bad = bad + 1 end
    -- the index tensor holds int32 bits; check it through the backward instead
    local _ = bi
  end end end end
  t.is(bad, 0, "maxpool 2x2 on 10x18 planes equals a direct scan")
  local g = lpact.rand({ 2, 3, 5, 9 }, 32)
  local dx = K.maxpool2d_backward(g, id, X)
  local bad2 = 0
  for n = 1, 2 do for c = 1, 3 do for i = 1, 5 do for j = 1, 9 do
    local best, bi, bj
    for a = 0, 1 do for b = 0, 1 do
      local v = X:get(n, c, 2 * i - 1 + a, 2 * j - 1 + b)
      if best == nil or v > best then best, bi, bj = v, 2 * i - 1 + a, 2 * j - 1 + b end
    end end
    if dx:get(n, c, bi, bj) ~= g:get(n, c, i, j) then bad2 = bad2 + 1 end
  end end end end
  t.is(bad2, 0, "maxpool backward sends each gradient to the first maximum of its window")
  X:set(1, 1, 1, 2, 0 / 0)
  local on = K.maxpool2d(X, 2)
  t.ok(on:get(1, 1, 1, 1) ~= on:get(1, 1, 1, 1), "a NaN in a window gives NaN")
end
do -- 14x14 and 10x10 planes: 7 and 5 windows a row, the last ones by the
   -- 4-wide path again over windows already done
  for _, hw in ipairs { 14, 10 } do
    local X = (lpact.randn({ 3, 2, hw, hw }, 33) * 1.5):round()
    local out, id = K.maxpool2d(X, 2)
    local g = lpact.rand({ 3, 2, hw // 2, hw // 2 }, 34)
    local dx = K.maxpool2d_backward(g, id, X)
    local bad, bad2 = 0, 0
    for n = 1, 3 do for c = 1, 2 do for i = 1, hw // 2 do for j = 1, hw // 2 do
      local best, bi, bj
      for a = 0, 1 do for b = 0, 1 do
        local v = X:get(n, c, 2 * i - 1 + a, 2 * j - 1 + b)
        if best == nil or v > best then best, bi, bj = v, 2 * i - 1 + a, 2 * j - 1 + b end
      end end
      if out:get(n, c, i, j) ~= best then bad = bad + 1 end
      if dx:get(n, c, bi, bj) ~= g:get(n, c, i, j) then bad2 = bad2 + 1 end
    end end end end
    t.is(bad, 0, "maxpool 2x2 on " .. hw .. "x" .. hw .. " planes equals a direct scan")
    t.is(bad2, 0, "and its backward sends each gradient to the first maximum (" .. hw .. "x" .. hw .. ")")
  end
end
t.same(K.maxpool2d(p, 3, 1):totable(), { { { { 10, 11 }, { 14, 15 } } } }, "maxpool 3x3 stride 1")
t.same(K.avgpool2d(p, 2):totable(), { { { { 2.5, 4.5 }, { 10.5, 12.5 } } } }, "avgpool 2x2")
t.same(K.avgpool2d_backward(T { { { { 4, 8 }, { 0, 0 } } } }, 2, 2, 0, p):totable(),
  { { { { 1, 1, 2, 2 }, { 1, 1, 2, 2 }, { 0, 0, 0, 0 }, { 0, 0, 0, 0 } } } }, "avgpool backward spreads g/4")

-- batchnorm: x = 1, 2, 3, 4 in one channel: mean 2.5, biased var 1.25
local bx = T { { 1 }, { 2 }, { 3 }, { 4 } }
local rm, rv = lpact.zeros { 1 }, lpact.ones { 1 }
local bo, mean, invstd = K.batchnorm(bx, T { 2 }, T { 1 }, rm, rv, true, 0.1, 1e-5)
local is = 1 / math.sqrt(1.25 + 1e-5)
t.near(mean:get(1), 2.5, 1e-7, "batch mean")
t.near(invstd:get(1), is, 1e-6, "batch invstd")
t.near(bo:get(1, 1), 2 * (1 - 2.5) * is + 1, 1e-5, "gamma * xhat + beta")
t.near(rm:get(1), 0.25, 1e-7, "running mean: 0.9 * 0 + 0.1 * 2.5")
t.near(rv:get(1), 0.9 + 0.1 * (5 / 3), 1e-6, "running var uses the unbiased variance 5/3")
local eo = K.batchnorm(bx, nil, nil, rm, rv, false)
t.near(eo:get(4, 1), (4 - 0.25) / math.sqrt(rv:get(1) + 1e-5), 1e-5, "eval mode uses running statistics")
t.near(rm:get(1), 0.25, 0, "eval mode leaves running statistics alone")

-- softmax, log_softmax, cross-entropy
local lg = T { { 0, math.log(2), math.log(4) } }
local sm = K.softmax(lg):totable()[1]
t.near(sm[1], 1 / 7, 1e-7, "softmax 1/7")
t.near(sm[3], 4 / 7, 1e-7, "softmax 4/7")
t.near(K.softmax(lg, true):get(1, 2), math.log(2 / 7), 1e-6, "log_softmax")
local loss, probs = K.cross_entropy(T { { 0, math.log(2), math.log(4) }, { 1000, 0, 0 } }, T { 2, 0 })
t.near(loss, (-math.log(4 / 7) + 0) / 2, 1e-6, "cross-entropy mean, stable for logit 1000")
local dl = K.cross_entropy_backward(1, probs, T { 2, 0 })
t.near(dl:get(1, 3), (4 / 7 - 1) / 2, 1e-6, "cross-entropy gradient (p - onehot) / N")
t.near(K.softmax(T { { 1000, 1000 } }):get(1, 1), 0.5, 0, "softmax does not overflow")

-- activations: values at points worked out by hand
local e = math.exp(1)
local cases = {
  { "relu", -1, 0 }, { "relu", 2, 2 }, { "leaky_relu", -2, -0.02 }, { "relu6", 7, 6 }, { "relu6", 3, 3 },
  { "elu", -1, 1 / e - 1 }, { "gelu", 1, 0.8413447460685429 }, { "silu", 1, e / (1 + e) },
  { "softplus", 0, math.log(2) }, { "mish", 1, math.tanh(math.log(1 + e)) }, { "sigmoid", 0, 0.5 },
  { "tanh", 1, (e * e - 1) / (e * e + 1) }, { "hardtanh", -3, -1 }, { "hardtanh", 0.5, 0.5 },
  { "hardsigmoid", 0, 0.5 }, { "hardsigmoid", 1.5, 0.75 }, { "hardsigmoid", 4, 1 },
}
for _, c in ipairs(cases) do
  t.near(K.act(c[1], T { c[2] }):get(1), c[3], 2e-7, string.format("%s(%g) = %.7g", c[1], c[2], c[3]), 2e-7)
  t.near(K.act_value(c[1], c[2]), c[3], 1e-12, string.format("act_value %s(%g) in double", c[1], c[2]))
end
t.near(K.act("elu", T { -1 }, 2):get(1), 2 * (1 / e - 1), 1e-6, "elu alpha = 2")
t.near(K.act("leaky_relu", T { -1 }, 0.2):get(1), -0.2, 1e-7, "leaky_relu slope 0.2")
-- derivatives: double-precision central differences of act_value, away from kinks
for _, rec in ipairs(lpact.activations()) do
  local a = rec.name
  local worst = 0
  for _, x0 in ipairs { -2.5, -0.7, 0.3, 1.1, 2.9 } do
    local h = 1e-6
    local fd = (K.act_value(a, x0 + h) - K.act_value(a, x0 - h)) / (2 * h)
    worst = math.max(worst, math.abs(fd - K.act_deriv(a, x0)))
    local g = K.act_backward(a, T { 1 }, T { x0 }):get(1)
    worst = math.max(worst, math.abs(g - K.act_deriv(a, x0)) * 1e-3)  -- float32 kernel, 1e-6 relative
  end
  t.ok(worst < 1e-7, a .. ": derivative agrees with finite differences (h = 1e-6 in double, err " .. worst .. ")")
end

-- dropout: mask is 0 or 1/(1-p); counter-based
local ones = lpact.ones { 100000 }
local out, mask = K.dropout(ones, 0.25, 7, 0)
local kept = mask:gt(0):sum() / 100000
t.near(kept, 0.75, 0.01, "dropout keeps ~75% (sd 0.0014)")
t.ok(mask:eq(0):sum() + mask:eq(1 / 0.75):sum() == 100000, "mask values are 0 or 1/(1-p)")
t.same(out:totable(), mask:totable(), "out = x * mask")
local _, m2 = K.dropout(ones, 0.25, 7, 0)
t.same(m2:totable(), mask:totable(), "same seed, same mask")
local _, m3 = K.dropout(lpact.ones { 10 }, 0.25, 7, 5)
t.same(m3:totable(), mask:narrow(1, 6, 10):totable(), "counter offset ctr shifts the stream")
t.same(K.dropout(lpact.ones { 4 }, 0, 1, 0):totable(), { 1, 1, 1, 1 }, "p = 0 keeps all")

-- Adam / AdamW against a reference in double
local function adam_ref(pv, gv, m, v, lr, b1, b2, eps, wd, step, dec)
  if wd ~= 0 then if dec then pv = pv * (1 - lr * wd) else gv = gv + wd * pv end end
  m = b1 * m + (1 - b1) * gv
  v = b2 * v + (1 - b2) * gv * gv
  local denom = math.sqrt(v) / math.sqrt(1 - b2 ^ step) + eps
  return pv - lr / (1 - b1 ^ step) * m / denom, m, v
end
for _, dec in ipairs { false, true } do
  local P, G = T { 0.5, -1, 2 }, T { 0.1, -0.2, 0.3 }
  local M, Vv = lpact.zeros { 3 }, lpact.zeros { 3 }
  local rp, rmm, rvv = { 0.5, -1, 2 }, { 0, 0, 0 }, { 0, 0, 0 }
  for step = 1, 3 do
    K.adam_step(P, G, M, Vv, 0.01, 0.9, 0.999, 1e-8, 0.1, step, dec)
    for i = 1, 3 do rp[i], rmm[i], rvv[i] = adam_ref(rp[i], G:get(i), rmm[i], rvv[i], 0.01, 0.9, 0.999, 1e-8, 0.1, step, dec) end
  end
  local worst = 0
  for i = 1, 3 do worst = math.max(worst, math.abs(P:get(i) - rp[i])) end
  t.ok(worst < 1e-6, (dec and "AdamW" or "Adam") .. " step matches the double reference over 3 steps (err " .. worst .. ")")
end
do -- the 4-wide vector body and the scalar tail compute the same bits
  local P7, G7 = lpact.full({ 7 }, 0.5), lpact.full({ 7 }, -0.3)
  local M7, V7 = lpact.full({ 7 }, 0.01), lpact.full({ 7 }, 0.002)
  K.adam_step(P7, G7, M7, V7, 0.01, 0.9, 0.999, 1e-8, 0.1, 5, false)
  local v1 = P7:get(1)
  t.ok(P7:eq(v1):sum() == 7 and v1 ~= 0.5, "adam_step: every lane gives the same bits for the same inputs")
end
-- SGD with momentum and Nesterov
local P, G, Bf = T { 1, 2 }, T { 0.5, -0.5 }, lpact.zeros { 2 }
K.sgd_step(P, G, Bf, 0.1, 0.9, 0, 0, true, true)    -- buf = g; d = g + 0.9 g = 1.9 g
t.near(P:get(1), 1 - 0.1 * 1.9 * 0.5, 1e-7, "nesterov first step")
K.sgd_step(P, G, Bf, 0.1, 0.9, 0, 0, false, false)  -- buf = 0.9 g + g = 1.9 g; p -= 0.1 * 1.9 g
t.near(P:get(1), 1 - 0.1 * 1.9 * 0.5 - 0.1 * 1.9 * 0.5, 1e-6, "momentum second step")
local P2 = T { 1 }
K.sgd_step(P2, T { 0 }, nil, 0.5, 0, 0, 0.1)
t.near(P2:get(1), 1 - 0.5 * 0.1, 1e-7, "plain SGD with weight decay")

-- sum_to: the broadcasting backward
t.same(K.sum_to(lpact.ones { 2, 3 }, { 3 }):totable(), { 2, 2, 2 }, "sum_to (2,3) -> (3,)")
t.same(K.sum_to(lpact.ones { 2, 3 }, { 2, 1 }):totable(), { { 3 }, { 3 } }, "sum_to (2,3) -> (2,1)")
t.is(K.sum_to(lpact.ones { 2, 3 }, {}):item(), 6.0, "sum_to (2,3) -> ()")

-- shape errors name the op and the shapes
t.raises(K.linear, "linear: input of shape %(2, 3%) does not fit weight of shape %(4, 2%)", "linear mismatch", lpact.zeros { 2, 3 }, lpact.zeros { 4, 2 })
t.raises(K.conv2d, "conv2d: input of shape %(1, 2, 5, 5%) does not fit weight of shape %(4, 3, 3, 3%)", "conv mismatch", lpact.zeros { 1, 2, 5, 5 }, lpact.zeros { 4, 3, 3, 3 })
t.raises(K.cross_entropy, "cross_entropy: label 3%.0+ at position 2 is not a class index 0%.%.2", "label out of range", lpact.zeros { 2, 3 }, T { 0, 3 })
t.raises(K.act, "unknown activation 'swish'", "unknown activation", "swish", lpact.zeros { 2 })
t.raises(K.maxpool2d, "maxpool2d: expects %(N, C, H, W%), got shape %(4, 4%)", "pool needs 4-D", lpact.zeros { 4, 4 }, 2)

t.done()
