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
--   lpact scripts/lm.lua [--acts gelu,silu,relu] [--formats fp32,fp8,fp6,fp4,fp3,fp2]
--       [--attn fp32,ue4m3,ue3m1,ue2m0] [--attn_mode emulate|ops]
--       [--levels fixed,learnable] [--ste fprime,clipped] [--seeds 1]
--       [--steps 1500] [--batch 32] [--ctx 64] [--d 64] [--heads 4] [--layers 2]
--       [--lr 3e-3] [--dropout 0] [--out results/lm] [--sample 200] [--prompt TEXT]
--       [--dir FOLDER | --files a.txt,b.txt] [--dry]
--
-- --formats rounds the MLP activation (lpact.qact, emulate mode, input and
-- output in the format); --attn rounds the attention probabilities (an
-- unsigned format at the unit scale: the largest level is probability 1;
-- fp32 for none). --levels learnable makes the levels of both sites
-- learnable. FP32 rows have no levels or STE: one baseline per
-- activation, attention format and seed. Records that exist in --out are
-- skipped, so an interrupted grid resumes. The data: every fortune file,
-- bytes as tokens, the last 10% of each file for validation
-- (lpact.data.text); --dir or --files use other text.

lpact.script_help(arg)
local results = lpact.results

local o = {
  acts = "gelu", formats = "fp32,fp8,fp6,fp4,fp3,fp2", attn = "fp32", attn_mode = "emulate",
  levels = "fixed", ste = "fprime", seeds = "1", steps = "1500", batch = "32", ctx = "64", d = "64",
  heads = "4", layers = "2", lr = "3e-3", out = "results/lm", sample = "200", prompt = "\n", dropout = "0",
}
local flags = { dry = true, quick = true }
local optional = { dir = 1, files = 1 }
local i = 1
while i <= #arg do
  local k = arg[i]:match("^%-%-([%w_]+)$")
  if not k then lpact.fail("lm.lua: unexpected argument '" .. arg[i] .. "' (options are --name value)") end
  if flags[k] then o[k] = true; i = i + 1
  else
    if o[k] == nil and not optional[k] then lpact.fail("lm.lua: unknown option --" .. k) end
    if arg[i + 1] == nil then lpact.fail("lm.lua: --" .. k .. " needs a value") end
    o[k] = arg[i + 1]
    i = i + 2
  end
end

if o.quick then
  -- FP32, then FP4 and FP2 at both sites (4-bit and 2-bit unsigned
  -- probabilities), one seed, about a minute of training each
  o.acts, o.levels, o.seeds = "gelu", "fixed", "1"
  o.grid = { { "fp32", "fp32" }, { "fp4", "ue3m1" }, { "fp2", "ue2m0" } }
  o.steps = o.steps == "1500" and "600" or o.steps
  o.out = o.out == "results/lm" and "results/lm-quick" or o.out
end

local function list(s)
  local t = {}
  for w in tostring(s):gmatch("[^,]+") do t[#t + 1] = w end
  return t
end
local function int(k, min)
  local n = math.tointeger(tonumber(o[k]))
  if not n or n < min then
    lpact.fail(string.format("lm.lua: --%s must be a whole number >= %d, got '%s'", k, min, tostring(o[k])))
  end
  return n
end
local steps, B, ctx, d, heads, layers = int("steps", 1), int("batch", 1), int("ctx", 1), int("d", 1), int("heads", 1),
  int("layers", 1)
local nsample = int("sample", 0)
local dropout = tonumber(o.dropout)
if not dropout or not (dropout >= 0 and dropout < 1) then
  lpact.fail("lm.lua: --dropout must be a number in [0, 1), got '" .. tostring(o.dropout) .. "'")
end
local lr = tonumber(o.lr)
if not lr or not (lr > 0 and lr < math.huge) then lpact.fail("lm.lua: --lr must be a positive number, got '" .. tostring(o.lr) .. "'") end
if d % heads ~= 0 then lpact.fail(string.format("lm.lua: --heads %d does not divide --d %d", heads, d)) end
if o.attn_mode ~= "emulate" and o.attn_mode ~= "ops" then
  lpact.fail("lm.lua: --attn_mode: expected emulate or ops, got '" .. tostring(o.attn_mode) .. "'")
end
for _, lv in ipairs(list(o.levels)) do
  if lv ~= "fixed" and lv ~= "learnable" then lpact.fail("lm.lua: --levels: expected fixed or learnable, got '" .. lv .. "'") end
end
for _, name in ipairs { "acts", "formats", "attn", "levels", "ste", "seeds" } do
  if #list(o[name]) == 0 then lpact.fail("lm.lua: --" .. name .. " needs at least one value") end
end
local seeds = {}
for _, s in ipairs(list(o.seeds)) do
  local n = math.tointeger(tonumber(s))
  if not n or n < 0 then lpact.fail("lm.lua: --seeds: whole numbers >= 0 expected, got '" .. s .. "'") end
  seeds[#seeds + 1] = n
end

-- The grid: one configuration per act x format x attn x levels x ste x seed.
local configs = {}
local pairs_ = o.grid
if not pairs_ then
  pairs_ = {}
  for _, f in ipairs(list(o.formats)) do
    for _, a in ipairs(list(o.attn)) do pairs_[#pairs_ + 1] = { f, a } end
  end
end
for _, act in ipairs(list(o.acts)) do
  for _, fa in ipairs(pairs_) do
    local fmt, attn = fa[1], fa[2]
    local plain = fmt == "fp32" and attn == "fp32"
    for li, lv in ipairs(list(o.levels)) do
      for si, ste in ipairs(list(o.ste)) do
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

local function record_id(c)
  return table.concat({ "gpt", c.act, c.fmt, "attn-" .. c.attn, c.attn ~= "fp32" and o.attn_mode or "-", c.levels,
    c.ste or "-", "L" .. layers, "d" .. d, "h" .. heads, "ctx" .. ctx, "b" .. B, "st" .. steps, "lr" .. o.lr,
    "s" .. c.seed, o.files and "files" or (o.dir and "dir" or "fortunes") }, "_"):gsub("[^%w_.-]", "-")
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

local files = o.files and list(o.files) or nil
local ds = lpact.data.text { dir = o.dir, files = files }
print(string.format("%s: %d training and %d validation characters, %d distinct bytes (%s)", ds.name,
  ds.train:numel(), ds.val:numel(), ds.vocab, ds.split))

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
