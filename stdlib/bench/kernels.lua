--- bench.kernels — `lpact bench kernels`: the tensor and NN kernels at the
-- sizes of the Fashion-MNIST models (batch 128): matrix products, conv2d
-- forward and backward (cnn_small's two layers), 2x2 max pooling, ReLU,
-- elementwise add, the Adam step, and a plain copy as the memory-bandwidth
-- yardstick; and the matrix product each convolution amounts to (the same
-- multiply-adds as one sgemm over the im2col matrix), so the conv rows can
-- be read against the sgemm rate (GFLOP/s columns; a layer marked (W) runs
-- by Winograd's F(2x2, 3x3), with fewer multiplications than the rate is
-- counted from). Each kernel runs with 1
-- and with 2 threads, alternating, and the best of the repetitions is kept
-- (the machine may be shared); the last column is the 2-thread speed-up.
--
-- Returns function(args) -> exit status; args[1] = repetitions (default 10).

return function(args)
  local cli = require "lpact.cli"
  local p = cli.parser("lpact bench kernels", "The tensor and NN kernels at the Fashion-MNIST models' sizes, 1 and 2 threads.")
  p:argument("reps", "repetitions (the best is kept)"):args("?"):default("10"):convert(cli.int(1))
  local reps = cli.parse(p, args or {}).reps
  local K, T = lpact.kernels, lpact
  local clock = lpact.wallclock or os.clock
  local x1 = T.rand({ 128, 1, 28, 28 }, 1)
  local w1, b1 = T.randn({ 16, 1, 3, 3 }, 2), T.zeros { 16 }
  local y1 = K.conv2d(x1, w1, b1, 1, 1)
  local p1 = K.maxpool2d(K.act("relu", y1), 2)
  local w2, b2 = T.randn({ 32, 16, 3, 3 }, 3), T.zeros { 32 }
  local y2, work2 = K.conv2d(p1, w2, b2, 1, 1, true)
  local a, w = T.randn({ 128, 784 }, 4), T.randn({ 256, 784 }, 5)
  local ya = K.linear(a, w)
  local big, big2 = T.randn({ 1 << 20 }, 6), T.randn({ 1 << 20 }, 7)
  local dst = T.zeros { 1 << 20 }
  local n = 235146                      -- the MLP's parameter count
  local P, G, M, V = T.randn({ n }, 8), T.randn({ n }, 9), T.zeros { n }, T.zeros { n }
  -- conv 16->32 3x3 on 14x14, batch 128, as one product: (128*196, 144) x (144, 32)
  local ca, cw = T.randn({ 128 * 196, 144 }, 10), T.randn({ 32, 144 }, 11)
  local cy = K.linear(ca, cw)
  local f2 = 2 * 32 * 144 * 128 * 196          -- multiply-adds x 2 of conv 16->32 forward
  local f1 = 2 * 16 * 9 * 128 * 784            -- and of conv 1->16
  -- the 16->32 layer by Winograd's F(2x2, 3x3) on this machine: fewer
  -- multiplications than the direct sum's count the rate is taken from
  local winograd = K.conv2d_winograd(p1, w2, 1, 1)
  local wmark = winograd and " (W)" or ""
  local rows = {
    { "copy 4 MB (bandwidth yardstick)", function() dst:copy(big) end },
    { "add 1M + 1M", function() local _ = big + big2 end },
    { "matmul 128x784 @ 784x256", function() local _ = T.matmul(a, w:t()) end, 2 * 128 * 784 * 256 },
    { "linear backward (dx, dW)", function() K.linear_backward(ya, a, w, true, true, false) end },
    { "conv2d 1->16 3x3 28x28 fwd", function() K.conv2d(x1, w1, b1, 1, 1) end, f1 },
    { "conv2d 16->32 3x3 14x14 fwd" .. wmark, function() K.conv2d(p1, w2, b2, 1, 1) end, f2 },
    { "  its sgemm 25088x144 @ 144x32", function() K.linear(ca, cw) end, f2 },
    { "conv2d 16->32 3x3 14x14 bwd" .. wmark, function()
      K.conv2d_backward(y2, p1, w2, 1, 1, true, true, true, work2) end, 2 * f2 },
    { "  its sgemms (dx, dW)", function() K.linear_backward(cy, ca, cw, true, true, false) end, 2 * f2 },
    { "maxpool 2x2 (128,16,28,28)", function() K.maxpool2d(y1, 2) end },
    { "relu fwd 1.6M", function() K.act("relu", y1) end },
    { "relu bwd 1.6M", function() K.act_backward("relu", y1, y1) end },
    { "adam_step 235K params", function() K.adam_step(P, G, M, V, 1e-3, 0.9, 0.999, 1e-8, 0, 1, false) end },
  }
  local old = lpact.threads()
  print(string.format("%-34s %10s %10s %8s %9s %9s", "kernel (batch 128)", "1 thr ms", "2 thr ms", "speedup",
    "GFLOP/s 1", "GFLOP/s 2"))
  for _, r in ipairs(rows) do
    local best = { math.huge, math.huge }
    for _ = 1, reps do
      for th = 1, 2 do
        lpact.threads(th)
        local t0 = clock()
        r[2]()
        best[th] = math.min(best[th], clock() - t0)
      end
    end
    local g1 = r[3] and string.format("%9.1f", r[3] / best[1] / 1e9) or string.format("%9s", "")
    local g2 = r[3] and string.format("%9.1f", r[3] / best[2] / 1e9) or string.format("%9s", "")
    print(string.format("%-34s %10.3f %10.3f %7.2fx %s %s", r[1], best[1] * 1e3, best[2] * 1e3, best[1] / best[2], g1, g2))
  end
  lpact.threads(old)
  if winograd then
    print("(W): by Winograd's F(2x2, 3x3), 16 products per 2x2 outputs instead of 36: GFLOP/s of the direct\n"
      .. "convolution's multiply-adds, which may pass the machine's peak (docs/performance.md, section 2)")
  end
  return 0
end
