--- bench.train — `lpact bench train`: a short training benchmark. Trains
-- the MLP 784-256-128-10 and cnn_small (ReLU, Adam lr 1e-3, batch 128) for
-- a fixed number of batches on Fashion-MNIST (or the built-in synthetic
-- set when it is missing) and prints milliseconds per batch, examples per
-- second and the projected seconds per 60,000-example epoch. For the full
-- comparison with PyTorch run scripts/bench/train_vs_torch.sh.
--
-- Returns function(args) -> exit status; args[1] = number of batches
-- (default 40 for the MLP, a quarter of that for the CNN).

return function(args)
  local nb = tonumber(args and args[1]) or 40
  local data = lpact.data
  local ok, ds = pcall(data.fashion_mnist, { limit = 128 * nb })
  if not ok then
    ds = data.builtin { n = 128 * nb, test = 128 }
    print("(Fashion-MNIST not found: using the built-in synthetic set)")
  end
  local cases = {
    { name = "mlp 784-256-128-10", build = function() return lpact.models.mlp { 784, 256, 128, 10 } end, batches = nb },
    { name = "cnn_small", build = function() return lpact.models.cnn_small {} end, batches = math.max(4, nb // 4) },
  }
  print(string.format("%-20s %8s %10s %12s %12s", "model", "batches", "ms/batch", "examples/s", "s/epoch(60k)"))
  for _, c in ipairs(cases) do
    local m = c.build()
    local opt = lpact.optim.Adam(m:parameters(), { lr = 1e-3 })
    -- one warm-up batch, then the timed ones
    lpact.train.fit { model = m, data = ds, optimizer = opt, epochs = 1, batch = 128, max_batches = 1,
      eval = false, verbose = false }
    local h = lpact.train.fit { model = m, data = ds, optimizer = opt, epochs = 1, batch = 128,
      max_batches = c.batches, eval = false, verbose = false }
    local e = h.epochs[1]
    local ms = 1000 * e.seconds / e.batches
    print(string.format("%-20s %8d %10.2f %12.0f %12.2f", c.name, e.batches, ms, 128000 / ms,
      ms / 1000 * (60000 / 128)))
  end
  return 0
end
