--- bench.threads — `lpact bench threads [REPS]`: where a second thread
-- starts to pay. Times c = a + b over n floats (memory-bound, like the
-- elementwise kernels) split across 1 and 2 threads for n = 2^10 .. 2^22,
-- best of REPS (default 200) runs each, alternating, and prints the
-- 2-thread speed-up per size and the smallest size from which it stays
-- above 1.1. The kernels' grains (interp/core/ops_elem.c, ops_nn.c,
-- qact.c, quant.c) are set from this figure: lp_parallel_for gives a call
-- a second thread only from 2 grains of work (docs/performance.md).

return function(args)
  local reps = math.tointeger(tonumber(args and args[1])) or 200
  if reps < 1 then lpact.fail("bench threads: REPS must be a positive integer") end
  print(string.format("%10s %12s %12s %8s", "n", "1 thr us", "2 thr us", "speedup"))
  local from
  for e = 10, 22 do
    local n = 1 << e
    local r = math.max(3, reps >> math.max(0, e - 14))
    local t1 = lpact.bench_pool(n, 1, r)
    local t2 = lpact.bench_pool(n, 2, r)
    t1 = math.min(t1, lpact.bench_pool(n, 1, r))
    local s = t1 / t2
    if s >= 1.1 then from = from or n else from = nil end
    print(string.format("%10d %12.2f %12.2f %7.2fx", n, t1 * 1e6, t2 * 1e6, s))
  end
  print(from and string.format("a second thread pays from n = %d floats", from)
    or "a second thread did not pay at any size here (machine busy?)")
  return 0
end
