--- bench.quantize — `lpact bench quantize [N]`: lp_quantize over N float32
-- elements (default 16M = 2^24, values spread over [-4, 4]) for fp8,
-- e5m2, fp6, fp4, fp2 in rne and sr, at 1 and 2 threads. Prints ns per
-- element and GB/s counting 8 bytes per element (a read and a write), and
-- in the same run the bandwidth of a plain memcpy of the same buffer and
-- each case's share of it. Times are the best of 3 runs (wall clock).

return function(args)
  local n = tonumber(args and args[1]) or (1 << 24)
  n = math.tointeger(n)
  if not n or n < 1024 then lpact.fail("bench quantize: N must be an integer >= 1024") end
  local buf = lpact.bench_buffer(n)
  local reps = 3
  lpact.bench_quantize(buf, "fp8", 1, 1)           -- warm the pages and the pool
  lpact.bench_quantize(buf, "fp8", 2, 1)
  local tm = lpact.bench_memcpy(buf, 5)
  local mem = 8 * n / tm / 1e9
  print(string.format("quantize %d float32 elements (%.0f MB in + out)", n, 8 * n / 1e6))
  print(string.format("memcpy of the same buffer: %.3f ns/element, %.2f GB/s", tm / n * 1e9, mem))
  print(string.format("%-6s %-4s %7s %12s %8s %9s", "format", "mode", "threads", "ns/element", "GB/s", "of memcpy"))
  for _, spec in ipairs { "fp8", "e5m2", "fp6", "fp4", "fp2" } do
    for _, mode in ipairs { "rne", "sr" } do
      for threads = 1, 2 do
        local t = lpact.bench_quantize(buf, spec .. ":" .. mode, threads, reps)
        print(string.format("%-6s %-4s %7d %12.3f %8.2f %8.0f%%", spec, mode, threads, t / n * 1e9,
          8 * n / t / 1e9, 100 * tm / t))
      end
    end
  end
  return 0
end
