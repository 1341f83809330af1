-- Lesson 1: what a minifloat is — sign, exponent, mantissa, bias; every
-- level of e2m1 and e3m2; gaps that grow with magnitude.
local L = require "lpact.lesson"

return {
  name = "minifloat",
  order = 1,
  minutes = 15,
  next = "rounding",
  title = "What a minifloat is: sign, exponent, mantissa, bias",
  intro = [[
A minifloat is a floating-point number of very few bits: 8, 6, 4, even 2.
This lesson takes two small formats apart, code by code.]],
  steps = {
    {
      text = [[
A format eXmY has a sign bit, X exponent bits and Y mantissa bits. FP4 is
e2m1: the prompt shows a format's summary when you type it.]],
      show = [[lpact.format "e2m1"]],
      ask = "How many bits does one e2m1 number take? Type the number.",
      hint = "One sign bit, plus the exponent bits (X), plus the mantissa bits (Y).",
      answer = "1 + 2 + 1",
      wrong = "3",
      check = L.number(4, { why = { [3] = "that counts exponent and mantissa; the sign has a bit too" } }),
      explain = "So e2m1 has 2^4 = 16 codes.",
    },
    {
      text = [[
levels lists every code: its sign s, exponent field ee and mantissa
field m, and the value. For a normal code (ee not 00) the value is
    (-1)^s * 2^(ee - bias) * (1 + m/2)
and e2m1's bias is 1.]],
      show = [[levels "e2m1"]],
      ask = "Work out the value of code 0x5 (s = 0, ee = 10, m = 1) by the formula.",
      hint = "ee = 10 is 2 in binary, so 2^(2 - 1) = 2; the mantissa gives 1 + 1/2.",
      answer = "2^(2 - 1) * (1 + 1/2)",
      wrong = "2^2 * 1.5",
      check = L.number(3, { why = { [6] = "remember to subtract the bias (1) from the exponent" } }),
      explain = "The table agrees: 0x5 is 3.",
    },
    {
      text = [[
When the exponent field is 00 the code is subnormal: no hidden 1, and the
exponent is 1 - bias. So 0x1 is 2^0 * (0 + 1/2) = 0.5, and 0x0 is zero.
The codes with s = 1 are the negatives, and 0x8 is -0.]],
      ask = "How many distinct values do e2m1's 16 codes give? Type the number.",
      hint = "Every code is a different value, except that +0 and -0 are equal.",
      answer = "15",
      wrong = "16",
      check = L.number(15, { why = { [16] = "+0 (0x0) and -0 (0x8) are two codes but one value" } }),
      explain = "levels says so in its first line: 16 codes, 15 distinct values.",
    },
    {
      text = [[
The bias sets where the values sit: a larger bias shifts every exponent
down. lpact.format builds a format from its spec; e3m2 (FP6) has 3
exponent bits, 2 mantissa bits and bias 3.]],
      ask = 'Make the global f the format e3m2:  f = lpact.format "e3m2"',
      hint = 'Type exactly: f = lpact.format "e3m2"',
      answer = 'f = lpact.format "e3m2"',
      wrong = 'f = lpact.format "e2m3"',
      check = L.format("f", "e3m2"),
      explain = "f:info() lists its properties; levels(f) shows every code.",
    },
    {
      text = [[
lpact's e3m2 is a 'fin' format: every code is a finite number, none is
kept for inf or NaN. Its largest exponent field is 111 = 7.]],
      show = [[levels "e3m2"]],
      ask = "What is e3m2's largest value? Work it out, then check f:info().max.",
      hint = "Exponent 7 - 3 = 4; the largest mantissa field 11 gives 1 + 3/4.",
      answer = "2^(7 - 3) * (1 + 3/4)",
      wrong = "2^(6 - 3) * (1 + 3/4)",
      check = L.number(28, { why = { [14] = "14 would be right if the top exponent were kept for inf/NaN, "
        .. "as in IEEE formats; e3m2 is 'fin'" } }),
      explain = "28: the last row of the table above.",
    },
    {
      text = [[
Within one binade (one exponent field) the values are evenly spaced, and
each binade up the spacing doubles. e3m2 has 4 values per binade: between
1 and 2 they are 1, 1.25, 1.5, 1.75.]],
      ask = "In e3m2, what is the gap between 16 and the next larger value?",
      hint = "16 = 2^4 * 1.00; the next value is 2^4 * 1.25.",
      answer = "2^4 * 1.25 - 16",
      wrong = "0.25",
      check = L.number(4, { why = { [0.25] = "0.25 is the gap at 1; at 16 the binade is 2^4 times wider" } }),
      explain = "The gap at 16 is 16 times the gap at 1: gaps grow with magnitude.",
    },
    {
      text = [[
So the relative gap (gap / value) stays about the same: at 1 it is
0.25/1, at 16 it is 4/16. That is what 'floating point' buys: the same
relative precision over a wide range. compare draws value sets.]],
      show = [[compare("e2m1", "e3m2")]],
      ask = "Round 17 to e3m2: what does f:round(17) give? (Predict, then type it.)",
      hint = "The neighbours of 17 in e3m2 are 16 and 20; which is nearer?",
      answer = "f:round(17)",
      wrong = "17",
      check = L.number(16, { why = { [17] = "17 is not an e3m2 value: the neighbours are 16 and 20",
        [20] = "20 is 3 away, 16 only 1" } }),
      explain = "17 is 1 away from 16 and 3 away from 20: rounding picks 16.",
    },
    {
      text = [[
e3m2 has 2^6 = 64 codes. As in e2m1, +0 and -0 are two codes with one
value.]],
      ask = "How many distinct values has e3m2? Type the number.",
      hint = "64 codes, and two of them are zeros with the same value.",
      answer = "63",
      wrong = "64",
      check = L.number(63, { why = { [64] = "+0 and -0 are one value", [62] = "only the zero is doubled" } }),
      explain = "f:info().nvalues says 63. Next lesson: how a number is rounded.",
    },
  },
}
