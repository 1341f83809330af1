-- An FP32 activation fused with the max pooling after it
-- (kernels.act_maxpool2d, ag.act_maxpool2d, nn.Sequential's use of them):
-- a case worked out by hand (ties, -0, NaN), then the same bits as the two
-- kernels one after the other for every activation of the registry, shapes
-- with tails, overlapping windows, padding, planes too large for the fused
-- pass, both thread counts, and a whole cnn_small step.
local t = require "lpact.tap"
local K, T = lpact.kernels, lpact.tensor
local ag, nn = lpact.autograd, lpact.nn
local nan, inf = 0 / 0, math.huge

do -- relu then 2x2 max pooling of one 4x4 plane, by hand
  local X = T { { {
    { -1, -2, 2, 5 },
    { -3, -0.5, 5, 1 },
    { 0, -4, nan, 7 },
    { 1, 1, 2, 3 },
  } } }
  local out, idx = K.act_maxpool2d(X, 2, 2, 0, "relu")
  local o = out:totable()[1][1]
  -- window 1: relu gives -0 four times; the first wins, keeping its sign
  t.ok(o[1][1] == 0 and 1 / o[1][1] == -inf, "all-negative window: -0, the first element's relu")
  t.is(o[1][2], 5, "window 2: the max")
  t.is(o[2][1], 1, "window 3: the max of +0, -0, 1, 1")
  t.ok(o[2][2] ~= o[2][2], "window 4: a NaN input gives NaN")
  local G = T { { { { -2, 3 }, { 4, 5 } } } }
  local dx = K.act_maxpool2d_backward(G, idx, X, "relu"):totable()[1][1]
  -- the gradient goes to the first maximum (flat 0, 3, 12, 10), times
  -- relu'(x): 0 for x <= 0 (so -2 * 0 = -0), NaN for a NaN x
  t.ok(dx[1][1] == 0 and 1 / dx[1][1] == -inf, "gradient to a negative argmax: -2 * 0 = -0")
  t.is(dx[1][4], 3, "tie: the gradient goes to the first 5")
  t.is(dx[2][3], 0, "not to the second")
  t.is(dx[4][1], 4, "window 3: to the first 1")
  t.is(dx[4][2], 0, "not to the second 1")
  t.ok(dx[3][3] ~= dx[3][3], "a NaN input gets a NaN gradient")
  local zeros, plus = 0, true
  for i = 1, 4 do for j = 1, 4 do
    local v = dx[i][j]
    if not ((i == 1 and j == 1) or (i == 1 and j == 4) or (i == 4 and j == 1) or (i == 3 and j == 3)) then
      zeros = zeros + (v == 0 and 1 or 0)
      plus = plus and 1 / v == inf
    end
  end end
  t.ok(zeros == 12 and plus, "the other twelve gradients are +0")
end

-- inputs with the cases that matter: NaN, infinities, signed zeros, ties
local function special(shape, seed)
  local X = lpact.randn(shape, seed) * 3
  local N, C, H, W = table.unpack(shape)
  X:set(1, 1, 1, 1, -0.0)
  X:set(1, 1, 1, 2, 0.0)
  X:set(1, 1, 2, 1, inf)
  X:set(N, C, H, W, -inf)
  X:set(1, C, 2, 2, X:get(1, C, 2, 1))                     -- a tie
  if C > 1 then X:set(N, 2, H // 2 + 1, W // 2 + 1, nan) end -- one plane with NaN
  return X
end

local function fused_vs_twice(name, alpha, X, k, s, p, seed)
  local out, idx = K.act_maxpool2d(X, k, s, p, name, alpha)
  local F = K.act(name, X, alpha)
  local out2, idx2 = K.maxpool2d(F, k, s, p)
  local G = lpact.randn(out:shape(), seed)
  if out:numel() > 3 then G:set(1, 1, 1, 1, -1.5) end
  local dx = K.act_maxpool2d_backward(G, idx, X, name, alpha)
  local dxo = K.act_maxpool2d_backward(G, idx, X, name, alpha, out, false, k, s, p) -- ReLU reads out instead of X
  local dx2 = K.act_backward(name, K.maxpool2d_backward(G, idx2, X), X, alpha)
  return out:hash() == out2:hash() and idx:hash() == idx2:hash(), dx:hash() == dx2:hash() and dxo:hash() == dx2:hash()
end

do -- every activation, every kind of window: the bits of act then maxpool2d
  local shapes = {
    { { 2, 3, 9, 10 }, 2, 2, 0 },  -- the 2x2 fast path, with a cut-off last row
    { { 2, 3, 14, 14 }, 2, 2, 0 }, -- cnn_small's second pooling (7 windows a row)
    { { 1, 2, 7, 7 }, 2, 1, 0 },   -- overlapping windows
    { { 2, 2, 9, 10 }, 3, 2, 1 },  -- padding
    { { 1, 2, 6, 8 }, 3, 3, 0 },
    { { 1, 2, 70, 61 }, 2, 2, 0 }, -- planes over the fused pass's buffer
  }
  local acts = lpact.activations()
  local bad_f, bad_b, n = {}, {}, 0
  for ai, a in ipairs(acts) do
    for si, sh in ipairs(shapes) do
      local X = special(sh[1], 40 * ai + si)
      local alpha = a.param and a.alpha * 1.5 or nil
      local okf, okb = fused_vs_twice(a.name, alpha, X, sh[2], sh[3], sh[4], 7 * ai + si)
      n = n + 1
      if not okf then bad_f[#bad_f + 1] = a.name .. "/" .. si end
      if not okb then bad_b[#bad_b + 1] = a.name .. "/" .. si end
    end
  end
  t.ok(n >= 6 * 12, n .. " cases over " .. #acts .. " activations")
  t.is(table.concat(bad_f, " "), "", "forward: values and argmax bits equal act then maxpool2d")
  t.is(table.concat(bad_b, " "), "", "backward: bits equal maxpool2d_backward then act_backward")
end

do -- thread count: enough planes for two threads
  local X = special({ 48, 16, 28, 28 }, 77)
  local old = lpact.threads()
  local h = {}
  for _, th in ipairs { 1, 2 } do
    lpact.threads(th)
    local out, idx = K.act_maxpool2d(X, 2, 2, 0, "relu")
    local dx = K.act_maxpool2d_backward(lpact.randn(out:shape(), 78), idx, X, "relu")
    h[th] = out:hash() .. idx:hash() .. dx:hash()
  end
  local okf, okb = fused_vs_twice("relu", nil, X, 2, 2, 0, 78)
  lpact.threads(old)
  t.is(h[2], h[1], "threads 1 and 2 give the same bits")
  t.ok(okf and okb, "and those of the unfused kernels")
end

do -- the bias gradient summed in the pooling's backward: conv2d_backward's bits
  for i, sh in ipairs { { 5, 7, 14, 14 }, { 3, 4, 9, 10 }, { 2, 3, 70, 61 } } do
    local X = special(sh, 300 + i)
    local out, idx = K.act_maxpool2d(X, 2, 2, 0, "relu")
    local G = lpact.randn(out:shape(), 310 + i)
    local dx, db = K.act_maxpool2d_backward(G, idx, X, "relu", nil, out, true, 2, 2, 0)
    local dx2 = K.act_maxpool2d_backward(G, idx, X, "relu", nil, out, false, 2, 2, 0)
    local Wt = lpact.randn({ sh[2], 2, 3, 3 }, 320 + i)
    local _, _, db2 = K.conv2d_backward(dx2, lpact.randn({ sh[1], 2, sh[3], sh[4] }, 330 + i), Wt, 1, 1, false, false, true)
    t.ok(dx:hash() == dx2:hash() and db:hash() == db2:hash() and db:size(1) == sh[2],
      table.concat(sh, "x") .. ": dx unchanged, db equal to the convolution's bias gradient of dx")
  end
end

do -- ReLU's backward without the activation's input: its shape instead
  local X = lpact.randn({ 3, 4, 10, 12 }, 340)
  local out, idx = K.act_maxpool2d(X, 2, 2, 0, "relu")
  local G = lpact.randn(out:shape(), 341)
  local want, wdb = K.act_maxpool2d_backward(G, idx, X, "relu", nil, out, true, 2, 2)
  local got, gdb = K.act_maxpool2d_backward(G, idx, { 3, 4, 10, 12 }, "relu", nil, out, true, 2, 2)
  t.ok(got ~= nil and got:hash() == want:hash() and gdb:hash() == wdb:hash(),
    "no NaN: dx and db from the pooled output alone (or nil where this CPU's path needs x)")
  X:set(2, 3, 5, 6, 0 / 0)
  out, idx = K.act_maxpool2d(X, 2, 2, 0, "relu")
  t.is(K.act_maxpool2d_backward(G, idx, { 3, 4, 10, 12 }, "relu", nil, out, false, 2, 2), nil,
    "a NaN in a window: nil, the input is needed")
  t.raises(K.act_maxpool2d_backward, "shape {N, C, H, W}", "a bad shape table is refused",
    G, idx, { 3, 4, 10 }, "relu", nil, out, false, 2, 2)
end

do -- the convolution's output left unmade for ReLU (drop), then made again when needed
  local X, Wt, B = lpact.randn({ 4, 3, 12, 12 }, 350), lpact.randn({ 5, 3, 3, 3 }, 351), lpact.randn({ 5 }, 352)
  local Y, _, out, idx = K.conv2d_act_maxpool2d(X, Wt, B, 1, 1, "relu", nil, 2, 2, 0, true)
  local Y2 = K.conv2d(X, Wt, B, 1, 1)
  local o2, i2 = K.act_maxpool2d(Y2, 2, 2, 0, "relu")
  t.ok((Y == false or Y:hash() == Y2:hash()) and out:hash() == o2:hash() and idx:hash() == i2:hash(),
    "drop: the same pooled output and indices" .. (Y == false and " (the convolution's output not made)" or ""))
  local Yg = K.conv2d_act_maxpool2d(X, Wt, B, 1, 1, "gelu", nil, 2, 2, 0, false)
  t.ok(Yg ~= false and Yg:hash() == Y2:hash(), "without drop the convolution's output is made")
end

do -- NaNs of both signs in a channel: the bias gradient's NaN has conv2d_backward's sign too
  -- (x86 keeps the first operand's NaN: the two sums must order their operands alike)
  local X = lpact.randn({ 2, 3, 4, 5 }, 340)
  local pos, neg = 0 / 0, -(0 / 0)
  for c = 1, 3 do
    X:set(1, c, 1, 1, c == 2 and pos or neg)
    X:set(1, c, 2, 2, c == 2 and neg or pos)
    X:set(2, c, 3, 4, c == 3 and neg or pos)
  end
  local out, idx = K.act_maxpool2d(X, 2, 2, 0, "relu")
  local G = lpact.randn(out:shape(), 341)
  local dx, db = K.act_maxpool2d_backward(G, idx, X, "relu", nil, out, true, 2, 2, 0)
  local _, _, db2 = K.conv2d_backward(dx, lpact.randn({ 2, 1, 4, 5 }, 342), lpact.randn({ 3, 1, 3, 3 }, 343), 1, 1,
    false, false, true)
  local s1, s2 = {}, {}
  for c = 1, 3 do s1[c], s2[c] = string.format("%a", db:get(c)), string.format("%a", db2:get(c)) end
  t.is(table.concat(s1, " "), table.concat(s2, " "), "the NaN bias gradients' signs: " .. table.concat(s2, " "))
end

do -- bad input: one clear error, nothing written
  local X = lpact.randn({ 1, 2, 4, 4 }, 5)
  t.raises(K.act_maxpool2d, "unknown activation", "an unknown activation is refused", X, 2, 2, 0, "nope")
  t.raises(K.act_maxpool2d, "expects %(N, C, H, W%)", "a 3-D input is refused", lpact.randn({ 2, 4, 4 }, 1), 2, 2, 0, "relu")
  local _, idx = K.act_maxpool2d(X, 2, 2, 0, "relu")
  idx:set(1, 2, 2, 2, 1e-30) -- int32 bits of a huge index
  t.raises(K.act_maxpool2d_backward, "outside an input plane", "an index outside its plane is refused",
    lpact.randn({ 1, 2, 2, 2 }, 6), idx, X, "relu")
  t.raises(K.act_maxpool2d_backward, "do not fit", "a gradient of the wrong shape is refused",
    lpact.randn({ 1, 2, 3, 2 }, 6), idx, X, "relu")
  local out = K.act_maxpool2d(X, 2, 2, 0, "relu")
  t.raises(K.act_maxpool2d_backward, "window 3, stride 2, pad 1 over %(1, 2, 4, 4%) gives 2x2 planes, the gradient",
    "an output with a window that does not give the gradient's shape is refused",
    lpact.randn({ 1, 2, 3, 3 }, 6), select(2, K.act_maxpool2d(lpact.randn({ 1, 2, 6, 6 }, 1), 2, 2, 0, "relu")), X,
    "relu", nil, lpact.randn({ 1, 2, 3, 3 }, 7), false, 3, 2, 1)
  t.raises(K.act_maxpool2d_backward, "number expected", "an output without its window is refused",
    lpact.randn({ 1, 2, 2, 2 }, 6), select(2, K.act_maxpool2d(X, 2, 2, 0, "relu")), X, "relu", nil, out)
end

do -- windows that give half-size planes without reading every element
  -- (1x1 with stride 2, 2x2 with stride 3 and pad 1 over 4x4 planes): a NaN
  -- no window reads still makes its gradient NaN (0 * relu'(NaN)), as in
  -- the unfused backward; ReLU's gradient read from the pooled output
  -- cannot see it
  local X = lpact.randn({ 2, 3, 4, 4 }, 11)
  X:set(1, 2, 1, 2, nan)
  X:set(2, 3, 2, 2, nan)
  for _, w in ipairs { { 1, 2, 0 }, { 2, 3, 1 }, { 1, 3, 0 } } do
    local x1, x2 = ag.var(X, true), ag.var(X, true)
    local y1 = ag.act_maxpool2d("relu", x1, nil, w[1], w[2], w[3])
    local y2 = ag.maxpool2d(ag.act("relu", x2), w[1], w[2], w[3])
    local G = lpact.randn(y1.data:shape(), 12)
    y1:backward(G)
    y2:backward(G)
    local g1, g2 = x1.grad, x2.grad
    t.ok(y1.data:size(3) == 2 and g1:get(1, 2, 1, 2) ~= g1:get(1, 2, 1, 2) and g1:get(2, 3, 2, 2) ~= g1:get(2, 3, 2, 2)
      and g1:hash() == g2:hash(), string.format("window %d, stride %d, pad %d: an unread NaN's gradient is NaN, "
      .. "the bits of the unfused backward", w[1], w[2], w[3]))
  end
  -- the same through nn.Sequential's Conv2d + ReLU + MaxPool2d(1, 2): an
  -- infinite input makes NaN convolution outputs where no window reads
  local Xi = lpact.randn({ 1, 1, 6, 6 }, 13)
  Xi:set(1, 1, 2, 2, inf)
  Xi:set(1, 1, 3, 3, -inf)
  local hs = {}
  for pass = 1, 2 do
    local m = nn.seeded(9, function()
      return nn.Sequential { nn.Conv2d(1, 2, 3, { pad = 1 }), nn.act("relu"), nn.MaxPool2d(1, 2) }
    end)
    local a = m._children[2].module
    if pass == 2 then a.forward = getmetatable(a).forward end
    local x = ag.var(Xi, true)
    local y = m:forward(x)
    y:backward(lpact.ones(y.data:shape()))
    hs[pass] = x.grad:hash() .. " " .. m._children[1].module.weight.grad:hash()
  end
  t.is(hs[1], hs[2], "Conv2d + ReLU + MaxPool2d(1, 2) with inf inputs: the gradients' bits of the unfused layers")
end

-- Models with the fusions and without them (an activation with a forward
-- of its own is fused with nothing): the same loss and gradients, bit for
-- bit. Counted: Conv2d + activation + MaxPool2d runs as one call
-- (conv2d_act_maxpool2d), an activation + MaxPool2d without a Conv2d
-- before it as another (act_maxpool2d).
local function step(build, X, fuse)
  local m = build()
  if not fuse then
    for _, ch in ipairs(m._children) do
      local site = ch.module
      if nn.is_activation(site) then site.forward = getmetatable(site).forward end
    end
  end
  local calls, wrapped = {}, {}
  for _, k in ipairs { "conv2d_act_maxpool2d", "act_maxpool2d" } do
    local orig = K[k]
    wrapped[k], calls[k] = orig, 0
    K[k] = function(...) calls[k] = calls[k] + 1 return orig(...) end
  end
  local x = ag.var(X, true)
  local y = m:forward(x)
  for k, orig in pairs(wrapped) do K[k] = orig end
  local N = X:size(1)
  local labels = {}
  for i = 1, N do labels[i] = (i * 3) % y.data:size(2) end
  local loss = ag.cross_entropy(y, T(labels))
  loss:backward()
  local h = { string.format("%a", loss.data:item()), x.grad:hash() }
  for _, p in ipairs(m:parameters()) do h[#h + 1] = p.var.grad:hash() end
  return table.concat(h, " "), calls
end

local function finite_input(shape, seed)
  local X = lpact.randn(shape, seed)
  X:set(1, 1, 1, 1, -0.0)
  X:set(1, 1, 1, 2, 0.0)
  X:set(shape[1], 1, 3, 4, X:get(shape[1], 1, 3, 3))
  return X
end

local cases = {
  { "cnn_small relu", function() return lpact.models.cnn_small { seed = 3, act = "relu" } end, { 6, 1, 28, 28 }, 2, 0 },
  { "cnn_small gelu", function() return lpact.models.cnn_small { seed = 3, act = "gelu" } end, { 6, 1, 28, 28 }, 2, 0 },
  { "cnn_small leaky_relu", function() return lpact.models.cnn_small { seed = 3, act = { "leaky_relu", 0.2 } } end,
    { 6, 1, 28, 28 }, 2, 0 },
  -- a strided convolution (im2col path), odd output planes (a row and a
  -- column no window reads), then an activation + pooling without a Conv2d
  { "strided, odd planes", function()
      return nn.seeded(5, function()
        return nn.Sequential { nn.Conv2d(2, 4, 3, { stride = 2, pad = 1 }), nn.act("relu"), nn.MaxPool2d(2),
          nn.act("elu"), nn.MaxPool2d(2, 1), nn.Flatten(), nn.Linear(4 * 3 * 3, 5) }
      end)
    end, { 3, 2, 15, 17 }, 1, 1 },
  -- a NaN pixel: windows whose pooled output is NaN need the convolution's
  -- output in the backward (made again)
  { "cnn_small relu, a NaN pixel", function() return lpact.models.cnn_small { seed = 3, act = "relu" } end,
    { 6, 1, 28, 28 }, 2, 0, function(X) X:set(2, 1, 9, 9, 0 / 0) end },
  -- output planes over the fused pass's buffer (70 x 66): three passes
  { "large planes", function()
      return nn.seeded(6, function()
        return nn.Sequential { nn.Conv2d(1, 2, 3, { pad = 1 }), nn.act("relu"), nn.MaxPool2d(2), nn.Flatten(),
          nn.Linear(2 * 35 * 33, 3) }
      end)
    end, { 2, 1, 70, 66 }, 1, 0 },
}
for _, cs in ipairs(cases) do
  local X = finite_input(cs[3], 90)
  if cs[6] then cs[6](X) end
  local fused, calls = step(cs[2], X, true)
  local plain, calls0 = step(cs[2], X, false)
  t.is(calls.conv2d_act_maxpool2d .. " " .. calls.act_maxpool2d, cs[4] .. " " .. cs[5],
    cs[1] .. ": the fused calls expected")
  t.is(calls0.conv2d_act_maxpool2d + calls0.act_maxpool2d, 0, cs[1] .. ": an activation with its own forward is fused with nothing")
  t.is(fused, plain, cs[1] .. ": loss and every gradient have the same bits fused and unfused")
end

do -- a NaN pixel: the backward makes the dropped convolution output again
  local dropped = K.conv2d_act_maxpool2d(lpact.randn({ 2, 1, 28, 28 }, 1), lpact.randn({ 16, 1, 3, 3 }, 2), nil,
    1, 1, "relu", nil, 2, 2, 0, true) == false
  local m = lpact.models.cnn_small { seed = 3 }
  local X = lpact.randn({ 6, 1, 28, 28 }, 90)
  X:set(2, 1, 9, 9, 0 / 0)
  local y = m:forward(ag.var(X, true))
  local n, orig = 0, K.conv2d
  K.conv2d = function(...) n = n + 1 return orig(...) end
  ag.sum(y):backward()
  K.conv2d = orig
  t.is(n, dropped and 2 or 0, "the convolutions' outputs made again in the backward: " .. n
    .. (dropped and " (both layers see the NaN)" or " (kept on this machine)"))
end

do -- threads: the fused convolution's per-sample pooling, 1 and 2 threads
  local X = finite_input({ 24, 1, 28, 28 }, 91)
  local old = lpact.threads()
  local h = {}
  for _, th in ipairs { 1, 2 } do
    lpact.threads(th)
    h[th] = step(function() return lpact.models.cnn_small { seed = 4 } end, X, true)
  end
  lpact.threads(old)
  t.is(h[2], h[1], "cnn_small fused: threads 1 and 2 give the same bits")
end

do -- a convolution whose output is smaller than the window: the pooling's own error
  local m = nn.Sequential { nn.Conv2d(1, 2, 5), nn.act("relu"), nn.MaxPool2d(3) }
  t.raises(function() return m:forward(lpact.randn({ 1, 1, 6, 6 }, 1)) end, "MaxPool2d",
    "conv output 2x2 under a 3x3 pooling: the MaxPool2d layer's error")
end

do -- a class's forward replaced (to count or record activations): each layer runs its forward
  local seen, orig = {}, nn.Activation.forward
  nn.Activation.forward = function(self, x)
    seen[#seen + 1] = self.name
    return orig(self, x)
  end
  local m = lpact.models.cnn_small { seed = 8 }
  local ok, y = pcall(m.forward, m, lpact.randn({ 2, 1, 28, 28 }, 93))
  nn.Activation.forward = orig
  t.ok(ok and y.data:size(2) == 10 and table.concat(seen, " ") == "relu relu relu",
    "nn.Activation.forward replaced: cnn_small calls it for each of its three activations")
  local m2 = lpact.models.cnn_small { seed = 8 }
  t.ok(ok and y.data:hash() == m2:forward(lpact.randn({ 2, 1, 28, 28 }, 93)).data:hash(),
    "and gives the fused model's logits")
end

do -- a stride the kernels refuse: the convolution's error, as without the fusion
  local m = nn.Sequential { nn.Conv2d(1, 2, 3, { stride = 0 }), nn.act("relu"), nn.MaxPool2d(2) }
  t.raises(function() return m:forward(lpact.randn({ 1, 1, 8, 8 }, 1)) end, "'conv2d' %(stride must be >= 1%)",
    "Conv2d with stride 0 before ReLU and MaxPool2d: conv2d's error")
end

do -- which convolutions run implicit: "same" ones, on a CPU with AVX-512F
  local X = lpact.randn({ 2, 3, 8, 8 }, 1)
  local same = K.conv2d_implicit(X, lpact.randn({ 4, 3, 3, 3 }, 2), 1, 1)
  local lanes = lpact.bench_lanes()
  t.ok(same or lanes[#lanes] ~= "avx512", "3x3 pad 1 stride 1: implicit on an AVX-512 machine (here: "
    .. tostring(same) .. ")")
  t.is(K.conv2d_implicit(X, lpact.randn({ 4, 3, 3, 3 }, 2), 2, 1), false, "stride 2: never")
  t.is(K.conv2d_implicit(X, lpact.randn({ 4, 3, 3, 3 }, 2), 1, 0), false, "pad 0: never")
end

do -- no graph (evaluation): the same outputs
  local m = lpact.models.cnn_small { seed = 8 }
  local X = finite_input({ 4, 1, 28, 28 }, 92)
  X:set(3, 1, 20, 7, 0 / 0) -- one sample with a NaN pixel
  local calls, orig = 0, K.conv2d_act_maxpool2d
  K.conv2d_act_maxpool2d = function(...) calls = calls + 1 return orig(...) end
  local a = ag.no_grad(function() return m:forward(X).data:hash() end)
  K.conv2d_act_maxpool2d = orig
  for _, ch in ipairs(m._children) do
    if nn.is_activation(ch.module) then ch.module.forward = getmetatable(ch.module).forward end
  end
  local b = ag.no_grad(function() return m:forward(X).data:hash() end)
  t.is(a, b, "no_grad: fused and unfused logits have the same bits (a NaN pixel in one sample)")
  t.ok(calls == 2 or not K.conv2d_implicit(X, m:get(1).weight.data, 1, 1),
    "no_grad: both blocks in one pass each where the convolutions run implicit (" .. calls .. ")")
end

do -- model:summary still sees every layer
  local m = lpact.models.cnn_small {}
  local ok, s = pcall(function() return m:summary { 1, 28, 28 } end)
  t.ok(ok and tostring(s):find("relu") ~= nil and select(2, tostring(s):gsub("MaxPool2d", "")) == 2,
    "summary lists the activations and both poolings")
end

do -- a quantized activation before a pooling is left alone and still works
  local m = lpact.models.cnn_small { act = lpact.qact { fn = "relu", fmt = "fp4" } }
  local X = lpact.randn({ 2, 1, 28, 28 }, 91)
  local loss = ag.cross_entropy(m:forward(ag.var(X)), T { 1, 2 })
  t.ok(loss.data:item() == loss.data:item(), "qact cnn_small: a finite loss")
end

do -- random models (seeded): Conv2d / activation / MaxPool2d blocks with any
  -- kernel, stride, padding and window, NaN and infinities in the input,
  -- the input's gradient wanted or not, 1 and 2 threads: fused and unfused,
  -- the same output and gradients, bit for bit
  local acts = nn.activation_names
  local pools = { { 2, 2 }, { 2, 2 }, { 1, 2 }, { 3, 2 }, { 2, 1 }, { 3, 3 }, { 2, 3 }, { 1, 1 } }
  local state = 2024
  local function rand(n) -- 1..n, a seeded LCG
    state = (state * 1103515245 + 12345) % 2147483648
    return 1 + (state >> 8) % n
  end
  local function run(spec, X, G, fuse, xgrad)
    local m = nn.seeded(spec.seed, function()
      local layers = {}
      for _, l in ipairs(spec) do
        if l[1] == "conv" then layers[#layers + 1] = nn.Conv2d(l[2], l[3], l[4], { stride = l[5], pad = l[6] })
        elseif l[1] == "act" then layers[#layers + 1] = nn.Activation(l[2])
        else layers[#layers + 1] = nn.MaxPool2d(l[2], l[3]) end
      end
      return nn.Sequential(layers)
    end)
    if not fuse then
      for _, ch in ipairs(m._children) do ch.module.forward = getmetatable(ch.module).forward end
    end
    local x = xgrad and ag.var(X, true) or X
    local ok, y = pcall(m.forward, m, x)
    if not ok then return "error " .. tostring(y) end
    local h = { y.data:hash() }
    if y.requires_grad then -- without a Conv2d or the input's gradient, no graph
      local okb, e = pcall(y.backward, y, G(y.data:shape()))
      if not okb then return "backward error " .. tostring(e) end
      h[2] = xgrad and x.grad:hash() or ""
      for _, p in ipairs(m:parameters()) do h[#h + 1] = p.var.grad:hash() end
    end
    return table.concat(h, " ")
  end
  local old, bad, n, fused = lpact.threads(), {}, 0, 0
  local calls, orig = 0, K.conv2d_act_maxpool2d
  K.conv2d_act_maxpool2d = function(...) calls = calls + 1 return orig(...) end
  for case = 1, 150 do
    local C, H, W = rand(3), 3 + rand(14), 3 + rand(14)
    local spec, cin = { seed = case }, C
    for _ = 1, rand(2) do
      if rand(4) > 1 then
        local k = ({ 1, 2, 3, 3, 5 })[rand(5)]
        local cout = rand(4)
        spec[#spec + 1] = rand(2) == 1 and { "conv", cin, cout, k, 1, (k - 1) // 2 } or
          { "conv", cin, cout, k, rand(3), rand(k) - 1 }
        cin = cout
      end
      spec[#spec + 1] = { "act", rand(2) == 1 and "relu" or acts[rand(#acts)] }
      local pw = pools[rand(#pools)]
      spec[#spec + 1] = { "pool", pw[1], pw[2] }
    end
    local X = lpact.randn({ rand(3), C, H, W }, case) * 2
    if rand(2) == 1 then
      for _ = 1, rand(4) do
        X:set(rand(X:size(1)), rand(C), rand(H), rand(W), ({ nan, inf, -inf, -0.0 })[rand(4)])
      end
    end
    local function G(shape) return lpact.randn(shape, 1000 + case) end
    local xgrad = rand(3) > 1
    for th = 1, 2 do
      lpact.threads(th)
      local a, b = run(spec, X, G, true, xgrad), run(spec, X, G, false, xgrad)
      n = n + 1
      if a ~= b then bad[#bad + 1] = case .. "/" .. th end
    end
  end
  K.conv2d_act_maxpool2d = orig
  lpact.threads(old)
  t.ok(calls >= 80, calls .. " fused convolutions in " .. n .. " runs")
  t.is(table.concat(bad, " "), "", "random models: fused and unfused give the same bits (cases that differ)")
end

t.done()
