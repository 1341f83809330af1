-- Contracts the mutation run (tests/mutation) found unguarded: each check
-- here kills one mutant that survived the rest of the suite. Values by
-- hand from docs/formats.md and PyTorch's documented behaviour.
local t = require "lpact.tap"
local T = lpact.tensor

-- encode refuses a value one code above max (the code there is NaN in
-- e4m3fn, the sign bit in e2m1): a bound off by one would hand it out
local v, e = lpact.format("e4m3"):encode(480)
t.ok(v == nil and e:match("480 is not a value of e4m3"), "e4m3 (max 448): 480 has no code")
v = lpact.format("e2m1"):encode(8)
t.is(v, nil, "e2m1 (max 6): 8 has no code (code 8 is -0)")
t.is(lpact.format("e2m1"):encode(6), 7, "e2m1: 6 is code 7, the largest")

-- without subnormals the smallest positive value is the smallest normal
t.is(lpact.format("e2m1:nosub"):info().min_subnormal, 1.0, "e2m1:nosub: smallest positive value 1 (not the subnormal 0.5)")
t.is(lpact.format("e2m1"):info().min_subnormal, 0.5, "e2m1: smallest positive value 0.5")
t.is(lpact.format("e3m2:nosub"):info().binades, math.log(28 / 0.25, 2), "e3m2:nosub: binades log2(max / min normal)")

-- sign keeps -0 and NaN (torch.sign(-0.) is -0., torch.sign(nan) is nan)
local s = T { -0.0, 0 / 0, 0.0, -3, 2 }:sign():totable()
t.ok(s[1] == 0 and 1 / s[1] < 0, "sign(-0) is -0")
t.ok(s[2] ~= s[2], "sign(NaN) is NaN")
t.ok(s[3] == 0 and 1 / s[3] > 0 and s[4] == -1 and s[5] == 1, "sign(0) = +0, sign(-3) = -1, sign(2) = 1")

-- argmax / argmin: the first of equal extremes (as torch.argmax)
t.is(T { 1, 3, 3 }:argmax(), 2, "argmax of {1, 3, 3} is the first 3 (index 2)")
t.is(T { 2, 1, 1 }:argmin(), 2, "argmin of {2, 1, 1} is the first 1 (index 2)")
t.same(T { { 1, 3, 3 }, { 5, 5, 0 } }:argmax(2):totable(), { 2, 1 }, "argmax(dim) ties: the first")
t.same(T { { 1, 0, 0 }, { 5, 5, 9 } }:argmin(2):totable(), { 2, 1 }, "argmin(dim) ties: the first")
t.done()
