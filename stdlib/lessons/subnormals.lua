-- Lesson 3: subnormals and underflow — what nosub removes; the smallest
-- values; gradual underflow.
local L = require "lpact.lesson"

return {
  name = "subnormals",
  order = 3,
  minutes = 12,
  next = "overflow",
  title = "Subnormals and underflow",
  intro = [[
Below a format's smallest normal value there is either a short ladder of
evenly spaced 'subnormal' values down to 0, or nothing at all. This lesson
shows what the ladder is worth.]],
  steps = {
    {
      text = [[
e2m1's smallest normal value is 1 (exponent field 01, 2^(1-1) * 1.0). The
codes with exponent field 00 are subnormal: they drop the hidden 1, so
code 0x1 is 2^0 * 0.5.]],
      show = [[levels "e2m1"]],
      ask = "What is the smallest positive value of e2m1?",
      hint = 'The first subnormal row, or lpact.format("e2m1"):info().min_subnormal',
      answer = 'lpact.format("e2m1"):info().min_subnormal',
      wrong = "1",
      check = L.number(0.5, { why = { [1] = "1 is the smallest normal value; one subnormal lies below it" } }),
    },
    {
      text = [[
The option nosub removes the subnormals: their codes become unused, and
nothing is left between 0 and the smallest normal value.]],
      show = [[levels "e2m1:nosub"]],
      ask = 'What does e2m1:nosub make of 0.3? lpact.format("e2m1:nosub"):round(0.3)',
      hint = "Without 0.5, the neighbours of 0.3 are 0 and 1.",
      answer = 'lpact.format("e2m1:nosub"):round(0.3)',
      wrong = "0.5",
      check = L.number(0, { why = { [0.5] = "0.5 is a subnormal, and e2m1:nosub has none",
        [1] = "0.3 is nearer to 0 than to 1" } }),
      explain = "With subnormals 0.3 would have become 0.5; without them it is lost.",
    },
    {
      text = [[
In e3m2 (bias 3) the smallest normal value is 2^(1-3) = 0.25. The
subnormals below it are evenly spaced, one step apart, the step being
2^(1-3) * 2^-2 = 0.0625.]],
      ask = "How many positive subnormal values does e3m2 have?",
      hint = "Mantissa fields 01, 10, 11 with exponent field 000: count them.",
      answer = "3",
      wrong = "4",
      check = L.number(3, { why = { [4] = "mantissa field 00 with exponent field 000 is zero, not a subnormal" } }),
      explain = "0.0625, 0.125 and 0.1875: 2^M - 1 of them.",
    },
    {
      text = [[
compare draws the two value sets on one line: with nosub the ladder below
0.25 is gone.]],
      show = [[compare("e3m2", "e3m2:nosub")]],
      ask = 'What is lpact.format("e3m2:nosub"):round(0.1)?',
      hint = "The neighbours of 0.1 in e3m2:nosub are 0 and 0.25.",
      answer = 'lpact.format("e3m2:nosub"):round(0.1)',
      wrong = "0.125",
      check = L.number(0, { why = { [0.125] = "0.125 is a subnormal of e3m2; e3m2:nosub has none",
        [0.25] = "0.1 is nearer to 0 than to 0.25" } }),
      explain = "With subnormals, 0.1 -> 0.125. Without, it underflows to 0.",
    },
    {
      text = [[
Why 'gradual' underflow matters: 0.3125 and 0.25 are both values of
e3m2:nosub, and they are different. Their difference, 0.0625, is not.]],
      ask = 'Compute lpact.format("e3m2:nosub"):round(0.3125 - 0.25)',
      hint = "0.0625 lies between 0 and 0.25; which is nearer?",
      answer = 'lpact.format("e3m2:nosub"):round(0.3125 - 0.25)',
      wrong = "0.0625",
      check = L.number(0, { why = { [0.0625] = "0.0625 is a subnormal of e3m2, not of e3m2:nosub" } }),
      explain = "x ~= y but x - y == 0. With subnormals x - y is exact here (0.0625).",
    },
    {
      text = [[
FP8 (e4m3, bias 7) has the smallest normal 2^(1-7) = 2^-6 and three
mantissa bits, so its subnormal step is 2^-6 * 2^-3.]],
      ask = "What is fp8's smallest positive value? (A number or an expression.)",
      hint = '2^-9, or lpact.format("fp8"):info().min_subnormal',
      answer = "2^-9",
      wrong = "2^-6",
      check = L.number(2 ^ -9, { why = { [2 ^ -6] = "2^-6 is the smallest normal value; subnormals go below it" } }),
      explain = "0.001953125: subnormals add three binades of range below 2^-6.",
    },
    {
      text = [[
How many small activations does nosub cost? Take the inputs 0.01, 0.02,
..., 0.24 and count those that round to 0 in e3m2:nosub:
  n = 0; for k = 1, 24 do if lpact.format("e3m2:nosub"):round(k / 100) == 0
  then n = n + 1 end end; return n]],
      ask = "Type the count (the loop above, on one line, returns it).",
      hint = "Everything below 0.125 rounds to 0 (0.125 itself is a tie, to even: 0).",
      answer = 'n = 0; for k = 1, 24 do if lpact.format("e3m2:nosub"):round(k / 100) == 0 then n = n + 1 end end; return n',
      wrong = "3",
      check = L.number(12, { why = { [3] = "3 is the count with subnormals (0.01 to 0.03)" } }),
      explain = "12 of 24 with nosub, 3 of 24 with subnormals. Next: overflow.",
    },
  },
}
