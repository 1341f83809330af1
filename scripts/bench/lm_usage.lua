-- scripts/bench/lm_usage.lua — where the MLP activation's inputs fall in its
-- format: the GPT of scripts/lm.lua (2 layers, d 64, 4 heads, ctx 64,
-- batch 32, AdamW 3e-3) with its activation rounded to FMT (fixed levels,
-- the unit scale), the layers' telemetry over the whole validation text of
-- fortunes at initialisation and after STEPS training steps: per layer the
-- share of inputs rounded to ±0 from a nonzero value (underflows), beyond
-- the format's range (saturations) and on each input code.
--   LPACT_THREADS=2 build/lpact scripts/bench/lm_usage.lua [act = gelu] [fmt = fp2] [seed = 1] [steps = 1000] [ste = fprime]
local cli = require "lpact.cli"
local p = cli.parser("lpact scripts/bench/lm_usage.lua",
  "Input-code usage of a GPT's rounded MLP activations over fortunes' validation text, before and after training.")
p:argument("act", "the MLP activation"):args("?"):default("gelu")
p:argument("fmt", "its format"):args("?"):default("fp2")
p:argument("seed", "the seed"):args("?"):default("1"):convert(cli.int(0))
p:argument("steps", "training steps"):args("?"):default("1000"):convert(cli.int(1))
p:argument("ste", "the STE rule"):args("?"):default("fprime")
local o = cli.parse(p, arg)
local ds = lpact.data.text {}
local model = lpact.models.gpt { vocab = ds.vocab, alphabet = ds.alphabet, ctx = 64, d = 64, heads = 4, layers = 2,
  act = lpact.qact { o.act, fmt = o.fmt, levels = "fixed", ste = o.ste }, seed = o.seed }
local acts = {}
local function walk(m)
  for _, c in ipairs(m:children()) do
    if c.module.telemetry and c.module.reset_telemetry then acts[#acts + 1] = c.module end
    walk(c.module)
  end
end
walk(model)
local function measure(tag)
  for _, a in ipairs(acts) do a:reset_telemetry() a:telemetry(true) end
  local loss = lpact.lm.evaluate(model, ds.val)
  print(string.format("%s: validation %.4f bits/char", tag, loss / math.log(2)))
  for i, a in ipairs(acts) do
    local t = a:telemetry()
    local parts = {}
    for k, n in ipairs(t.usage_codes) do
      local v = t.values[k]
      parts[#parts + 1] = string.format("%s %.4f", v ~= nil and tostring(v) or "NaN",
        n / t.elements)
    end
    print(string.format("  layer %d: %d inputs; underflows %.4f, saturations %.4f; by code: %s", i, t.elements,
      t.underflows / t.elements, t.saturations / t.elements, table.concat(parts, ", ")))
    a:telemetry(false)
  end
end
measure("initialisation")
local h = lpact.lm.fit { model = model, data = ds, steps = o.steps, batch = 32, lr = 3e-3, seed = o.seed }
measure(string.format("after %d steps", o.steps))
