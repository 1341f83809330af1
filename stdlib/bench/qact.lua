--- bench.qact — `lpact bench qact`: the cost of quantized activations in
-- training. Times cnn_small and the MLP 784-256-128-10 on Fashion-MNIST
-- (or the built-in synthetic set) with FP32 activations and with every
-- activation FP4 (learnable levels) in lut and in emulate mode, and prints
-- each one's time per epoch and its ratio to FP32. The configurations are
-- interleaved in rounds (FP32, lut, emulate, FP32, …) so that load from
-- other processes falls on all of them alike; the ratios come from one run.
--
-- Returns function(args) -> exit status; args[1] = batches per round
-- (default 10), args[2] = rounds (default 2), args[3] = "mlp", "cnn" or
-- "both" (default), args[4] = format (default fp4).

return function(args)
  local cli = require "lpact.cli"
  local p = cli.parser("lpact bench qact", "The cost of quantized activations in training: FP32, lut and emulate " ..
    "mode, interleaved in rounds.")
  p:argument("batches", "batches per round"):args("?"):default("10"):convert(cli.int(1))
  p:argument("rounds", "rounds"):args("?"):default("2"):convert(cli.int(1))
  p:argument("model", "the models timed"):args("?"):default("both"):convert(cli.choice { "mlp", "cnn", "both" })
  p:argument("format", "the activations' format"):args("?"):default("fp4")
  local o = cli.parse(p, args or {})
  local per, rounds, which, fmt = o.batches, o.rounds, o.model, o.format
  lpact.qact { "relu", fmt = fmt, mode = "lut", levels = "learnable" }   -- a bad format fails now
  local data = lpact.data
  local ok, ds = pcall(data.fashion_mnist, {})
  if not ok then
    ds = data.builtin { n = 128 * per, test = 128 }
    print("(Fashion-MNIST not found: using the built-in synthetic set)")
  end
  local qact = lpact.qact
  local configs = {
    { name = "fp32", act = function(a) return a end },
    { name = fmt .. " lut learnable", act = function(a) return qact { a, fmt = fmt, mode = "lut", levels = "learnable" } end },
    { name = fmt .. " emulate learnable", act = function(a) return qact { a, fmt = fmt, levels = "learnable" } end },
  }
  local models = {}
  if which ~= "cnn" then models[#models + 1] = { name = "mlp 784-256-128-10", build = function(act) return lpact.models.mlp { 784, 256, 128, 10, act = act } end } end
  if which ~= "mlp" then models[#models + 1] = { name = "cnn_small", build = function(act) return lpact.models.cnn_small { act = act } end } end
  local nb = (ds.train.x:size(1) + 127) // 128
  print(string.format("%d rounds x %d batches of 128 per configuration, interleaved; relu activations", rounds, per))
  print(string.format("%-20s %-22s %10s %14s %8s", "model", "activations", "ms/batch", "s/epoch(60k)", "ratio"))
  local out = {}
  for _, mdef in ipairs(models) do
    local runs = {}
    for i, c in ipairs(configs) do
      local m = mdef.build(c.act("relu"))
      local opt = lpact.optim.Adam(m:parameters(), { lr = 1e-3 })
      lpact.train.fit { model = m, data = ds, optimizer = opt, epochs = 1, batch = 128, max_batches = 2,
        eval = false, verbose = false }   -- warm-up
      runs[i] = { model = m, opt = opt, secs = 0, batches = 0 }
    end
    for r = 1, rounds do
      for i = 1, #configs do
        local run = runs[i]
        local h = lpact.train.fit { model = run.model, data = ds, optimizer = run.opt, epochs = 1, batch = 128,
          max_batches = per, eval = false, verbose = false, seed = r }
        run.secs = run.secs + h.epochs[1].seconds
        run.batches = run.batches + h.epochs[1].batches
      end
    end
    local base = runs[1].secs / runs[1].batches
    for i, c in ipairs(configs) do
      local msb = runs[i].secs / runs[i].batches
      out[#out + 1] = { model = mdef.name, config = c.name, ms = 1000 * msb, ratio = msb / base }
      print(string.format("%-20s %-22s %10.2f %14.2f %8.3f", mdef.name, c.name, 1000 * msb, msb * nb, msb / base))
    end
  end
  return 0, out
end
