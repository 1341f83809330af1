-- The error of trained quantized layers against f: layer:errors(x) on a
-- hand-made input, qact.act_errors over a model, the act_errors field of
-- an experiment's record, and the report's RMS table, runs.csv column and
-- error-histogram figure.
local t = require "lpact.tap"
local qact = lpact.qact
local B = os.getenv("LPACT_BUILD") or "build"

-- relu at FP2 (values ±{0, 2}, ties to even): -1 -> -0 (tie, even code),
-- 0.5 -> 0, 1.5 -> 2, 3 -> 2 (saturates). Errors against relu in float64:
-- 0, -0.5, +0.5, -1.
local l = qact.layer { "relu", fmt = "fp2" }
local e = l:errors(lpact.tensor { -1, 0.5, 1.5, 3 })
t.is(e.n, 4, "four elements")
t.is(e.max, 1.0, "max |error| = 1 (3 saturates at 2)")
t.is(e.mean, 0.5, "mean |error| = (0 + 0.5 + 0.5 + 1) / 4")
t.near(e.rms, math.sqrt(0.375), 1e-15, "rms = sqrt((0 + 0.25 + 0.25 + 1) / 4)")
t.near(e.rel_mean, (1 + 1 / 3 + 1 / 3) / 3, 1e-15, "relative error over the nonzero f: 0.5/0.5, 0.5/1.5, 1/3")
t.is(e.rel_max, 1.0, "largest relative error 1")
-- 32 bins over [-1, 0.5]: -1 -> bin 1, -0.5 -> 11, 0 -> 22, 0.5 -> 32 (the last edge)
t.is(#e.hist.edges, 33, "33 edges")
t.is(e.hist.edges[1], -1.0, "the first edge is the smallest error")
t.is(e.hist.edges[33], 0.5, "the last edge is the largest error")
local want = {}
for b = 1, 32 do want[b] = 0 end
want[1], want[11], want[22], want[32] = 1, 1, 1, 1
t.same(e.hist.counts, want, "one count in bins 1, 11, 22 and 32")

-- The layer as it stands: its own levels, not the format's. Level of the
-- code of 2 set to 2.5: 1.5 -> 2.5 (error +1) instead of 2 (+0.5).
local custom = qact.layer { "relu", fmt = "fp2", levels = { 0, 2.5, 0, -2 } }
t.is(custom:errors(lpact.tensor { 1.5 }).max, 1.0, "errors() uses the layer's own levels")
t.is(qact.errors("relu", { fmt = "fp2" }, lpact.tensor { 1.5 }).max, 0.5, "qact.errors uses the format's")

-- errors() leaves the layer's state alone
local lt = qact.layer { "relu", fmt = "fp4", telemetry = true }
local calls = 0
lt:on_input(function() calls = calls + 1 end)
lt:train()
lt:errors(lpact.tensor { 0.3, 7, -2 })
t.is(lt:telemetry().elements, 0, "no telemetry counted")
t.is(calls, 0, "the input hook is not called")
t.ok(lt.training, "the layer is still in training mode")
lt:forward(lpact.tensor { 1 })
t.is(calls, 1, "and the hook is still in place")
t.raises(function() l:errors({ 1, 2 }) end, "a tensor of activations expected", "errors() wants a tensor")
t.raises(function() qact.layer { "relu", fmt = "fp4", scale = "channel" }:errors(lpact.ones { 2, 3 }) end,
  "grouped scales", "grouped scales are refused with a reason")

-- qact.act_errors: every quantized layer of a model, on the activations
-- that a batch produces; inputs cut to at most 65536 elements.
local d = lpact.data.builtin { limit = 300 }
local x = d.test.x
local m = lpact.models.mlp { 784, 256, 128, 10, act = qact { "relu", fmt = "fp4", levels = "learnable" } }
m:train()
local errs = qact.act_errors(m, x)
t.is(#errs, 2, "one entry per quantized layer")
t.is(errs[1].n, 256 * 256, "layer 1: the first 256 samples x 256 units (65536 elements)")
t.is(errs[2].n, x:size(1) * 128, "layer 2: every sample x 128 units")
t.like(errs[1].describe, "^qact relu fp4 emulate levels=learnable", "each entry describes its layer")
t.is(errs[2].layer, 2, "and says which layer it is")
t.ok(errs[1].points == nil, "without the points")
t.ok(m.training, "the model is back in training mode")
-- the same numbers by hand: capture the first layer's input, then errors()
local layers = qact.layers(m)
local get = layers[1]:capture()
m:eval()
lpact.autograd.no_grad(function() return m:forward(x) end)
m:train()
local byhand = layers[1]:errors(get():narrow(1, 1, 256))
t.is(errs[1].rms, byhand.rms, "layer 1's rms equals errors() on its captured input")
t.is(errs[1].max, byhand.max, "and its max")
t.raises(function() qact.act_errors(m, x, 0) end, "max_elems must be a whole number >= 1", "a bad element cap")

-- An experiment's record carries them
local r = qact.experiment { act = "relu", fmt = "fp4", model = "mlp", data = d, epochs = 1, seed = 3,
  qact = { levels = "learnable" } }
local rec = lpact.results.record(r.cfg, r.history)
t.ok(type(rec.act_errors) == "table" and #rec.act_errors == 2, "the record has act_errors, one per layer")
t.ok(rec.act_errors[1].rms > 0 and rec.act_errors[1].rms <= rec.act_errors[1].max, "0 < rms <= max")
local base = qact.experiment { act = "relu", fmt = "fp32", model = "mlp", data = d, epochs = 1, seed = 3 }
t.ok(lpact.results.record(base.cfg, base.history).act_errors == nil, "an FP32 record has none")

-- The report: RMS table (mean over layers, then seeds), runs.csv column, figure
local dir = os.tmpname()
os.remove(dir)
local function rec_with(act, fmt, seed, acc, rms1, rms2)
  local x1 = lpact.results.record({ model = "mlp", dataset = "toy", activation = act, format = fmt, seed = seed,
    epochs = 1, modes = { mode = "emulate", levels = "learnable" },
    act_errors = rms1 and {
      { layer = 1, rms = rms1, max = 1, hist = { edges = { -1, 0, 1 }, counts = { 3, 5 } } },
      { layer = 2, rms = rms2, max = 1, hist = { edges = { -1, 0, 1 }, counts = { 1, 1 } } },
    } or nil }, { test_acc = acc })
  lpact.results.write(dir, x1)
end
rec_with("relu", "fp32", 1, 0.9)
rec_with("relu", "fp4", 1, 0.8, 0.1, 0.3)   -- record mean 0.2
rec_with("relu", "fp4", 2, 0.7, 0.3, 0.5)   -- record mean 0.4
rec_with("tanh", "fp4", 1, 0.6, 0.05, 0.15) -- record mean 0.1
local p = io.popen(B .. "/lpact report " .. dir .. " 2>&1; echo \"exit=$?\"")
local out = p:read("a")
p:close()
t.like(out, "exit=0\n$", "report exits 0")
t.like(out, "RMS error of the quantized activations against f in float64 on test inputs, mean over layers and seeds%.",
  "the report has an RMS table")
t.like(out, "\n| activation | fp4 |\n|---|---:|\n| relu | 0%.3 |\n| tanh | 0%.1 |\n",
  "relu: mean of 0.2 and 0.4; tanh: 0.1; no fp32 column")
local f = io.open(dir .. "/runs.csv")
local csv = f:read("a")
f:close()
t.like(csv, ",0%.2\n", "runs.csv: the record's mean over its layers (0.2)")
t.like(csv, ",0%.4\n", "and 0.4 for seed 2")
t.like(out, "figure: [^\n]*/err%-toy%-mlp%-levels%-learnable%-mode%-emulate%.png, %.svg, %.pdf\n", "an error-histogram figure")
local function exists(path) local h = io.open(path) if h then h:close() end return h ~= nil end
t.ok(exists(dir .. "/err-toy-mlp-levels-learnable-mode-emulate.png")
  and exists(dir .. "/err-toy-mlp-levels-learnable-mode-emulate.svg"), "written as PNG and SVG")
local ls = io.popen("ls " .. dir):read("a")
t.ok(not ls:find("tmp"), "no temporary files left")
os.execute("rm -rf '" .. dir .. "'")
t.done()
