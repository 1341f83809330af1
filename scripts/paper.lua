-- scripts/paper.lua — the full grid of the study: activations x formats x
-- fixed/learnable levels x MLP/CNN x seeds on Fashion-MNIST, one JSON
-- record per trained configuration (for `lpact report DIR`), and a table
-- on screen. Every option selects a slice (`--help` lists them):
--
--   lpact scripts/paper.lua [--act relu,gelu,...] [--format fp32,fp8,...]
--       [--levels fixed,learnable] [--model mlp,cnn_small] [--seed 1,2,3]
--       [--epochs 5] [--batch 128] [--lr 1e-3] [--out results/paper]
--       [--mode emulate|lut|ops] [--ste fprime,identity,clipped,staircase]
--       [--scale none|amax|channel|mx|<number>] [--scale-at in|out|both]
--       [--in-fmt F] [--out-fmt F] [--level-lr M] [--level-warmup E]
--       [--level-init format|centroid] [--limit N] [--tag NAME]
--       [--grad-fmt F] [--grad-scale none|amax] [--weight-fmt F]
--       [--weight-scale amax|channel|none] [--shard K/N] [--workers N]
--       [--worker LABEL] [--data builtin] [--normalize] [--dry]
--
-- --level-lr M: learnable levels step with lr * M; --level-warmup E: they
-- stay frozen for the first E epochs; --level-init centroid: they start at
-- the mean of f over the first batch's elements that use them (fixed-level
-- runs ignore all three). --ste takes a list like the others: each rule is
-- one more dimension of the grid (--ste fprime,clipped compares the two).
-- --grad-fmt F rounds the gradient each quantized activation passes back
-- to F (e5m2, e5m2:sr, …), --grad-scale amax with a per-tensor scale.
-- --weight-fmt F rounds every Linear and Conv2d weight to F in the forward
-- pass (lpact.qact.weights; --weight-scale amax by default), FP32
-- baselines included.
--
-- Defaults are the whole grid of the study (6 activations x (FP32 + 5
-- formats x 2 level rules) x 2 models x 3 seeds = 396 trainings: hours;
-- select a slice).
-- --dry lists the configurations without training and prints an estimated
-- wall time from measured per-epoch costs (lpact.estimate). --data builtin trains
-- on the built-in synthetic set even where Fashion-MNIST is installed;
-- --normalize standardises the inputs with the training set's mean and std.
--
-- Every record carries its complete configuration and is named by its hash
-- (lpact.sweep): a configuration whose record is in --out is done and
-- skipped; any changed setting (lr, batch, limit, epochs, data, a level
-- option, ...) trains anew. A killed training resumes from its last whole
-- epoch (a checkpoint beside the records) and ends bit-identical to an
-- uninterrupted one. SIGINT (Ctrl-C), SIGTERM or SIGHUP stop the sweep after
-- the current batch: the record is written marked interrupted, the manifest
-- says so, and the exit status is 128 + the signal (130, 143, 129); the
-- same command resumes. A second signal stops at once.
--
-- Workers share a folder by claiming configurations (an O_EXCL claim file
-- with a heartbeat), longest first: --workers N starts N worker processes on
-- this machine; any number of copies of the command (Slurm array tasks,
-- a second terminal) may run on one --out at the same time, each with
-- --worker LABEL naming its manifest (manifest-LABEL.json). None trains a
-- configuration another is training; a stopped worker's claims are taken
-- over. --shard K/N keeps static shares: every N-th configuration of the
-- grid from the K-th, manifest-K-of-N.json. `lpact submit` runs the sweep as
-- a Slurm array (docs/results.md).

local qact = lpact.qact
local cli = require "lpact.cli"

local p = cli.parser("lpact scripts/paper.lua",
  "The full grid of the study on Fashion-MNIST, one JSON record per trained configuration; " ..
  "every option selects a slice (the opening comment of scripts/paper.lua says more).",
  "Lists are comma-separated. Options take --name value or --name=value; '-' and '_' in names are alike; " ..
  "--acts, --formats, --models and --seeds are the older spellings of --act, --format, --model and --seed.",
  { acts = "act", formats = "format", models = "model", seeds = "seed" })
local O = require "lpact.qact.options"
p:option("--act", "activations"):argname("LIST"):default("relu,leaky_relu,gelu,silu,sigmoid,tanh"):convert(cli.list())
p:option("--format", "formats (fp32 is the baseline)"):argname("LIST"):default("fp32,fp8,fp6,fp4,fp3,fp2")
  :convert(cli.list())
p:option("--levels", "level rules"):argname("LIST"):default("fixed,learnable"):convert(cli.list { "fixed", "learnable" })
p:option("--model", "models"):argname("LIST"):default("mlp,cnn_small"):convert(cli.list { "mlp", "cnn_small" })
p:option("--seed", "seeds"):argname("LIST"):default("1,2,3"):convert(cli.list(cli.int(0)))
p:option("--epochs", "training epochs"):argname("N"):default("5"):convert(cli.int(1))
p:option("--batch", "batch size"):argname("N"):default("128"):convert(cli.int(1))
p:option("--lr", "Adam's learning rate"):argname("X"):default("1e-3"):convert(cli.number { above = 0 })
p:option("--out", "the folder of the records"):argname("DIR"):default("results/paper")
p:option("--mode", "how the activation is computed"):argname("MODE"):default("emulate")
  :convert(cli.choice(O.MODES))
p:option("--ste", "straight-through rules (each one more dimension of the grid)"):argname("LIST")
  :default("fprime"):convert(cli.list(O.STES))
p:option("--scale", "none, amax, channel, mx or a number"):argname("SCALE"):default("none")
p:option("--scale-at", "where the scale applies"):argname("WHERE"):default("both"):convert(cli.choice { "in", "out", "both" })
p:option("--in-fmt", "the input format of the quantized activation"):argname("F")
p:option("--out-fmt", "the output format of the quantized activation"):argname("F")
p:option("--level-lr", "learnable levels step with lr * M"):argname("M"):convert(cli.number { min = 0 })
p:option("--level-warmup", "learnable levels stay frozen for the first E epochs"):argname("E"):convert(cli.int(0))
p:option("--level-init", "where learnable levels start"):argname("INIT"):convert(cli.choice { "format", "centroid" })
p:option("--limit", "use only the first N training and test images"):argname("N"):convert(cli.int(1))
p:option("--tag", "a name for this sweep, part of each record's identity"):argname("NAME")
p:option("--grad-fmt", "round the gradient each quantized activation passes back to F"):argname("F")
p:option("--grad-scale", "the gradient's scale"):argname("SCALE"):convert(cli.choice { "none", "amax" })
p:option("--weight-fmt", "round every Linear and Conv2d weight to F in the forward pass"):argname("F")
p:option("--weight-scale", "the weights' scale [amax]"):argname("SCALE"):convert(cli.choice { "amax", "channel", "none" })
p:option("--shard", "this job's static share K/N of the grid"):argname("K/N")
p:option("--workers", "start N worker processes on this machine"):argname("N"):convert(cli.int(1))
p:option("--worker", "this worker's label (manifest-LABEL.json)"):argname("LABEL")
p:option("--data", "builtin: the built-in synthetic set"):argname("NAME"):convert(cli.choice { "builtin" })
p:flag("--normalize", "standardise the inputs with the training set's mean and std")
p:flag("--dry", "list the configurations and an estimated wall time; train nothing")
local o = cli.parse(p, arg)


local epochs, batch, lr = o.epochs, o.batch, o.lr
o.acts, o.formats, o.models, o.seeds = o.act, o.format, o.model, o.seed
local scale = o.scale
local level_lr = o.level_lr
local level_warmup = o.level_warmup
if level_warmup == 0 then level_warmup = nil end
if o.weight_scale and not o.weight_fmt then lpact.fail("paper.lua: --weight-scale needs --weight-fmt (the format of the weights)") end
local weights = o.weight_fmt and { fmt = o.weight_fmt, scale = o.weight_scale } or nil
if weights then qact.weights(lpact.nn.Sequential {}, weights) end   -- a bad format or scale fails now
if o.grad_scale and not o.grad_fmt then lpact.fail("paper.lua: --grad-scale needs --grad-fmt (the format of the gradients)") end
local shard_k, shard_n = 1, 1
if o.shard then
  local k, n = tostring(o.shard):match("^(%d+)/(%d+)$")
  shard_k, shard_n = math.tointeger(tonumber(k)), math.tointeger(tonumber(n))
  if not shard_k or shard_n < 1 or shard_k < 1 or shard_k > shard_n then
    lpact.fail("paper.lua: --shard must be K/N with whole numbers 1 <= K <= N, got '" .. tostring(o.shard) .. "'")
  end
end
if tonumber(scale) then scale = tonumber(scale) elseif scale == "none" then scale = nil end
local nworkers = o.workers
if o.worker and not tostring(o.worker):match("^[%w_.-]+$") then
  lpact.fail("paper.lua: --worker must be a label of letters, digits, '_', '.' or '-', got '" .. tostring(o.worker) .. "'")
end

local stes = o.ste
local configs = {}
for _, model in ipairs(o.models) do
  for _, act in ipairs(o.acts) do
    for _, fmt in ipairs(o.formats) do
      for li, lv in ipairs(o.levels) do
        for si, ste in ipairs(stes) do
          local plain = fmt == "fp32" and not o.in_fmt and not o.out_fmt
          if not plain or (li == 1 and si == 1) then   -- FP32 has no levels or STE: one baseline
            for _, seed in ipairs(o.seeds) do
              configs[#configs + 1] = { model = model, act = act, fmt = fmt, levels = plain and "fixed" or lv,
                ste = not plain and ste or nil, seed = math.tointeger(tonumber(seed)) }
            end
          end
        end
      end
    end
  end
end

-- This job's share of the grid: every shard_n-th configuration from the
-- shard_k-th, so that the shards get alike mixes of activations and formats.
local grid_size = #configs
local all_configs = configs
if shard_n > 1 then
  local mine = {}
  for i, c in ipairs(configs) do
    if (i - 1) % shard_n == shard_k - 1 then mine[#mine + 1] = c end
  end
  configs = mine
end

local study = require "lpact.study"
-- the sweep's settings, as lpact.study takes them (data_id once the data is read)
local S = { epochs = epochs, batch = batch, lr = lr, mode = o.mode, scale = scale, scale_at = o.scale_at,
  in_fmt = o.in_fmt, out_fmt = o.out_fmt, level_lr = level_lr, level_warmup = level_warmup, level_init = o.level_init,
  grad_fmt = o.grad_fmt, grad_scale = o.grad_scale, weights = weights, tag = o.tag }
local function qopts(c) return study.qopts(c, S) end

local function record_name(c)
  local q = qopts(c) or {}
  return table.concat({ c.model, c.act, q.in_fmt or c.fmt, q.out_fmt or c.fmt, q.mode or "fp32", c.levels, q.ste or "-",
    tostring(q.scale or "none"), q.scale_at or "-", "s" .. c.seed, "e" .. epochs, (o.tag or "paper") .. (q.level_lr and ("_llr" .. q.level_lr) or "")
    .. ((level_warmup and c.levels == "learnable") and ("_warm" .. level_warmup) or "")
    .. (q.level_init and ("_" .. q.level_init) or "")
    .. (q.grad_fmt and ("_grad-" .. q.grad_fmt .. (q.grad_scale == "amax" and "-amax" or "")) or "")
    .. (weights and ("_w-" .. weights.fmt .. "-" .. (weights.scale or "amax")) or "") }, "_"):gsub("[^%w_.-]", "-")
end

-- Every distinct layer is built once now, so that a bad activation,
-- format or option fails here, before the first training, and not after
-- hours of them.
do
  local nn = require "lpact.nn"
  local seen = {}
  for _, c in ipairs(configs) do
    local key = c.act .. "|" .. c.fmt .. "|" .. c.levels .. "|" .. tostring(c.ste)
    if not seen[key] then
      seen[key] = true
      local q = qopts(c)
      if q then
        local spec = { c.act, fmt = c.fmt }
        for k, v in pairs(q) do spec[k] = v end
        qact(spec)
      else
        nn.act(c.act)
      end
    end
  end
end

if shard_n > 1 then
  print(string.format("shard %d/%d: %d of the grid's %d configurations, %d epochs each, into %s",
    shard_k, shard_n, #configs, grid_size, epochs, o.out))
else
  print(string.format("%d configurations, %d epochs each, into %s", #configs, epochs, o.out))
end
if o.dry then
  for _, c in ipairs(configs) do print("  " .. record_name(c)) end
  local n = o.data == "builtin" and 6000 or 60000
  local cap = o.limit and math.tointeger(tonumber(o.limit)) or n
  print(require("lpact.estimate").line(configs, { epochs = epochs, train = math.min(n, cap),
    test = math.min(n // 6, cap), workers = nworkers }))
  return
end

-- --workers N: N copies of this command, each a worker on the folder;
-- no more than there are configurations (a worker more would only wait).
if nworkers then
  local sys = lpact.sys
  if nworkers > #configs then
    print(string.format("--workers %d: %d configuration%s, so %d worker%s", nworkers, #configs,
      #configs == 1 and "" or "s", #configs, #configs == 1 and "" or "s"))
    nworkers = #configs
  end
  local argv = { arg[-1] or "lpact", arg[0] }
  local j = 1
  while j <= #arg do
    local name = arg[j]:match("^%-%-([%w_-]+)")
    name = name and name:gsub("_", "-")
    if name == "workers" then j = j + (arg[j]:find("=", 1, true) and 1 or 2)
    else argv[#argv + 1] = arg[j]; j = j + 1 end
  end
  local pids = {}
  for w = 1, nworkers do
    local a = { table.unpack(argv) }
    a[#a + 1], a[#a + 2] = "--worker", (o.worker and (o.worker .. "-") or "") .. "w" .. w
    local pid, err = sys.spawn(a)
    if not pid then
      for _, q in ipairs(pids) do sys.kill(q, 15) end   -- the ones started stop after their batch
      for _, q in ipairs(pids) do sys.wait(q) end
      lpact.fail("paper.lua: " .. tostring(err), 1)
    end
    pids[#pids + 1] = pid
  end
  local engine = lpact.engine
  engine.catch_interrupt(true)
  local worst, forwarded = 0, false
  for _, pid in ipairs(pids) do
    local st
    repeat
      st = sys.wait(pid)
      local sig = engine.signal()
      if st == nil and sig and not forwarded then
        forwarded = true   -- a terminal's Ctrl-C reaches the workers itself; kill or scancel may not
        if sig ~= 2 then for _, q in ipairs(pids) do sys.kill(q, sig) end end
      end
    until st ~= nil
    if st > worst then worst = st end
  end
  os.exit(worst)
end

local data
local limit = o.limit and math.tointeger(tonumber(o.limit)) or nil
if o.data == "builtin" then
  data = lpact.data.builtin { limit = limit }
else
  local ok, res = pcall(lpact.data.fashion_mnist, { limit = limit })
  if ok then data = res else
    print("Fashion-MNIST not found (apt-get install dataset-fashion-mnist); using the SYNTHETIC data.builtin() instead")
    data = lpact.data.builtin { limit = limit }
  end
end
if o.normalize then lpact.data.normalize(data) end

-- The identity of every configuration: each setting that can change a
-- number, resolved (format specs in full, optimizer hyper-parameters,
-- the data set's content hash). Thread count and host are not part of it.
local sweep = lpact.sweep
local data_id = sweep.data_identity(data, { limit = limit or false, normalize = o.normalize and true or false,
  split = "train/test" })
S.data_id = data_id
local function cell_of(c) return study.cell(c, S, record_name(c)) end
local cells, grid_cells = {}, {}
for _, c in ipairs(configs) do cells[#cells + 1] = cell_of(c) end
for _, c in ipairs(all_configs) do grid_cells[#grid_cells + 1] = cell_of(c) end

local status = sweep.run { dir = o.out, cells = cells, grid = grid_cells, name = "paper", worker = o.worker,
  shard = shard_n > 1 and { shard_k, shard_n } or nil, info = { tag = o.tag, shard = o.shard },
  train = function(cell, ctx)
    local c = cell.c
    local r = qact.experiment { act = c.act, fmt = c.fmt, model = c.model, data = data, epochs = epochs,
      batch = batch, lr = lr, seed = c.seed, qact = qopts(c), tag = o.tag, weights = weights,
      level_warmup = c.levels == "learnable" and level_warmup or nil,
      checkpoint = ctx.checkpoint, on_batch = ctx.on_batch }
    return r.cfg, r.history
  end }
if status ~= 0 then os.exit(status) end

local results = lpact.results
local res, recs_run = {}, {}
for _, cell in ipairs(cells) do
  local ok, rec = pcall(results.read, o.out .. "/" .. cell.id .. ".json")
  if ok and type(rec) == "table" and rec.interrupted ~= true then
    rec.file = cell.id .. ".json"
    recs_run[#recs_run + 1] = rec
    res[#res + 1] = { c = cell.c, acc = rec.test_acc }
  end
end
local results_list = res

-- Mean accuracy over seeds: rows model/activation/levels (and STE when
-- several are swept), columns formats. FP32 has neither levels nor an STE:
-- its baseline is one per model/activation and stands in every such row.
local fmts = o.formats
local rows, order, base = {}, {}, {}
local function add(t, k, acc)
  local cell = t[k] or { sum = 0, n = 0 }
  cell.sum, cell.n = cell.sum + acc, cell.n + 1
  t[k] = cell
end
for _, r in ipairs(results_list) do
  local ma = r.c.model .. " | " .. r.c.act
  if not r.c.ste then
    base[ma] = base[ma] or {}
    add(base[ma], r.c.fmt, r.acc)
  else
    local key = ma .. " | " .. r.c.levels .. (#stes > 1 and (", " .. r.c.ste) or "")
    if not rows[key] then rows[key] = { ma = ma }; order[#order + 1] = key end
    add(rows[key], r.c.fmt, r.acc)
  end
end
-- a model/activation with only FP32 runs still gets its row
for _, r in ipairs(results_list) do
  local ma = r.c.model .. " | " .. r.c.act
  local has = false
  for _, key in ipairs(order) do if rows[key].ma == ma then has = true end end
  if not has then rows[ma .. " | -"] = { ma = ma }; order[#order + 1] = ma .. " | -" end
end
print()
local head = { "model | activation | levels" .. (#stes > 1 and ", STE" or "") }
for _, f in ipairs(fmts) do head[#head + 1] = f:upper() end
print("| " .. table.concat(head, " | ") .. " |")
print("|" .. string.rep(" --- |", 3) .. string.rep(" ---: |", #fmts))
for _, key in ipairs(order) do
  local cells = { key }
  for _, f in ipairs(fmts) do
    local c = rows[key][f] or (base[rows[key].ma] or {})[f]
    cells[#cells + 1] = c and string.format("%.2f", 100 * c.sum / c.n) or "-"
  end
  print("| " .. table.concat(cells, " | ") .. " |")
end

-- Paired comparisons (learnable against fixed levels, one STE against
-- another, …) seed by seed, when the sweep holds such pairs.
local cmp = results.comparisons_markdown(recs_run)
if cmp ~= "" then
  print()
  io.write((cmp:gsub("^## ", "### "):gsub("\n## ", "\n### ")))
end
