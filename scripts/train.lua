-- scripts/train.lua — train a model of the zoo on Fashion-MNIST (or a
-- synthetic set) from the command line.
--
--   build/lpact scripts/train.lua --model mlp --epochs 5 --seed 1
--   build/lpact scripts/train.lua --model cnn_small --epochs 5 --act gelu --opt sgd --lr 0.05 --momentum 0.9
--
-- Options (defaults in brackets):
--   --model NAME     mlp | cnn_small | lenet5 | vgg_cifar | resnet8 | resnet20 [mlp]
--   --act SPEC       activation name (relu, gelu, tanh, ...) [relu]
--   --epochs N [5]   --batch N [128]   --seed N [1]   --lr X [1e-3 for Adam, 0.05 for SGD]
--   --opt NAME       adam | adamw | sgd [adam];  --momentum X [0.9 for sgd]  --wd X [0]
--   --schedule NAME  none | cosine | onecycle | step [none]
--   --clip X         clip the global gradient norm to X
--   --data DIR       Fashion-MNIST directory [$LPACT_DATA or /usr/share/datasets/fashion-mnist]
--   --dataset NAME   fashion-mnist | mnist | cifar10 | spirals | blobs | builtin [fashion-mnist]
--   --limit N        use only the first N training and test images
--   --threads N      kernel threads [$LPACT_THREADS or all cores]
--   --json FILE      write the result as one JSON object (written atomically)
--   --normalize      standardise inputs per channel with the training set's mean and std
--   --save FILE      write a checkpoint (model, optimizer, epoch) after every epoch
--   --resume FILE    load a checkpoint and go on from the epoch after the saved one
--   --quiet          no per-epoch lines

local usage = [==[
usage: lpact scripts/train.lua [--model mlp|cnn_small|lenet5|vgg_cifar|resnet8|resnet20]
         [--act NAME] [--epochs N] [--batch N] [--seed N] [--lr X] [--opt adam|adamw|sgd]
         [--momentum X] [--wd X] [--schedule none|cosine|onecycle|step] [--clip X]
         [--dataset fashion-mnist|mnist|cifar10|spirals|blobs|builtin] [--data DIR]
         [--limit N] [--threads N] [--json FILE] [--normalize] [--save FILE] [--resume FILE]
         [--quiet]]==]

local numeric = { epochs = "int", batch = "int", seed = "int", limit = "int", threads = "int",
  lr = "num", momentum = "num", wd = "num", clip = "num" }
local strings = { model = true, act = true, opt = true, schedule = true, data = true, dataset = true, json = true,
  save = true, resume = true }

local o = { model = "mlp", act = "relu", epochs = 5, batch = 128, seed = 1, opt = "adam",
  schedule = "none", dataset = "fashion-mnist" }
local i = 1
while i <= #arg do
  local a = arg[i]
  local key = a:match("^%-%-([%w_-]+)$")
  if not key then lpact.fail("unexpected argument '" .. a .. "'\n" .. usage) end
  key = key:gsub("-", "_")
  if key == "quiet" then o.quiet = true
  elseif key == "normalize" then o.normalize = true
  elseif key == "help" then io.write(usage, "\n"); os.exit(0)
  elseif numeric[key] or strings[key] then
    local v = arg[i + 1]
    if v == nil then lpact.fail("--" .. key .. " needs a value\n" .. usage) end
    if numeric[key] then
      local n = tonumber(v)
      if not n or (numeric[key] == "int" and math.type(n) ~= "integer") then
        lpact.fail(string.format("--%s needs %s, got '%s'", key,
          numeric[key] == "int" and "an integer" or "a number", v))
      end
      v = n
    end
    o[key] = v
    i = i + 1
  else
    lpact.fail("unknown option '" .. a .. "'\n" .. usage)
  end
  i = i + 1
end

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

local start, prior = 1, nil
if o.resume then
  local meta = lpact.checkpoint.load(o.resume, model, opt)
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
        history = e.history.epochs })
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
