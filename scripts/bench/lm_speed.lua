-- scripts/bench/lm_speed.lua — training speed of lpact's GPT on fortunes
-- (2 layers, d 64, 4 heads, ctx 64, batch 32, AdamW, clipping): tokens/s of
-- the FP32 model and of the model with its MLP activation (GELU, E2M1) and
-- attention probabilities (ue3m1) in FP4, timed over the same steps after
-- a warm-up, alternating the two in rounds so that a change in the
-- machine's load falls on both. Run it next to
--   /usr/bin/python3 scripts/bench/lm_torch.py train --steps 200 --threads 2
--   LPACT_THREADS=2 build/lpact scripts/bench/lm_speed.lua [steps per round = 50] [rounds = 3]
local cli = require "lpact.cli"
local p = cli.parser("lpact scripts/bench/lm_speed.lua",
  "Training speed of lpact's GPT on fortunes, FP32 against FP4 activations and attention, in alternating rounds.")
p:argument("steps", "steps per round"):args("?"):default("50"):convert(cli.int(1))
p:argument("rounds", "rounds"):args("?"):default("3"):convert(cli.int(1))
local o = cli.parse(p, arg)
local steps, rounds = o.steps, o.rounds
local ds = lpact.data.text {}
local function make(q)
  return lpact.models.gpt { vocab = ds.vocab, ctx = 64, d = 64, heads = 4, layers = 2,
    act = q and lpact.qact { "gelu", fmt = "fp4" } or "gelu", attn = q and { fmt = "ue3m1" } or nil }
end
local runs = { { name = "fp32", model = make(false) }, { name = "fp4", model = make(true) } }
for _, r in ipairs(runs) do
  r.opt = lpact.optim.AdamW(r.model:parameters(), { lr = 1e-3 })
  r.secs, r.step = 0, 0
end
local function run(r, n, timed)
  for _ = 1, n do
    r.step = r.step + 1
    local x, y = lpact.data.text_batch(ds.train, 32, 64, { seed = 1, step = r.step })
    local t0 = lpact.wallclock()
    r.opt:zero_grad()
    local l = r.model:loss(x, y)
    l:backward()
    r.opt:clip_grad_norm(1.0)
    r.opt:step()
    l = nil
    collectgarbage()
    if timed then r.secs = r.secs + lpact.wallclock() - t0 end
  end
end
for _, r in ipairs(runs) do run(r, 5, false) end
for _ = 1, rounds do
  for _, r in ipairs(runs) do run(r, steps, true) end
end
local tok = 32 * 64 * steps * rounds
for _, r in ipairs(runs) do
  print(string.format("lpact %-5s %d threads: %.1f ms/step, %.0f tokens/s", r.name, lpact.threads(),
    1000 * r.secs / (steps * rounds), tok / r.secs))
end
print(string.format("fp4 step / fp32 step: %.3f", runs[2].secs / runs[1].secs))
