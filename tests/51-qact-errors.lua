-- Bad input to quantized activations: a clear error when the layer is
-- built (or, for shapes only known then, at the first batch), naming the
-- layer and the option — never a crash, never hours into training.
local t = require "lpact.tap"
local qact = lpact.qact

local function build(cfg) return function() return qact(cfg) end end

t.raises(build { "relu", fmt = "fp4", levels = { 0, 1, 2 } },
  "qact{relu.*option 'levels': 3 values given but the format has 16 codes", "level count that does not fit the format")
t.raises(build { "relu", fmt = "fp32", mode = "lut" },
  "qact{relu.*option 'mode': lut needs an input format of at most 16 bits", "lut with a format wider than 16 bits")
t.raises(build { "relu", in_fmt = "e5m11", out_fmt = "fp4", mode = "lut" },
  "option 'mode': lut needs an input format of at most 16 bits", "lut with a 17-bit format")
t.lives(build { "relu", fmt = "bf16", mode = "lut" }, "lut over bf16 (16 bits, 65536 entries) is fine")
t.raises(build { "relu", fmt = "fp4", scale = { "mx", block = 32, size = 100 } },
  "option 'scale': MX block 32 does not divide the axis size 100", "MX block that does not divide the axis")
t.lives(build { "relu", fmt = "fp4", scale = { "mx", block = 32, size = 100, pad = true } }, "... unless pad = true")
t.raises(build { "relu", fmt = "fp4", scale = { "amax", history = 16 } },
  "option 'scale': a delayed amax %(history = 16%) needs statistics before the first batch", "delayed amax without init")
t.lives(build { "relu", fmt = "fp4", scale = { "amax", history = 16, init = 1 } }, "... with init")
t.raises(build { "swish", fmt = "fp4" }, "option 'fn': unknown activation 'swish'", "unknown function")
t.raises(build { "relu", fmt = "fp4", mode = "fast" }, "option 'mode'", "unknown mode")
t.raises(build { "relu", fmt = "fp4", ste = "magic" }, "option 'ste'", "unknown STE rule")
t.raises(build { "relu", fmt = "e9m1" }, "option 'in_fmt'", "a bad format spec")
t.raises(build { "relu", fmt = "fp32", levels = "learnable" },
  "option 'levels': learnable levels need a output format with codes", "learnable levels without codes")
t.raises(build { "relu", fmt = "fp4", scale = -1 }, "option 'scale'", "negative fixed scale")
t.raises(build { "relu", fmt = "fp4", scale = "minmax" }, "option 'scale': unknown rule 'minmax'", "unknown scale rule")
t.raises(build { "relu", fmt = "fp4", scale = { "mx", rule = "nearest" } }, "MX rule", "unknown MX rule")
t.raises(build { "relu", fmt = "fp4", mode = "lut", scale = "amax" }, "option 'scale': lut mode takes", "lut with a dynamic scale")
t.raises(build { "relu", fmt = "fp4", ste = "staircase", scale = "mx" }, "option 'ste'", "staircase with grouped scales")
t.raises(build { "relu", fmt = "fp4", scale_at = "middle" }, "option 'scale_at'", "bad scale_at")
t.raises(function() qact(42) end, "options table expected", "not a table")

-- the axis size is only known at the first batch: the error comes then
local l = qact.layer { "relu", fmt = "fp4", scale = "mx" }
t.raises(function() l:forward(lpact.zeros { 4, 100 }) end,
  "option 'scale': MX block 32 does not divide axis 2 of size 100", "MX block vs the axis at the first batch")
t.lives(function() l:forward(lpact.zeros { 4, 64 }) end, "a dividing axis works")

-- a model built with a bad activation fails before any training
t.raises(function() lpact.models.mlp { 4, 3, 2, act = qact { "relu", fmt = "fp4", ste = "bogus" } } end,
  "option 'ste'", "a bad option fails when the factory is made")
-- the C kernels from a wrong script: errors, never a crash
local qk = lpact.qk
t.raises(function() qk.new("nope", "fp4", "fp4", "emulate") end, "unknown activation 'nope'", "qk.new: unknown function")
t.raises(function() qk.new("relu", "e99m1", "fp4", "emulate") end, "bad argument #2", "qk.new: bad format")
t.raises(function() qk.new("relu", "fp4", "fp4", "fast") end, "invalid option 'fast'", "qk.new: bad mode")
local core = qk.new("relu", "fp4", "fp4", "emulate")
t.raises(function() core:lookup(lpact.zeros { 3 }, lpact.zeros { 5 }) end, "table of 16 entries expected", "lookup: wrong table size")
t.raises(function() core:table(1, 1, lpact.zeros { 3 }) end, "levels: 16 entries expected", "table: wrong level count")
t.raises(function() core:direct(lpact.zeros { 3 }, lpact.zeros { 2 }, 1) end, "1 scales expected", "direct: wrong scale count")
t.raises(function() core:grouped(lpact.zeros { 3 }, { axis = 3 }) end, "axis out of range", "grouped: bad axis")
t.raises(function() qk.ste(lpact.zeros { 3 }, lpact.zeros { 3 }, "staircase", "relu", 0, 0, 0, { 1, 0 }, { 0, 0 }) end,
  "px must increase", "ste: staircase points out of order")
t.raises(function() qk.ste(lpact.zeros { 3 }, lpact.zeros { 2 }, "fprime", "relu") end, "size differs", "ste: sizes")
t.lives(function() qk.scatter(lpact.zeros { 4 }, lpact.ones { 3 }, lpact.tensor { -5, 0 / 0, 1e30 }, 4) end,
  "scatter skips codes that are not entries")
t.raises(function() qk.scatter(lpact.zeros { 4 }, lpact.ones { 30 }, lpact.zeros { 2 }, 1) end,
  "codes buffer too small", "scatter: a codes buffer too small for g")
t.raises(function() qk.scatter(lpact.zeros { 4 }, lpact.ones { 3 }, lpact.zeros { 2 }, 3) end,
  "code width must be 1, 2 or 4", "scatter: bad code width")
t.raises(function() core:telemetry(lpact.zeros { 3 }, 1, 0, lpact.zeros { 3 }) end, "usage tensor", "telemetry: bad usage size")
t.done()
