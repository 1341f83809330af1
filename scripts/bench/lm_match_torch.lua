-- scripts/bench/lm_match_torch.lua — checks that lpact's GPT trains like
-- PyTorch's: builds lpact.models.gpt on Debian's fortunes (2 layers, d 64,
-- 4 heads, ctx 64), writes its initial weights and the token windows of
-- N steps of batch B to a text file, trains N steps of AdamW (lr 1e-3,
-- weight decay 0.01, gradients clipped to norm 1) on them and appends the
-- loss of each step; scripts/bench/lm_torch.py match FILE loads the same
-- weights into the PyTorch twin, trains on the same windows and compares
-- the two loss curves (exit status 1 beyond 1e-4 relative).
--   build/lpact scripts/bench/lm_match_torch.lua [steps = 50] [file = /tmp/lpact-gpt-match.txt] [batch = 32] [lr = 1e-3]
--   /usr/bin/python3 scripts/bench/lm_torch.py match /tmp/lpact-gpt-match.txt
local cli = require "lpact.cli"
local p = cli.parser("lpact scripts/bench/lm_match_torch.lua",
  "Train lpact's GPT like scripts/bench/lm_torch.py match: weights, windows and the loss of each step to FILE.")
p:argument("steps", "AdamW steps"):args("?"):default("50"):convert(cli.int(1))
p:argument("file", "the file to write"):args("?"):default("/tmp/lpact-gpt-match.txt")
p:argument("batch", "windows per step"):args("?"):default("32"):convert(cli.int(1))
p:argument("lr", "learning rate"):args("?"):default("1e-3"):convert(cli.number { above = 0 })
local o = cli.parse(p, arg)
local steps, path, B, lr = o.steps, o.file, o.batch, o.lr
lpact.threads(1)
local ds = lpact.data.text {}
local cfg = { vocab = ds.vocab, ctx = 64, d = 64, heads = 4, layers = 2, seed = 1 }
local m = lpact.models.gpt(cfg)
local lines = { string.format("vocab=%d ctx=%d d=%d heads=%d layers=%d lr=%g steps=%d batch=%d",
  cfg.vocab, cfg.ctx, cfg.d, cfg.heads, cfg.layers, lr, steps, B) }
for _, p in ipairs(m:parameters()) do
  local parts = {}
  for i, v in ipairs(p.var.data:reshape { p.var.data:numel() }:totable()) do parts[i] = string.format("%.9g", v) end
  lines[#lines + 1] = p.name .. " " .. table.concat(parts, " ")
end
local opt = lpact.optim.AdamW(m:parameters(), { lr = lr, weight_decay = 0.01 })
local losses = {}
for s = 1, steps do
  local x, y = lpact.data.text_batch(ds.train, B, cfg.ctx, { seed = 1, step = s - 1 })
  local xs, ys = {}, {}
  for i, v in ipairs(x:reshape { x:numel() }:totable()) do xs[i] = math.tointeger(v) end
  for i, v in ipairs(y:reshape { y:numel() }:totable()) do ys[i] = math.tointeger(v) end
  lines[#lines + 1] = "batch " .. table.concat(xs, " ")
  lines[#lines + 1] = "targets " .. table.concat(ys, " ")
  opt:zero_grad()
  local l = m:loss(x, y)
  l:backward()
  opt:clip_grad_norm(1.0)
  opt:step()
  losses[s] = l.data:item()
  print(s, string.format("%.7f", losses[s]))
end
for s, l in ipairs(losses) do lines[#lines + 1] = string.format("loss %.9g", l) end
require("lpact.files").write_atomic(path, table.concat(lines, "\n") .. "\n")
