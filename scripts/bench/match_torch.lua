-- scripts/bench/match_torch.lua — checks that lpact trains exactly like
-- PyTorch: builds mlp or cnn_small, writes its initial weights to a text
-- file, trains N steps of Adam (lr 1e-3, batch 128, no shuffling) on the
-- first Fashion-MNIST images and prints the loss of each step; then
-- scripts/bench/match_torch.py loads the same weights into the same
-- PyTorch model, trains on the same batches and compares the two curves.
--   build/lpact scripts/bench/match_torch.lua mlp 60 /tmp/w.txt > /tmp/lpact.txt
--   /usr/bin/python3 scripts/bench/match_torch.py mlp 60 /tmp/w.txt /tmp/lpact.txt
local cli = require "lpact.cli"
local p = cli.parser("lpact scripts/bench/match_torch.lua",
  "Train like scripts/bench/match_torch.py: initial weights to a file, then the loss of each step.")
p:argument("model", "the model"):args("?"):default("mlp"):convert(cli.choice { "mlp", "cnn_small" })
p:argument("steps", "Adam steps"):args("?"):default("60"):convert(cli.int(1))
p:argument("weights", "the weights file to write"):args("?"):default("/tmp/lpact-weights.txt")
local o = cli.parse(p, arg)
local ag = require "lpact.autograd"
local name, steps, wfile = o.model, o.steps, o.weights
local m
if name == "mlp" then m = lpact.models.mlp { 784, 256, 128, 10 }
elseif name == "cnn_small" then m = lpact.models.cnn_small {}
else lpact.fail("model must be mlp or cnn_small") end
local f, err = io.open(wfile, "w")
if not f then lpact.fail("cannot write the weights: " .. err) end
for _, p in ipairs(m:parameters()) do
  local parts = {}
  for i, v in ipairs(p.var.data:reshape { p.var.data:numel() }:totable()) do parts[i] = string.format("%.9g", v) end
  f:write(p.name, " ", table.concat(parts, " "), "\n")
end
f:close()
local ds = lpact.data.fashion_mnist { limit = 128 * steps }
local opt = lpact.optim.Adam(m:parameters(), { lr = 1e-3 })
local i = 0
for x, y in lpact.data.batches(ds.train, 128, { shuffle = false }) do
  i = i + 1
  opt:zero_grad()
  local l = ag.cross_entropy(m:forward(x), y)
  l:backward()
  opt:step()
  print(i, string.format("%.7f", l.data:item()))
end
