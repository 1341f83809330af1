-- scripts/bench/train_vs_torch.lua — the lpact side of train_vs_torch.sh:
-- the same recipe as train_vs_torch.py (Adam lr 1e-3, batch 128, seed 1,
-- Fashion-MNIST scaled to [0, 1]) and the same output lines:
--   epoch 1 loss 0.5123 train_acc 0.8201 test_acc 0.8512 seconds 1.234
--   result model=mlp seconds_per_epoch=1.234 test_acc=0.8512
-- usage: lpact scripts/bench/train_vs_torch.lua [--model mlp|cnn_small] [--epochs N]
--        [--batch N] [--lr X] [--seed N] [--limit N] [--data DIR] [--normalize 1]
local cli = require "lpact.cli"
local p = cli.parser("lpact scripts/bench/train_vs_torch.lua",
  "The lpact side of train_vs_torch.sh: the recipe of train_vs_torch.py, the same output lines.")
p:option("--model", "the model"):argname("NAME"):default("mlp"):convert(cli.choice { "mlp", "cnn_small" })
p:option("--epochs", "training epochs"):argname("N"):default("1"):convert(cli.int(1))
p:option("--batch", "batch size"):argname("N"):default("128"):convert(cli.int(1))
p:option("--lr", "Adam's learning rate"):argname("X"):default("1e-3"):convert(cli.number { above = 0 })
p:option("--seed", "seed"):argname("N"):default("1"):convert(cli.int(0))
p:option("--limit", "use only the first N training and test images"):argname("N"):convert(cli.int(1))
p:option("--data", "the Fashion-MNIST folder"):argname("DIR")
p:option("--normalize", "1: standardise the inputs"):argname("0|1"):default("0"):convert(cli.int(0, 1))
local o = cli.parse(p, arg)

local ds = lpact.data.fashion_mnist { dir = o.data, limit = o.limit }
if o.normalize == 1 then lpact.data.normalize(ds) end
local model
if o.model == "mlp" then model = lpact.models.mlp { 784, 256, 128, 10, act = "relu", seed = o.seed }
elseif o.model == "cnn_small" then model = lpact.models.cnn_small { act = "relu", seed = o.seed }
else lpact.fail("unknown model '" .. tostring(o.model) .. "' (mlp, cnn_small)") end

local times, acc = {}, 0
lpact.train.fit {
  model = model, data = ds, epochs = o.epochs, batch = o.batch, seed = o.seed, verbose = false,
  optimizer = lpact.optim.Adam(model:parameters(), { lr = o.lr }),
  on_epoch = function(e)
    times[#times + 1] = e.seconds
    acc = e.test_acc
    print(string.format("epoch %d loss %.4f train_acc %.4f test_acc %.4f seconds %.3f",
      e.epoch, e.train_loss, e.train_acc, e.test_acc, e.seconds))
    io.stdout:flush()
  end,
}
local s = 0
for _, t in ipairs(times) do s = s + t end
print(string.format("result model=%s seconds_per_epoch=%.3f test_acc=%.4f", o.model, s / #times, acc))
