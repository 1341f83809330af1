--- lpact.nn — layers as Lua objects over autograd Vars (Torch7-style).
--
--     local nn = lpact.nn
--     local model = nn.Sequential{
--       nn.Flatten(), nn.Linear(784, 128), nn.act "relu", nn.Linear(128, 10),
--     }
--     local logits = model:forward(x)          -- x: a Tensor or a Var
--     print(model)                             -- layers, parameter counts, activations
--
-- Every module has forward(x), parameters() (a stable list of {name=, var=}),
-- buffers() ({name=, tensor=}: running statistics), train()/eval(),
-- children() and describe(). New layers derive from nn.Module with
-- nn.class("Name"); a layer registers its learnable tensors with
-- self:param(name, tensor) and its children with self:add(name, module).
--
-- Activations: anywhere an activation is asked for, a spec may be a name
-- ("relu"), a Module instance (copied for each site) or a factory function
-- returning a Module (called once per site). nn.act(spec) resolves one;
-- quantized activations plug in through it. A module counts as an
-- activation site when it has `is_activation = true` (nn.Activation does),
-- so nn.swap_activations replaces quantized ones too.
--
-- Initialisation is seeded: every layer takes {seed=}; without one, seeds
-- come from a counter that nn.manual_seed(s) resets, so the same script
-- builds the same model.

local ag = require "lpact.autograd"

local nn = {}

-- Seeds ------------------------------------------------------------------

local seed_base, seed_count = 0, 0

--- Resets the seed counter used by layers built without an explicit seed.
function nn.manual_seed(s)
  seed_base, seed_count = math.tointeger(s) or 0, 0
end

--- The next layer seed from the counter (distinct for every call).
function nn.next_seed()
  seed_count = seed_count + 1
  return seed_base * 7919 + seed_count
end

--- Runs fn(...) with the seed counter reset to `seed`, restoring the old
-- counter afterwards; the model zoo builds every model this way.
function nn.seeded(seed, fn, ...)
  local b, c = seed_base, seed_count
  nn.manual_seed(seed or 0)
  local res = table.pack(pcall(fn, ...))
  seed_base, seed_count = b, c
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

-- Helpers -----------------------------------------------------------------

local function is_var(x) return type(x) == "table" and x.data ~= nil end
local function data_of(x) return is_var(x) and x.data or x end

local function shape_str(s)
  local p = {}
  for i, d in ipairs(s) do p[i] = tostring(d) end
  return "(" .. table.concat(p, ", ") .. ")"
end

local function with_commas(n)
  local s = tostring(math.tointeger(n) or n)
  local r
  repeat s, r = s:gsub("^(%d+)(%d%d%d)", "%1,%2") until r == 0
  return s
end
nn.with_commas = with_commas

-- Initialisation ------------------------------------------------------------

nn.init = {}

--- Uniform U(-bound, bound) tensor of this shape from a seed.
function nn.init.uniform(shape, bound, seed)
  local t = lpact.rand(shape, seed)
  return t * (2 * bound) - bound
end

--- Normal N(0, std^2) tensor of this shape from a seed.
function nn.init.normal(shape, std, seed)
  return lpact.randn(shape, seed) * std
end

--- Weight and bias tensors for a layer with these shapes and fans:
-- "torch" (PyTorch's default: U(±1/sqrt(fan_in)) for both), "kaiming"
-- (He normal, std sqrt(2/fan_in), bias 0), "kaiming_uniform"
-- (U(±sqrt(6/fan_in)), bias 0), "xavier" (Glorot uniform
-- U(±sqrt(6/(fan_in+fan_out))), bias 0), "xavier_normal".
function nn.init.weights(kind, wshape, bshape, fan_in, fan_out, seed)
  local w
  local bias_zero = true
  if kind == "torch" or kind == nil then
    w = nn.init.uniform(wshape, 1 / math.sqrt(fan_in), seed)
    bias_zero = false
  elseif kind == "kaiming" or kind == "he" then
    w = nn.init.normal(wshape, math.sqrt(2 / fan_in), seed)
  elseif kind == "kaiming_uniform" then
    w = nn.init.uniform(wshape, math.sqrt(6 / fan_in), seed)
  elseif kind == "xavier" or kind == "glorot" then
    w = nn.init.uniform(wshape, math.sqrt(6 / (fan_in + fan_out)), seed)
  elseif kind == "xavier_normal" then
    w = nn.init.normal(wshape, math.sqrt(2 / (fan_in + fan_out)), seed)
  else
    lpact.fail(string.format("unknown init '%s' (torch, kaiming, kaiming_uniform, xavier, xavier_normal)", tostring(kind)))
  end
  local b
  if bshape then
    if bias_zero then b = lpact.zeros(bshape)
    else b = nn.init.uniform(bshape, 1 / math.sqrt(fan_in), seed + 104729) end
  end
  return w, b
end

-- Classes -------------------------------------------------------------------

local Module = {}
Module.__index = Module
Module.__name = "Module"
nn.Module = Module

local function module_tostring(m) return nn.tree(m) end
local function module_call(m, x) return m:forward(x) end

--- A new layer class deriving from `parent` (default nn.Module). The class
-- is callable: nn.class("Foo")(...) runs Foo.init(self, ...) on a new object.
function nn.class(name, parent)
  parent = parent or Module
  local cls = {}
  cls.__index = cls
  cls.__name = name
  cls.__tostring = module_tostring
  cls.__call = module_call
  return setmetatable(cls, {
    __index = parent,
    __call = function(c, ...)
      local self = setmetatable({ training = true, _params = {}, _buffers = {}, _children = {} }, c)
      if c.init then c.init(self, ...) end
      return self
    end,
  })
end

--- True when v is a module (has a forward method).
function nn.is_module(v)
  return type(v) == "table" and type(v.forward) == "function"
end

--- Registers a learnable tensor as parameter `name` (a Var in self[name]).
function Module:param(name, tensor)
  local v = ag.param(tensor)
  self._params[#self._params + 1] = { name = name, var = v }
  self[name] = v
  return v
end

--- Registers a non-learnable state tensor (e.g. running mean) as `name`.
function Module:buffer(name, tensor)
  self._buffers[#self._buffers + 1] = { name = name, tensor = tensor }
  self[name] = tensor
  return tensor
end

local function set_path(m, path)
  m.path = path
  if m._children then
    for _, c in ipairs(m._children) do set_path(c.module, path .. "." .. c.name) end
  end
end

--- Adds a child module under `name` (its parameters become "name.weight" ...).
function Module:add(name, child)
  if not nn.is_module(child) then
    error(string.format("%s: child '%s' is not a module (got %s)", self.__name, tostring(name), type(child)), 2)
  end
  name = tostring(name)
  self._children[#self._children + 1] = { name = name, module = child }
  set_path(child, self.path and (self.path .. "." .. name) or name)
  return child
end

--- The child modules as a list of {name=, module=}.
function Module:children()
  return self._children or {}
end

--- Every parameter of this module and its children, in a stable order, as
-- a list of {name = "2.weight", var = Var}; a shared Var is listed once.
function Module:parameters()
  local out, seen = {}, {}
  local function walk(m, prefix)
    if m._params then
      for _, p in ipairs(m._params) do
        if not seen[p.var] then
          seen[p.var] = true
          out[#out + 1] = { name = prefix .. p.name, var = p.var }
        end
      end
      for _, c in ipairs(m._children) do walk(c.module, prefix .. c.name .. ".") end
    elseif m.parameters then -- a module not built on nn.Module
      for _, p in ipairs(m:parameters()) do
        if not seen[p.var] then
          seen[p.var] = true
          out[#out + 1] = { name = prefix .. p.name, var = p.var }
        end
      end
    end
  end
  walk(self, "")
  return out
end

--- Every buffer (running statistics) as a list of {name=, tensor=}.
function Module:buffers()
  local out = {}
  local function walk(m, prefix)
    if m._buffers then
      for _, b in ipairs(m._buffers) do out[#out + 1] = { name = prefix .. b.name, tensor = b.tensor } end
      for _, c in ipairs(m._children) do walk(c.module, prefix .. c.name .. ".") end
    elseif m.buffers then
      for _, b in ipairs(m:buffers()) do out[#out + 1] = { name = prefix .. b.name, tensor = b.tensor } end
    end
  end
  walk(self, "")
  return out
end

--- The number of learnable scalars.
function Module:num_parameters()
  local n = 0
  for _, p in ipairs(self:parameters()) do n = n + p.var.data:numel() end
  return n
end

--- Writes the parameters and buffers to a safetensors file under PyTorch
-- names, with the model's configuration in __metadata__ (lpact.interop).
function Module:save_safetensors(path, o) return require("lpact.interop").save_model(self, path, o) end

--- Loads parameters and buffers from a table of tensors (PyTorch names,
-- as lpact.load_safetensors returns) or a safetensors file (lpact.interop).
function Module:load_state(tensors) return require("lpact.interop").load_state(self, tensors) end

--- A lookup table for hardware (lpact.lut): quantized activations
-- (lpact.qact) write theirs; any other module is refused in one line.
function Module:export_lut(path, o) return require("lpact.lut").export(self, path, o) end

--- Sets training mode (on = true, the default) here and in every child.
function Module:train(on)
  if on == nil then on = true end
  self.training = on
  for _, c in ipairs(self:children()) do
    local m = c.module
    if m.train then m:train(on) else m.training = on end
  end
  return self
end

--- Sets evaluation mode (BatchNorm uses running statistics, Dropout passes through).
function Module:eval() return self:train(false) end

--- Clears the gradients of every parameter.
function Module:zero_grad()
  for _, p in ipairs(self:parameters()) do
    if p.var.grad then p.var.grad:zero() end
  end
end

--- The layer's one-line description (layers override it).
function Module:describe() return self.__name end

--- m(x) is m:forward(x).
function Module:forward()
  error(self.__name .. ": forward is not implemented", 2)
end

local function is_tensor(v)
  if type(v) ~= "userdata" then return false end
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__name == "lpact.Tensor"
end

local function deepcopy(v, seen)
  if is_tensor(v) then
    if not seen[v] then seen[v] = v:clone() end
    return seen[v]
  end
  if type(v) ~= "table" then return v end
  if seen[v] then return seen[v] end
  if is_var(v) and v.requires_grad ~= nil and getmetatable(v) then
    local c = ag.var(v.data:clone(), v.requires_grad)
    seen[v] = c
    return c
  end
  local c = {}
  seen[v] = c
  for k, x in pairs(v) do c[deepcopy(k, seen)] = deepcopy(x, seen) end
  return setmetatable(c, getmetatable(v))
end

--- A deep copy: same structure, own copies of every parameter and buffer.
function Module:clone()
  local c = deepcopy(self, {})
  c.path = nil
  return c
end

-- The error for a wrong input shape: names the layer, expected and actual.
function Module:shape_error(expected, x)
  local where = self.path and string.format("layer %s (%s)", self.path, self:describe()) or self:describe()
  lpact.fail(string.format("%s: expected input of shape %s, got %s",
    where, expected, shape_str(data_of(x):shape())))
end

-- Printing -------------------------------------------------------------------

--- A multi-line listing of a module tree: one line per layer with its
-- parameter count; containers show their children indented.
function nn.tree(m)
  local lines = {}
  local function own_params(x)
    local n = 0
    if x._params then
      for _, p in ipairs(x._params) do n = n + p.var.data:numel() end
    elseif x.parameters then
      for _, p in ipairs(x:parameters()) do n = n + p.var.data:numel() end
    end
    return n
  end
  local function walk(x, name, depth)
    local desc = x.describe and x:describe() or tostring(x.__name or "module")
    local label = string.rep("  ", depth) .. (name and ("(" .. name .. ") ") or "") .. desc
    local kids = x._children or {}
    local n = own_params(x)
    if n > 0 then
      local c = with_commas(n)
      label = label .. string.rep(" ", math.max(1, 60 - #label - #c)) .. c .. " params"
    end
    lines[#lines + 1] = label
    for _, c in ipairs(kids) do walk(c.module, c.name, depth + 1) end
  end
  walk(m, nil, 0)
  local total = 0
  for _, p in ipairs(m.parameters and m:parameters() or {}) do total = total + p.var.data:numel() end
  lines[#lines + 1] = string.format("%s parameters", with_commas(total))
  return table.concat(lines, "\n")
end

-- The input shape a model takes, when its first layer with parameters
-- says it (a Linear layer: {in features}; what comes before it, such as
-- Flatten, keeps a (N, features) input as it is); else nil.
local function first_input_shape(m)
  local found
  local function walk(x)
    if found ~= nil then return end
    local kids = x._children or {}
    if #kids == 0 then
      if x.nin then found = { x.nin }
      elseif x._params and #x._params > 0 then found = false end
    end
    for _, c in ipairs(kids) do walk(c.module) end
  end
  walk(m)
  return found or nil
end

--- A table of the layers with the shape each one produces for an input of
-- `shape` (without the batch dimension, e.g. {1, 28, 28}): runs one forward
-- pass on zeros in eval mode without recording gradients, then restores
-- the mode. Without `shape`, a model that starts with a Linear layer takes
-- its input size. Returns the text (also printed when print_it is true).
function Module:summary(shape, print_it)
  if shape == nil then shape = first_input_shape(self) end
  if type(shape) ~= "table" then
    lpact.fail("summary: give the input shape without the batch dimension, e.g. model:summary{1, 28, 28}")
  end
  local full = { 2 }
  for i, d in ipairs(shape) do full[i + 1] = d end
  local rows, depth = {}, 0
  local wrapped, seen = {}, {}
  local function wrap(m, name)
    if seen[m] then return end -- a shared layer is wrapped once
    seen[m] = true
    local orig = rawget(m, "forward")
    wrapped[#wrapped + 1] = { m = m, orig = orig }
    local cls_forward = m.forward
    m.forward = function(self, x)
      depth = depth + 1
      local row = { depth = depth, name = name, desc = self.describe and self:describe() or "?" }
      rows[#rows + 1] = row
      local y = cls_forward(self, x)
      local ys = data_of(y):shape()
      ys[1] = "N"
      row.out = "(" .. table.concat(ys, ", ") .. ")"
      depth = depth - 1
      return y
    end
    for _, c in ipairs(m._children or {}) do wrap(c.module, c.name) end
  end
  wrap(self, nil)
  local was = self.training
  self:eval()
  local ok, err = pcall(ag.no_grad, function() return self:forward(lpact.zeros(full)) end)
  for i = #wrapped, 1, -1 do rawset(wrapped[i].m, "forward", wrapped[i].orig) end
  self:train(was ~= false)
  if not ok then error(err, 0) end
  local lines = {}
  for _, r in ipairs(rows) do
    local label = string.rep("  ", r.depth - 1) .. (r.name and ("(" .. r.name .. ") ") or "") .. r.desc
    lines[#lines + 1] = label .. string.rep(" ", math.max(1, 56 - #label)) .. r.out
  end
  lines[#lines + 1] = string.format("%s parameters", with_commas(self:num_parameters()))
  local text = table.concat(lines, "\n")
  if print_it then print(text) end
  return text
end

-- Layers ----------------------------------------------------------------------

local Linear = nn.class("Linear")
nn.Linear = Linear

--- nn.Linear(in, out, {seed=, init="torch", bias=true}): y = x W^T + b,
-- x (N, in) -> (N, out); W (out, in).
function Linear:init(nin, nout, o)
  o = lpact.check_options(o or {}, { "bias", "init", "seed" }, "nn.Linear")
  assert(math.type(nin) == "integer" and nin > 0, "Linear: in features must be a positive integer")
  assert(math.type(nout) == "integer" and nout > 0, "Linear: out features must be a positive integer")
  self.nin, self.nout = nin, nout
  local seed = o.seed or nn.next_seed()
  local w, b = nn.init.weights(o.init, { nout, nin }, o.bias ~= false and { nout } or nil, nin, nout, seed)
  self:param("weight", w)
  if b then self:param("bias", b) end
end

--- "Linear(in -> out)".
function Linear:describe()
  return string.format("Linear(%d -> %d%s%s)", self.nin, self.nout, self.bias and "" or ", no bias",
    self.weight_q_desc and (", weights " .. self.weight_q_desc) or "")
end

-- The weight a forward pass uses: the parameter itself, or what the layer's
-- weight_q hook (lpact.qact.weights: fake quantization) makes of it.
local function used_weight(self)
  return self.weight_q and self.weight_q(self.weight) or self.weight
end

--- (N, in) -> (N, out); refuses other shapes naming the layer.
function Linear:forward(x)
  local d = data_of(x)
  if d:dim() ~= 2 or d:size(2) ~= self.nin then
    self:shape_error(string.format("(N, %d)", self.nin), x)
  end
  return ag.linear(x, used_weight(self), self.bias)
end

local Conv2d = nn.class("Conv2d")
nn.Conv2d = Conv2d

--- nn.Conv2d(cin, cout, k, {stride=1, pad=0, seed=, init="torch", bias=true}):
-- x (N, cin, H, W) -> (N, cout, OH, OW); weight (cout, cin, k, k).
function Conv2d:init(cin, cout, k, o)
  o = lpact.check_options(o or {}, { "bias", "init", "seed", "stride", "pad", "padding" }, "nn.Conv2d")
  assert(math.type(cin) == "integer" and cin > 0, "Conv2d: in channels must be a positive integer")
  assert(math.type(cout) == "integer" and cout > 0, "Conv2d: out channels must be a positive integer")
  assert(math.type(k) == "integer" and k > 0, "Conv2d: kernel size must be a positive integer")
  self.cin, self.cout, self.k = cin, cout, k
  self.stride, self.pad = o.stride or 1, o.pad or o.padding or 0
  local seed = o.seed or nn.next_seed()
  local w, b = nn.init.weights(o.init, { cout, cin, k, k }, o.bias ~= false and { cout } or nil,
    cin * k * k, cout * k * k, seed)
  self:param("weight", w)
  if b then self:param("bias", b) end
end

--- "Conv2d(cin -> cout, kxk, stride s, pad p)".
function Conv2d:describe()
  local extra = ""
  if self.stride ~= 1 then extra = extra .. ", stride " .. self.stride end
  if self.pad ~= 0 then extra = extra .. ", pad " .. self.pad end
  if not self.bias then extra = extra .. ", no bias" end
  if self.weight_q_desc then extra = extra .. ", weights " .. self.weight_q_desc end
  return string.format("Conv2d(%d -> %d, %dx%d%s)", self.cin, self.cout, self.k, self.k, extra)
end

--- (N, cin, H, W) -> (N, cout, OH, OW).
function Conv2d:forward(x)
  local d = data_of(x)
  if d:dim() ~= 4 or d:size(2) ~= self.cin
      or d:size(3) + 2 * self.pad < self.k or d:size(4) + 2 * self.pad < self.k then
    self:shape_error(string.format("(N, %d, H, W) with H, W >= %d", self.cin, self.k - 2 * self.pad), x)
  end
  return ag.conv2d(x, used_weight(self), self.bias, self.stride, self.pad)
end

--- Conv2d then FP32 activation `act` then MaxPool2d `pool` as one
-- operation (nn.Sequential's fusion; the bits of the three forwards).
function Conv2d:forward_pooled(x, act, pool)
  local d = data_of(x)
  if d:dim() ~= 4 or d:size(2) ~= self.cin
      or d:size(3) + 2 * self.pad < self.k or d:size(4) + 2 * self.pad < self.k then
    self:shape_error(string.format("(N, %d, H, W) with H, W >= %d", self.cin, self.k - 2 * self.pad), x)
  end
  return ag.conv2d_act_maxpool2d(x, used_weight(self), self.bias, self.stride, self.pad, act.name, act.alpha,
    pool.k, pool.stride)
end

local function pool_check(self, x)
  local d = data_of(x)
  if d:dim() ~= 4 or d:size(3) < self.k or d:size(4) < self.k then
    self:shape_error(string.format("(N, C, H, W) with H, W >= %d", self.k), x)
  end
end

local MaxPool2d = nn.class("MaxPool2d")
nn.MaxPool2d = MaxPool2d

--- nn.MaxPool2d(k [, stride = k]): max over k x k windows.
function MaxPool2d:init(k, s)
  self.k, self.stride = k or 2, s or k or 2
end
--- "MaxPool2d(k, stride s)".
function MaxPool2d:describe() return string.format("MaxPool2d(%d, stride %d)", self.k, self.stride) end
--- (N, C, H, W) -> (N, C, OH, OW), the max of each window.
function MaxPool2d:forward(x)
  pool_check(self, x)
  return ag.maxpool2d(x, self.k, self.stride)
end

local AvgPool2d = nn.class("AvgPool2d")
nn.AvgPool2d = AvgPool2d

--- nn.AvgPool2d(k [, stride = k]): mean over k x k windows.
function AvgPool2d:init(k, s)
  self.k, self.stride = k or 2, s or k or 2
end
--- "AvgPool2d(k, stride s)".
function AvgPool2d:describe() return string.format("AvgPool2d(%d, stride %d)", self.k, self.stride) end
--- (N, C, H, W) -> (N, C, OH, OW), the mean of each window.
function AvgPool2d:forward(x)
  pool_check(self, x)
  return ag.avgpool2d(x, self.k, self.stride)
end

local GlobalAvgPool = nn.class("GlobalAvgPool")
nn.GlobalAvgPool = GlobalAvgPool

--- nn.GlobalAvgPool(): (N, C, H, W) -> (N, C), the mean of each plane.
function GlobalAvgPool:describe() return "GlobalAvgPool" end
--- (N, C, H, W) -> (N, C).
function GlobalAvgPool:forward(x)
  if data_of(x):dim() ~= 4 then self:shape_error("(N, C, H, W)", x) end
  return ag.global_avgpool(x)
end

local BatchNorm = nn.class("BatchNorm")
nn.BatchNorm = BatchNorm

--- nn.BatchNorm(c, {momentum=0.1, eps=1e-5, affine=true}): normalises
-- (N, c) or (N, c, H, W) per channel; batch statistics in training,
-- running statistics (buffers running_mean, running_var) in eval.
function BatchNorm:init(c, o)
  o = lpact.check_options(o or {}, { "affine", "eps", "momentum" }, "nn.BatchNorm")
  assert(math.type(c) == "integer" and c > 0, "BatchNorm: channels must be a positive integer")
  self.c = c
  self.momentum, self.eps = o.momentum or 0.1, o.eps or 1e-5
  -- eps > 0 keeps 1/sqrt(var + eps) finite; momentum 0..1 is a weight
  if type(self.eps) ~= "number" or not (self.eps > 0 and self.eps < math.huge) then
    lpact.fail("nn.BatchNorm: eps must be a number > 0, got " .. tostring(self.eps))
  end
  if type(self.momentum) ~= "number" or not (self.momentum >= 0 and self.momentum <= 1) then
    lpact.fail("nn.BatchNorm: momentum must be a number in [0, 1], got " .. tostring(self.momentum))
  end
  if o.affine ~= false then
    self:param("weight", lpact.ones { c })
    self:param("bias", lpact.zeros { c })
  end
  self:buffer("running_mean", lpact.zeros { c })
  self:buffer("running_var", lpact.ones { c })
end
--- "BatchNorm(c)".
function BatchNorm:describe() return string.format("BatchNorm(%d)", self.c) end
--- Normalises per channel (batch statistics in training, running ones in eval).
function BatchNorm:forward(x)
  local d = data_of(x)
  local nd = d:dim()
  if (nd ~= 2 and nd ~= 4) or d:size(2) ~= self.c then
    self:shape_error(string.format("(N, %d) or (N, %d, H, W)", self.c, self.c), x)
  end
  return ag.batchnorm(x, self.weight, self.bias, self.running_mean, self.running_var,
    self.training, self.momentum, self.eps)
end

local Dropout = nn.class("Dropout")
nn.Dropout = Dropout

--- nn.Dropout(p, {seed=}): in training zeroes each element with
-- probability p and scales the rest by 1/(1-p); identity in eval. The mask
-- comes from a counter-based stream, so runs repeat bit for bit.
function Dropout:init(p, o)
  o = lpact.check_options(o or {}, { "seed" }, "nn.Dropout")
  p = p or 0.5
  assert(type(p) == "number" and p >= 0 and p < 1, "Dropout: p must be in [0, 1)")
  self.p = p
  self.key = o.seed or nn.next_seed()
  self.ctr = 0
end
--- "Dropout(p)".
function Dropout:describe() return string.format("Dropout(%g)", self.p) end
--- Drops elements in training (a fresh part of the stream each call); identity in eval.
function Dropout:forward(x)
  if not self.training or self.p == 0 then return x end
  local ctr = self.ctr
  self.ctr = ctr + data_of(x):numel()
  return ag.dropout(x, self.p, true, self.key, ctr)
end

local Flatten = nn.class("Flatten")
nn.Flatten = Flatten

--- nn.Flatten(): (N, ...) -> (N, rest).
function Flatten:describe() return "Flatten" end
--- (N, ...) -> (N, rest).
function Flatten:forward(x)
  if data_of(x):dim() == 2 then return x end
  return ag.flatten(x)
end

local Activation = nn.class("Activation")
nn.Activation = Activation
Activation.is_activation = true

-- The activation functions the engine knows (its registry, core/act.c):
-- name -> {name=, formula=, alpha=, ...} and the names in order, identity
-- last.
local known_acts = {}
nn.activation_names = {}
for _, a in ipairs(lpact.activations()) do
  known_acts[a.name] = a
  if a.name ~= "identity" then nn.activation_names[#nn.activation_names + 1] = a.name end
end

--- The registry's record of activation `name` ({name=, formula=,
-- monotone=, ops=, alpha= and param= when it takes a parameter}), or nil.
function nn.activation_info(name) return known_acts[name] end

--- nn.Activation(name [, alpha]): an FP32 activation layer; the names are
-- lpact.activations()'s (relu, leaky_relu (alpha 0.01), elu (alpha 1),
-- gelu, sigmoid, tanh, ...).
function Activation:init(name, alpha)
  if not known_acts[name] then
    lpact.fail(string.format("unknown activation '%s' (known: %s)", tostring(name),
      table.concat(nn.activation_names, ", ")))
  end
  self.name, self.alpha = name, alpha
end
--- The function and its number format, e.g. "relu fp32".
function Activation:describe()
  if self.alpha then return string.format("%s(%g) fp32", self.name, self.alpha) end
  return self.name .. " fp32"
end
--- f(x) elementwise, in float32.
function Activation:forward(x)
  if self.name == "identity" then return x end
  return ag.act(self.name, x, self.alpha)
end

--- An activation Module from a spec: a name ("relu"), {name, alpha}
-- ({"leaky_relu", 0.1}), a Module instance (a copy is returned), a factory
-- function returning a Module (called each time) or a layer class made by
-- nn.class (called with no arguments). nil means relu.
function nn.act(spec)
  if spec == nil then return Activation("relu") end
  local ts = type(spec)
  if ts == "string" then return Activation(spec) end
  if ts == "function" or (ts == "table" and rawget(spec, "__index") == spec) then
    local m = spec() -- a factory, or a layer class such as nn.Activation's kin
    if not nn.is_module(m) then
      lpact.fail("activation factory returned " .. type(m) .. ", not a module")
    end
    return m
  end
  if nn.is_module(spec) then
    if spec.clone then return spec:clone() end
    return deepcopy(spec, {})
  end
  if ts == "table" and type(spec[1]) == "string" then return Activation(spec[1], spec[2]) end
  lpact.fail("activation expected (a name, a module or a factory), got " .. ts)
end

--- A short name of an activation spec for model descriptions.
function nn.act_name(spec)
  if spec == nil then return "relu" end
  if type(spec) == "string" then return spec end
  if type(spec) == "table" and type(spec[1]) == "string" then return spec[1] end
  local m = nn.act(spec)
  return m.describe and m:describe() or "custom"
end

--- True when module m is an activation site (nn.Activation, or any module
-- with is_activation = true such as a quantized activation).
function nn.is_activation(m)
  return type(m) == "table" and m.is_activation == true
end

--- Replaces every activation site of model by nn.act(spec) (a fresh module
-- per site); returns the number replaced.
function nn.swap_activations(model, spec)
  local n = 0
  local function walk(m)
    for _, c in ipairs(m._children or {}) do
      if nn.is_activation(c.module) then
        local new = nn.act(spec)
        new.training = c.module.training
        if c.module.path then set_path(new, c.module.path) end
        c.module = new
        n = n + 1
      else
        walk(c.module)
      end
    end
  end
  walk(model)
  if model._refresh then model:_refresh() end
  return n
end

-- Containers ---------------------------------------------------------------

local Sequential = nn.class("Sequential")
nn.Sequential = Sequential

--- nn.Sequential{m1, m2, ...; name = "..."}: applies the modules in order.
-- Children are named 1, 2, ... (parameters "2.weight").
function Sequential:init(list)
  list = list or {}
  self.label = list.name
  for i, m in ipairs(list) do self:add(i, m) end
end

--- Appends a module; returns self.
function Sequential:push(m)
  self:add(#self._children + 1, m)
  return self
end

--- The i-th module.
function Sequential:get(i) return self._children[i] and self._children[i].module end

--- The number of modules.
function Sequential:len() return #self._children end

--- "Sequential" or "Sequential: <name>".
function Sequential:describe()
  return self.label and ("Sequential: " .. self.label) or "Sequential"
end

-- The forwards the fusions stand for. A layer with a forward of its own
-- (as model:summary gives them), or whose class's forward was replaced, is
-- run as it is.
local act_forward, pool_forward, conv_forward = Activation.forward, MaxPool2d.forward, Conv2d.forward
local function plain(m, cls, forward)
  return getmetatable(m) == cls and rawget(m, "forward") == nil and cls.forward == forward
end

-- An FP32 activation directly followed by max pooling, both plain class
-- instances: one fused operation (ag.act_maxpool2d, the same bits)
-- instead of two.
local function fusable(a, p)
  return plain(a, Activation, act_forward) and plain(p, MaxPool2d, pool_forward) and a.name ~= "identity"
end

-- A plain Conv2d whose output fits the pooling window, before such a pair.
local function conv_fusable(m, x, pool)
  if not plain(m, Conv2d, conv_forward) then return false end
  -- a stride or padding the kernels refuse: Conv2d:forward's error
  if math.type(m.stride) ~= "integer" or m.stride < 1 or math.type(m.pad) ~= "integer" then return false end
  local d = data_of(x)
  if d:dim() ~= 4 then return false end
  local oh = (d:size(3) + 2 * m.pad - m.k) // m.stride + 1
  local ow = (d:size(4) + 2 * m.pad - m.k) // m.stride + 1
  return oh >= pool.k and ow >= pool.k
end

--- Feeds x through the children in order.
function Sequential:forward(x)
  local c = self._children
  local i, n = 1, #c
  while i <= n do
    local m = c[i].module
    local a, p = i + 1 < n and c[i + 1].module, i + 1 < n and c[i + 2].module
    if a and fusable(a, p) and conv_fusable(m, x, p) then
      x = m:forward_pooled(x, a, p)
      i = i + 3
      goto continue
    end
    p = i < n and c[i + 1].module
    if p and fusable(m, p) then
      pool_check(p, x)
      x = ag.act_maxpool2d(m.name, x, m.alpha, p.k, p.stride)
      i = i + 2
    else
      x = m:forward(x)
      i = i + 1
    end
    ::continue::
  end
  return x
end

local Residual = nn.class("Residual")
nn.Residual = Residual

--- nn.Residual(body [, shortcut]): y = body(x) + shortcut(x) (identity
-- shortcut when none is given). Children "body" and "shortcut".
function Residual:init(body, shortcut)
  self:add("body", body)
  if shortcut then self:add("shortcut", shortcut) end
end

--- "Residual".
function Residual:describe() return "Residual" end

--- body(x) + shortcut(x); refuses mismatched shapes naming both.
function Residual:forward(x)
  local c = self._children
  local y = c[1].module:forward(x)
  local s = c[2] and c[2].module:forward(x) or x
  local ys, ss = data_of(y):shape(), data_of(s):shape()
  if #ys ~= #ss then self:shape_error(shape_str(ss) .. " from the body", y) end
  for i = 1, #ys do
    if ys[i] ~= ss[i] then
      local where = self.path and ("layer " .. self.path .. " (Residual)") or "Residual"
      lpact.fail(string.format("%s: body gives %s but the shortcut gives %s", where, shape_str(ys), shape_str(ss)))
    end
  end
  return ag.add(y, s)
end

return nn
