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
t.raises(build { "relu", fmt = "e9m1" }, "option 'fmt': e9m1: exponent bits E = 9 out of range", "a bad format spec: the option as given, the spec's own message")
t.raises(build { "relu", fmt = "fp32", levels = "learnable" },
  "option 'levels': learnable levels need an output format with codes", "learnable levels without codes")
t.raises(build { "relu", fmt = "fp4", scale = -1 }, "option 'scale'", "negative fixed scale")
t.raises(build { "relu", fmt = "fp4", scale = "minmax" }, "option 'scale': unknown rule 'minmax'", "unknown scale rule")
t.raises(build { "relu", fmt = "fp4", scale = { "mx", rule = "nearest" } }, "MX rule", "unknown MX rule")
t.raises(build { "relu", fmt = "fp4", mode = "lut", scale = "amax" }, "option 'scale': lut mode takes", "lut with a dynamic scale")
t.raises(build { "relu", fmt = "fp4", ste = "staircase", scale = "mx" }, "option 'ste'", "staircase with grouped scales")
t.raises(build { "relu", fmt = "fp4", scale_at = "middle" }, "option 'scale_at'", "bad scale_at")
t.raises(function() qact(42) end, "options table expected", "not a table")

-- a misspelt option is an error, never a silent default
t.raises(build { "relu", fmt = "fp4", levles = "learnable" },
  "qact{relu, fmt=fp4}: option 'levles': unknown option %(did you mean 'levels'%?%)$", "a misspelt option, with the guess")
t.raises(build { "relu", format = "fp4" }, "option 'format': unknown option %(did you mean 'fmt'%?%)", "format for fmt")
t.raises(build { "relu", fmt = "fp4", colour = "red" }, "option 'colour': unknown option$", "an option far from any known one")
t.raises(build { "relu", fmt = "fp4", scale = { "mx", blocks = 16 } },
  "option 'blocks': unknown option of scale 'mx' %(did you mean 'block'%?%)", "a misspelt option of a scale rule")
t.raises(build { "relu", fmt = "fp4", scale = { "amax", histroy = 4, init = 1 } },
  "option 'histroy': unknown option of scale 'amax' %(did you mean 'history'%?%)", "... of the delayed amax")
t.raises(build { "relu", fmt = "fp4", scale = { "channel", block = 32 } }, "option 'block': unknown option of scale 'channel'",
  "an option of another rule")
t.raises(build { "relu", fmt = "fp4", alpha = 0.1 }, "option 'alpha': only leaky_relu and elu take alpha", "alpha on relu")
t.raises(build { "leaky_relu", fmt = "fp4", alpha = "big" }, "option 'alpha': a number expected", "alpha not a number")
t.lives(build { "leaky_relu", fmt = "fp4", alpha = 0.1 }, "alpha on leaky_relu")
t.raises(build { "relu", fmt = "fp4", sr = true, sr_seed = -1 }, "option 'sr_seed': a whole number >= 0 expected, got %-1",
  "a negative sr seed")
t.raises(build { "relu", fmt = "fp4", sr = true, sr_seed = 2.5 }, "option 'sr_seed': a whole number", "a fractional sr seed")
t.raises(build { "relu", fmt = "fp4", sr_seed = 3 }, "option 'sr_seed': .*give sr = true as well", "a seed without sr")
t.raises(build { "relu", fmt = "fp4", telemetry = "yes" }, "option 'telemetry': true or false expected, got yes",
  "telemetry not a boolean")
t.raises(build { "relu", fmt = "fp4", sr = 1 }, "option 'sr': true or false expected", "sr not a boolean")
do -- every option the documentation lists is accepted
  local ok, err = pcall(qact.layer, { fn = "leaky_relu", alpha = 0.02, fmt = "fp4", in_fmt = "fp4", out_fmt = "fp8",
    mode = "emulate", levels = "learnable", sorted = true, level_lr = 2, level_init = "centroid", ste = "clipped",
    sr = true, sr_seed = 5, scale = 0.5, scale_at = "both", telemetry = true })
  t.ok(ok, "all documented options together are accepted", err)
end

-- the axis size is only known at the first batch: the error comes then
local l = qact.layer { "relu", fmt = "fp4", scale = "mx" }
t.raises(function() l:forward(lpact.zeros { 4, 100 }) end,
  "option 'scale': MX block 32 does not divide axis 2 of size 100", "MX block vs the axis at the first batch")
t.lives(function() l:forward(lpact.zeros { 4, 64 }) end, "a dividing axis works")

-- a model built with a bad activation fails before any training
t.raises(function() lpact.models.mlp { 4, 3, 2, act = qact { "relu", fmt = "fp4", ste = "bogus" } } end,
  "option 'ste'", "a bad option fails when the factory is made")
-- the C kernels from a wrong script: errors, never a crash
local qcore = lpact.qcore
t.raises(function() qcore.new("nope", "fp4", "fp4", "emulate") end, "unknown activation 'nope'", "qcore.new: unknown function")
t.raises(function() qcore.new("relu", "e99m1", "fp4", "emulate") end, "e99m1: exponent bits E = 99 out of range", "qcore.new: bad format")
t.raises(function() qcore.new("relu", "fp4", "fp4", "fast") end, "invalid option 'fast'", "qcore.new: bad mode")
local core = qcore.new("relu", "fp4", "fp4", "emulate")
t.raises(function() core:lookup(lpact.zeros { 3 }, lpact.zeros { 5 }) end, "table of 16 entries expected", "lookup: wrong table size")
t.raises(function() core:table(1, 1, lpact.zeros { 3 }) end, "levels: 16 entries expected", "table: wrong level count")
t.raises(function() core:direct(lpact.zeros { 3 }, lpact.zeros { 2 }, 1) end, "1 scales expected", "direct: wrong scale count")
t.raises(function() core:grouped(lpact.zeros { 3 }, { axis = 3 }) end, "axis out of range", "grouped: bad axis")
t.raises(function() qcore.ste(lpact.zeros { 3 }, lpact.zeros { 3 }, "staircase", "relu", 0, 0, 0, { 1, 0 }, { 0, 0 }) end,
  "px must increase", "ste: staircase points out of order")
t.raises(function() qcore.ste(lpact.zeros { 3 }, lpact.zeros { 2 }, "fprime", "relu") end, "size differs", "ste: sizes")
t.lives(function() qcore.scatter(lpact.zeros { 4 }, lpact.ones { 3 }, lpact.tensor { -5, 0 / 0, 1e30 }, 4) end,
  "scatter skips codes that are not entries")
t.raises(function() qcore.scatter(lpact.zeros { 4 }, lpact.ones { 30 }, lpact.zeros { 2 }, 1) end,
  "codes buffer too small", "scatter: a codes buffer too small for g")
t.raises(function() qcore.scatter(lpact.zeros { 4 }, lpact.ones { 3 }, lpact.zeros { 2 }, 3) end,
  "code width must be 1, 2 or 4", "scatter: bad code width")
t.raises(function() core:telemetry(lpact.zeros { 3 }, 1, 0, lpact.zeros { 3 }) end, "usage tensor", "telemetry: bad usage size")
t.done()
