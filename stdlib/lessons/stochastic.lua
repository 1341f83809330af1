-- Lesson 5: stochastic rounding — expectation, variance, why it helps
-- training; the seeded, thread-independent generator.
local L = require "lpact.lesson"

return {
  name = "stochastic",
  order = 5,
  minutes = 15,
  next = "activations",
  title = "Stochastic rounding: unbiased, noisy, reproducible",
  intro = [[
Round to nearest always makes the same choice for the same input, so its
errors can pile up. Stochastic rounding flips a biased coin instead.]],
  steps = {
    {
      text = [[
sr rounds x = lo + p * (hi - lo), between two neighbours lo and hi, up to
hi with probability p and down to lo otherwise. In fp4, 0.3 lies between
0 and 0.5.]],
      ask = "With what probability does sr round 0.3 up to 0.5 in fp4?",
      hint = "p = (x - lo) / (hi - lo)",
      answer = "(0.3 - 0) / (0.5 - 0)",
      wrong = "0.3",
      check = L.number(0.6, { tol = 1e-12, why = { [0.3] = "0.3 is the distance; divide it by the gap, 0.5" } }),
    },
    {
      text = [[
So sr gives 0.5 with probability 0.6 and 0 with probability 0.4.]],
      ask = "What is the expected value of sr(0.3) in fp4?",
      hint = "0.6 * 0.5 + 0.4 * 0",
      answer = "0.6 * 0.5 + 0.4 * 0",
      wrong = "0.5",
      check = L.number(0.3, { tol = 1e-12, why = { [0.5] = "0.5 is what rne gives every time: a bias of +0.2" } }),
      explain = "Exactly x: stochastic rounding is unbiased.",
    },
    {
      text = [[
Now measure it. The spec fp4:sr:seed=42 rounds stochastically with the
random stream of seed 42; rounding 0.3 ten thousand times and averaging:
  f = lpact.format "fp4:sr:seed=42"; s = 0
  for i = 1, 10000 do s = s + f:round(0.3) end; return s / 10000]],
      ask = "Type the loop (on one line) and look at the mean it returns.",
      hint = 'f = lpact.format "fp4:sr:seed=42"; s = 0; for i = 1, 10000 do ...',
      answer = 'f = lpact.format "fp4:sr:seed=42"; s = 0; for i = 1, 10000 do s = s + f:round(0.3) end; return s / 10000',
      wrong = "0.5",
      check = L.number(0.3, { tol = 0.02, why = function(v)
        return string.format("a mean of %.4g is not near 0.3; did every rounding use sr?", v)
      end }),
      explain = "Within a few thousandths of 0.3 (the standard error is 0.0024).",
    },
    {
      text = [[
The price is noise: the variance of one stochastic rounding is
p * (1 - p) * (hi - lo)^2.]],
      ask = "What is the variance of sr(0.3) in fp4?",
      hint = "0.6 * 0.4 * 0.5^2",
      answer = "0.6 * 0.4 * 0.5^2",
      wrong = "0.24",
      check = L.number(0.06, { tol = 1e-12, why = { [0.24] = "0.24 is p(1 - p); multiply by the gap squared" } }),
      explain = "rne has no variance, but a bias; sr trades the bias for noise.",
    },
    {
      text = [[
Why it helps training: a weight w = 1 receives ten updates of +0.1 in
fp4. Above 1 the gap is 0.5, and 1.1 is nearer to 1 than to 1.5.
  w = 1; for i = 1, 10 do w = lpact.format("fp4"):round(w + 0.1) end]],
      ask = "With rne, what is w after the ten updates? (Predict, then run it.)",
      hint = "Each update rounds 1.1 back to ... ?",
      answer = 'w = 1; for i = 1, 10 do w = lpact.format("fp4"):round(w + 0.1) end; return w',
      wrong = "2",
      check = L.number(1, { why = { [2] = "2 is the exact sum, but every 1.1 rounds back to 1" } }),
      explain = "The updates vanish: round to nearest stalls small steps.",
    },
    {
      text = [[
With sr each update moves w up one step with a small probability, so on
average w follows the exact sum, 2. Averaged over 100 seeds:
  s = 0; for seed = 1, 100 do local g, w = lpact.format("fp4:sr:seed=" ..
  seed), 1; for i = 1, 10 do w = g:round(w + 0.1) end; s = s + w end;
  return s / 100]],
      ask = "Run it (one line) and look at the average.",
      hint = "Copy the three lines above onto one line.",
      answer = 's = 0; for seed = 1, 100 do local g, w = lpact.format("fp4:sr:seed=" .. seed), 1; for i = 1, 10 do w = g:round(w + 0.1) end; s = s + w end; return s / 100',
      wrong = "1",
      check = L.number(2, { tol = 0.35, why = { [1] = "1 is the rne result; use the sr formats of the loop" } }),
      explain = "Near 2 (2.075 for seeds 1 to 100): the small updates survive on average.",
    },
    {
      text = [[
lpact's random bits come from a counter-based generator keyed by the
seed: the bits of element i depend on (seed, i) only, never on timing or
on the number of threads. So two fresh formats with one seed agree:
  lpact.format("fp4:sr:seed=7"):round(0.3) ==
    lpact.format("fp4:sr:seed=7"):round(0.3)]],
      ask = "Type that comparison (on one line): true or false?",
      hint = "Type the comparison; it gives true or false.",
      answer = 'lpact.format("fp4:sr:seed=7"):round(0.3) == lpact.format("fp4:sr:seed=7"):round(0.3)',
      wrong = "false",
      check = L.boolean(true, "two fresh formats with one seed start at the same counter"),
      explain = "f:reset() restarts a format's counter; tensors use the element index.",
    },
    {
      text = [[
Hardware often draws only a few random bits. sr=K uses K bits: the
probability of rounding up is p truncated to K bits. With one bit, p =
0.6 becomes 0.5.]],
      ask = "What is the expected value of fp4:sr=1 rounding 0.3?",
      hint = "0.5 * 0.5 + 0.5 * 0",
      answer = "0.5 * 0.5",
      wrong = "0.3",
      check = L.number(0.25, { tol = 1e-12, why = { [0.3] = "with one random bit p is truncated from 0.6 to 0.5" } }),
      explain = "Few-bit sr is biased again (measured: 0.254 over 10000 draws).",
    },
  },
}
