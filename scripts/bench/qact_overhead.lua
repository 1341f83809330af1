-- scripts/bench/qact_overhead.lua — the speed target of quantized
-- activations: a training epoch of cnn_small (and of the MLP) with every
-- activation FP4 with learnable levels, in lut and in emulate mode, against
-- the same epoch with FP32 activations, measured in one run.
--
--   lpact scripts/bench/qact_overhead.lua [batches_per_round [rounds [mlp|cnn|both [format]]]]
--
-- Defaults time 3 interleaved rounds of 40 batches per configuration; use
-- `469 1` for one whole 60,000-example epoch each. See stdlib/bench/qact.lua.
lpact.script_help(arg)
local bench = dofile((arg[0]:match("^(.*)/scripts/") or ".") .. "/stdlib/bench/qact.lua")
local a = { arg[1] or "40", arg[2] or "3", arg[3] or "both", arg[4] or "fp4" }
local status = bench(a)
os.exit(status)
