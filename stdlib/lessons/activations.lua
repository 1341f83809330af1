-- Lesson 6: activation functions in few bits — relu, gelu, tanh, sigmoid
-- at FP8 ... FP2; why sigmoid collapses at FP2, and what a scale or
-- learnable levels change.
local L = require "lpact.lesson"

return {
  name = "activations",
  order = 6,
  minutes = 15,
  next = "learnable",
  title = "Activation functions in few bits: relu, gelu, tanh, sigmoid",
  intro = [[
A network computes f(x) millions of times. Computed in FP4 or FP2, some
functions keep their use and some lose everything; this lesson finds out
which, and why.]],
  steps = {
    {
      text = [[
lpact's quantized activation is Q(f(Q(x))): the input is rounded to the
format, f is computed exactly, and the output is rounded again. plot
draws f (blue) and its quantized version (red).]],
      show = [[plot("tanh", "fp4", -3, 3)]],
      ask = "tanh(0.5) = 0.4621. What is the FP4 tanh of x = 0.6?",
      hint = "First Q(0.6) in fp4 (values 0, 0.5, 1, ...), then tanh, then Q again.",
      answer = "0.5",
      wrong = "0.4621",
      check = L.number(0.5, { why = { [0.4621] = "0.4621 is tanh(0.5) before the output is rounded",
        [0.6] = "0.6 is not even a value of fp4" } }),
      explain = "Q(0.6) = 0.5, tanh(0.5) = 0.4621, Q(0.4621) = 0.5.",
    },
    {
      text = [[
errors(f, fmt, lo, hi) measures the damage. The largest error on [-4, 4]
(errors(f, fmt, -4, 4, {n = 801}).max):
            fp8     fp6     fp4     fp3     fp2
  tanh     0.047   0.092   0.365   0.530   0.999
  sigmoid  0.040   0.076   0.277   0.623   0.982
FP2 has the values -2, -0, 0, 2: tanh(x) and sigmoid(x) lie in (-1, 1).]],
      ask = "What does fp2 make of tanh(2) = 0.964? lpact.format(\"fp2\"):round(0.964)",
      hint = "Which of 0 and 2 is nearer to 0.964?",
      answer = 'lpact.format("fp2"):round(0.964)',
      wrong = "2",
      check = L.number(0, { why = { [2] = "0.964 is nearer to 0 than to 2" } }),
      explain = "Every output of tanh rounds to 0 (or -0): in FP2 the error is all of f.",
    },
    {
      text = [[
sigmoid is worse off: its outputs are all positive, and all below 1
(at most sigmoid(2) = 0.881, as the input is rounded first), so nearer
to 0 than to 2. (1 itself would be a tie, and go to the even code, +0.)]],
      show = [[plot("sigmoid", "fp2", -6, 6)]],
      ask = "How many distinct values does sigmoid's FP2 output take?",
      hint = "Every output rounds to the same value.",
      answer = "1",
      wrong = "2",
      check = L.number(1, { why = { [2] = "no output of sigmoid reaches 2, and +0 is the only zero it gives",
        [3] = "sigmoid is never negative, and never near 2" } }),
      explain = "One value: the layer outputs +0 whatever its input. It is dead.",
    },
    {
      text = [[
relu(x) = max(x, 0) has no such trouble: relu of FP2's values is 0 or 2,
and which one tells the next layer whether x was above 1.]],
      ask = "What is relu's FP2 output for x = 1.5?",
      hint = "Q(1.5) first: is 1.5 nearer to 0 or to 2?",
      answer = "2",
      wrong = "1.5",
      check = L.number(2, { why = { [1.5] = "1.5 is not a value of fp2; the input is rounded first",
        [0] = "1.5 is nearer to 2 than to 0" } }),
      explain = "relu keeps two distinct values at FP2 and the network can still learn.",
    },
    {
      text = [[
gelu(x) = x * Phi(x) looks like relu away from 0: gelu(2) = 1.954 and
gelu(-2) = -0.0455.]],
      ask = "What is gelu's FP2 output for x = 2?",
      hint = "Round 1.954 to fp2.",
      answer = 'lpact.format("fp2"):round(1.954)',
      wrong = "0",
      check = L.number(2, { why = { [0] = "1.954 is nearer to 2 than to 0" } }),
      explain = "gelu at FP2 gives 2, +0 or -0: it survives as relu does.",
    },
    {
      text = [[
A scale rescues sigmoid: divide its output by s = 0.5 before rounding and
multiply back after: y = 0.5 * Q(sigmoid(Q(x)) / 0.5). sigmoid(2) = 0.881.
(In a layer: lpact.qact{"sigmoid", fmt = "fp2", scale = {fixed = 1,
out = 0.5}}.)]],
      ask = "With this output scale, what is the FP2 sigmoid of x = 3?",
      hint = "Q(3) = 2 (saturated); 0.881 / 0.5 = 1.762; round to fp2; times 0.5.",
      answer = '0.5 * lpact.format("fp2"):round(0.881 / 0.5)',
      wrong = "0",
      check = L.number(1, { why = { [0] = "0 is the result without the scale",
        [2] = "remember to multiply back by 0.5" } }),
      explain = "With the scale the outputs are 0 and 1: sigmoid is alive again.",
    },
    {
      text = [[
Learnable levels are the other rescue: each output code gets a level of
its own, trained with the weights (a LUT accelerator holds such a table).
+0 and -0 are two codes: tanh of a negative input rounds to -0, of a
non-negative one to +0. With fixed levels both mean 0; learned, they can
move apart.]],
      ask = "How many different FP2 codes can tanh's output take?",
      hint = "Its values all round to a zero; count the zeros with a sign.",
      answer = "2",
      wrong = "1",
      check = L.number(2, { why = { [1] = "there are two zero codes, +0 (0x0) and -0 (0x2)",
        [4] = "tanh never reaches the codes of 2 and -2" } }),
      explain = "Two codes: learned levels turn tanh at FP2 into a learned sign function.",
    },
    {
      text = [[
sigmoid's outputs are all +0: a single code, one level, whatever it
learns. So learnable levels cannot rescue it; a scale can.]],
      ask = "Which needs a scale at FP2? 1) relu  2) tanh  3) sigmoid",
      hint = "Which function uses only one output code?",
      answer = "3",
      wrong = "2",
      check = L.choice(3, { [2] = "tanh uses two codes (+0, -0): learnable levels suffice",
        [1] = "relu already gives 0 and 2" }),
      explain = "Next lesson: train a network and watch the levels learn.",
    },
  },
}
