-- scripts/train.lua — train a model of the zoo on Fashion-MNIST (or a
-- synthetic set) from the command line.
--
--   build/lpact scripts/train.lua --model mlp --epochs 5 --seed 1
--   build/lpact scripts/train.lua --model cnn_small --epochs 5 --act gelu --opt sgd --lr 0.05 --momentum 0.9
--
-- `lpact scripts/train.lua --help` lists the options (lpact.cli below).

local cli = require "lpact.cli"
local p = cli.parser("lpact scripts/train.lua",
  "Train a model of the zoo on Fashion-MNIST (or another data set) and print the test accuracy per epoch.",
  "Options take --name value or --name=value; '-' and '_' in names are alike. docs/training.md has more.")
p:option("--model", "the model"):argname("NAME"):default("mlp")
  :convert(cli.choice { "mlp", "cnn_small", "lenet5", "vgg_cifar", "resnet8", "resnet20" })
p:option("--act", "activation (relu, gelu, tanh, ...)"):argname("NAME"):default("relu")
p:option("--epochs", "training epochs"):argname("N"):default("5"):convert(cli.int(1))
p:option("--batch", "batch size"):argname("N"):default("128"):convert(cli.int(1))
p:option("--seed", "seed of the weights and the batch order"):argname("N"):default("1"):convert(cli.int(0))
p:option("--lr", "learning rate [1e-3 for Adam, 0.05 for SGD]"):argname("X"):convert(cli.number { above = 0 })
p:option("--opt", "optimizer"):argname("NAME"):default("adam"):convert(cli.choice { "adam", "adamw", "sgd" })
p:option("--momentum", "momentum of SGD [0.9]"):argname("X"):convert(cli.number { min = 0, below = 1 })
p:option("--wd", "weight decay [0]"):argname("X"):convert(cli.number { min = 0 })
p:option("--schedule", "learning-rate schedule"):argname("NAME"):default("none")
  :convert(cli.choice { "none", "cosine", "onecycle", "step" })
p:option("--clip", "clip the global gradient norm to X"):argname("X"):convert(cli.number { above = 0 })
p:option("--dataset", "data set"):argname("NAME"):default("fashion-mnist")
  :convert(cli.choice { "fashion-mnist", "mnist", "cifar10", "spirals", "blobs", "builtin" })
p:option("--data", "the data set's folder [$LPACT_DATA or /usr/share/datasets/fashion-mnist]"):argname("DIR")
p:option("--limit", "use only the first N training and test examples"):argname("N"):convert(cli.int(1))
p:option("--threads", "kernel threads [$LPACT_THREADS or all cores]"):argname("N"):convert(cli.int(1))
p:option("--json", "write the result as one JSON object (atomically)"):argname("FILE")
p:flag("--normalize", "standardise inputs per channel with the training set's mean and std")
p:option("--save", "write a checkpoint (model, optimizer, epoch) after every epoch"):argname("FILE")
p:option("--resume", "load a checkpoint and go on from the epoch after the saved one"):argname("FILE")
p:flag("--quiet", "no per-epoch lines")
local o = cli.parse(p, arg)
local usage = p:get_usage()
-- the activation is built once now: a bad name fails before the data is read
require("lpact.nn").act(o.act)

if o.threads then
  if lpact.set_threads then lpact.set_threads(o.threads)
  else io.stderr:write("lpact: --threads needs lpact.set_threads; set LPACT_THREADS instead\n") end
end

local data = lpact.data
local ds
if o.dataset == "fashion-mnist" then ds = data.fashion_mnist { dir = o.data, limit = o.limit }
elseif o.dataset == "mnist" then ds = data.mnist { dir = o.data, limit = o.limit }
elseif o.dataset == "cifar10" then ds = data.cifar10 { dir = o.data, limit = o.limit }
elseif o.dataset == "spirals" then ds = data.spirals { n = o.limit or 600, seed = o.seed }
elseif o.dataset == "blobs" then ds = data.blobs { n = o.limit or 600, seed = o.seed }
elseif o.dataset == "builtin" then ds = data.builtin { limit = o.limit, seed = o.seed }
else lpact.fail("unknown dataset '" .. o.dataset .. "'\n" .. usage) end

if o.normalize then data.normalize(ds) end

local shape = ds.train.x:shape()
local chans, size = shape[2], shape[3]
local models = lpact.models
local model
if o.model == "mlp" then
  local nin = 1
  for d = 2, #shape do nin = nin * shape[d] end
  local classes = ds.classes or 10
  if nin == 784 then model = models.mlp { 784, 256, 128, 10, act = o.act, seed = o.seed }
  else model = models.mlp { nin, 64, 64, classes, act = o.act, seed = o.seed } end
elseif o.model == "cnn_small" or o.model == "lenet5" or o.model == "vgg_cifar" then
  if #shape ~= 4 then lpact.fail(o.model .. " needs images (N, C, H, W); " .. o.dataset .. " has none") end
  model = models[o.model] { act = o.act, seed = o.seed, in_channels = chans, size = size, classes = ds.classes }
elseif o.model:match("^resnet%d+$") then
  if #shape ~= 4 then lpact.fail(o.model .. " needs images (N, C, H, W)") end
  model = models.resnet { depth = tonumber(o.model:match("%d+")), act = o.act, seed = o.seed,
    in_channels = chans, classes = ds.classes }
else
  lpact.fail("unknown model '" .. o.model .. "'\n" .. usage)
end

local optim = lpact.optim
local params = model:parameters()
local opt
if o.opt == "adam" then opt = optim.Adam(params, { lr = o.lr or 1e-3, weight_decay = o.wd })
elseif o.opt == "adamw" then opt = optim.AdamW(params, { lr = o.lr or 1e-3, weight_decay = o.wd })
elseif o.opt == "sgd" then
  opt = optim.SGD(params, { lr = o.lr or 0.05, momentum = o.momentum or 0.9, weight_decay = o.wd })
else lpact.fail("unknown optimizer '" .. o.opt .. "' (adam, adamw, sgd)") end

local S = lpact.schedule
local steps = data.nbatches(ds.train, o.batch) * o.epochs
local sched
if o.schedule == "cosine" then sched = S.cosine { lr = opt.lr, total = steps, per = "step" }
elseif o.schedule == "onecycle" then sched = S.onecycle { max = opt.lr, total = steps, per = "step" }
elseif o.schedule == "step" then sched = S.step { lr = opt.lr, every = math.max(1, o.epochs // 3), gamma = 0.1 }
elseif o.schedule ~= "none" then lpact.fail("unknown schedule '" .. o.schedule .. "'") end

if not o.quiet then
  print(string.format("%s on %s (%d training, %d test examples), %s, batch %d, seed %d",
    o.model, ds.name or o.dataset, ds.train.x:size(1), ds.test.x:size(1), tostring(opt), o.batch, o.seed)
    .. (o.normalize and ", inputs standardised" or ""))
  print(model)
end

-- The settings that change the numbers of a training, as options: a
-- checkpoint keeps them, and is resumed only under the same ones (the
-- epochs count only under a schedule, whose length they set).
local settings = { model = o.model, act = o.act, batch = o.batch, seed = o.seed, lr = opt.lr, opt = o.opt,
  momentum = o.opt == "sgd" and (o.momentum or 0.9) or nil, wd = o.wd or 0, schedule = o.schedule, clip = o.clip,
  dataset = o.dataset, limit = o.limit, normalize = o.normalize and true or false,
  epochs = o.schedule ~= "none" and o.epochs or nil }

local start, prior = 1, nil
if o.resume then
  local meta = lpact.checkpoint.load(o.resume, model, opt)
  -- (after the load, which names a model of another shape first)
  local saved = type(meta) == "table" and meta or {}
  local full = type(saved.settings) == "table"   -- older checkpoints kept the model and the seed only
  local was = full and saved.settings or { model = saved.model, seed = saved.seed }
  local keys, differ = {}, {}
  for k in pairs(settings) do keys[#keys + 1] = k end
  for k in pairs(was) do if settings[k] == nil then keys[#keys + 1] = k end end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local a, b = was[k], settings[k]
    if a == lpact.json.null then a = nil end
    local same = (type(a) == "number" and type(b) == "number") and a == b or tostring(a) == tostring(b)
    if (full or a ~= nil) and not same then
      differ[#differ + 1] = string.format("--%s %s (this run: %s)", k, a == nil and "unset" or tostring(a),
        b == nil and "unset" or tostring(b))
    end
  end
  if #differ > 0 then
    lpact.fail(string.format("%s was saved with %s; resume it with the settings that made it", o.resume,
      table.concat(differ, ", ")))
  end
  start = (math.tointeger(meta and meta.epoch) or 0) + 1
  -- the history of the epochs before the resume (checkpoints of this script keep it)
  if meta and type(meta.history) == "table" and #meta.history == start - 1 then prior = meta.history end
  if start > o.epochs then
    -- a finished training: nothing to do, and nothing (the --json file included) is touched
    print(string.format("%s holds all %d epoch%s of this training (--epochs %d): nothing to train", o.resume,
      start - 1, start == 2 and "" or "s", o.epochs))
    os.exit(0)
  end
  if not o.quiet then print(string.format("resumed from %s after epoch %d", o.resume, start - 1)) end
end

local hist = lpact.train.fit {
  model = model, data = ds, optimizer = opt, epochs = o.epochs, batch = o.batch, seed = o.seed,
  schedule = sched, clip = o.clip, verbose = not o.quiet, start_epoch = start, prior_epochs = prior,
  on_epoch = o.save and function(e)
    if not e.history.interrupted then -- only whole epochs are saved
      lpact.checkpoint.save(o.save, model, opt, { epoch = e.epoch, test_acc = e.test_acc, model = o.model, seed = o.seed,
        history = e.history.epochs, settings = settings })
    end
  end or nil,
}
if hist.interrupted and o.save then print("the last whole epoch is saved in " .. o.save) end

local last = hist.epochs[#hist.epochs]
local secs = 0
for _, e in ipairs(hist.epochs) do secs = secs + e.seconds end
if hist.test_acc then
  print(string.format("final test accuracy %.2f%%  (%d epoch%s, %.2f s/epoch)",
    100 * hist.test_acc, #hist.epochs, #hist.epochs == 1 and "" or "s", secs / math.max(1, #hist.epochs)))
else
  print("no test accuracy: no whole epoch was trained")
end

if o.json then
  -- NaN (a run stopped before any epoch) has no JSON spelling: it becomes null.
  local function num(v) if v ~= nil and v == v then return v end return lpact.json.null end
  local accs = {}
  for k, e in ipairs(hist.epochs) do accs[k] = num(e.test_acc) end
  local rec = {
    model = o.model, dataset = o.dataset, act = o.act, optimizer = o.opt, lr = num(opt.lr),
    batch = o.batch, seed = o.seed, epochs = #hist.epochs, test_acc = num(hist.test_acc),
    test_acc_per_epoch = accs, train_loss = num(last and last.train_loss),
    seconds_per_epoch = num(secs / math.max(1, #hist.epochs)),
    interrupted = hist.interrupted and true or false, version = lpact.version,
  }
  require("lpact.files").write_atomic(o.json, lpact.json.encode(rec) .. "\n")
end
