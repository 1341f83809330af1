--- lpact.optim — optimizers over a model's parameters: SGD (momentum,
-- Nesterov, weight decay), Adam and AdamW, with PyTorch's update rules, and
-- gradient-norm clipping.
--
--     local opt = lpact.optim.Adam(model:parameters(), {lr = 1e-3})
--     opt:zero_grad(); loss:backward(); opt:step()
--
-- `params` is model:parameters() (a list of {name=, var=}) or a plain list
-- of Vars. The learning rate lives in opt.lr; a schedule or a script may
-- change it between steps. A parameter steps with opt.lr times its
-- multiplier: the list entry's `lr_mult`, else the Var's `lr_mult` field
-- (set by the module that owns it, e.g. qact's `level_lr`), else 1 — a
-- per-parameter learning rate, as PyTorch's param groups give. opt:state() returns everything a checkpoint
-- needs (plain numbers and Tensors); opt:load_state(s) restores it.
--
-- The update itself runs in one fused C pass per tensor
-- (lpact.kernels.adam_step / sgd_step), or, without those kernels, as
-- elementwise tensor operations (the same arithmetic in float32).

local optim = {}

-- The parameters as a list of {name=, var=}; unnamed Vars get "p<i>".
local function normalize(params)
  if type(params) ~= "table" then
    error("optimizer: parameters expected (model:parameters() or a list of Vars), got " .. type(params), 3)
  end
  local list = {}
  for i, p in ipairs(params) do
    if type(p) == "table" and p.var then
      list[i] = { name = p.name or ("p" .. i), var = p.var, lr_mult = p.lr_mult }
    elseif type(p) == "table" and p.data then
      list[i] = { name = "p" .. i, var = p }
    else
      error(string.format("optimizer: parameter %d is not a Var", i), 3)
    end
  end
  return list
end

-- Option k of o (default when absent): a finite number >= lo (and < hi
-- when hi is given), as torch.optim checks (a negative learning rate
-- would climb the loss).
local function num(o, k, default, what, lo, hi)
  local v = o[k]
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge then
    error(string.format("%s: option '%s' must be a finite number, got %s", what, k, tostring(v)), 3)
  end
  if v < (lo or 0) or (hi and v >= hi) then
    error(string.format("%s: option '%s' must be in [%g, %s), got %g", what, k, lo or 0, hi and string.format("%g", hi) or "inf", v), 3)
  end
  return v
end

local Optimizer = {}
Optimizer.__index = Optimizer

--- Clears every parameter's gradient (sets it to zero).
function Optimizer:zero_grad()
  for _, p in ipairs(self.params) do
    local g = p.var.grad
    if g then g:zero() end
  end
end

--- The global L2 norm of all gradients (a number).
function optim.grad_norm(params)
  local s = 0
  for _, p in ipairs(normalize(params)) do
    local g = p.var.grad
    if g then
      if g.sumsq then s = s + g:sumsq()
      else s = s + (g * g):sum() end
    end
  end
  return math.sqrt(s)
end

--- Scales all gradients so that their global L2 norm is at most max_norm
-- (as torch.nn.utils.clip_grad_norm_); returns the norm before clipping.
function optim.clip_grad_norm(params, max_norm)
  local list = normalize(params)
  if type(max_norm) ~= "number" or not (max_norm > 0 and max_norm < math.huge) then
    error("clip_grad_norm: max_norm must be a number > 0, got " .. tostring(max_norm), 2)
  end
  local norm = optim.grad_norm(list)
  local c = max_norm / (norm + 1e-6)
  if c < 1 then
    for _, p in ipairs(list) do
      if p.var.grad then p.var.grad:mul_(c) end
    end
  end
  return norm
end

--- Clips this optimizer's gradients to a global norm of at most max_norm;
-- returns the norm before clipping.
function Optimizer:clip_grad_norm(max_norm)
  return optim.clip_grad_norm(self.params, max_norm)
end

--- Everything a checkpoint needs: {kind=, step=, hyper={...}, tensors={name=Tensor}}.
-- Tensor names are "<param name>/<slot>" (e.g. "1.weight/m").
function Optimizer:state()
  local hyper = {}
  for _, k in ipairs(self.hyper_names) do hyper[k] = self[k] end
  local tensors = {}
  for i, p in ipairs(self.params) do
    for slot, t in pairs(self.slots[i]) do tensors[p.name .. "/" .. slot] = t end
  end
  return { kind = self.kind, step = self.t, hyper = hyper, tensors = tensors }
end

-- The check each hyper-parameter of a saved state must pass (the same
-- ranges the constructors enforce).
local HYPER_CHECK = {
  lr = { 0 }, momentum = { 0 }, dampening = { 0 }, weight_decay = { 0 }, eps = { 0 },
  beta1 = { 0, 1 }, beta2 = { 0, 1 }, nesterov = "boolean",
}

--- Restores a state() table; refuses one of another optimizer kind, with
-- a field that is not in the fixed list (kind, step, hyper, tensors), a
-- hyper-parameter this optimizer does not have or of the wrong type or
-- range, a step that is not an integer >= 0, a tensor that names no
-- parameter or slot, a parameter with only some of its slots, or a shape
-- that does not match its parameter. Everything is checked before
-- anything changes; the refusal names the field.
function Optimizer:load_state(s)
  local function bad(fmt, ...) lpact.fail("optimizer state: " .. string.format(fmt, ...)) end
  if type(s) ~= "table" or s.kind ~= self.kind then
    lpact.fail(string.format("optimizer state is for %s, not %s",
      type(s) == "table" and tostring(s.kind) or type(s), self.kind))
  end
  local FIELDS = { kind = true, step = true, hyper = true, tensors = true }
  for k in pairs(s) do
    if not FIELDS[k] then bad("unknown field '%s' (expected kind, step, hyper, tensors)", tostring(k)) end
  end
  local step = s.step or 0
  if math.type(step) ~= "integer" then
    if type(step) == "number" and step == math.floor(step) and step >= 0 and step < 2 ^ 53 then
      step = math.tointeger(step)
    else
      bad("field 'step' must be an integer >= 0, got %s", tostring(s.step))
    end
  end
  if step < 0 then bad("field 'step' must be an integer >= 0, got %d", step) end
  local hyper = s.hyper or {}
  if type(hyper) ~= "table" then bad("field 'hyper' must be a table, got %s", type(hyper)) end
  local known = {}
  for _, k in ipairs(self.hyper_names) do known[k] = true end
  for k, v in pairs(hyper) do
    if not known[k] then
      bad("field 'hyper.%s' is not a hyper-parameter of %s (%s)", tostring(k), self.kind, table.concat(self.hyper_names, ", "))
    end
    local c = HYPER_CHECK[k]
    if c == "boolean" then
      if type(v) ~= "boolean" then bad("field 'hyper.%s' must be a boolean, got %s", k, tostring(v)) end
    elseif type(v) ~= "number" or v ~= v or v == math.huge or v == -math.huge or v < c[1] or (c[2] and v >= c[2]) then
      bad("field 'hyper.%s' must be a finite number in [%g, %s), got %s", k, c[1], c[2] and tostring(c[2]) or "inf", tostring(v))
    end
  end
  local tensors = s.tensors or {}
  if type(tensors) ~= "table" then bad("field 'tensors' must be a table, got %s", type(tensors)) end
  local wanted = {}
  for i, p in ipairs(self.params) do
    for _, slot in ipairs(self.slot_names) do wanted[p.name .. "/" .. slot] = i end
  end
  for k, t in pairs(tensors) do
    if not wanted[k] then bad("field 'tensors.%s' names no parameter slot of this %s", tostring(k), self.kind) end
    if not lpact.is_tensor(t) then bad("field 'tensors.%s' must be a Tensor, got %s", k, type(t)) end
  end
  local slots = {}
  for i, p in ipairs(self.params) do
    slots[i] = {}
    local want = table.concat(p.var.data:shape(), "x")
    local have = 0
    for _, slot in ipairs(self.slot_names) do
      local t = tensors[p.name .. "/" .. slot]
      if t then
        have = have + 1
        local got = table.concat(t:shape(), "x")
        if got ~= want then
          lpact.fail(string.format("optimizer state '%s/%s' has shape %s, parameter has %s",
            p.name, slot, got, want))
        end
        slots[i][slot] = t:clone()
      end
    end
    if have ~= 0 and have ~= #self.slot_names then
      bad("parameter '%s' has %d of its %d slots (%s)", p.name, have, #self.slot_names, table.concat(self.slot_names, ", "))
    end
    if have > 0 and step == 0 then
      bad("field 'step' is 0 but parameter '%s' has slots", p.name)
    end
  end
  self.slots = slots
  self.t = step
  for k, v in pairs(hyper) do self[k] = v end
end

local function class(kind, hyper_names, slot_names)
  local cls = setmetatable({}, { __index = Optimizer })
  cls.__index = cls
  cls.kind, cls.hyper_names, cls.slot_names = kind, hyper_names, slot_names
  cls.__tostring = function(self)
    local parts = {}
    for _, k in ipairs(hyper_names) do
      local v = self[k]
      parts[#parts + 1] = k .. "=" .. (type(v) == "number" and string.format("%g", v) or tostring(v))
    end
    return string.format("%s(%s) over %d tensors", kind, table.concat(parts, ", "), #self.params)
  end
  return cls
end

local function zeros_like(t) return lpact.zeros(t:shape()) end

-- A parameter's learning-rate multiplier (the list entry's, else its Var's, else 1).
local function lr_mult(p)
  local m = p.lr_mult or p.var.lr_mult
  if m == nil then return 1 end
  if type(m) ~= "number" or not (m >= 0 and m < math.huge) then
    error(string.format("optimizer: parameter '%s' has lr_mult %s (a number >= 0 expected)", p.name, tostring(m)), 3)
  end
  return m
end

-- SGD ------------------------------------------------------------------

local SGD = class("SGD", { "lr", "momentum", "dampening", "nesterov", "weight_decay" }, { "momentum" })

local ALIASES = { wd = "weight_decay", learning_rate = "lr", beta = "betas" }

--- SGD with optional momentum, Nesterov momentum and (L2) weight decay, as
-- torch.optim.SGD: g += wd*p; buf = momentum*buf + (1-dampening)*g (buf = g
-- on the first step); g = nesterov and g + momentum*buf or buf; p -= lr*g.
-- Options: lr (required), momentum (0), dampening (0), nesterov (false), weight_decay (0).
function optim.SGD(params, o)
  o = o or {}
  lpact.check_options(o, { "lr", "momentum", "dampening", "nesterov", "weight_decay" }, "SGD", ALIASES)
  local self = setmetatable({ params = normalize(params), t = 0, slots = {} }, SGD)
  self.lr = num(o, "lr", nil, "SGD")
  if not self.lr then error("SGD: option 'lr' is required", 2) end
  self.momentum = num(o, "momentum", 0, "SGD")
  self.dampening = num(o, "dampening", 0, "SGD")
  self.weight_decay = num(o, "weight_decay", 0, "SGD")
  self.nesterov = o.nesterov and true or false
  if self.nesterov and (self.momentum <= 0 or self.dampening ~= 0) then
    error("SGD: Nesterov momentum needs momentum > 0 and dampening 0", 2)
  end
  for i = 1, #self.params do self.slots[i] = {} end
  return self
end

--- One update of every parameter that has a gradient.
function SGD:step()
  self.t = self.t + 1
  local lr, mom, damp, wd, nest = self.lr, self.momentum, self.dampening, self.weight_decay, self.nesterov
  for i, p in ipairs(self.params) do
    local w, g = p.var.data, p.var.grad
    if g then
      local lr = lr * lr_mult(p)
      local slot = self.slots[i]
      local first = slot.momentum == nil
      if mom ~= 0 and first then slot.momentum = zeros_like(w) end
      local buf = slot.momentum
      local K = lpact.kernels
      if K and K.sgd_step then
        K.sgd_step(w, g, buf, lr, mom, damp, wd, nest, first)
      else
        if wd ~= 0 then g = g + w * wd end
        if mom ~= 0 then
          if first then buf:copy(g) else buf:copy(buf * mom + g * (1 - damp)) end
          g = nest and (g + buf * mom) or buf
        end
        w:copy(w - g * lr)
      end
    end
  end
end

-- Adam / AdamW -----------------------------------------------------------

local Adam = class("Adam", { "lr", "beta1", "beta2", "eps", "weight_decay" }, { "m", "v" })
local AdamW = class("AdamW", { "lr", "beta1", "beta2", "eps", "weight_decay" }, { "m", "v" })

local function adam_new(cls, params, o, wd_default)
  o = o or {}
  lpact.check_options(o, { "lr", "betas", "beta1", "beta2", "eps", "weight_decay" }, cls.kind, ALIASES)
  local self = setmetatable({ params = normalize(params), t = 0, slots = {} }, cls)
  self.lr = num(o, "lr", 1e-3, cls.kind)
  local betas = o.betas or {}
  local b = { beta1 = betas[1] or o.beta1, beta2 = betas[2] or o.beta2 }
  self.beta1 = num(b, "beta1", 0.9, cls.kind, 0, 1)
  self.beta2 = num(b, "beta2", 0.999, cls.kind, 0, 1)
  self.eps = num(o, "eps", 1e-8, cls.kind)
  self.weight_decay = num(o, "weight_decay", wd_default, cls.kind)
  for i = 1, #self.params do self.slots[i] = {} end
  return self
end

--- Adam (torch.optim.Adam): weight decay is L2 (added to the gradient).
-- m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
-- p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps).
-- Options: lr (1e-3), betas ({0.9, 0.999}), eps (1e-8), weight_decay (0).
function optim.Adam(params, o) return adam_new(Adam, params, o, 0) end

--- AdamW (torch.optim.AdamW): decoupled weight decay p *= 1 - lr*wd before
-- the Adam update. Options as Adam, weight_decay default 0.01.
function optim.AdamW(params, o) return adam_new(AdamW, params, o, 0.01) end

local function adam_step(self, decoupled)
  self.t = self.t + 1
  local t, lr, b1, b2, eps, wd = self.t, self.lr, self.beta1, self.beta2, self.eps, self.weight_decay
  local bc1, bc2 = 1 - b1 ^ t, 1 - b2 ^ t
  for i, p in ipairs(self.params) do
    local w, g = p.var.data, p.var.grad
    if g then
      local lr = lr * lr_mult(p)
      local slot = self.slots[i]
      if not slot.m then slot.m, slot.v = zeros_like(w), zeros_like(w) end
      local m, v = slot.m, slot.v
      local K = lpact.kernels
      if K and K.adam_step then
        K.adam_step(w, g, m, v, lr, b1, b2, eps, wd, t, decoupled)
      else
        if wd ~= 0 then
          if decoupled then w:copy(w * (1 - lr * wd)) else g = g + w * wd end
        end
        m:copy(m * b1 + g * (1 - b1))
        v:copy(v * b2 + g * g * (1 - b2))
        local denom = v:sqrt() / math.sqrt(bc2) + eps
        w:copy(w - m / denom * (lr / bc1))
      end
    end
  end
end

--- One Adam update of every parameter that has a gradient.
function Adam:step() adam_step(self, false) end
--- One AdamW update of every parameter that has a gradient.
function AdamW:step() adam_step(self, true) end

return optim
