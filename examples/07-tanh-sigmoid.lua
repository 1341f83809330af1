-- 07 — Tanh and sigmoid in FP4, FP3 and FP2.
--
-- Tanh and sigmoid squeeze every input into (-1, 1) or (0, 1). A format
-- with few values there keeps little of their shape:
--   FP4 has 0, 0.5, 1 in [0, 1];  FP3 has 0 and 1;  FP2 only 0 (and 2).
-- In FP2 every output of tanh or sigmoid rounds to 0 (1 is a tie between
-- 0 and 2 and goes to the even code, 0): the activation is dead. ReLU
-- keeps its sign information even there.
--
--     lpact examples/07-tanh-sigmoid.lua

require "lpact.repl"

-- The quantized activation is Q(f(Q(x))): input and output in the format.
print(plot("tanh", "fp4", -3, 3, { height = 10, width = 72 }))
print()

-- Expect: in fp2 tanh and sigmoid are 0 everywhere, so their max error
-- is the largest |f| on [-4, 4] (tanh 0.9993, sigmoid 0.982); the error
-- shrinks as bits are added.
print(string.format("%-8s %-5s %10s %10s %s", "f", "fmt", "max err", "RMS err", "distinct outputs"))
for _, f in ipairs { "tanh", "sigmoid", "relu" } do
  for _, fmt in ipairs { "fp4", "fp3", "fp2" } do
    local e = errors(f, fmt, -4, 4, { n = 801 })
    local q, seen, k = lpact.format(fmt), {}, 0
    for i = 0, 800 do
      local x = -4 + 8 * i / 800
      local y = q:round(lpact.kernels.act_value(f, q:round(x)))
      if not seen[y] then seen[y], k = true, k + 1 end
    end
    print(string.format("%-8s %-5s %10.4f %10.4f %d", f, fmt, e.max, e.rms, k))
  end
end
