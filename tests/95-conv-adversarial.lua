-- Adversarial shapes and inputs for the convolutions (implicit "same"
-- kernels, lp_fmagemm fallback, im2col paths): values against a direct
-- double-precision convolution written here, thread-count independence,
-- NaN/inf propagation, gradients through nn.Conv2d, workspaces handed to
-- the wrong backward, and maxpool2d_backward with hand-made indices.
local t = require "lpact.tap"
local K = lpact.kernels
local ag = lpact.autograd

-- direct convolution in doubles: out, and the three gradients for dout g;
-- also |terms| sums, the scale of float32 rounding per value
local function ref(X, Wt, B, s, p, G)
  local N, C, H, W = table.unpack(X:shape())
  local O, _, kh, kw = table.unpack(Wt:shape())
  local OH, OW = (H + 2 * p - kh) // s + 1, (W + 2 * p - kw) // s + 1
  local x, w, g = X:totable(), Wt:totable(), G and G:totable()
  local out, mag, dx, dw, db = {}, {}, {}, {}, {}
  for n = 1, N do
    dx[n] = {}
    for c = 1, C do dx[n][c] = {} for i = 1, H do dx[n][c][i] = {} for j = 1, W do dx[n][c][i][j] = 0 end end end
  end
  for o = 1, O do
    db[o], dw[o] = 0, {}
    for c = 1, C do dw[o][c] = {} for a = 1, kh do dw[o][c][a] = {} for b = 1, kw do dw[o][c][a][b] = 0 end end end
  end
  for n = 1, N do
    out[n], mag[n] = {}, {}
    for o = 1, O do
      out[n][o], mag[n][o] = {}, {}
      for i = 1, OH do
        out[n][o][i], mag[n][o][i] = {}, {}
        for j = 1, OW do
          local acc, m = B and B:get(o) or 0, B and math.abs(B:get(o)) or 0
          local gv = g and g[n][o][i][j]
          if gv then db[o] = db[o] + gv end
          for c = 1, C do for a = 1, kh do for b = 1, kw do
            local ih, iw = (i - 1) * s - p + a, (j - 1) * s - p + b
            if ih >= 1 and ih <= H and iw >= 1 and iw <= W then
              local xv, wv = x[n][c][ih][iw], w[o][c][a][b]
              acc, m = acc + xv * wv, m + math.abs(xv * wv)
              if gv then
                dx[n][c][ih][iw] = dx[n][c][ih][iw] + gv * wv
                dw[o][c][a][b] = dw[o][c][a][b] + gv * xv
              end
            end
          end end end
          out[n][o][i][j], mag[n][o][i][j] = acc, m
        end
      end
    end
  end
  return out, mag, dx, dw, db
end

-- largest |got - want| over nested tables, relative to 1 + |want|
local function err(got, want)
  if type(want) == "number" then return math.abs(got - want) / (1 + math.abs(want)) end
  local e = 0
  for i = 1, #want do e = math.max(e, err(got[i], want[i])) end
  return e
end

-- N, C, H, W, O, kh, kw, stride, pad
local shapes = {
  { 0, 2, 4, 4, 3, 3, 3, 1, 1, "no samples" },
  { 1, 1, 1, 1, 1, 1, 1, 1, 0, "1x1 plane, 1x1 kernel" },
  { 2, 1, 1, 7, 2, 3, 3, 1, 1, "1xW plane, 3x3 same" },
  { 2, 1, 7, 1, 2, 3, 3, 1, 1, "Hx1 plane, 3x3 same" },
  { 2, 2, 1, 19, 1, 1, 5, 1, 2, "1x5 kernel over 1x19 (pad 2 on both axes)" },
  { 1, 2, 2, 2, 3, 5, 5, 1, 2, "5x5 kernel over a 2x2 plane" },
  { 1, 1, 3, 3, 2, 7, 7, 1, 3, "7x7 kernel over a 3x3 plane" },
  { 2, 3, 5, 5, 2, 2, 2, 1, 0, "even kernel" },
  { 2, 3, 5, 6, 2, 4, 4, 1, 2, "even kernel, pad 2" },
  { 1, 2, 5, 5, 3, 3, 3, 1, 2, "pad larger than (k-1)/2" },
  { 1, 2, 5, 5, 3, 5, 5, 1, 1, "pad smaller than (k-1)/2" },
  { 1, 2, 6, 7, 3, 3, 3, 2, 1, "stride 2" },
  { 1, 2, 9, 9, 2, 3, 3, 3, 0, "stride 3, no pad" },
  { 2, 1, 17, 18, 1, 3, 3, 1, 1, "O = 1, C = 1, planes past 16 and 288 positions" },
  { 1, 460, 3, 3, 2, 3, 3, 1, 1, "C*kh*kw = 4140 > 4096 (fallback)" },
}
for i, s in ipairs(shapes) do
  local N, C, H, W, O, kh, kw, st, pd, name = table.unpack(s)
  local X = lpact.randn({ N, C, H, W }, 10 * i)
  local Wt, B = lpact.randn({ O, C, kh, kw }, 10 * i + 1), lpact.randn({ O }, 10 * i + 2)
  local y, work = K.conv2d(X, Wt, B, st, pd, true)
  local G = lpact.randn(y:shape(), 10 * i + 3)
  local dx, dw, db = K.conv2d_backward(G, X, Wt, st, pd, true, true, true, work)
  local want, _, rdx, rdw, rdb = ref(X, Wt, B, st, pd, G)
  local tol = 2e-5 * math.sqrt(C * kh * kw + N * 4)
  t.ok(N == 0 or err(y:totable(), want) < tol, name .. ": forward equals the double convolution")
  t.ok(N == 0 or err(dx:totable(), rdx) < tol, name .. ": input gradient equals the double one")
  t.ok(err(dw:totable(), rdw) < tol, name .. ": weight gradient equals the double one")
  t.ok(err(db:totable(), rdb) < tol, name .. ": bias gradient equals the double one")
end

do -- a workspace from another conv2d, or one a backward has used, is not taken for im2col(x)
  local X1, X2 = lpact.randn({ 2, 3, 6, 6 }, 501), lpact.randn({ 2, 3, 6, 6 }, 502)
  local Wt = lpact.randn({ 4, 3, 3, 3 }, 503)
  for _, sp in ipairs { { 2, 1 }, { 1, 0 }, { 1, 1 } } do
    local s, p = sp[1], sp[2]
    local y1, work1 = K.conv2d(X1, Wt, nil, s, p, true)
    local G = lpact.randn(y1:shape(), 504)
    local dx0, dw0 = K.conv2d_backward(G, X2, Wt, s, p, true, true, false)
    local dx1, dw1 = K.conv2d_backward(G, X2, Wt, s, p, true, true, false, work1)
    t.is(dw1:hash(), dw0:hash(), "stride " .. s .. " pad " .. p .. ": another x's workspace gives this x's weight gradient")
    t.is(dx1:hash(), dx0:hash(), "stride " .. s .. " pad " .. p .. ": and the same input gradient")
    local _, work2 = K.conv2d(X2, Wt, nil, s, p, true)
    local _, dwa = K.conv2d_backward(G, X2, Wt, s, p, false, true, false, work2)
    local _, dwb = K.conv2d_backward(G, X2, Wt, s, p, false, true, false, work2)
    t.ok(dwa:hash() == dw0:hash() and dwb:hash() == dw0:hash(), "stride " .. s .. " pad " .. p .. ": a workspace used twice")
  end
  -- same workspace size, other kernel: x (1,1,5,5) with 3x3 (col 9*4 + tmp 2*4) against x (1,9,5,5) 1x1 stride 2 (col 9*9...)
  local Xa, Wa = lpact.randn({ 1, 2, 7, 7 }, 505), lpact.randn({ 1, 2, 3, 3 }, 506)
  local Wb = lpact.randn({ 1, 2, 1, 1 }, 507)
  local ya, worka = K.conv2d(Xa, Wa, nil, 2, 0, true)    -- col 18*9 + tmp 9 = 171
  local yb = K.conv2d(Xa, Wb, nil, 3, 1)                 -- 3x3 out: col 2*9 + tmp 9 = 27
  local _, wbig = K.conv2d(lpact.randn({ 1, 2, 7, 7 }, 508), Wa, nil, 2, 0, true)
  local G = lpact.randn(ya:shape(), 509)
  local _, dwr = K.conv2d_backward(G, Xa, Wa, 2, 0, false, true, false)
  local _, dwg = K.conv2d_backward(G, Xa, Wa, 2, 0, false, true, false, wbig)
  t.is(dwg:hash(), dwr:hash(), "a workspace of the same size from another x is recomputed")
  local _, dwz = K.conv2d_backward(G, Xa, Wa, 2, 0, false, true, false, lpact.zeros { 171 })
  t.is(dwz:hash(), dwr:hash(), "a tensor of the size that conv2d never made is scratch only")
  t.raises(K.conv2d_backward, "conv2d_backward: workspace of 171 floats, expected 27", "a workspace of the wrong size is refused",
    lpact.randn(yb:shape(), 510), Xa, Wb, 3, 1, false, true, false, worka)
end

do -- thread count: identical bits, implicit kernels and fallbacks
  local cases = {
    { { 8, 8, 16, 16 }, { 16, 8, 3, 3 }, 1, 1 },    -- implicit, two threads' worth of work
    { { 8, 8, 16, 16 }, { 16, 8, 3, 3 }, 2, 1 },    -- im2col + lp_fmagemm
    { { 2, 460, 6, 6 }, { 8, 460, 3, 3 }, 1, 1 },   -- C*kh*kw > 4096
  }
  local old = lpact.threads()
  for i, cs in ipairs(cases) do
    local X, Wt, B = lpact.randn(cs[1], 600 + i), lpact.randn(cs[2], 610 + i), lpact.randn({ cs[2][1] }, 620 + i)
    local hashes = {}
    for _, th in ipairs { 1, 2 } do
      lpact.threads(th)
      local y, work = K.conv2d(X, Wt, B, cs[3], cs[4], true)
      local dx, dw, db = K.conv2d_backward(lpact.randn(y:shape(), 630 + i), X, Wt, cs[3], cs[4], true, true, true, work)
      hashes[th] = y:hash() .. dx:hash() .. dw:hash() .. db:hash()
    end
    lpact.threads(old)
    t.is(hashes[2], hashes[1], "case " .. i .. ": threads 1 and 2 give the same bits (forward and gradients)")
  end
end

do -- NaN and inf never become numbers
  local nan, inf = 0 / 0, math.huge
  for _, sp in ipairs { { 1, 1, 3, 5, 4 }, { 1, 1, 3, 1, 1 }, { 1, 2, 5, 9, 10 }, { 2, 1, 3, 9, 10 }, { 1, 0, 1, 1, 10 } } do
    local s, p, k, nh, nw = table.unpack(sp)
    local X, Wt, B = lpact.randn({ 2, 3, 9, 10 }, 700), lpact.randn({ 5, 3, k, k }, 701), lpact.randn({ 5 }, 702)
    X:set(2, 2, nh, nw, nan)
    local y = K.conv2d(X, Wt, B, s, p)
    local _, OO, OH, OW = table.unpack(y:shape())
    local ok = true
    for o = 1, OO do for i = 1, OH do for j = 1, OW do
      local ih0, iw0 = (i - 1) * s - p + 1, (j - 1) * s - p + 1
      local hit = nh >= ih0 and nh < ih0 + k and nw >= iw0 and nw < iw0 + k
      local v1, v2 = y:get(2, o, i, j), y:get(1, o, i, j)
      ok = ok and ((v1 ~= v1) == hit) and v2 == v2
    end end end
    local tag = "stride " .. s .. " pad " .. p .. " k " .. k .. " NaN at " .. nh .. "," .. nw
    t.ok(ok, tag .. ": a NaN input makes exactly the outputs that read it NaN")
    local G = lpact.randn(y:shape(), 703)
    local Xc = lpact.randn({ 2, 3, 9, 10 }, 704)
    G:set(1, 3, 2, 2, nan)
    local dx, dw, db = K.conv2d_backward(G, Xc, Wt, s, p, true, true, true)
    t.ok(dw:isnan():sum() == 3 * k * k, tag .. ": a NaN gradient makes output channel 3's weight gradient NaN")
    t.ok(db:get(3) ~= db:get(3) and db:isnan():sum() == 1, tag .. ": and its bias gradient, only it")
    t.ok(dx:isnan():sum() > 0, tag .. ": and input gradients")
    Wt:set(4, 1, 1, 1, inf)
    local yi = K.conv2d(Xc, Wt, B, s, p)
    t.ok((yi - yi):isnan():sum() > 0 and (yi - yi):isnan():sum() == (yi:select(2, 4) - yi:select(2, 4)):isnan():sum(), tag .. ": an infinite weight is not lost")
  end
end

do -- nn.Conv2d through autograd against the double gradients
  for i, cfg in ipairs { { 3, 1, 1 }, { 3, 2, 1 }, { 1, 1, 0 }, { 5, 1, 2 } } do
    local k, s, p = cfg[1], cfg[2], cfg[3]
    local conv = lpact.nn.Conv2d(2, 3, k, { stride = s, pad = p, seed = 800 + i })
    local X = lpact.randn({ 2, 2, 6, 5 }, 810 + i)
    local x = ag.var(X, true)
    local y = conv:forward(x)
    local G = lpact.randn(y.data:shape(), 820 + i)
    ag.sum(ag.mul(y, ag.var(G))):backward()
    local _, _, rdx, rdw, rdb = ref(X, conv.weight.data, conv.bias.data, s, p, G)
    local tag = "nn.Conv2d k " .. k .. " stride " .. s .. " pad " .. p
    t.ok(err(x.grad:totable(), rdx) < 1e-4, tag .. ": input gradient equals the double one")
    t.ok(err(conv.weight.grad:totable(), rdw) < 1e-4, tag .. ": weight gradient")
    t.ok(err(conv.bias.grad:totable(), rdb) < 1e-4, tag .. ": bias gradient")
  end
end

do -- maxpool2d_backward with hand-made indices: a scatter-add onto zeros
  -- (idx holds int32 bits: index k is the float k * 2^-149)
  local x, d = lpact.randn({ 2, 3, 4, 5 }, 900), lpact.randn({ 2, 3, 2, 2 }, 901)
  local idx, want = lpact.zeros { 2, 3, 2, 2 }, {}
  for n = 1, 2 do want[n] = {} for c = 1, 3 do want[n][c] = {}
    for a = 1, 4 do want[n][c][a] = { 0, 0, 0, 0, 0 } end end end
  local r = 7
  for n = 1, 2 do for c = 1, 3 do for i = 1, 2 do for j = 1, 2 do
    r = (r * 37 + 11) % 20
    local kk = (i == 1 and j == 2) and 0 or r
    idx:set(n, c, i, j, kk * 2 ^ -149)
    local row = want[n][c][kk // 5 + 1]
    row[kk % 5 + 1] = row[kk % 5 + 1] + d:get(n, c, i, j)
  end end end end
  t.ok(err(K.maxpool2d_backward(d, idx, x):totable(), want) == 0, "hand-made indices (with repeats) scatter-add onto zeros")
  idx:set(2, 3, 2, 1, 20 * 2 ^ -149)
  t.raises(K.maxpool2d_backward, "maxpool2d_backward: index 20 at position 23 is outside an input plane of 20",
    "an index one past the plane is refused", d, idx, x)
end

t.done()
