-- Lesson 4: overflow and special values — ieee / fn / fin, saturation
-- against inf, E4M3 against E5M2, why FP8 has two flavours.
local L = require "lpact.lesson"

return {
  name = "overflow",
  order = 4,
  minutes = 15,
  next = "stochastic",
  title = "Overflow and special values: ieee, fn, fin; E4M3 and E5M2",
  intro = [[
What is a number too large for the format, and what is NaN? Small formats
cannot spare codes for every special value; each answers differently.]],
  steps = {
    {
      text = [[
A format's policy says which codes are special:
  ieee  the top exponent field is kept for inf (m = 0) and NaN (m ~= 0)
  fn    no inf; only the all-ones code (S.1111.111 in e4m3) is NaN
  fin   every code is a finite number (lpact's FP6, FP4, FP3, FP2)
FP8 is e4m3 with policy fn (OCP's E4M3FN), bias 7.]],
      show = [[lpact.format "fp8"]],
      ask = "Work out e4m3's largest value: exponent field 1111, mantissa 110.",
      hint = "2^(15 - 7) * (1 + 6/8)",
      answer = "2^(15 - 7) * (1 + 6/8)",
      wrong = "480",
      check = L.number(448, { why = { [480] = "mantissa 111 with exponent 1111 is the NaN code, not 480" } }),
      explain = "448, as the summary says.",
    },
    {
      text = [[
With the ieee policy the whole top exponent field (1111) goes to inf and
NaN, so the largest finite value is one binade lower.]],
      ask = 'What is lpact.format("e4m3:ieee"):info().max? Predict, then type it.',
      hint = "Exponent field 1110 = 14, mantissa 111: 2^(14 - 7) * (1 + 7/8)",
      answer = 'lpact.format("e4m3:ieee"):info().max',
      wrong = "448",
      check = L.number(240, { why = { [448] = "448 is the fn flavour's max; ieee gives up the top binade" } }),
      explain = "fn buys almost a binade of range (448 against 240) for one NaN code.",
    },
    {
      text = [[
What happens above the largest value is the overflow rule: sat clamps to
±max (the default for fn and fin formats), inf overflows to ±inf where
the format has one, else to NaN.]],
      ask = 'What is lpact.format("fp8"):round(1000)?',
      hint = "fp8 saturates (overflow sat).",
      answer = 'lpact.format("fp8"):round(1000)',
      wrong = "1/0",
      check = L.number(448, { why = { [math.huge] = "fp8 has no inf, and it saturates" } }),
    },
    {
      text = [[
E5M2 (bias 15) is an ieee format with overflow to inf by default, as
IEEE half precision does.]],
      ask = 'What is lpact.format("e5m2"):round(1e6)?',
      hint = "e5m2's max is 57344, and its overflow rule is inf.",
      answer = 'lpact.format("e5m2"):round(1e6)',
      wrong = "57344",
      check = L.number(math.huge, { why = { [57344] = "57344 is what e5m2:sat gives; plain e5m2 overflows" } }),
      explain = "e5m2:sat would give 57344 instead.",
    },
    {
      text = [[
e4m3 (fn) has no inf. Asked to overflow rather than saturate (e4m3:inf),
the only special value it can give is NaN.]],
      ask = 'What is lpact.format("e4m3:inf"):round(1000)? (0/0 is a NaN.)',
      hint = "No inf code exists in e4m3.",
      answer = 'lpact.format("e4m3:inf"):round(1000)',
      wrong = "448",
      check = L.number(0 / 0, { why = { [448] = "448 would be saturation; e4m3:inf overflows",
        [math.huge] = "e4m3 has no inf code" } }),
      explain = "In a network one NaN poisons everything after it; saturation only clips.",
    },
    {
      text = [[
A fin format has no special codes at all, so it always saturates. FP4
(e2m1) goes up to 6.]],
      ask = 'What is lpact.format("fp4"):round(7)?',
      hint = "The largest value of fp4.",
      answer = 'lpact.format("fp4"):round(7)',
      wrong = "8",
      check = L.number(6, { why = { [8] = "8 is not a value of fp4; its max is 6" } }),
    },
    {
      text = [[
Why does FP8 come in two flavours? E4M3 has 3 mantissa bits over 17.8
binades; E5M2 has 2 mantissa bits over 31.8 binades. Activations and
weights want precision; gradients span a huge range of magnitudes.]],
      show = [[compare("e4m3", "e5m2")]],
      ask = "Which suits gradients? Type 1 for e4m3, 2 for e5m2.",
      hint = "Gradients can be tiny and large in one tensor: range first.",
      answer = "2",
      wrong = "1",
      check = L.choice(2, { [1] = "e4m3 is more precise but covers 14 binades fewer" }),
      explain = "So training recipes use E4M3 forward and E5M2 for gradients.",
    },
    {
      text = [[
Counting codes: e4m3 has 256 codes. In the fn policy two of them are NaN
(+NaN and -NaN), and +0 and -0 are one value.]],
      ask = "How many distinct finite values has e4m3 (fn)?",
      hint = "256, minus the NaN codes, minus one for the double zero.",
      answer = "256 - 2 - 1",
      wrong = "254",
      check = L.number(253, { why = { [254] = "you removed the NaNs; +0 and -0 are also one value",
        [255] = "two NaN codes, one per sign" } }),
      explain = "253, as the summary says. Next: stochastic rounding.",
    },
  },
}
