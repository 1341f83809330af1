-- scripts/demo.lua — the study's headline slice (`make demo`): the MLP
-- 784-256-128-10 on Fashion-MNIST with relu, gelu, sigmoid and tanh
-- computed in FP32, FP8, FP4, FP3 and FP2 (learnable levels, emulate
-- mode, STE f'), 2 epochs each, Adam 1e-3, batch 128, seed 1; ends with
-- the accuracy table and the change from FP32. While each configuration
-- trains, a live line shows its epoch, batch and loss (plain lines per
-- epoch when stdout is not a terminal).
--
--   lpact scripts/demo.lua [--epochs N] [--limit N] [--out DIR]
--                          [--act relu,gelu] [--format fp32,fp4] [--levels fixed]
--                          [--ste clipped]
--
-- --ste picks the STE rule (fprime, identity, clipped, staircase; the
-- study's is fprime): `--ste clipped` shows what it changes at FP3 and FP2.
--
-- Without the data set it says how to get it and runs on data.builtin()
-- (a synthetic stand-in), saying so. Result records (one JSON per
-- configuration) go to results/demo (or --out).

local qact = lpact.qact

local cli = require "lpact.cli"
local p = cli.parser("lpact scripts/demo.lua",
  "The study's headline slice: the MLP 784-256-128-10 on Fashion-MNIST, each activation in each format.",
  "Lists are comma-separated. Options take --name value or --name=value; --acts and --formats are " ..
  "the older spellings of --act and --format.", { acts = "act", formats = "format" })
p:option("--epochs", "training epochs"):argname("N"):default("2"):convert(cli.int(1))
p:option("--limit", "use only the first N training and test images"):argname("N"):convert(cli.int(1))
p:option("--out", "the folder of the result records"):argname("DIR"):default("results/demo")
p:option("--act", "activations"):argname("LIST"):default("relu,gelu,sigmoid,tanh"):convert(cli.list())
p:option("--format", "formats (fp32 is the baseline)"):argname("LIST"):default("fp32,fp8,fp4,fp3,fp2")
  :convert(cli.list())
p:option("--levels", "the quantized activations' levels"):argname("RULE"):default("learnable")
  :convert(cli.choice { "fixed", "learnable" })
p:option("--ste", "the straight-through rule"):argname("RULE"):default("fprime")
  :convert(cli.choice(require("lpact.qact.options").STES))
local o = cli.parse(p, arg)
o.acts, o.formats = o.act, o.format

-- Every layer is built once before any training, so that a bad activation
-- or format fails now and not after minutes of work.
do
  local nn = require "lpact.nn"
  for _, act in ipairs(o.acts) do
    for _, fmt in ipairs(o.formats) do
      if fmt == "fp32" then nn.act(act) else qact { act, fmt = fmt, levels = o.levels, ste = o.ste } end
    end
  end
end

-- The data: the real set, or the synthetic stand-in with a clear note.
local data
local dir = os.getenv("LPACT_DATA") or "/usr/share/datasets/fashion-mnist"
local ok, res = pcall(lpact.data.fashion_mnist, { limit = o.limit })
if ok then
  data = res
  print(string.format("Fashion-MNIST from %s: %d training and %d test images", dir,
    data.train.x:size(1), data.test.x:size(1)))
else
  print("Fashion-MNIST was not found (" .. tostring(res) .. ").")
  print("To get it: apt-get install dataset-fashion-mnist (files in /usr/share/datasets/fashion-mnist)")
  print("Running on the built-in SYNTHETIC stand-in (data.builtin()) instead: the numbers below are not the study's.")
  data = lpact.data.builtin { limit = o.limit }
end

print(string.format("mlp 784-256-128-10, Adam lr 1e-3, batch 128, %d epoch%s, seed 1, levels %s, emulate, STE %s",
  o.epochs, o.epochs == 1 and "" or "s", o.levels, o.ste == "fprime" and "f'" or o.ste))
print()

-- Progress while a configuration trains: on a terminal a live line (as
-- train.fit draws its own), redrawn at most ten times a second; otherwise
-- a plain line at the end of each epoch. The loss is the epoch's running mean.
local live = lpact.engine.isatty(1)
local function progress(act, fmt)
  local last, sum, n, epoch = -1, 0, 0, 0
  return function(info)
    if info.epoch ~= epoch then epoch, sum, n = info.epoch, 0, 0 end
    sum, n = sum + info.loss, n + 1
    local head = string.format("  %-8s %-5s  epoch %d/%d", act, fmt, info.epoch, o.epochs)
    if live then
      local now = lpact.wallclock()
      if now - last >= 0.1 or info.batch == info.batches then
        last = now
        io.stdout:write(string.format("\r%s  batch %d/%d  loss %.4f\27[K", head, info.batch, info.batches, sum / n))
        io.stdout:flush()
      end
    elseif info.batch == info.batches then
      print(string.format("%s  loss %.4f", head, sum / n))
      io.stdout:flush()
    end
  end
end

-- Each configuration's record is named and keyed as scripts/paper.lua
-- names and keys it (lpact.study): the same configuration has one id, and
-- paper.lua with these settings on this folder finds it done.
local study, sweep = require "lpact.study", lpact.sweep
local S = { epochs = o.epochs, batch = 128, lr = 1e-3,
  data_id = sweep.data_identity(data, { limit = o.limit or false, normalize = false, split = "train/test" }) }
local function config(act, fmt)
  return { model = "mlp", act = act, fmt = fmt, levels = fmt == "fp32" and "fixed" or o.levels,
    ste = fmt ~= "fp32" and o.ste or nil, seed = 1 }
end

local results = lpact.results
local run = results.open(o.out, { name = "demo" })
local acc, t_all = {}, lpact.wallclock()
for _, act in ipairs(o.acts) do
  acc[act] = {}
  for _, fmt in ipairs(o.formats) do
    local rec = qact.experiment {
      act = act, fmt = fmt, model = "mlp", data = data, epochs = o.epochs, batch = 128, lr = 1e-3, seed = 1,
      qact = study.qopts(config(act, fmt), S), on_batch = progress(act, fmt),
    }
    if live then io.stdout:write("\r\27[K") end
    run:add(rec.cfg, rec.history, study.cell(config(act, fmt), S))
    if rec.history.interrupted then
      -- Ctrl-C: no table of half-trained numbers; what finished is on disk.
      run:finish("interrupted")
      io.stderr:write(string.format("demo.lua: interrupted during %s %s; the records so far are in %s\n", act, fmt, o.out))
      os.exit(130)
    end
    acc[act][fmt] = rec.test_acc
    print(string.format("  %-8s %-5s  test %6.2f%%   (%.1f s)", act, fmt, 100 * rec.test_acc, rec.seconds))
    io.stdout:flush()
  end
end

-- The table: rows activations, columns formats, then the change from FP32
-- (the format's accuracy minus FP32's: negative for a loss).
local function row(cells)
  return "| " .. table.concat(cells, " | ") .. " |"
end
print()
print(string.format("Test accuracy (%%) after %d epoch%s on %s%s:", o.epochs, o.epochs == 1 and "" or "s", data.name,
  data.synthetic and " (SYNTHETIC stand-in)" or ""))
print()
local head, sep = { "activation" }, { "---" }
for _, f in ipairs(o.formats) do head[#head + 1], sep[#sep + 1] = f:upper(), "---:" end
print(row(head))
print(row(sep))
for _, a in ipairs(o.acts) do
  local c = { a }
  for _, f in ipairs(o.formats) do c[#c + 1] = string.format("%.2f", 100 * acc[a][f]) end
  print(row(c))
end
if acc[o.acts[1]]["fp32"] then
  print()
  print("Change from FP32 (points; negative: the format loses accuracy):")
  print()
  local h2, s2 = { "activation" }, { "---" }
  for _, f in ipairs(o.formats) do
    if f ~= "fp32" then h2[#h2 + 1], s2[#s2 + 1] = f:upper(), "---:" end
  end
  print(row(h2))
  print(row(s2))
  for _, a in ipairs(o.acts) do
    local c = { a }
    for _, f in ipairs(o.formats) do
      if f ~= "fp32" then c[#c + 1] = string.format("%+.2f", 100 * (acc[a][f] - acc[a]["fp32"])) end
    end
    print(row(c))
  end
end
-- Why tanh survives FP2 here and not in example 08: the levels.
if o.levels == "learnable" and acc.tanh and acc.tanh.fp2 and acc.tanh.fp32 and acc.tanh.fp2 >= acc.tanh.fp32 / 2 then
  print()
  print(string.format("tanh kept %.2f%% at FP2 with learnable levels: its outputs round to +0 or -0 by their sign, two codes whose",
    100 * acc.tanh.fp2))
  print("levels learn apart into a sign function. With --levels fixed both codes are the value 0 and tanh")
  print("falls to chance, as examples/08-relu-fp2.lua shows; sigmoid's FP2 outputs are all +0, one code,")
  print("so learnable levels cannot save it (docs/teaching.md, \"Fixed and learnable levels: one story\").")
end
run:finish()
print()
print(string.format("%d trainings in %.0f s; records in %s (lpact report %s)",
  #o.acts * #o.formats, lpact.wallclock() - t_all, o.out, o.out))
