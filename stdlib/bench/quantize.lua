--- bench.quantize — `lpact bench quantize [N]`: lp_quantize over N float32
-- elements (default 16M = 2^24, values spread over [-4, 4]) for fp8,
-- e5m2, fp6, fp4, fp2 in rne and sr: at 1 thread through every lane build
-- the CPU runs (portable, avx2, avx512: the same bits, see
-- docs/formats.md), then at 2 threads through the best one. Prints ns per
-- element and GB/s counting 8 bytes per element (a read and a write), and
-- in the same run the bandwidth of a plain memcpy of the same buffer and
-- each case's share of it. Times are the best of 5 runs by the wall clock;
-- the last column compares CPU time instead (CPU seconds of all threads,
-- so at 2 threads it shows the cost, not the speed-up), which a busy
-- machine disturbs less.

return function(args)
  local cli = require "lpact.cli"
  local p = cli.parser("lpact bench quantize", "lp_quantize over N float32 elements, every lane build, rne and sr.")
  p:argument("N", "elements"):args("?"):default(tostring(1 << 24)):convert(cli.int(1024))
  local n = cli.parse(p, args or {}).N
  local buf = lpact.bench_buffer(n)
  local reps = 5
  local lanes = lpact.bench_lanes()
  lpact.bench_quantize(buf, "fp8", 1, 1)           -- warm the pages and the pool
  lpact.bench_quantize(buf, "fp8", 2, 1)
  local tm, cm = lpact.bench_memcpy(buf, 7)
  print(string.format("quantize %d float32 elements (%.0f MB in + out)", n, 8 * n / 1e6))
  print(string.format("memcpy of the same buffer: %.3f ns/element, %.2f GB/s (CPU: %.3f ns/element)",
    tm / n * 1e9, 8 * n / tm / 1e9, cm / n * 1e9))
  print(string.format("%-6s %-4s %-8s %7s %11s %7s %10s %14s", "format", "mode", "lanes", "threads", "ns/element",
    "GB/s", "of memcpy", "CPU vs memcpy"))
  local function row(spec, mode, level, threads)
    local t, c = lpact.bench_quantize(buf, spec .. ":" .. mode, threads, reps, level)
    print(string.format("%-6s %-4s %-8s %7d %11.3f %7.2f %9.0f%% %13.0f%%", spec, mode, lanes[level + 1], threads,
      t / n * 1e9, 8 * n / t / 1e9, 100 * tm / t, 100 * cm / c))
  end
  for _, spec in ipairs { "fp8", "e5m2", "fp6", "fp4", "fp2" } do
    for _, mode in ipairs { "rne", "sr" } do
      for level = 0, #lanes - 1 do row(spec, mode, level, 1) end
      row(spec, mode, #lanes - 1, 2)
    end
  end
  return 0
end
