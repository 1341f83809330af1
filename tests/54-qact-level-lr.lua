-- A learning rate of its own for learnable levels: qact's `level_lr`
-- multiplier and the optimizers' per-parameter lr_mult behind it. The
-- expected values are worked out by hand below.
local t = require "lpact.tap"
local ag = require "lpact.autograd"
local optim = require "lpact.optim"
local qact = lpact.qact

local function near_all(got, want, tol, name)
  local ok = #got == #want
  for i = 1, #want do ok = ok and math.abs(got[i] - want[i]) <= tol * math.max(1, math.abs(want[i])) end
  t.ok(ok, name .. (ok and "" or string.format(" (got %s, want %s)", table.concat(got, ", "), table.concat(want, ", "))))
end

-- Optimizers: a parameter steps with lr * its multiplier.
local function P(vals, grad) return { data = lpact.tensor(vals), grad = lpact.tensor(grad) } end

-- SGD lr 0.1: a Var with lr_mult 10 steps with 1.0, one without with 0.1.
local a, b = P({ 1, -2 }, { 0.5, 0.25 }), P({ 1, -2 }, { 0.5, 0.25 })
a.lr_mult = 10
optim.SGD({ a, b }, { lr = 0.1 }):step()
near_all(a.data:totable(), { 0.5, -2.25 }, 1e-6, "SGD: Var lr_mult 10 -> p - 1.0 g")
near_all(b.data:totable(), { 0.95, -2.025 }, 1e-6, "SGD: no lr_mult -> p - 0.1 g")

-- Adam's first step moves each entry by lr * mult * g / (|g| + eps).
a = P({ 1, -2, 3 }, { 0.5, -0.25, 0 })
a.lr_mult = 10
optim.Adam({ a }, { lr = 1e-3 }):step()
near_all(a.data:totable(), { 0.99, -1.99, 3 }, 1e-6, "Adam: first step of lr 1e-3 x 10 = 0.01 per entry")

-- A list entry's lr_mult wins over the Var's; 0 keeps the parameter still.
a = P({ 1 }, { 0.5 })
a.lr_mult = 10
optim.SGD({ { name = "x", var = a, lr_mult = 0 } }, { lr = 0.1 }):step()
t.is(a.data:get(1), 1, "list entry lr_mult 0 overrides the Var's 10")
a = P({ 1 }, { 0.5 })
a.lr_mult = -1
t.raises(function() optim.SGD({ a }, { lr = 0.1 }):step() end, "lr_mult %-1", "a negative lr_mult is refused")

-- qact: level_lr sets the levels' multiplier; the default leaves it alone.
t.is(qact.layer { "relu", fmt = "fp2", levels = "learnable" }._lv.lr_mult, nil, "no level_lr: no multiplier")
t.is(qact.layer { "relu", fmt = "fp2", levels = "learnable", level_lr = 10 }._lv.lr_mult, 10, "level_lr = 10")
t.raises(function() qact { "relu", fmt = "fp4", levels = "learnable", level_lr = -1 } end,
  "qact{relu.*option 'level_lr'", "negative level_lr is refused when the factory is made")
t.raises(function() qact { "relu", fmt = "fp4", levels = "learnable", level_lr = "fast" } end,
  "option 'level_lr'", "non-numeric level_lr is refused")

-- One SGD step (lr 0.1, level_lr 10) through an FP4 relu in emulate mode.
-- Inputs and their output codes: .9 -> 1 (code 2), 1.9 -> 2 (code 4),
-- 1.1 -> 1 (code 2), -.5 -> -0 (code 8), 5.5 -> 6 (code 7), 1.4 -> 1.5
-- (code 3), .2 -> 0 (code 0). With loss = sum(w * y) the level gradients
-- are the sums of w per code: code 0: 4, 2: .5 + .25 = .75, 3: .125,
-- 4: 1, 7: 2, 8: -1. The levels then move by 1.0 * gradient, the input
-- (a parameter too) by 0.1 * relu'(x) * w.
local L = qact.layer { "relu", fmt = "fp4", levels = "learnable", level_lr = 10 }
local x = ag.param(lpact.tensor { 0.9, 1.9, 1.1, -0.5, 5.5, 1.4, 0.2 })
local w = lpact.tensor { 0.5, 1, 0.25, -1, 2, 0.125, 4 }
local opt = optim.SGD({ { name = "x", var = x }, { name = "levels", var = L._lv } }, { lr = 0.1 })
local before = L:levels()
ag.sum(ag.mul(L:forward(x), w)):backward()
opt:step()
local want = {}
for k = 1, 16 do want[k] = before[k] end
want[1], want[3], want[4], want[5], want[8], want[9] = 0 - 4, 1 - 0.75, 1.5 - 0.125, 2 - 1, 6 - 2, 0 + 1
near_all(L:levels(), want, 1e-6, "levels step with lr x level_lr (1.0 x their gradient sums)")
near_all(x.data:totable(), { 0.85, 1.8, 1.075, -0.5, 5.3, 1.3875, -0.2 }, 1e-6,
  "the input steps with the plain lr 0.1")

-- Through a model and train.fit's default Adam: every site's levels carry it.
local m = lpact.models.mlp { 8, 6, 3, act = qact { "relu", fmt = "fp2", levels = "learnable", level_lr = 5 }, seed = 1 }
local n = 0
for _, p in ipairs(m:parameters()) do if p.var.lr_mult == 5 then n = n + 1 end end
t.is(n, #qact.layers(m), "each quantized site's levels have lr_mult 5, nothing else")
local ls = qact.layers(m)[1]
local lv0 = ls:levels()
local xb = lpact.tensor { { 1, -1, 0.5, 2, -0.5, 0.25, 1.5, -2 }, { -1, 1, 0.5, -2, 0.5, -0.25, 1, 2 } }
opt = optim.Adam(m:parameters(), { lr = 1e-3 })
local W0 = m:parameters()[1].var.data:clone()
ag.sum(m:forward(xb)):backward()
local g = ls._lv.grad:totable()
opt:step()
-- Adam's first step: each level with a nonzero gradient moves by 1e-3 * 5, a weight by 1e-3
local lv1, okl = ls:levels(), true
for k = 1, #lv0 do
  local d = math.abs(lv1[k] - lv0[k])
  local e = (g[k] ~= 0) and 5e-3 or 0
  if math.abs(d - e) > 1e-6 then okl = false; t.diag(string.format("level %d moved %g, want %g", k, d, e)) end
end
t.ok(okl, "Adam moves the levels by lr x level_lr on the first step")
local W1 = m:parameters()[1].var.data
t.ok(math.abs((W1 - W0):abs():max() - 1e-3) < 1e-6, "... and the weights by lr")

-- level_init = "centroid": the first training batch sets each level to
-- the mean of f(x) over the elements that use it. FP2 (e1m0) relu: x < 0
-- -> -0 (code 2), 0 <= x < 1 -> +0 (code 0; 1 ties to even 0), x >= 1 -> 2
-- (code 1); code 3 (-2) is unused. Batch: -0.5, -3 | 0.2, 0.6, 0.9, 1 | 1.5, 2.5.
local xs = lpact.tensor { -0.5, 0.2, 0.6, 1.5, 2.5, -3, 0.9, 1 }
local C = qact.layer { "relu", fmt = "fp2", levels = "learnable", level_init = "centroid" }
C:eval(); C:forward(xs)
t.same(C:levels(), { 0, 2, 0, -2 }, "centroid: an eval pass leaves the format's values")
C:train(); C:forward(xs)
near_all(C:levels(), { 2.7 / 4, 2, 0, -2 }, 1e-6, "centroid: +0 -> mean(.2,.6,.9,1), 2 -> mean(1.5,2.5), -0 -> 0, -2 unused")
C._lv.data:set(2, 5)
C:forward(xs)
t.is(C:levels()[2], 5, "centroid: only the first training batch")
local C2 = qact.layer { "relu", fmt = "fp2", levels = "learnable", level_init = "centroid" }
C2._lv.data:set(2, 3)   -- as a checkpoint's levels would be
C2:train(); C2:forward(xs)
t.same(C2:levels(), { 0, 3, 0, -2 }, "centroid: levels not at the format's values (loaded) are kept")
-- with a fixed output scale s_o = 0.5 the levels are in units of s_o: 2 -> mean(f)/s_o
local Cs = qact.layer { "relu", fmt = "fp2", levels = "learnable", level_init = "centroid", scale = { fixed = 1, out = 0.5 } }
Cs:train(); Cs:forward(lpact.tensor { 0.2, 0.3, 1.5, 2.5 })
-- f/s_o: .4, .6 -> Q = 0 (code 0); 3, 5 -> 2 (code 1)
near_all(Cs:levels(), { 0.5, 4, 0, -2 }, 1e-6, "centroid with s_o = 1/2: levels are mean(f) / s_o")
-- lut: by input code; -3 -> code 3 (-2), -0.5 -> -0 (code 2): relu gives 0 for both
local CL = qact.layer { "relu", fmt = "fp2", mode = "lut", levels = "learnable", level_init = "centroid" }
CL:train(); CL:forward(xs)
near_all(CL:levels(), { 2.7 / 4, 2, 0, 0 }, 1e-6, "centroid in lut mode: by input code")
t.raises(function() qact { "relu", fmt = "fp2", level_init = "centroid" } end,
  "option 'level_init': centroid initialisation needs levels = 'learnable'", "centroid needs learnable levels")
t.raises(function() qact { "relu", fmt = "fp2", levels = "learnable", level_init = "kmeans" } end,
  "option 'level_init'", "unknown level_init")
t.raises(function() qact { "relu", fmt = "fp2", levels = "learnable", level_init = "centroid", scale = "amax" } end,
  "option 'level_init': centroid initialisation needs scale none or fixed", "centroid with a dynamic scale")

-- qact.experiment's level_warmup = 1: the levels keep the format's values
-- through epoch 1 and move in epoch 2 (200 synthetic images, 2 epochs).
local d = lpact.data.builtin { limit = 200 }
local seen = {}
local r = qact.experiment { act = "relu", fmt = "fp2", qact = { levels = "learnable" }, data = d, epochs = 2,
  batch = 50, level_warmup = 1,
  on_epoch = function(info) seen[info.epoch] = qact.layers(info.model)[1]:levels() end }
t.same(seen[1], { 0, 2, 0, -2 }, "level_warmup 1: levels unchanged after epoch 1")
local moved = false
for k, v in ipairs(seen[2]) do if v ~= seen[1][k] then moved = true end end
t.ok(moved, "... and learned in epoch 2")
t.is(r.cfg.modes.level_warmup, 1, "the record's modes name the warm-up")
t.raises(function() qact.experiment { act = "relu", fmt = "fp2", data = d, level_warmup = -1 } end,
  "level_warmup", "a negative warm-up is refused")
t.raises(function() qact.experiment { act = "relu", fmt = "fp2", data = d, epoch = 5 } end,
  "^qact.experiment: unknown option 'epoch' %(did you mean 'epochs'%?%)$", "a misspelt experiment option is refused")
t.raises(function() qact.experiment "relu" end, "qact.experiment: an options table expected", "experiment without a table")

t.done()
