-- 3x3 "same" convolutions with 8 or more input channels (Winograd's
-- F(2x2, 3x3) on AVX-512 machines, conv_winograd.h) through the Lua
-- kernels: forward and the three gradients against a double convolution
-- written here, at odd planes, 1xW and Hx1 planes, channel counts that are
-- not multiples of 16; threads 1 and 2 the same bits; the fused
-- conv2d_act_maxpool2d (drop or not, NaN in x) against conv2d then
-- act_maxpool2d; nn.Conv2d through autograd against the double gradients;
-- kernels.conv2d_winograd, which tells whether a shape runs by Winograd.
local t = require "lpact.tap"
local K, ag = lpact.kernels, lpact.autograd

-- out and the three gradients for dout g, in doubles, with the sums of
-- |terms| (the scale of each value's float32 rounding)
local function ref(X, Wt, B, G)
  local N, C, H, W = table.unpack(X:shape())
  local O = Wt:size(1)
  local x, w, g = X:totable(), Wt:totable(), G:totable()
  local out, mag, dx, dxm, dw, dwm = {}, {}, {}, {}, {}, {}
  local function zeros4(a, b, c, d)
    local r = {}
    for i = 1, a do r[i] = {} for j = 1, b do r[i][j] = {} for k = 1, c do r[i][j][k] = {} for l = 1, d do r[i][j][k][l] = 0 end end end end
    return r
  end
  dx, dxm, dw, dwm = zeros4(N, C, H, W), zeros4(N, C, H, W), zeros4(O, C, 3, 3), zeros4(O, C, 3, 3)
  out, mag = zeros4(N, O, H, W), zeros4(N, O, H, W)
  for n = 1, N do for o = 1, O do for i = 1, H do for j = 1, W do
    local acc, m = B and B:get(o) or 0, B and math.abs(B:get(o)) or 0
    local gv = g[n][o][i][j]
    for c = 1, C do
      local xc, wc, dxc, dxmc = x[n][c], w[o][c], dx[n][c], dxm[n][c]
      for a = 1, 3 do
        local ih = i - 2 + a
        if ih >= 1 and ih <= H then
          for b = 1, 3 do
            local iw = j - 2 + b
            if iw >= 1 and iw <= W then
              local xv, wv = xc[ih][iw], wc[a][b]
              acc, m = acc + xv * wv, m + math.abs(xv * wv)
              dxc[ih][iw], dxmc[ih][iw] = dxc[ih][iw] + gv * wv, dxmc[ih][iw] + math.abs(gv * wv)
              dw[o][c][a][b], dwm[o][c][a][b] = dw[o][c][a][b] + gv * xv, dwm[o][c][a][b] + math.abs(gv * xv)
            end
          end
        end
      end
    end
    out[n][o][i][j], mag[n][o][i][j] = acc, m
  end end end end
  return out, mag, dx, dxm, dw, dwm
end

-- the largest |got - want| / |terms| over nested tables
local function err(got, want, mag)
  if type(want) == "number" then return math.abs(got - want) / (mag > 0 and mag or 1) end
  local e = 0
  for i = 1, #want do e = math.max(e, err(got[i], want[i], mag[i])) end
  return e
end

-- N, C, H, W, O
local shapes = {
  { 3, 8, 6, 6, 8, "8 -> 8 on 6x6" },
  { 2, 16, 14, 14, 32, "cnn_small's 16 -> 32 on 14x14" },
  { 4, 13, 7, 9, 17, "13 -> 17 on 7x9 (odd planes, ragged channels)" },
  { 2, 21, 1, 11, 5, "1x11 plane" },
  { 2, 9, 11, 1, 10, "11x1 plane" },
  { 9, 10, 3, 3, 3, "9 samples, 10 -> 3 on 3x3 (two chunks of the weight gradient)" },
  { 2, 3, 6, 5, 12, "3 -> 12 (the input gradient alone by Winograd: 12 -> 3 flipped)" },
}
local old = lpact.threads()
for i, s in ipairs(shapes) do
  local N, C, H, W, O, name = table.unpack(s)
  local X = lpact.randn({ N, C, H, W }, 970 + 10 * i)
  local Wt, B = lpact.randn({ O, C, 3, 3 }, 971 + 10 * i), lpact.randn({ O }, 972 + 10 * i)
  local G = lpact.randn({ N, O, H, W }, 973 + 10 * i)
  -- on AVX-512 machines (where the implicit kernels run) these shapes are Winograd's (C >= 8)
  t.is(K.conv2d_winograd(X, Wt, 1, 1), K.conv2d_implicit(X, Wt, 1, 1) and C >= 8, name .. ": kernels.conv2d_winograd says so")
  local h = {}
  for th = 1, 2 do
    lpact.threads(th)
    local y, work = K.conv2d(X, Wt, B, 1, 1, true)
    local dx, dw, db = K.conv2d_backward(G, X, Wt, 1, 1, true, true, true, work)
    h[th] = { y, dx, dw, db }
  end
  lpact.threads(old)
  local y, dx, dw = h[1][1], h[1][2], h[1][3]
  t.ok(h[2][1]:hash() == y:hash() and h[2][2]:hash() == dx:hash() and h[2][3]:hash() == dw:hash()
    and h[2][4]:hash() == h[1][4]:hash(), name .. ": threads 1 and 2 give the same bits")
  local want, mag, rdx, rdxm, rdw, rdwm = ref(X, Wt, B, G)
  local ey, edx, edw = err(y:totable(), want, mag), err(dx:totable(), rdx, rdxm), err(dw:totable(), rdw, rdwm)
  t.ok(ey < 1e-5 and edx < 1e-5 and edw < 1e-5, string.format(
    "%s: forward, input and weight gradients within 1e-5 of double relative to their terms (%.2g %.2g %.2g)",
    name, ey, edx, edw))
  -- fused with relu and 2x2 max pooling: the bits of the two kernels in turn
  if H >= 2 and W >= 2 then
    local Xn = X:clone()
    Xn:set(N, C, H, W // 2 + 1, 0 / 0)
    for _, XX in ipairs { X, Xn } do
      local y2 = K.conv2d(XX, Wt, B, 1, 1)
      local o2, i2 = K.act_maxpool2d(y2, 2, 2, 0, "relu")
      for _, drop in ipairs { false, true } do
        local Y, _, out, idx = K.conv2d_act_maxpool2d(XX, Wt, B, 1, 1, "relu", nil, 2, 2, 0, drop)
        t.ok((Y == false or Y:hash() == y2:hash()) and out:hash() == o2:hash() and idx:hash() == i2:hash(),
          name .. (XX == Xn and ", a NaN in x" or "") .. (drop and ", drop" or "")
          .. ": conv2d_act_maxpool2d gives conv2d then act_maxpool2d's bits")
      end
    end
  end
end

do -- not Winograd's: one input channel, stride 2, a 5x5 kernel, a plane too wide for a row of tiles in 8 MB
  local X1, X8 = lpact.randn({ 1, 1, 6, 6 }, 980), lpact.randn({ 1, 8, 6, 6 }, 981)
  t.ok(not K.conv2d_winograd(X1, lpact.randn({ 4, 1, 3, 3 }, 982), 1, 1)
    and not K.conv2d_winograd(X8, lpact.randn({ 4, 8, 3, 3 }, 983), 2, 1)
    and not K.conv2d_winograd(X8, lpact.randn({ 4, 8, 5, 5 }, 984), 1, 2)
    and not K.conv2d_winograd(lpact.zeros { 1, 8, 1, 8193 }, lpact.randn({ 8, 8, 3, 3 }, 986), 1, 1)
    and K.conv2d_winograd(lpact.zeros { 1, 8, 1, 8192 }, lpact.randn({ 8, 8, 3, 3 }, 986), 1, 1)
      == K.conv2d_implicit(lpact.zeros { 1, 8, 1, 8192 }, lpact.randn({ 8, 8, 3, 3 }, 986), 1, 1),
    "kernels.conv2d_winograd: false for 1 input channel, stride 2, a 5x5 kernel, a 1x8193 plane (1x8192 is taken)")
  t.raises(K.conv2d_winograd, "conv2d_winograd", "a weight that does not fit x is refused with the kernel's name",
    X8, lpact.randn({ 4, 3, 3, 3 }, 985), 1, 1)
end

do -- nn.Conv2d through autograd against the double gradients
  local X = lpact.randn({ 3, 12, 5, 7 }, 990)
  local conv = lpact.nn.Conv2d(12, 20, 3, { stride = 1, pad = 1, seed = 991 })
  local G = lpact.randn({ 3, 20, 5, 7 }, 992)
  local x = ag.var(X, true)
  local y = conv:forward(x)
  ag.sum(ag.mul(y, ag.var(G))):backward()
  local ps = conv:parameters()
  local Wv, Bv
  for _, p in ipairs(ps) do
    if p.var.data:dim() == 4 then Wv = p.var else Bv = p.var end
  end
  local want, mag, rdx, rdxm, rdw, rdwm = ref(X, Wv.data, Bv.data, G)
  local ey, edx, edw = err(y.data:totable(), want, mag), err(x.grad:totable(), rdx, rdxm), err(Wv.grad:totable(), rdw, rdwm)
  t.ok(ey < 1e-5 and edx < 1e-5 and edw < 1e-5, string.format(
    "nn.Conv2d 12 -> 20 through autograd: output and gradients within 1e-5 of double (%.2g %.2g %.2g)", ey, edx, edw))
end
t.done()
