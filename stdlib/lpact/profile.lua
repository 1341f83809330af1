--- lpact.profile — where the time of a training goes, per kernel family,
-- without a profiler.
--
--     local profile = require "lpact.profile"
--     local p = profile.start()
--     lpact.train.fit{...}
--     local shares = p:stop()          -- {{family=, seconds=, calls=, share=}, ...}
--     print(profile.format(shares))
--
-- start() wraps, until stop(), the C kernels (lpact.kernels, lpact.matmul,
-- the quantized-activation core lpact.qcore and its methods), the tensor
-- arithmetic (+ - * / and the elementwise methods), an optimizer's step
-- and the batch iterator of lpact.data, and charges the wall time of each
-- call to its family. Time is exclusive: a call inside another (a kernel
-- inside an optimizer step) is charged to its own family only, and what
-- no wrapped call covers (the Lua of autograd and the layers, garbage
-- collection) is "other". So the shares add up to 100% of the time
-- between start and stop. A wrapped call costs two clock reads (~0.1 us),
-- so the profile shifts the total a little; the shares are what it is for.

local profile = {}

--- The families, in the order they are printed, each with the functions
-- of lpact.kernels that belong to it.
profile.FAMILIES = {
  { name = "gemm", kernels = { "linear", "linear_backward" } },
  -- a convolution fused with the activation and pooling after it counts as
  -- convolution (most of its time); an activation fused with the max
  -- pooling after it counts as pooling
  { name = "conv", kernels = { "conv2d", "conv2d_backward", "conv2d_implicit", "conv2d_winograd", "winograd",
    "conv2d_act_maxpool2d" } },
  { name = "pools", kernels = { "maxpool2d", "maxpool2d_backward", "avgpool2d", "avgpool2d_backward",
    "act_maxpool2d", "act_maxpool2d_backward" } },
  { name = "activations", kernels = { "act", "act_backward", "act_value", "act_deriv", "dropout", "batchnorm",
    "batchnorm_backward", "softmax", "softmax_backward" } },
  { name = "qact", kernels = {} },
  { name = "loss", kernels = { "cross_entropy", "cross_entropy_backward" } },
  { name = "elementwise", kernels = { "add_into", "sum_to" } },
  { name = "optimizer", kernels = { "adam_step", "sgd_step" } },
  { name = "data", kernels = {} },
  { name = "other", kernels = {} },
}

-- Tensor methods charged to "elementwise" (the arithmetic metamethods
-- too); matmul is "gemm".
local TENSOR_METHODS = { "add", "sub", "mul", "div", "add_", "sub_", "mul_", "div_", "addcmul_", "addcdiv_", "copy",
  "fill", "zero", "sum", "mean", "sumsq", "sqrt", "exp", "log", "neg", "abs", "clamp", "relu", "sigmoid", "tanh",
  "square", "pow", "max", "min", "argmax", "contiguous", "clone" }
local TENSOR_META = { "__add", "__sub", "__mul", "__div", "__unm", "__pow" }

local clock = lpact.wallclock

local Profile = {}
Profile.__index = Profile

--- Starts a profile: start([{optimizer = opt}]) (the optimizer's step
-- and zero_grad are then "optimizer"); returns it (stop it with
-- p:stop()). Only one runs at a time.
function profile.start(o)
  o = lpact.check_options(o or {}, { "optimizer" }, "profile.start")
  if profile.running then lpact.fail("profile.start: a profile is already running") end
  local p = setmetatable({ seconds = {}, calls = {}, saved = {}, stack = { "other" } }, Profile)
  for _, f in ipairs(profile.FAMILIES) do
    p.seconds[f.name], p.calls[f.name] = 0, 0
  end
  p.last = clock()
  local function wrap(tbl, key, family)
    local fn = tbl[key]
    if type(fn) ~= "function" then return end
    p.saved[#p.saved + 1] = { tbl, key, rawget(tbl, key) }
    tbl[key] = function(...)
      local stack, now = p.stack, clock()
      local top = stack[#stack]
      p.seconds[top] = p.seconds[top] + (now - p.last)
      stack[#stack + 1] = family
      p.last = now
      p.calls[family] = p.calls[family] + 1
      local function leave(...)
        local t = clock()
        p.seconds[family] = p.seconds[family] + (t - p.last)
        stack[#stack] = nil
        p.last = t
        return ...
      end
      return leave(fn(...))
    end
  end
  for _, f in ipairs(profile.FAMILIES) do
    for _, k in ipairs(f.kernels) do wrap(lpact.kernels, k, f.name) end
  end
  wrap(lpact, "matmul", "gemm")
  if lpact.qcore then
    for k in pairs(lpact.qcore) do wrap(lpact.qcore, k, "qact") end
  end
  local qmt = debug.getregistry()["lpact.QactCore"]
  if qmt and type(qmt.__index) == "table" then
    for k in pairs(qmt.__index) do wrap(qmt.__index, k, "qact") end
  end
  local tmt = getmetatable(lpact.zeros { 1 })
  for _, k in ipairs(TENSOR_META) do wrap(tmt, k, "elementwise") end
  if type(tmt.__index) == "table" then
    for _, k in ipairs(TENSOR_METHODS) do wrap(tmt.__index, k, "elementwise") end
    wrap(tmt.__index, "matmul", "gemm")
  end
  if o.optimizer then
    wrap(o.optimizer, "step", "optimizer")
    wrap(o.optimizer, "zero_grad", "optimizer")
  end
  -- the batch iterator: each step of it is "data"
  local data = require "lpact.data"
  local batches = data.batches
  p.saved[#p.saved + 1] = { data, "batches", batches }
  data.batches = function(...)
    local it, s, c = batches(...)
    local box = { it }
    wrap(box, 1, "data")
    return box[1], s, c
  end
  profile.running = p
  return p
end

--- Stops the profile and puts every wrapped function back. Returns the
-- families as a list {family=, seconds=, calls=, share=} in
-- profile.FAMILIES order (share in [0, 1] of the time since start).
function Profile:stop()
  local now = clock()
  local top = self.stack[#self.stack]
  self.seconds[top] = self.seconds[top] + (now - self.last)
  for i = #self.saved, 1, -1 do
    local s = self.saved[i]
    s[1][s[2]] = s[3]
  end
  self.saved = {}
  profile.running = nil
  local total = 0
  for _, f in ipairs(profile.FAMILIES) do total = total + self.seconds[f.name] end
  local out = {}
  for _, f in ipairs(profile.FAMILIES) do
    out[#out + 1] = { family = f.name, seconds = self.seconds[f.name], calls = self.calls[f.name],
      share = total > 0 and self.seconds[f.name] / total or 0 }
  end
  return out
end

--- The shares as a text table, one family a line.
function profile.format(shares)
  local lines = { string.format("%-12s %9s %8s %7s", "family", "seconds", "calls", "share") }
  for _, r in ipairs(shares) do
    lines[#lines + 1] = string.format("%-12s %9.3f %8d %6.1f%%", r.family, r.seconds, r.calls, 100 * r.share)
  end
  return table.concat(lines, "\n")
end

return profile
