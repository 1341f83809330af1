-- Learning-rate schedules against their formulas, worked out by hand.
local t = require "lpact.tap"
local S = require "lpact.schedule"

local c = S.constant(0.5)
t.is(c:at(0), 0.5, "constant at 0")
t.is(c:at(1000), 0.5, "constant at 1000")

local st = S.step { lr = 0.1, every = 10, gamma = 0.5 }
t.near(st:at(0), 0.1, 1e-15, "step: t=0 -> lr")
t.near(st:at(9), 0.1, 1e-15, "step: t=9 still lr")
t.near(st:at(10), 0.05, 1e-15, "step: t=10 -> lr*gamma")
t.near(st:at(25), 0.025, 1e-15, "step: t=25 -> lr*gamma^2")
local ms = S.step { lr = 1, milestones = { 3, 7 }, gamma = 0.1 }
t.near(ms:at(2), 1, 1e-15, "milestones: before the first")
t.near(ms:at(3), 0.1, 1e-15, "milestones: at the first")
t.near(ms:at(8), 0.01, 1e-15, "milestones: after the second")

local cs = S.cosine { lr = 1, total = 4, min = 0 }
-- (1 + cos(pi t / 4)) / 2: t=0 -> 1, t=1 -> (1 + sqrt2/2)/2, t=2 -> 0.5, t=4 -> 0
t.near(cs:at(0), 1, 1e-15, "cosine: start")
t.near(cs:at(1), (1 + math.sqrt(2) / 2) / 2, 1e-15, "cosine: quarter")
t.near(cs:at(2), 0.5, 1e-15, "cosine: half way")
t.near(cs:at(4), 0, 1e-15, "cosine: end")
t.near(cs:at(9), 0, 1e-15, "cosine: after the end stays at min")
local cm = S.cosine { lr = 0.1, total = 10, min = 0.02 }
t.near(cm:at(5), 0.06, 1e-15, "cosine with min: half way is the mean")

local li = S.linear { from = 0, to = 1, steps = 4 }
t.near(li:at(1), 0.25, 1e-15, "linear: 1/4")
t.near(li:at(4), 1, 1e-15, "linear: end")
t.near(li:at(6), 1, 1e-15, "linear: after the end")

local w = S.warmup { steps = 4, after = S.step { lr = 0.2, every = 2, gamma = 0.5 } }
t.near(w:at(0), 0, 1e-15, "warmup: starts at 0")
t.near(w:at(1), 0.05, 1e-15, "warmup: 1/4 of the first value")
t.near(w:at(3), 0.15, 1e-15, "warmup: 3/4")
t.near(w:at(4), 0.2, 1e-15, "warmup: then the inner schedule at its t=0")
t.near(w:at(6), 0.1, 1e-15, "warmup: inner schedule's time is shifted")
local w2 = S.warmup { steps = 10, after = 1, start_factor = 0.1 }
t.near(w2:at(5), 0.55, 1e-15, "warmup start_factor: 0.1 + 0.9 * 5/10")

-- One-cycle, PyTorch's formula: total 10, pct 0.3, max 1, div 25, final 1e4:
-- initial 0.04, up-phase ends at t = 2, down-phase at t = 9, final 4e-6.
local oc = S.onecycle { max = 1, total = 10 }
t.near(oc:at(0), 0.04, 1e-15, "onecycle: starts at max/div")
t.near(oc:at(1), 1 + (0.04 - 1) / 2 * (math.cos(math.pi * 0.5) + 1), 1e-15, "onecycle: half way up")
t.near(oc:at(2), 1, 1e-15, "onecycle: peak at pct*total - 1")
t.near(oc:at(9), 4e-6, 1e-18, "onecycle: ends at initial/final_div")
local p = (5 - 2) / (9 - 2)
t.near(oc:at(5), 4e-6 + (1 - 4e-6) / 2 * (math.cos(math.pi * p) + 1), 1e-15, "onecycle: on the way down")

local ch = S.chain({ 0.1, 2 }, { S.linear { from = 1, to = 0, steps = 2 }, 2 }, 0.001)
t.near(ch:at(1), 0.1, 1e-15, "chain: first part")
t.near(ch:at(2), 1, 1e-15, "chain: second part starts at its own t=0")
t.near(ch:at(3), 0.5, 1e-15, "chain: second part at t=1")
t.near(ch:at(4), 0.001, 1e-15, "chain: the last value")

local prod = S.cosine { lr = 1, total = 2 } * 0.5
t.near(prod:at(1), 0.25, 1e-15, "a schedule times a number")
local pp = S.constant(2) * S.linear { from = 0, to = 1, steps = 2 }
t.near(pp:at(1), 1, 1e-15, "a schedule times a schedule")
t.is(S.fn(function(x) return x * x end, "step"):at(3), 9, "fn wraps a function")
t.is(S.fn(function(x) return x end, "step").per, "step", "per is kept")
t.is(S.cosine { lr = 1, total = 3 }.per, "epoch", "per defaults to epoch")
t.raises(function() S.cosine { total = 3 } end, "lr", "a missing option is named")
t.ok(S.is(c) and not S.is({}), "schedule.is")
t.done()
