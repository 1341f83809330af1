-- scripts/lm.lua — the study's question asked of a language model: a small
-- character-level GPT trained on Debian's fortunes with its MLP activation
-- and its attention probabilities computed in FP8 … FP2. The grid is
-- activation x its format x the attention probabilities' format x levels
-- x STE x seeds; each trained configuration is one JSON record (for
-- `lpact report DIR`) holding the validation loss in nats and bits per
-- character, the next-character accuracy, the training loss curve,
-- tokens/s and a sample of generated text.
--
--   lpact scripts/lm.lua --quick
--       a few minutes on 2 cores: FP32, FP4 and FP2 (MLP activation and
--       attention probabilities), printing val bits/char and a sample each
--   lpact scripts/lm.lua [--act gelu,silu,relu] [--format fp32,fp8,fp6,fp4,fp3,fp2]
--       [--attn fp32,ue4m3,ue3m1,ue2m0] [--attn-mode emulate|ops]
--       [--levels fixed,learnable] [--ste fprime,clipped] [--seed 1]
--       [--steps 1500] [--batch 32] [--ctx 64] [--d 64] [--heads 4] [--layers 2]
--       [--lr 3e-3] [--dropout 0] [--out results/lm] [--sample 200] [--prompt TEXT]
--       [--dir FOLDER | --files a.txt,b.txt] [--dry]
--
-- --format rounds the MLP activation (lpact.qact, emulate mode, input and
-- output in the format); --attn rounds the attention probabilities (an
-- unsigned format at the unit scale: the largest level is probability 1;
-- fp32 for none). --levels learnable makes the levels of both sites
-- learnable. FP32 rows have no levels or STE: one baseline per
-- activation, attention format and seed. Records that exist in --out are
-- skipped, so an interrupted grid resumes. The data: every fortune file,
-- bytes as tokens, the last 10% of each file for validation
-- (lpact.data.text); --dir or --files use other text, whose content hash
-- ends the record ids (a changed file is a new configuration).

local results = lpact.results
local cli = require "lpact.cli"

local p = cli.parser("lpact scripts/lm.lua",
  "A small character-level GPT on Debian's fortunes with its MLP activation and its attention " ..
  "probabilities in FP8 ... FP2, one JSON record per configuration (the opening comment of " ..
  "scripts/lm.lua says more).",
  "Lists are comma-separated. Options take --name value or --name=value; '-' and '_' in names are alike; " ..
  "--acts, --formats and --seeds are the older spellings of --act, --format and --seed.",
  { acts = "act", formats = "format", seeds = "seed" })
local STES = require("lpact.qact.options").STES
p:flag("--quick", "FP32, FP4 and FP2 at both sites, one seed, 600 steps: a few minutes on 2 cores")
p:option("--act", "MLP activations"):argname("LIST"):default("gelu"):convert(cli.list())
p:option("--format", "the MLP activation's formats"):argname("LIST"):default("fp32,fp8,fp6,fp4,fp3,fp2"):convert(cli.list())
p:option("--attn", "the attention probabilities' formats (fp32: none)"):argname("LIST"):default("fp32"):convert(cli.list())
p:option("--attn-mode", "how the probabilities are rounded"):argname("MODE"):default("emulate")
  :convert(cli.choice { "emulate", "ops" })
p:option("--levels", "level rules"):argname("LIST"):default("fixed"):convert(cli.list { "fixed", "learnable" })
p:option("--ste", "straight-through rules"):argname("LIST"):default("fprime"):convert(cli.list(STES))
p:option("--seed", "seeds"):argname("LIST"):default("1"):convert(cli.list(cli.int(0)))
p:option("--steps", "training steps [1500; 600 with --quick]"):argname("N"):convert(cli.int(1))
p:option("--batch", "sequences per step"):argname("N"):default("32"):convert(cli.int(1))
p:option("--ctx", "context length"):argname("N"):default("64"):convert(cli.int(1))
p:option("--d", "model width"):argname("N"):default("64"):convert(cli.int(1))
p:option("--heads", "attention heads (divide --d)"):argname("N"):default("4"):convert(cli.int(1))
p:option("--layers", "transformer blocks"):argname("N"):default("2"):convert(cli.int(1))
p:option("--lr", "Adam's learning rate"):argname("X"):default("3e-3"):convert(cli.number { above = 0, text = true })
p:option("--dropout", "dropout probability in [0, 1)"):argname("P"):default("0")
  :convert(cli.number { min = 0, below = 1, text = true })
p:option("--out", "the folder of the records [results/lm; results/lm-quick with --quick]"):argname("DIR")
p:option("--sample", "characters of generated text per record"):argname("N"):default("200"):convert(cli.int(0))
p:option("--prompt", "the sample's prompt [a newline]"):argname("TEXT")
p:option("--dir", "train on every file of FOLDER"):argname("FOLDER")
p:option("--files", "train on these files"):argname("LIST"):convert(cli.list())
p:flag("--dry", "list the configurations and an estimated wall time; train nothing")
local o = cli.parse(p, arg)
o.acts, o.formats, o.seeds = o.act, o.format, o.seed
o.out = o.out or (o.quick and "results/lm-quick" or "results/lm")
o.steps = o.steps or (o.quick and 600 or 1500)
o.prompt = o.prompt or "\n"
if o.quick then
  -- FP32, then FP4 and FP2 at both sites (4-bit and 2-bit unsigned
  -- probabilities), one seed, about a minute of training each
  o.acts, o.levels, o.seeds = { "gelu" }, { "fixed" }, { 1 }
  o.grid = { { "fp32", "fp32" }, { "fp4", "ue3m1" }, { "fp2", "ue2m0" } }
end

local steps, B, ctx, d, heads, layers = o.steps, o.batch, o.ctx, o.d, o.heads, o.layers
local nsample = o.sample
local dropout = tonumber(o.dropout)
if d % heads ~= 0 then lpact.fail(string.format("lm.lua: --heads %d does not divide --d %d", heads, d)) end
local seeds = o.seeds

-- The grid: one configuration per act x format x attn x levels x ste x seed.
local configs = {}
local pairs_ = o.grid
if not pairs_ then
  pairs_ = {}
  for _, f in ipairs(o.formats) do
    for _, a in ipairs(o.attn) do pairs_[#pairs_ + 1] = { f, a } end
  end
end
for _, act in ipairs(o.acts) do
  for _, fa in ipairs(pairs_) do
    local fmt, attn = fa[1], fa[2]
    local plain = fmt == "fp32" and attn == "fp32"
    for li, lv in ipairs(o.levels) do
      for si, ste in ipairs(o.ste) do
        if not plain or (li == 1 and si == 1) then
          for _, seed in ipairs(seeds) do
            configs[#configs + 1] = { act = act, fmt = fmt, attn = attn, levels = plain and "fixed" or lv,
              ste = fmt ~= "fp32" and ste or nil, seed = seed }
          end
        end
      end
    end
  end
end

local function act_spec(c)
  if c.fmt == "fp32" then return c.act end
  return lpact.qact { c.act, fmt = c.fmt, levels = c.levels, ste = c.ste }
end
local function attn_spec(c)
  if c.attn == "fp32" then return nil end
  return { fmt = c.attn, mode = o.attn_mode, levels = c.levels }
end

-- The text a run trains on. Other text than fortunes (--files, --dir) is
-- read now, even with --dry, because its content is part of the record
-- ids: two different corpora never share a record.
local ds, corpus = nil, "fortunes"
local function load_text()
  ds = ds or lpact.data.text { dir = o.dir, files = o.files }
  return ds
end
if o.files or o.dir then
  local t = load_text()
  local h = lpact.sys.tensor_hash(t.val:contiguous(), lpact.sys.tensor_hash(t.train:contiguous()))
  corpus = (o.files and "files-" or "dir-") .. lpact.sys.hash(h .. "\0" .. t.alphabet):sub(1, 12)
end

local function record_id(c)
  return table.concat({ "gpt", c.act, c.fmt, "attn-" .. c.attn, c.attn ~= "fp32" and o.attn_mode or "-", c.levels,
    c.ste or "-", "L" .. layers, "d" .. d, "h" .. heads, "ctx" .. ctx, "b" .. B, "st" .. steps, "lr" .. o.lr,
    "s" .. c.seed, corpus }, "_"):gsub("[^%w_.-]", "-")
    .. (dropout > 0 and ("_drop" .. o.dropout) or "") .. "_n" .. lpact.lm.NUMERICS
end

-- Bits per activation of a site: the format's width (32 for float32).
local function bits_of(fmt) return fmt == "fp32" and 32 or lpact.format(fmt).bits end

-- Every distinct configuration is built once now (on a tiny vocabulary),
-- so a bad activation or format fails before the first training.
for _, c in ipairs(configs) do
  lpact.models.gpt { vocab = 2, ctx = 2, d = heads, heads = heads, layers = 1, act = act_spec(c), attn = attn_spec(c) }
end

if o.dry then
  for k, c in ipairs(configs) do print(k, record_id(c)) end
  print(#configs .. " configurations")
  return
end

load_text()
print(string.format("%s: %d training and %d validation characters, %d distinct bytes (%s)", ds.name,
  ds.train:numel(), ds.val:numel(), ds.vocab, ds.split))
for _, part in ipairs { "train", "val" } do
  if ds[part]:numel() < ctx + 1 then
    lpact.fail(string.format("lm.lua: the %s text has %d characters, fewer than one window of --ctx %d + 1: "
      .. "give more text or a smaller --ctx", part == "val" and "validation" or "training", ds[part]:numel(), ctx))
  end
end

local done = {}
do
  local ok, recs = pcall(results.read_dir, o.out)
  if ok then for _, r in ipairs(recs) do if r.id and r.test_loss and not r.interrupted then done[r.id] = r end end end
end
local run = results.open(o.out, { name = o.quick and "lm-quick" or "lm", extra = { steps = steps, batch = B } })
local rows = {}
local LN2 = math.log(2)
for k, c in ipairs(configs) do
  local id = record_id(c)
  local rec = done[id]
  if rec then
    print(string.format("[%d/%d] %s: done before", k, #configs, id))
    run:add_existing(rec)
  else
    print(string.format("[%d/%d] %s", k, #configs, id))
    local model = lpact.models.gpt { vocab = ds.vocab, alphabet = ds.alphabet, ctx = ctx, d = d, heads = heads,
      layers = layers, act = act_spec(c), attn = attn_spec(c), seed = c.seed, dropout = dropout }
    local h = lpact.lm.fit { model = model, data = ds, steps = steps, batch = B, lr = lr, seed = c.seed,
      verbose = true }
    local sample = nsample > 0 and model:generate(o.prompt, nsample, { temperature = 0.8, seed = c.seed }) or nil
    local curve = {}
    for s = 10, #h.losses, 10 do
      local m = 0
      for j = s - 9, s do m = m + h.losses[j] end
      curve[#curve + 1] = m / 10
    end
    local hist = { epochs = { { epoch = 1, train_loss = curve[#curve] or h.losses[#h.losses], test_acc = h.val_acc,
      test_loss = h.val_loss, seconds = h.seconds } }, test_acc = h.val_acc, seconds = h.seconds,
      interrupted = h.interrupted }
    rec = run:add({ id = id, model = "gpt", dataset = ds.name, activation = c.act, format = c.fmt,
      modes = { attn = c.attn, attn_mode = c.attn ~= "fp32" and o.attn_mode or nil, levels = c.levels, ste = c.ste },
      seed = c.seed, epochs = 1, batch = B, optimizer = "adamw", lr = lr, steps = steps, ctx = ctx, d = d,
      heads = heads, layers = layers, dropout = dropout > 0 and dropout or nil, val_nats_per_char = h.val_loss,
      act_bits = bits_of(c.fmt), attn_bits = bits_of(c.attn), numerics = lpact.lm.NUMERICS,
      val_bits_per_char = h.val_loss and h.val_loss / LN2, train_curve_every_10 = curve,
      tokens = h.tokens, tokens_per_s = h.tokens_per_s, sample = sample }, hist)
    if h.interrupted then
      run:finish("interrupted")
      print("interrupted: the record is marked so; the same command resumes")
      lpact.engine.exit(130)
    end
  end
  rows[#rows + 1] = { c = c, rec = rec }
end
run:finish()

print(string.format("\n%-6s %-6s %-7s %-10s %-8s %9s %9s %8s", "act", "fmt", "attn", "levels", "ste", "val nats",
  "bits/char", "tok/s"))
for _, r in ipairs(rows) do
  local rec, c = r.rec, r.c
  local ex = rec.extra or {}
  local nats = ex.val_nats_per_char or 0 / 0
  print(string.format("%-6s %-6s %-7s %-10s %-8s %9.4f %9.4f %8.0f", c.act, c.fmt, c.attn, c.levels, c.ste or "-",
    nats, nats / LN2, ex.tokens_per_s or 0 / 0))
end
for _, r in ipairs(rows) do
  local ex = r.rec.extra or {}
  if ex.sample then
    print(string.format("\n--- %s %s, attention %s:\n%s", r.c.act, r.c.fmt, r.c.attn, ex.sample))
  end
end
