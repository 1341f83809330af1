--- bench.threads — `lpact bench threads [REPS] [FAMILY ...]`: where a
-- second thread starts to pay, kernel family by kernel family.
--
-- Each family's kernel runs over a range of sizes with 1 thread, with 2
-- threads forced (every call split, whatever its size: the break-even
-- curve) and with 2 threads as shipped (the kernel's own grain decides,
-- so below its threshold the call stays on one thread). The three are
-- taken in turn, REPS rounds (default 5), each the best of enough calls to
-- fill a few milliseconds, and the best of each is kept (the machine may
-- be shared). Printed per size: microseconds per call and the 2-thread
-- speed-ups; per family, the smallest size from which the forced
-- speed-up stays >= 1.1 (the break-even, from which each kernel's grain
-- in interp/core is set: docs/performance.md, "Threads that never slow a
-- kernel down") and the lowest shipped speed-up (which should not be
-- below 1 by more than the noise).
--
-- FAMILY is one of the names printed in the headers (add, unary,
-- relu, relu_bwd, gelu, quantize_rne, quantize_sr, maxpool, maxpool_bwd,
-- act_pool, act_pool_bwd, act_pool_bwd_db, conv1_pool, avgpool, conv_fwd, conv_bwd, conv1_fwd, matmul, adam, sgd, dropout,
-- batchnorm, layernorm); none means all.

local T, K = lpact, lpact.kernels
local clock = lpact.wallclock or os.clock

local function flat(e0, e1)
  local s = {}
  for e = e0, e1 do s[#s + 1] = 1 << e end
  return s
end
local BATCHES = { 1, 2, 4, 8, 16, 32, 64, 128 }

-- name, sizes, unit, make(size) -> function running the kernel once
local FAMILIES = {
  { "add", flat(12, 22), "floats", function(n)
    local a, b = T.randn({ n }, 1), T.randn({ n }, 2)
    return function() local _ = a + b end end },
  { "unary", flat(12, 22), "floats", function(n)
    local a = T.randn({ n }, 1)
    return function() local _ = a:exp() end end },
  { "relu", flat(12, 22), "floats", function(n)
    local a = T.randn({ n }, 1)
    return function() K.act("relu", a) end end },
  { "relu_bwd", flat(12, 22), "floats", function(n)
    local a = T.randn({ n }, 1)
    return function() K.act_backward("relu", a, a) end end },
  { "gelu", flat(10, 20), "floats", function(n)
    local a = T.randn({ n }, 1)
    return function() K.act("gelu", a) end end },
  { "quantize_rne", flat(12, 22), "floats", function(n)
    local f, a = lpact.format("fp8"), T.randn({ n }, 1)
    return function() f:round_(a) end end },
  { "quantize_sr", flat(12, 22), "floats", function(n)
    local f, a = lpact.format("fp4:sr"), T.randn({ n }, 1)
    return function() f:round_(a) end end },
  { "maxpool", BATCHES, "batch of (16,28,28)", function(n)
    local x = T.randn({ n, 16, 28, 28 }, 1)
    return function() K.maxpool2d(x, 2) end end },
  { "maxpool_bwd", BATCHES, "batch of (16,28,28)", function(n)
    local x = T.randn({ n, 16, 28, 28 }, 1)
    local y, idx = K.maxpool2d(x, 2)
    return function() K.maxpool2d_backward(y, idx, x) end end },
  { "act_pool", BATCHES, "batch of (16,28,28)", function(n)
    local x = T.randn({ n, 16, 28, 28 }, 1)
    return function() K.act_maxpool2d(x, 2, 2, 0, "relu") end end },
  { "act_pool_bwd", BATCHES, "batch of (16,28,28)", function(n)
    local x = T.randn({ n, 16, 28, 28 }, 1)
    local y, idx = K.act_maxpool2d(x, 2, 2, 0, "relu")
    return function() K.act_maxpool2d_backward(y, idx, x, "relu", nil, y, false, 2) end end },
  { "act_pool_bwd_db", BATCHES, "batch of (16,28,28), with the bias gradient", function(n)
    local x = T.randn({ n, 16, 28, 28 }, 1)
    local y, idx = K.act_maxpool2d(x, 2, 2, 0, "relu")
    return function() K.act_maxpool2d_backward(y, idx, x, "relu", nil, y, true, 2) end end },
  { "conv1_pool", BATCHES, "batch, 1->16 3x3 28x28, relu, pool", function(n)
    local x, w, b = T.randn({ n, 1, 28, 28 }, 1), T.randn({ 16, 1, 3, 3 }, 2), T.zeros { 16 }
    return function() K.conv2d_act_maxpool2d(x, w, b, 1, 1, "relu", nil, 2) end end },
  { "avgpool", BATCHES, "batch of (16,28,28)", function(n)
    local x = T.randn({ n, 16, 28, 28 }, 1)
    return function() K.avgpool2d(x, 2) end end },
  { "conv1_fwd", BATCHES, "batch, 1->16 3x3 28x28", function(n)
    local x, w, b = T.randn({ n, 1, 28, 28 }, 1), T.randn({ 16, 1, 3, 3 }, 2), T.zeros { 16 }
    return function() K.conv2d(x, w, b, 1, 1) end end },
  { "conv_fwd", BATCHES, "batch, 16->32 3x3 14x14", function(n)
    local x, w, b = T.randn({ n, 16, 14, 14 }, 1), T.randn({ 32, 16, 3, 3 }, 2), T.zeros { 32 }
    return function() K.conv2d(x, w, b, 1, 1) end end },
  { "conv_bwd", BATCHES, "batch, 16->32 3x3 14x14", function(n)
    local x, w, b = T.randn({ n, 16, 14, 14 }, 1), T.randn({ 32, 16, 3, 3 }, 2), T.zeros { 32 }
    local y, work = K.conv2d(x, w, b, 1, 1, true)
    return function() K.conv2d_backward(y, x, w, 1, 1, true, true, true, work) end end },
  { "matmul", { 32, 64, 96, 128, 160, 192, 256, 384, 512 }, "m = n = k", function(n)
    local a, b = T.randn({ n, n }, 1), T.randn({ n, n }, 2)
    return function() local _ = T.matmul(a, b) end end },
  { "adam", flat(12, 22), "params", function(n)
    local P, G, M, V = T.randn({ n }, 1), T.randn({ n }, 2), T.zeros { n }, T.zeros { n }
    return function() K.adam_step(P, G, M, V, 1e-3, 0.9, 0.999, 1e-8, 0, 1, false) end end },
  { "sgd", flat(12, 22), "params", function(n)
    local P, G, B = T.randn({ n }, 1), T.randn({ n }, 2), T.zeros { n }
    return function() K.sgd_step(P, G, B, 1e-3, 0.9, 0, 0, false, false) end end },
  { "dropout", flat(12, 22), "floats", function(n)
    local a = T.randn({ n }, 1)
    return function() K.dropout(a, 0.5, 1) end end },
  { "batchnorm", BATCHES, "batch of (16,28,28)", function(n)
    local x = T.randn({ n, 16, 28, 28 }, 1)
    return function() K.batchnorm(x, nil, nil, nil, nil, true) end end },
  { "layernorm", flat(7, 15), "rows of 128", function(n)
    local x = T.randn({ n, 128 }, 1)
    return function() lpact.lm_kernels.layernorm(x) end end },
}

-- best seconds per call of f over `calls` calls, with `threads` threads and
-- the grain scale `scale`
local function time(f, threads, scale, calls)
  lpact.threads(threads)
  lpact.bench_grain(scale)
  f()
  local best = math.huge
  for _ = 1, calls do
    local t0 = clock()
    f()
    best = math.min(best, clock() - t0)
  end
  lpact.bench_grain(1)
  return best
end

local function run_family(fam, reps)
  local name, sizes, unit, make = fam[1], fam[2], fam[3], fam[4]
  print(string.format("%s (%s)", name, unit))
  print(string.format("%10s %11s %11s %11s %8s %8s", "size", "1 thr us", "2 forced", "2 shipped", "forced", "shipped"))
  local from, worst = nil, math.huge
  for _, n in ipairs(sizes) do
    local f = make(n)
    -- calls per round: about 3 ms of work, at least 3
    local t0 = clock()
    f()
    local one = math.max(clock() - t0, 1e-7)
    local calls = math.max(3, math.min(2000, math.floor(3e-3 / one)))
    local b1, bf, bs = math.huge, math.huge, math.huge
    for _ = 1, reps do
      b1 = math.min(b1, time(f, 1, 1, calls))
      bf = math.min(bf, time(f, 2, 0, calls))
      bs = math.min(bs, time(f, 2, 1, calls))
    end
    local sf, ss = b1 / bf, b1 / bs
    if sf >= 1.1 then from = from or n else from = nil end
    worst = math.min(worst, ss)
    print(string.format("%10d %11.2f %11.2f %11.2f %7.2fx %7.2fx", n, b1 * 1e6, bf * 1e6, bs * 1e6, sf, ss))
    f = nil
    collectgarbage()
  end
  print(string.format("  %s: a second thread pays (forced >= 1.1x) from %s; lowest shipped speed-up %.2fx",
    name, from and tostring(from) or "no size here", worst))
  return from, worst
end

return function(args)
  local cli = require "lpact.cli"
  local p = cli.parser("lpact bench threads", "Each kernel family at 1 and 2 threads over its sizes: where a second " ..
    "thread pays.")
  p:argument("words", "REPS (a whole number) and kernel families to time (all by default)"):argname("REPS|FAMILY"):args("*")
  local reps, pick = 5, {}
  for _, a in ipairs(cli.parse(p, args or {}).words) do
    local r = math.tointeger(tonumber(a))
    if r then
      if r < 1 then lpact.fail("bench threads: REPS must be a positive integer") end
      reps = r
    else
      pick[a] = true
    end
  end
  local known = {}
  for _, fam in ipairs(FAMILIES) do known[fam[1]] = true end
  for a in pairs(pick) do
    if not known[a] then lpact.fail("bench threads: no kernel family '" .. a .. "'") end
  end
  local old = lpact.threads()
  local summary = {}
  for _, fam in ipairs(FAMILIES) do
    if next(pick) == nil or pick[fam[1]] then
      local from, worst = run_family(fam, reps)
      summary[#summary + 1] = { fam[1], from, worst }
    end
  end
  lpact.threads(old)
  print(string.format("%-14s %14s %16s", "family", "pays from", "lowest shipped"))
  for _, s in ipairs(summary) do
    print(string.format("%-14s %14s %15.2fx", s[1], s[2] and tostring(s[2]) or "-", s[3]))
  end
  return 0
end
