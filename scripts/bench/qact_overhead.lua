-- scripts/bench/qact_overhead.lua — the speed target of quantized
-- activations: a training epoch of cnn_small (and of the MLP) with every
-- activation FP4 with learnable levels, in lut and in emulate mode, against
-- the same epoch with FP32 activations, measured in one run.
--
--   lpact scripts/bench/qact_overhead.lua [batches_per_round [rounds [mlp|cnn|both [format]]]]
--
-- Defaults time 3 interleaved rounds of 40 batches per configuration; use
-- `469 1` for one whole 60,000-example epoch each. See stdlib/bench/qact.lua.
local cli = require "lpact.cli"
local p = cli.parser("lpact scripts/bench/qact_overhead.lua",
  "The speed target of quantized activations: an epoch with FP4 learnable-level activations, lut and " ..
  "emulate mode, against FP32 (the opening comment of the script says more).")
p:argument("batches", "batches per round"):args("?"):default("40"):convert(cli.int(1))
p:argument("rounds", "interleaved rounds"):args("?"):default("3"):convert(cli.int(1))
p:argument("model", "the models timed"):args("?"):default("both"):convert(cli.choice { "mlp", "cnn", "both" })
p:argument("format", "the activations' format"):args("?"):default("fp4")
local o = cli.parse(p, arg)
local bench = dofile((arg[0]:match("^(.*)/scripts/") or ".") .. "/stdlib/bench/qact.lua")
local a = { tostring(o.batches), tostring(o.rounds), o.model, o.format }
local status = bench(a)
os.exit(status)
