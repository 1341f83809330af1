-- Quantized activations in models: the model zoo's act argument, swapping
-- every activation, training moves learnable levels; scale rules (amax,
-- per-channel, MX blocks) worked by hand; telemetry on a hand-made input;
-- the capture hook and the error analysis.
local t = require "lpact.tap"
local qact = lpact.qact
local ag = lpact.autograd

local function vals(v) return (v.data or v):totable() end
local function near_list(got, want, tol, name)
  local ok = #got == #want
  for i = 1, #want do if not got[i] or math.abs(got[i] - want[i]) > tol then ok = false end end
  if not ok then t.diag("got " .. table.concat(got, " ") .. " want " .. table.concat(want, " ")) end
  return t.ok(ok, name)
end

-- the model zoo takes the factory; each site gets its own layer
local m = lpact.models.mlp { 784, 32, 16, 10, act = qact { "relu", fmt = "fp4", levels = "learnable" } }
local ls = qact.layers(m)
t.is(#ls, 2, "mlp: two quantized activation sites")
t.ok(ls[1]._lv ~= ls[2]._lv, "each site has its own levels")
t.like(tostring(m), "qact relu fp4 emulate levels=learnable", "the model prints its activation formats")
local c = lpact.models.cnn_small { act = qact { "relu", fmt = "fp4", mode = "lut", levels = "learnable" } }
local x = lpact.rand({ 2, 1, 28, 28 }, 1)
local out = c:forward(x)
t.same(out.data:shape(), { 2, 10 }, "cnn_small with fp4 lut activations runs")
ag.sum(out):backward()
local all = true
for _, l in ipairs(qact.layers(c)) do
  if not l._lv.grad or l._lv.grad:abs():sum() == 0 then all = false end
end
t.ok(all, "every cnn_small activation's table gets a gradient")

-- swapping the activations of an existing model
local m2 = lpact.models.mlp { 8, 6, 4, 2, act = "tanh" }
t.is(qact.swap(m2, { fmt = "fp3", levels = "learnable" }), 2, "qact.swap replaces both sites")
t.like(qact.summary(m2), "qact tanh fp3 emulate", "swapped sites keep their function")
-- per site: the second activation of a three-site MLP only, then the first
-- by a predicate; a bad option changes nothing
local m4 = lpact.models.mlp { 8, 6, 6, 6, 2, act = "relu" }
t.is(qact.swap(m4, { fmt = "fp2", levels = "learnable" }, { 2 }), 1, "qact.swap with sites {2}: one site")
local kinds = {}
for _, c in ipairs(m4._children) do
  if lpact.nn.is_activation(c.module) then kinds[#kinds + 1] = getmetatable(c.module) == qact.QAct and c.module.in_spec or "fp32" end
end
t.is(table.concat(kinds, " "), "fp32 fp2 fp32", "only the second site is quantized")
t.is(qact.swap(m4, { fmt = "fp8" }, function(i, layer) return i == 1 end), 1, "a predicate picks site 1")
t.like(qact.summary(m4), "fp8", "site 1 is fp8 now")
t.raises(function() qact.swap(m4, { fmt = "fp9" }, { 3 }) end, "option 'fmt': fp9", "a bad option is refused")
t.is(#qact.layers(m4), 2, "and the model is as it was (two quantized sites)")
t.raises(function() qact.swap(m4, { fmt = "fp4" }, { 0 }) end, "site numbers %(1, 2, ...%), got 0", "site 0 is refused")
t.raises(function() qact.swap(m4, { fmt = "fp4" }, "all") end, "a list of site numbers or a function", "a string is refused")
local m3 = lpact.models.mlp { 8, 6, 2, act = "relu" }
t.is(lpact.nn.swap_activations(m3, qact { "gelu", fmt = "fp6" }), 1, "nn.swap_activations takes a qact factory")
t.like(qact.summary(m3), "qact gelu fp6", "summary")

-- training moves learnable levels (a few batches of the synthetic set)
local d = lpact.data.builtin { limit = 256 }
local mt = lpact.models.mlp { 784, 32, 10, act = qact { "relu", fmt = "fp4", levels = "learnable" } }
lpact.train.fit { model = mt, data = d, epochs = 1, batch = 64, verbose = false, eval = false }
local lt = qact.layers(mt)[1]
local moved = false
for i, v in ipairs(lt:levels()) do
  local o = lt.original:totable()[i]
  if v == v and v ~= o then moved = true end
end
t.ok(moved, "training changed the learnable levels")

-- a precision schedule inside train.fit: the level count changes between
-- epochs (256 -> 16) and Adam's moments for the levels restart
local ms = lpact.models.mlp { 784, 16, 10, act = qact { "relu", fmt = "fp8", levels = "learnable" } }
local hook = qact.scheduler(ms, { precision = qact.schedule { { 1, "fp8" }, { 2, "fp4" } } })
t.lives(function()
  lpact.train.fit { model = ms, data = d, epochs = 2, batch = 64, verbose = false, eval = false, on_epoch = hook }
end, "train.fit with a precision schedule fp8 -> fp4")
t.is(#qact.layers(ms)[1]:levels(), 16, "after the schedule: 16 levels")

-- a precision schedule by step: fp8 for steps 1-2, fp4 for step 3, fp2
-- from step 4; the callback records the level count after each step
local mstep = lpact.models.mlp { 784, 16, 10, act = qact { "relu", fmt = "fp8", levels = "learnable" } }
local seen = {}
local sh = qact.scheduler(mstep, { by = "step", precision = qact.schedule { { 1, "fp8" }, { 3, "fp4" }, { 4, "fp2" } },
  chain = function(info) seen[info.step] = #qact.layers(mstep)[1]:levels() end })
lpact.train.fit { model = mstep, data = d, epochs = 1, batch = 64, max_batches = 4, verbose = false, eval = false,
  on_batch = sh }
-- seen[s] is read after step s's update and after the scheduler set step s+1's format
t.is(table.concat(seen, " "), "256 16 4 4",
  "by step: after step 1 still fp8 (256 levels), after step 2 fp4 is set for step 3 (16), then fp2 (4)")
t.raises(function() qact.scheduler(mstep, { by = "batch" }) end, "option 'by': expected epoch or step, got batch",
  "an unknown schedule unit is refused")
local rstep = qact.experiment { act = "relu", fmt = "fp8", model = function(act) return lpact.models.mlp { 784, 8, 10, act = act } end,
  data = d, epochs = 1, max_batches = 3,
  scheduler = function(m) return { on_batch = qact.scheduler(m, { by = "step", precision = qact.schedule { { 1, "fp8" }, { 2, "fp2" } } }) } end }
t.is(#qact.layers(rstep.model)[1].info.in_values, 4, "experiment: a step schedule through {on_batch = ...} (fp2 after step 1)")

-- per-tensor amax: s_i = amax / 6 = 0.05 for relu fp4, s_o = max relu / 6 = 0.05
local A = qact.layer { "relu", fmt = "fp4", scale = "amax" }
near_list(vals(A:forward(lpact.tensor { 0.1, 0.2, 0.3, 0.26 })), { 0.1, 0.2, 0.3, 0.3 }, 1e-6,
  "amax scale: x / 0.05 = 2 4 6 5.2 -> 2 4 6 6 (5.2 rounds up) -> times 0.05")
local Ai = qact.layer { "relu", fmt = "fp4", scale = "amax", scale_at = "in" }
t.same(vals(Ai:forward(lpact.tensor { 0.1, 0.2, 0.3, 0.26 })), { 0, 0, 0.5, 0.5 },
  "input-side amax only: the output is rounded on the unscaled fp4 grid")
local A2 = qact.layer { "sigmoid", fmt = "fp2", scale = "amax", scale_at = "out" }
local ya = vals(A2:forward(lpact.tensor { -4, 4 }))
-- s_o = max sigmoid over [-4, 4] / 2 = 0.982 / 2; sigmoid(Q(-4) = -2) = .119 / .491 -> 0;
-- sigmoid(Q(4) = 2) = .881 / .491 = 1.79 -> 2 -> 0.982
t.ok(ya[1] == 0 and math.abs(ya[2] - 1 / (1 + math.exp(-4))) < 1e-6, "amax output scale rescues sigmoid in fp2")
-- delayed amax: the first batch uses init, then the max of the history
local D = qact.layer { "identity", fmt = "fp4", scale = { "amax", history = 2, init = 6 } }
t.same(vals(D:forward(lpact.tensor { 0.8 })), { 1 }, "delayed amax: first batch at init 6 (scale 1): .8 -> 1")
t.same(vals(D:forward(lpact.tensor { 12 })), { 6 }, "second batch: max(init 6, history .8): scale 1, 12 -> 6")
t.same(vals(D:forward(lpact.tensor { 0.8 })), { 1 }, "third batch: history max 12: scale 2: .8/2 = .4 -> .5, times 2 = 1")

-- per-channel amax along axis 2
local C = qact.layer { "identity", fmt = "fp4", scale = "channel" }
near_list(vals(C:forward(lpact.tensor { { 1, 10 }, { 0.5, -20 } }))[1], { 1, 10 }, 1e-5, "per-channel: row 1")
near_list(vals(C:forward(lpact.tensor { { 1, 10 }, { 0.5, -20 } }))[2], { 0.5, -20 }, 1e-5, "per-channel: row 2 (x/s = 3, -6)")

-- MX blocks of 4 along axis 2 (fp4: emax_elem = 2)
local MX = qact.layer { "identity", fmt = "fp4", scale = { "mx", block = 4, axis = 2 } }
local xm = lpact.tensor { { 8, 3.1, -0.6, 5.1, 0, 0, 0, 0 }, { 0.5, 0.25, 0.125, 1, 100, 1, 2, 3 } }
local ym = vals(MX:forward(xm))
near_list(ym[1], { 8, 3, -1, 6, 0, 0, 0, 0 }, 0, "MX floor: amax 8 -> X 2; a zero block stays zero")
near_list(ym[2], { 0.5, 0.25, 0.125, 1, 96, 0, 0, 0 }, 0,
  "MX floor: amax 1 (a power of two) -> X 1/4; amax 100 -> X 16: 6.25 -> 6, small ones -> 0")
local MXc = qact.layer { "identity", fmt = "fp4", scale = { "mx", block = 4, axis = 2, rule = "ceil" } }
near_list(vals(MXc:forward(xm))[2], { 0.5, 0.25, 0.125, 1, 96, 0, 0, 0 }, 0, "MX ceil: amax 100 -> X 32 (100/32 -> 3)")
t.is(lpact.qcore.mx_scale(7, 6, "ceil"), 2, "qcore.mx_scale ceil")

-- PACT: a learnable clipping level alpha = 3 (s = alpha / 6 = 0.5), STE clipped
local P = qact.layer { "relu", fmt = "fp4", scale = { "pact", init = 3 } }
local xp = ag.param(lpact.tensor { 0.2, 1.1, 2.9, 3.5, 7 })
local yp = P:forward(xp)
t.same(vals(yp), { 0.25, 1, 3, 3, 3 }, "PACT alpha 3: x / 0.5 = .4 2.2 5.8 7 14 -> .5 2 6 6 6, times 0.5")
ag.sum(yp):backward()
t.same(vals(P.clip.grad), { 2 }, "PACT: d/dalpha = number of x >= alpha")
t.same(vals(xp.grad), { 1, 1, 1, 0, 0 }, "PACT: x gradient clipped at alpha")
-- LSQ: a learnable step s = 1: dy/ds = Q(z/s) - z/s inside the range, Q outside;
-- 0.2 1.1 2.9 7 -> (0 - .2) + (1 - 1.1) + (3 - 2.9) + 6 = 5.8, times 1/sqrt(4 * 6)
local Q = qact.layer { "relu", fmt = "fp4", scale = { "lsq", init = 1 } }
local yq = Q:forward(ag.param(lpact.tensor { 0.2, 1.1, 2.9, 7 }))
ag.sum(yq):backward()
t.near(Q.step.grad:get(1), 5.8 / math.sqrt(24), 1e-6, "LSQ step gradient by hand")
local Q2 = qact.layer { "relu", fmt = "fp4", scale = "lsq" }
Q2:forward(lpact.tensor { 1, 3 })
t.near(Q2.step.data:get(1), 2 * 2 / math.sqrt(6), 1e-6, "LSQ initial step from the first batch: 2 mean|x| / sqrt(6)")

-- telemetry on a hand-made input (fp4: min positive 0.5, max 6)
local T = qact.layer { "relu", fmt = "fp4", telemetry = true }
T:forward(lpact.tensor { 0, 0.1, 7, -100, 0 / 0, 1, 0.3, -0.2 })
local tm = T:telemetry()
t.is(tm.saturations, 2, "telemetry: 7 and -100 saturate")
t.is(tm.underflows, 2, "telemetry: 0.1 and -0.2 underflow to zero")
t.is(tm.nans, 1, "telemetry: one NaN")
t.is(tm.elements, 8, "telemetry: 8 elements")
local u = tm.usage_codes
t.ok(u[1] == 2 and u[9] == 1 and u[8] == 1 and u[16] == 1 and u[17] == 1 and u[3] == 1 and u[2] == 1,
  "code usage: +0 x2, -0, 6, -6, NaN, 1, 0.5")
T:forward(lpact.tensor { 7 })
t.is(T:telemetry().saturations, 3, "telemetry accumulates over passes")
T:reset_telemetry()
t.is(T:telemetry().elements, 0, "reset_telemetry")

-- the capture hook and the error analysis
local cap = qact.layer { "relu", fmt = "fp4" }
local got = cap:capture()
cap:forward(lpact.tensor { 1, 2, 5 })
t.same(vals(got()), { 1, 2, 5 }, "capture returns the next input")
local e = qact.errors("relu", { fmt = "fp4" }, 0, 6, 1200)
t.is(e.max, 1, "errors: relu fp4 over [0, 6]: max error 1 (5 rounds to 4)")
t.ok(e.rms > 0 and e.rms < e.max and e.mean < e.rms, "errors: mean < rms < max")
local cnt = 0
for _, k in ipairs(e.hist.counts) do cnt = cnt + k end
t.is(cnt, 1201, "errors: the histogram counts every point")
local e2 = qact.errors("relu", { fmt = "fp4" }, got())
t.is(e2.max, 1, "errors over captured activations: 5 -> 4")
t.done()
