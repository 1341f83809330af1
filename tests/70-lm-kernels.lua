-- The language-model kernels (lpact.lm_kernels through lpact.transformer):
-- embeddings with positions and their scatter-add backward, LayerNorm,
-- RMSNorm and fused causal attention, each against a naive reference
-- written here from plain tensor ops or Lua numbers, by finite-difference
-- gradient checks, with NaN in giving NaN out, and the same bits with 1
-- and 2 threads. Small shapes: the whole file runs in well under a second.
local t = require "lpact.tap"
local ag = require "lpact.autograd"
local tf = require "lpact.transformer"
local K = lpact.lm_kernels

local function maxdiff(a, b)
  return (a - b):abs():max()
end

local function isnan(x) return x ~= x end

-- ---- embeddings ------------------------------------------------------------

do
  local wte = lpact.randn({ 5, 3 }, 1)
  local wpe = lpact.randn({ 4, 3 }, 2)
  local tok = lpact.tensor({ 1, 4, 1, 0, 2, 2, 4, 1 }, { 2, 4 })
  local out = K.embed(tok, wte, wpe)
  local ok = true
  for b = 1, 2 do
    for s = 1, 4 do
      local id = math.tointeger(tok:get(b, s))
      for d = 1, 3 do
        local f32 = string.unpack("f", string.pack("f", wte:get(id + 1, d) + wpe:get(s, d)))
        if out:get(b, s, d) ~= f32 then ok = false end
      end
    end
  end
  t.ok(ok, "embed: out[b, t] = wte[tok] + wpe[t], exactly")
  local g = lpact.randn({ 2, 4, 3 }, 3)
  local dw, dp = K.embed_backward(g, tok, 5, true, 4)
  -- the naive scatter-add, in double
  local want_w, want_p = {}, {}
  for v = 1, 5 do want_w[v] = { 0, 0, 0 } end
  for s = 1, 4 do want_p[s] = { 0, 0, 0 } end
  for b = 1, 2 do
    for s = 1, 4 do
      local id = math.tointeger(tok:get(b, s)) + 1
      for d = 1, 3 do
        want_w[id][d] = want_w[id][d] + g:get(b, s, d)
        want_p[s][d] = want_p[s][d] + g:get(b, s, d)
      end
    end
  end
  t.ok(maxdiff(dw, lpact.tensor(want_w)) < 1e-6, "embed_backward: dwte is the scatter-add of dout at the ids (id 1 three times)")
  t.ok(maxdiff(dp, lpact.tensor(want_p)) < 1e-6, "embed_backward: dwpe sums dout over the batch")
  t.is(dw:select(1, 4):abs():sum(), 0.0, "embed_backward: a row no token uses (id 3) has zero gradient")
  local pw, pp = ag.param(wte:clone()), ag.param(wpe:clone())
  local okc = ag.gradcheck(function(a, b) return tf.embed(tok, a, b) end, { pw, pp })
  t.ok(okc, "embed: gradient check of wte and wpe")
  t.raises(function() K.embed(lpact.tensor({ 0, 5 }, { 1, 2 }), wte, wpe) end, "token id 5.* not in 0..4",
    "embed: an id outside the vocabulary is refused")
  t.raises(function() K.embed(lpact.tensor({ 0, 0.5 }, { 1, 2 }), wte, wpe) end, "not in 0..4",
    "embed: a fractional id is refused")
  t.raises(function() K.embed(lpact.tensor({ 0, 0 / 0 }, { 1, 2 }), wte, wpe) end, "not in 0..4",
    "embed: a NaN id is refused")
  t.raises(function() K.embed(lpact.zeros { 1, 5 }, wte, wpe) end, "positions of shape %(4, 3%) do not fit 5 steps",
    "embed: more steps than positions is refused")
  local wn = wte:clone()
  wn:set(2, 2, 0 / 0)
  local on = K.embed(tok, wn, wpe)
  t.ok(isnan(on:get(1, 1, 2)) and isnan(on:get(2, 4, 2)) and not isnan(on:get(1, 2, 2)),
    "embed: a NaN in a table row reaches exactly the positions that use it")
end

-- ---- LayerNorm / RMSNorm ----------------------------------------------------------

local function naive_norm(x, w, b, rms, eps)
  local out = {}
  for i, row in ipairs(x:totable()) do
    local C, m, v = #row, 0, 0
    if not rms then
      for _, xv in ipairs(row) do m = m + xv end
      m = m / C
    end
    for _, xv in ipairs(row) do v = v + (xv - m) ^ 2 end
    v = v / C
    out[i] = {}
    for c, xv in ipairs(row) do
      out[i][c] = (xv - m) / math.sqrt(v + eps) * w:get(c) + (b and b:get(c) or 0)
    end
  end
  return lpact.tensor(out)
end

do
  local x = lpact.randn({ 4, 6 }, 11) * 3 + 1
  local w, b = lpact.randn({ 6 }, 12), lpact.randn({ 6 }, 13)
  local out = K.layernorm(x, w, b, 1e-5)
  t.ok(maxdiff(out, naive_norm(x, w, b, false, 1e-5)) < 1e-5, "layernorm: forward matches the textbook formula in double")
  local rout = K.rmsnorm(x, w, 1e-5)
  t.ok(maxdiff(rout, naive_norm(x, w, nil, true, 1e-5)) < 1e-5, "rmsnorm: forward matches x / rms(x) * w in double")
  local px, pw, pb = ag.param(x:clone()), ag.param(w:clone()), ag.param(b:clone())
  t.ok(ag.gradcheck(function(a, c, d) return tf.layernorm(a, c, d) end, { px, pw, pb }), "layernorm: gradient check of x, weight and bias")
  px, pw = ag.param(x:clone()), ag.param(w:clone())
  t.ok(ag.gradcheck(function(a, c) return tf.rmsnorm(a, c) end, { px, pw }), "rmsnorm: gradient check of x and weight")
  -- a 3-D input normalises its last dimension
  local x3 = lpact.randn({ 2, 3, 6 }, 14)
  t.ok(maxdiff(K.layernorm(x3, w, b):reshape { 6, 6 }, naive_norm(x3:reshape { 6, 6 }, w, b, false, 1e-5)) < 1e-5,
    "layernorm: (2, 3, 6) normalises over the last dimension")
  local xn = x:clone()
  xn:set(2, 3, 0 / 0)
  local on = K.layernorm(xn, w, b)
  local rn = K.rmsnorm(xn, w)
  t.ok(on:select(1, 2):isnan():sum() == 6 and on:select(1, 1):isnan():sum() == 0,
    "layernorm: a NaN makes its own row NaN and no other")
  t.ok(rn:select(1, 2):isnan():sum() == 6 and rn:select(1, 3):isnan():sum() == 0, "rmsnorm: the same")
  t.raises(function() K.layernorm(x, lpact.ones { 5 }, b) end, "weight of shape %(5,%), expected %(6,%)",
    "layernorm: a weight of the wrong width is refused")
end

-- ---- attention --------------------------------------------------------------------

-- The naive reference, head by head from plain autograd ops: scores q k^T
-- / sqrt(hd), a causal mask of -inf, softmax, the product with v. Slices
-- are products with 0/1 selection matrices, so autograd differentiates the
-- whole reference. qkv a Var (B, T, 3D); round (optional) maps the
-- probabilities (a tensor) to the tensor used in their place (no gradient
-- through it). Returns a Var (B*T, D) and the loss sum(out * R) for R (B*T, D).
local function sel(rows, cols, r0, c0, n)
  local m = lpact.zeros { rows, cols }
  for i = 1, n do m:set(r0 + i, c0 + i, 1) end
  return m
end

local function naive_attention(qkv, H, round)
  local shp = qkv:shape()
  local B, T, D3 = shp[1], shp[2], shp[3]
  local D = D3 // 3
  local hd = D // H
  local mask = {}
  for i = 1, T do
    mask[i] = {}
    for j = 1, T do mask[i][j] = j <= i and 0 or -math.huge end
  end
  mask = lpact.tensor(mask)
  local flat = ag.reshape(qkv, { B * T, D3 })
  local out
  for b = 1, B do
    local rows = ag.matmul(sel(T, B * T, 0, (b - 1) * T, T), flat)        -- (T, 3D)
    local ob
    for h = 1, H do
      local function part(k) return ag.matmul(rows, sel(D3, hd, k * D + (h - 1) * hd, 0, hd)) end
      local q, kk, v = part(0), part(1), part(2)
      local sc = ag.add(ag.scale(ag.matmul(q, ag.transpose(kk)), 1 / math.sqrt(hd)), mask)
      local p = ag.softmax(sc)
      if round then p = ag.var(round(p.data, b, h), false) end
      local oh = ag.matmul(ag.matmul(p, v), sel(hd, D, 0, (h - 1) * hd, hd))   -- (T, D)
      ob = ob and ag.add(ob, oh) or oh
    end
    local placed = ag.matmul(sel(B * T, T, (b - 1) * T, 0, T), ob)           -- (B*T, D)
    out = out and ag.add(out, placed) or placed
  end
  return out
end

do
  local B, T, H, hd = 2, 5, 2, 3
  local D = H * hd
  local qkv = lpact.randn({ B, T, 3 * D }, 21)
  local out = K.attention(qkv, H)
  local want = naive_attention(ag.var(qkv), H).data:reshape { B, T, D }
  t.ok(maxdiff(out, want) < 1e-5, "attention: forward matches q k^T / sqrt(hd), causal mask, softmax, times v")
  -- the first step attends to itself only: its output is its own value
  local v1 = qkv:select(1, 1):select(1, 1):narrow(1, 2 * D + 1, D)
  t.ok(maxdiff(out:select(1, 1):select(1, 1), v1) < 1e-6, "attention: step 1 returns its own value vector")
  -- a future position changes nothing before it
  local q2 = qkv:clone()
  q2:select(1, 1):select(1, T):fill(7)
  local o2 = K.attention(q2, H)
  t.is(maxdiff(o2:select(1, 1):narrow(1, 1, T - 1), out:select(1, 1):narrow(1, 1, T - 1)), 0.0,
    "attention: changing the last step leaves every earlier output unchanged (causal)")
  local p = ag.param(qkv:clone())
  local okc, worst = ag.gradcheck(function(x) return tf.attention(x, H) end, { p })
  t.ok(okc, "attention: gradient check of qkv (queries, keys and values)")
  if not okc then t.diag(string.format("worst %d: %g vs %g", worst.index, worst.analytic, worst.numeric)) end
  -- the fused backward against autograd through the naive graph
  local R = lpact.randn({ B, T, D }, 22)
  local dq, g1 = K.attention_backward(R, qkv, select(2, K.attention(qkv, H)), H)
  local pv = ag.param(qkv:clone())
  ag.sum(ag.mul(naive_attention(pv, H), R:reshape { B * T, D })):backward()
  t.ok(g1 == nil and maxdiff(dq, pv.grad) < 1e-5, "attention_backward: dqkv matches autograd through the naive graph")
  local nan_in = qkv:clone()
  nan_in:set(2, 3, 1, 0 / 0)   -- a query of step 3, head 1, batch 2
  local on = K.attention(nan_in, H)
  t.ok(on:select(1, 2):select(1, 3):narrow(1, 1, hd):isnan():sum() == hd,
    "attention: a NaN query makes its step's head output NaN")
  t.ok(on:select(1, 1):isnan():sum() == 0 and on:select(1, 2):narrow(1, 1, 2):isnan():sum() == 0,
    "attention: other sequences and earlier steps stay finite")
  t.raises(function() K.attention(qkv, 4) end, "4 heads do not divide the width 6", "attention: heads that do not divide D are refused")
  t.raises(function() K.attention(lpact.zeros { 2, 5, 7 }, 1) end, "qkv %(B, T, 3D%) expected", "attention: a width not a multiple of 3 is refused")

  -- probabilities in a small format: emulate rounds the float32 softmax
  local f = lpact.format "ue2m1"
  local s = 1 / 6
  local function round_emulate(pt)
    local r = pt:clone()
    local flat = r:reshape { r:numel() }
    for i = 1, flat:numel() do flat:set(i, s * f:round(flat:get(i) / s)) end
    return r
  end
  local qe = K.attn_quant(f, "emulate", s)
  local oute = K.attention(qkv, H, qe)
  t.ok(maxdiff(oute, naive_attention(ag.var(qkv), H, round_emulate).data:reshape { B, T, D }) < 1e-5,
    "attention ue2m1 emulate: matches the naive softmax rounded to s Q(p / s), s = 1/6")
  t.ok(maxdiff(oute, out) > 1e-3, "attention ue2m1 emulate: differs from float32")
  -- ops: exp rounded, float sum, division rounded (power-of-two scale: exact sums)
  local so = 1 / 8
  local qo = K.attn_quant(f, "ops", so)
  local outo = K.attention(qkv, H, qo)
  local hd_scale = 1 / math.sqrt(hd)
  local ok_ops = true
  for b = 1, B do
    for h = 1, H do
      for i = 1, T do
        local sc, m = {}, -math.huge
        for j = 1, i do
          local dot = 0
          for c = 1, hd do
            dot = dot + qkv:get(b, i, (h - 1) * hd + c) * qkv:get(b, j, D + (h - 1) * hd + c)
          end
          sc[j] = dot * hd_scale
          if sc[j] > m then m = sc[j] end
        end
        local e, sum = {}, 0
        for j = 1, i do e[j] = so * f:round(math.exp(sc[j] - m) / so); sum = sum + e[j] end
        for c = 1, hd do
          local o = 0
          for j = 1, i do o = o + so * f:round(e[j] / sum / so) * qkv:get(b, j, 2 * D + (h - 1) * hd + c) end
          if math.abs(o - outo:get(b, i, (h - 1) * hd + c)) > 1e-5 then ok_ops = false end
        end
      end
    end
  end
  t.ok(ok_ops, "attention ue2m1 ops: matches exp rounded, summed, the division rounded (worked out in Lua)")
  -- learnable levels: the output is linear in the levels, so finite differences are exact
  local lv = ag.param(lpact.tensor(qe:info().values))
  local px = ag.var(qkv:clone(), false)
  local function f_lv(l) return tf.attention(px, H, { core = qe, levels_var = l, next_ctr = function() return 0 end }) end
  local okl = ag.gradcheck(f_lv, { lv })
  t.ok(okl, "attention: gradient check of learnable probability levels")
  local lv2 = lv.data:clone()
  lv2:set(5, 0.9)   -- code 4 (value 2, probability 1/3) now stands for 0.9 * s
  local _, _ = K.attention(qkv, H, qe, lv2)
  t.ok(maxdiff(K.attention(qkv, H, qe, lv2), oute) > 0, "attention: changed levels change the output")
  local on2 = K.attention(nan_in, H, qe)
  t.ok(on2:select(1, 2):select(1, 3):narrow(1, 1, hd):isnan():sum() == hd, "attention ue2m1: NaN in, NaN out")
  t.raises(function() K.attn_quant(lpact.format "fp32", "emulate", 1) end, "at most 16 bits",
    "attn_quant: float32 is not a probability format")
  t.raises(function() K.attention(qkv, H, qe, lpact.zeros { 3 }) end, "3 levels for a format of 8 codes",
    "attention: levels of the wrong count are refused")

  -- the same bits with 1 and 2 threads
  local old = lpact.threads()
  local big = lpact.randn({ 3, 16, 3 * 16 }, 23)
  local function run()
    local o, st = K.attention(big, 4, qe)
    local d, dl = K.attention_backward(lpact.randn({ 3, 16, 16 }, 24), big, st, 4, qe, nil, 0, true)
    return o:hash() .. d:hash() .. dl:hash()
  end
  lpact.threads(1)
  local h1 = run()
  lpact.threads(2)
  local h2 = run()
  lpact.threads(old)
  t.is(h1, h2, "attention: forward, backward and level gradients give the same bits with 1 and 2 threads")
end

-- ---- attention: causality of non-finite values, the unit-scale rounding path, lanes ----
do
  local B, T, H, hd = 2, 21, 2, 5   -- T and hd not multiples of the 16-wide blocks
  local D = H * hd
  local qkv = lpact.randn({ B, T, 3 * D }, 31)
  local function finite_rows(o, b, h)   -- steps whose head-h output has no NaN
    local n = 0
    for i = 1, T do
      if o:select(1, b):select(1, i):narrow(1, (h - 1) * hd + 1, hd):isnan():sum() == 0 then n = n + 1 else break end
    end
    return n
  end
  local qu = K.attn_quant(lpact.format "ue3m1", "emulate", 1)
  -- a NaN value component reaches that component of steps 9.. (which attend
  -- to step 9) and nothing else; a NaN key makes steps 9.. of its head NaN
  for _, q in ipairs { false, qu } do
    local tag = q and " ue3m1" or ""
    local x = qkv:clone()
    x:set(1, 9, 2 * D + 2, 0 / 0)   -- value component 2 of head 1, step 9, batch 1
    local o = K.attention(x, H, q or nil)
    local col = o:select(1, 1):select(2, 2)   -- (T)
    t.ok(col:narrow(1, 1, 8):isnan():sum() == 0 and col:narrow(1, 9, T - 8):isnan():sum() == T - 8
      and o:isnan():sum() == T - 8,
      "attention" .. tag .. ": a NaN in the value of step 9 reaches steps 9.. and not steps 1..8")
    x = qkv:clone()
    x:set(1, 9, D + 1, 0 / 0)   -- key component 1 of head 1, step 9, batch 1
    o = K.attention(x, H, q or nil)
    local head1 = o:select(1, 1):narrow(2, 1, hd)
    t.ok(head1:narrow(1, 1, 8):isnan():sum() == 0 and head1:narrow(1, 9, T - 8):isnan():sum() == (T - 8) * hd
      and o:isnan():sum() == (T - 8) * hd,
      "attention" .. tag .. ": a NaN in the key of step 9 makes steps 9.. of its head NaN, not steps 1..8")
  end
  -- an infinite value: earlier steps unchanged to the bit
  local x = qkv:clone()
  x:set(2, 15, 2 * D + hd + 1, math.huge)   -- head 2 of step 15, batch 2
  local o, o0 = K.attention(x, H), K.attention(qkv, H)
  t.is(o:select(1, 2):narrow(1, 1, 14):hash(), o0:select(1, 2):narrow(1, 1, 14):hash(),
    "attention: an infinite value at step 15 leaves steps 1..14 unchanged")
  local R = lpact.randn({ B, T, D }, 32)
  local d = K.attention_backward(R, qkv, select(2, K.attention(qkv, H)), H)
  t.ok(d:isnan():sum() == 0, "attention_backward: finite in, finite out (T = 21, hd = 5)")

  -- the switching-point path (formats of at most 16 values) and the
  -- element-by-element one (ue4m3) against the naive softmax rounded by
  -- f:round, at scale 1 and at the model's unit scale 1/24 (ue3m1's top is 24)
  for _, c in ipairs { { "ue3m1", 1 }, { "ue3m1", 1 / 24 }, { "ue2m0", 1 / 4 }, { "ue4m3", 1 / 448 } } do
    local f, sc = lpact.format(c[1]), c[2]
    local function roundf(pt)
      local r = pt:clone()
      local flat = r:reshape { r:numel() }
      for i = 1, flat:numel() do flat:set(i, sc * f:round(flat:get(i) / sc)) end
      return r
    end
    local ou = K.attention(qkv, H, K.attn_quant(f, "emulate", sc))
    t.ok(maxdiff(ou, naive_attention(ag.var(qkv), H, roundf).data:reshape { B, T, D }) < 1e-5,
      string.format("attention %s at scale %.4g: matches the naive softmax rounded to s Q(p / s)", c[1], sc))
  end
  local lv = ag.param(lpact.tensor(qu:info().values))
  local px = ag.var(lpact.randn({ 1, 6, 3 * 4 }, 33), false)
  local okl = ag.gradcheck(function(l)
    return tf.attention(px, 2, { core = qu, levels_var = l, next_ctr = function() return 0 end })
  end, { lv })
  t.ok(okl, "attention ue3m1 at scale 1: gradient check of learnable levels")

  -- every lane build (baseline, AVX2, AVX-512 as the CPU runs them) gives the same bits
  local x2 = lpact.randn({ 2, 37, 3 * 32 }, 34)   -- hd 16: whole vector blocks, T = 37: partial ones
  local g2 = lpact.randn({ 2, 37, 32 }, 35)
  local gx = lpact.randn({ 1000 }, 36)
  local function run(q)
    local o2, s2 = K.attention(x2, 2, q)
    local d2, dl = K.attention_backward(g2, x2, s2, 2, q, nil, 0, q ~= nil)
    local h = o2:hash() .. d2:hash() .. (dl and dl:hash() or "")
    for _, a in ipairs(lpact.activations()) do h = h .. lpact.kernels.act(a.name, gx):hash() end
    return h
  end
  local old, max = K.lanes()
  K.lanes(old)
  local same = true
  local h0, q0 = run(nil), run(qu)
  for l = 0, max do
    K.lanes(l)
    if run(nil) ~= h0 or run(qu) ~= q0 then same = false end
  end
  K.lanes(old)
  t.ok(same, string.format("attention and every activation: the same bits from every lane build (levels 0..%d)", max))
end

-- ---- attention dropout ------------------------------------------------------------

do
  local B, T, H, hd = 2, 5, 2, 3
  local D = H * hd
  local qkv = lpact.randn({ B, T, 3 * D }, 31)
  local p, seed, ctr = 0.3, 9, 100
  local out = K.attention(qkv, H, nil, nil, nil, p, seed, ctr)
  -- the mask the kernel promises: element e = ((b-1) H + (h-1)) T^2 + (i-1) T + (j-1)
  -- kept when lpact.io.random(seed, 5, ctr + e) >= p, scaled by 1 / (1 - p)
  local kept, total = 0, 0
  local function masked(pt, b, h)
    local r = pt:clone()
    for i = 1, T do
      for j = 1, T do
        local e = (((b - 1) * H + (h - 1)) * T + (i - 1)) * T + (j - 1)
        local keep = lpact.io.random(seed, 5, ctr + e) >= p
        if j <= i then total, kept = total + 1, kept + (keep and 1 or 0) end
        r:set(i, j, keep and r:get(i, j) / (1 - p) or 0)
      end
    end
    return r
  end
  local want = naive_attention(ag.var(qkv), H, masked).data:reshape { B, T, D }
  t.ok(maxdiff(out, want) < 1e-5, "attention dropout: the probabilities times the stated mask / (1 - p)")
  t.ok(kept > 0 and kept < total, string.format("attention dropout: some kept, some dropped (%d of %d)", kept, total))
  t.is(K.attention(qkv, H, nil, nil, nil, p, seed, ctr):hash(), out:hash(), "attention dropout: the same seed and counter, the same bits")
  t.ok(K.attention(qkv, H, nil, nil, nil, p, seed, ctr + 1):hash() ~= out:hash(), "attention dropout: another counter, another mask")
  t.is(K.attention(qkv, H, nil, nil, nil, 0, seed, ctr):hash(), K.attention(qkv, H):hash(), "attention dropout: p = 0 is no dropout")
  local function f(x) return tf.attention(x, H, nil, { p = p, seed = seed, ctr = ctr }) end
  t.ok(ag.gradcheck(f, { ag.param(qkv:clone()) }), "attention dropout: gradient check (the mask fixed by seed and counter)")
  local qe = K.attn_quant(lpact.format "ue2m1", "emulate", 1 / 6)
  local lv = ag.param(lpact.tensor(qe:info().values))
  local px = ag.var(qkv:clone(), false)
  local fq = function(l)
    return tf.attention(px, H, { core = qe, levels_var = l, next_ctr = function() return 0 end }, { p = p, seed = seed, ctr = ctr })
  end
  t.ok(ag.gradcheck(fq, { lv }), "attention dropout with learnable probability levels: gradient check of the levels")
  t.raises(function() K.attention(qkv, H, nil, nil, nil, 1.0, 1) end, "dropout probability must be in %[0, 1%)",
    "attention dropout: p = 1 is refused")
  -- the model: dropout only in training mode
  local m = lpact.models.gpt { vocab = 7, ctx = 8, d = 8, heads = 2, layers = 1, dropout = 0.5 }
  local x = lpact.tensor({ 1, 2, 3, 4, 5, 6 }, { 1, 6 })
  m:eval()
  local e1, e2 = m:forward(x).data:hash(), m:forward(x).data:hash()
  m:train()
  local t1, t2 = m:forward(x).data:hash(), m:forward(x).data:hash()
  t.ok(e1 == e2 and t1 ~= t2 and t1 ~= e1, "gpt dropout: none in eval mode; a fresh mask every training pass")
end

t.done()
