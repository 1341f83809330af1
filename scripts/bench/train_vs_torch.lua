-- scripts/bench/train_vs_torch.lua — the lpact side of train_vs_torch.sh:
-- the same recipe as train_vs_torch.py (Adam lr 1e-3, batch 128, seed 1,
-- Fashion-MNIST scaled to [0, 1]) and the same output lines:
--   epoch 1 loss 0.5123 train_acc 0.8201 test_acc 0.8512 seconds 1.234
--   result model=mlp seconds_per_epoch=1.234 test_acc=0.8512
-- usage: lpact scripts/bench/train_vs_torch.lua [--model mlp|cnn_small] [--epochs N]
--        [--batch N] [--lr X] [--seed N] [--limit N] [--data DIR] [--normalize 1]
lpact.script_help(arg)
local o = { model = "mlp", epochs = 1, batch = 128, lr = 1e-3, seed = 1 }
local i = 1
while i <= #arg do
  local k, v = arg[i]:match("^%-%-(%w+)$"), arg[i + 1]
  if not k or v == nil then lpact.fail("usage: lpact scripts/bench/train_vs_torch.lua [--model mlp|cnn_small] [--epochs N] [--batch N] [--lr X] [--seed N] [--limit N] [--data DIR]") end
  if o[k] == nil and not ({ limit = 1, data = 1, normalize = 1 })[k] then lpact.fail("unknown option --" .. k) end
  o[k] = tonumber(v) or v
  i = i + 2
end
for _, k in ipairs { "epochs", "batch", "seed", "limit" } do
  local v = o[k]
  if v ~= nil and (math.type(v) ~= "integer" or v < (k == "seed" and 0 or 1)) then
    lpact.fail(string.format("--%s must be a whole number >= %d, got '%s'", k, k == "seed" and 0 or 1, tostring(v)))
  end
end
if type(o.lr) ~= "number" or not (o.lr > 0) then lpact.fail("--lr must be a positive number, got '" .. tostring(o.lr) .. "'") end

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
