-- Lesson 2: rounding — the seven modes, ties, round-to-odd, why ties to
-- even is unbiased, exact decisions on binary32 neighbours.
local L = require "lpact.lesson"

return {
  name = "rounding",
  order = 2,
  minutes = 15,
  next = "subnormals",
  title = "Rounding: seven modes, ties, round to odd",
  intro = [[
A number between two values of a format must become one of them. Which
one is the rounding mode's decision; this lesson makes each decision by
hand and checks it against the engine.]],
  steps = {
    {
      text = [[
FP4 (e2m1) has the values 0, 0.5, 1, 1.5, 2, 3, 4, 6 (and negatives). 2.5
lies exactly halfway between 2 (code 0x4, mantissa bit 0) and 3 (0x5,
mantissa bit 1): a tie. The default mode, rne, rounds to nearest and
breaks ties to the even code, the one whose last bit is 0.]],
      ask = 'Round 2.5 to fp4 with ties to even: lpact.format("fp4"):round(2.5)',
      hint = "Of 2 (mantissa 0) and 3 (mantissa 1), which code is even?",
      answer = 'lpact.format("fp4"):round(2.5)',
      wrong = "3",
      check = L.number(2, { why = { [3] = "3 is the odd code (mantissa 1); ties go to the even one" } }),
      explain = "Ties to even is IEEE 754's default.",
    },
    {
      text = [[
A mode is part of the format's spec, after a colon: e2m1:rna rounds to
nearest with ties away from zero, the way taught in school.]],
      ask = 'What does lpact.format("e2m1:rna"):round(2.5) give? Predict, then type it.',
      hint = "Away from zero, from 2.5: up.",
      answer = 'lpact.format("e2m1:rna"):round(2.5)',
      wrong = "2",
      check = L.number(3, { why = { [2] = "2 is what ties to even gives; rna goes away from zero" } }),
    },
    {
      text = [[
Four modes do not look for the nearest value at all; they always take
the neighbour in one direction:
  rtz  toward zero      rup  toward +inf      rdn  toward -inf
and rno (round to odd) takes the neighbour whose last bit is 1.]],
      ask = "Round -2.9 to e2m1 toward zero (spec e2m1:rtz).",
      hint = 'The neighbours of -2.9 are -3 and -2; lpact.format("e2m1:rtz"):round(-2.9)',
      answer = 'lpact.format("e2m1:rtz"):round(-2.9)',
      wrong = "-3",
      check = L.number(-2, { why = { [-3] = "-3 is the nearest, but toward zero means the smaller magnitude" } }),
    },
    {
      text = [[
rdn rounds toward -inf: down the number line, which for a negative number
means away from zero.]],
      ask = "Round -2.1 to e2m1 with rdn.",
      hint = "On the number line, which neighbour of -2.1 is below it: -2 or -3?",
      answer = 'lpact.format("e2m1:rdn"):round(-2.1)',
      wrong = "-2",
      check = L.number(-3, { why = { [-2] = "-2 is above -2.1 on the number line; rdn goes down" } }),
      explain = "rup and rdn bound a result from above and below (interval arithmetic).",
    },
    {
      text = [[
Why ties to even? Rounding many ties, half go up and half go down, so
their errors cancel. Take 0.25, 0.75, 1.25, 1.75 (all ties in fp4) whose
sum is exactly 4. Round each with rne and add the results:
  f = lpact.format "fp4"
  f:round(0.25) + f:round(0.75) + f:round(1.25) + f:round(1.75)]],
      ask = "Type the sum of the four rne results.",
      hint = "Set f first, then the sum. 0.25 goes to 0 (even), 0.75 to 1 ...",
      answer = 'f = lpact.format "fp4"; return f:round(0.25) + f:round(0.75) + f:round(1.25) + f:round(1.75)',
      wrong = "5",
      check = L.number(4, { why = { [5] = "5 is what rna gives: every tie up, a bias of +1" } }),
      explain = "rne keeps the sum at 4; rna (every tie away from zero) would give 5.",
    },
    {
      text = [[
Round to odd (rno): when the input is not a value of the format, take the
neighbour with the odd code; an exact value stays. It never forgets that
a result was inexact, which makes a later rounding to fewer bits correct
(this is how a wide result is rounded twice without error).]],
      ask = 'Round 2.2 to e2m1 with rno: lpact.format("e2m1:rno"):round(2.2)',
      hint = "Neighbours 2 (code 0x4, even) and 3 (code 0x5, odd).",
      answer = 'lpact.format("e2m1:rno"):round(2.2)',
      wrong = "2",
      check = L.number(3, { why = { [2] = "2 is nearer, but its code is even; rno takes the odd one" } }),
      explain = "And rno keeps 2.0 as 2: an exact value is never moved.",
    },
    {
      text = [[
lpact rounds in one step from the exact input (a Lua number is a double),
never through float32 first. So a number a hair above a tie is not a tie:
the binary32 number right above 2.5 is 2.5 + 2^-22.]],
      ask = "What does fp4 (rne) make of 2.5 + 2^-22?",
      hint = "It is no longer halfway: it is nearer to 3 than to 2.",
      answer = 'lpact.format("fp4"):round(2.5 + 2^-22)',
      wrong = "2",
      check = L.number(3, { why = { [2] = "2 would be right for 2.5 itself; 2.5 + 2^-22 is above the tie" } }),
      explain = "And 2.5 - 2^-22 gives 2. The decision is exact, bit for bit.",
    },
    {
      text = [[
The seventh mode, sr (stochastic rounding), picks a neighbour at random
with probabilities set by the distance; it has a lesson of its own. Last
question: rup of a value already in the format.]],
      ask = 'What is lpact.format("e2m1:rup"):round(1.5)?',
      hint = "1.5 is one of e2m1's values.",
      answer = 'lpact.format("e2m1:rup"):round(1.5)',
      wrong = "2",
      check = L.number(1.5, { why = { [2] = "1.5 is already a value of e2m1: every mode leaves it alone" } }),
      explain = "Every mode leaves the format's own values unchanged. Next: subnormals.",
    },
  },
}
