--- bench.train — `lpact bench train [BATCHES] [--profile] [--threads N]`:
-- a short training benchmark. Trains the MLP 784-256-128-10 and cnn_small
-- (ReLU, Adam lr 1e-3, batch 128) for a fixed number of batches on
-- Fashion-MNIST (or the built-in synthetic set when it is missing) and
-- prints milliseconds per batch, examples per second and the projected
-- seconds per 60,000-example epoch. With --profile, it then prints for
-- each model the share of the time spent per kernel family (gemm, conv,
-- pools, activations, qact, loss, elementwise, optimizer, data, other;
-- lpact.profile). For the full comparison with PyTorch run
-- scripts/bench/train_vs_torch.sh.
--
-- Returns function(args) -> exit status; BATCHES defaults to 40 for the
-- MLP, a quarter of that for the CNN.

return function(args)
  local cli = require "lpact.cli"
  local p = cli.parser("lpact bench train", "A short training benchmark of the MLP and cnn_small: ms per batch, " ..
    "examples per second, seconds per epoch.")
  p:argument("batches", "batches of the MLP (a quarter for the CNN)"):argname("BATCHES"):args("?"):default("40")
    :convert(cli.int(1))
  p:flag("--profile", "the share of the time per kernel family")
  p:option("--threads", "kernel threads"):argname("N"):convert(cli.int(1))
  local o = cli.parse(p, args or {})
  local nb, want_profile, threads = o.batches, o.profile and true or false, o.threads
  local old_threads = lpact.threads()
  if threads then lpact.threads(threads) end
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
  print(string.format("threads: %d", lpact.threads()))
  print(string.format("%-20s %8s %10s %12s %12s", "model", "batches", "ms/batch", "examples/s", "s/epoch(60k)"))
  local profiles = {}
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
    if want_profile then
      local profile = require "lpact.profile"
      local p = profile.start { optimizer = opt }
      local okf, err = pcall(lpact.train.fit, { model = m, data = ds, optimizer = opt, epochs = 1, batch = 128,
        max_batches = c.batches, eval = false, verbose = false })
      profiles[#profiles + 1] = { name = c.name, shares = p:stop() }
      if not okf then error(err, 0) end
    end
  end
  for _, pr in ipairs(profiles) do
    print(string.format("\nwhere an epoch's time goes: %s (%d threads)", pr.name, lpact.threads()))
    print(require("lpact.profile").format(pr.shares))
  end
  lpact.threads(old_threads)
  return 0
end
