--- lpact.qact — activation functions computed in FP8 … FP2, trained with a
-- straight-through estimator and (optionally) learnable quantization levels.
--
--     local act = lpact.qact{"relu", fmt = "fp4", levels = "learnable"}
--     local model = lpact.models.mlp{784, 256, 128, 10, act = act}
--     for _, l in ipairs(lpact.qact.layers(model)) do print(l:show_levels()) end
--
-- lpact.qact{...} returns a factory (a function building one layer per
-- activation site), so it plugs into every `act=` argument of the model
-- zoo; lpact.qact.layer{...} builds one layer. Options:
--   [1] or fn   the function: a name from lpact.activations() (relu,
--               gelu, sigmoid, tanh, ..., identity) or a Lua function of one
--               number (table modes only)
--   alpha       the parameter of the functions that take one (leaky_relu
--               0.01, elu 1: lpact.activations() lists the defaults)
--   fmt         the format of input and output (default "fp32": no
--               rounding); in_fmt, out_fmt override one side
--   mode        "emulate" (default): y = s_o Q_out(f(s_i Q_in(x/s_i))/s_o);
--               "lut": y = T[code(Q_in(x/s_i))]; "ops": every elementary
--               operation of f rounded to the output format
--   levels      "fixed" (default) or "learnable": the table T (lut) or the
--               output level set (emulate, ops) becomes a parameter; or a
--               list of initial values, one per code
--   sorted      keep learnable levels in the order of their initial values
--   level_lr    learning-rate multiplier of the learnable levels (1): the
--               optimizer steps them with lr * level_lr
--   level_init  "format" (default): learnable levels start at the format's
--               values; "centroid": at the first training batch each level
--               starts at the mean of f(x) over the elements that use it
--               (Lloyd-Max centroids); unused levels keep the format's value
--   ste         "fprime" (default) | "identity" | "clipped" | "staircase"
--   sr          true: stochastic rounding of the input (seed = sr_seed)
--   scale       nil/"none" | a number (fixed s_i) | {fixed = s_i, out = s_o}
--               | "amax" (per tensor, current batch) | {"amax", history = N,
--               init = s} (delayed: max of the last N batches) | "channel"
--               (per-channel amax along axis 2) | {"lsq", init = s} (a
--               learnable step, LSQ; init from the first batch if absent) |
--               {"pact", init = 6} (a learnable clipping level, PACT) |
--               "mx" | {"mx", block = 32,
--               axis = -1, rule = "floor" | "ceil", pad = false, size = n}
--               (size: the axis length, checked when the layer is built)
--   scale_at    "in" | "out" | "both" (default "both"): where amax scaling
--               applies (out: s_o = max |f| over the scaled input range / max)
--   telemetry   true: count saturations, underflows, NaNs and code usage
--               at every forward pass (layer:telemetry() reads them)
--   grad_fmt    a format for the gradient dL/dx the layer passes back
--               (default: float32), e.g. "e5m2" or "e5m2:sr"
--   grad_scale  "none" (default) | "amax": round dL/dx / s with s =
--               amax(dL/dx) / the format's max, per tensor
-- Any other option name is an error (with the nearest known name).

local nn = require "lpact.nn"
local ag = require "lpact.autograd"
local O = require "lpact.qact.options"
local QAct = require "lpact.qact.layer"
local qcore = lpact.qcore
local E = require "lpact.qact.errors"

local qact = {}
qact.QAct = QAct
qact.errors, qact.act_errors = E.errors, E.act_errors

local format_error = O.format_error

--- lpact.qact.layer{...}: one layer.
function qact.layer(cfg) return QAct(cfg) end

--- All quantized activation layers of a model, in order.
function qact.layers(model)
  local out = {}
  local function walk(m)
    if getmetatable(m) == QAct then out[#out + 1] = m; return end
    for _, c in ipairs(m._children or {}) do walk(c.module) end
  end
  walk(model)
  return out
end

--- Replaces every activation of a model by a quantized one: cfg as for
-- lpact.qact, with the function taken from each site when cfg has none.
-- sites (optional) picks which: a list of site numbers (the activation
-- sites in model order, from 1) or a function(i, layer) -> boolean.
-- Returns the number of sites replaced.
--     qact.swap(model, {fmt = "fp2", levels = "learnable"}, {2})   -- the second activation only
function qact.swap(model, cfg, sites)
  if type(cfg) ~= "table" then lpact.fail("qact.swap: qact options expected (a table), got " .. type(cfg)) end
  local pick
  if sites == nil then pick = function() return true end
  elseif type(sites) == "function" then pick = sites
  elseif type(sites) == "table" then
    local set = {}
    for _, i in ipairs(sites) do
      if math.type(i) ~= "integer" or i < 1 then
        lpact.fail("qact.swap: sites must be activation site numbers (1, 2, ...), got " .. tostring(i))
      end
      set[i] = true
    end
    pick = function(i) return set[i] end
  else
    lpact.fail("qact.swap: sites must be a list of site numbers or a function(i, layer), got " .. type(sites))
  end
  -- the options are checked once before any site is replaced, so a bad
  -- option leaves the model as it was
  local probe = {}
  for k, v in pairs(cfg) do probe[k] = v end
  if not (probe[1] or probe.fn) then probe[1] = probe.alpha ~= nil and "leaky_relu" or "relu" end
  QAct(probe)
  local n, site = 0, 0
  local function walk(m)
    for _, c in ipairs(m._children or {}) do
      local old = c.module
      if nn.is_activation(old) then
        site = site + 1
        if pick(site, old) then
          local o = {}
          for k, v in pairs(cfg) do o[k] = v end
          if not (o[1] or o.fn) then
            o[1] = old.name or (getmetatable(old) == QAct and old.name) or "relu"
            if old.alpha and o.alpha == nil then o.alpha = old.alpha end
          end
          local new = QAct(o)
          new.training = old.training
          new.path = old.path
          c.module = new
          n = n + 1
        end
      else
        walk(old)
      end
    end
  end
  walk(model)
  return n
end

local WEIGHT_SCALES = { amax = true, channel = true, none = true }

--- qact.weights(model, fmt) or qact.weights(model, {fmt =, scale =}):
-- the weights of every Linear and Conv2d layer of the model are rounded
-- to a format in each forward pass (fake quantization: the float32
-- weights are kept and trained, and their gradient passes straight
-- through the rounding). scale: "amax" (default; per tensor, s = amax(W)
-- / the format's max), "channel" (per output row or filter) or "none".
-- fmt = "fp32" removes the rounding again. Returns the number of layers
-- and a label ("fp8:amax").
--     lpact.qact.weights(model, "fp8")    lpact.qact.weights(model, {fmt = "fp4", scale = "channel"})
function qact.weights(model, opts)
  if type(opts) ~= "table" then opts = { fmt = opts } end
  lpact.check_options(opts, { "fmt", "scale" }, "qact.weights", { format = "fmt" })
  if type(model) ~= "table" then lpact.fail("qact.weights: a model expected, got " .. type(model)) end
  local spec, scale = opts.fmt, opts.scale or "amax"
  if type(spec) ~= "string" and type(spec) ~= "userdata" then
    lpact.fail("qact.weights: option 'fmt': a format spec expected, got " .. type(spec))
  end
  if not WEIGHT_SCALES[scale] then
    lpact.fail("qact.weights: option 'scale': expected amax, channel or none, got " .. tostring(scale))
  end
  local ok, f0 = pcall(lpact.format, spec)
  if not ok then lpact.fail("qact.weights: option 'fmt': " .. format_error(f0)) end
  local label = (type(spec) == "string" and spec or f0.name) .. (scale ~= "none" and (":" .. scale) or "")
  local n = 0
  local function walk(m)
    local mt = getmetatable(m)
    if mt == nn.Linear or mt == nn.Conv2d then
      n = n + 1
      m.resume_blocker = (not f0.identity and f0:info().mode == "sr") and "the weights' stochastic-rounding counter" or nil
      if f0.identity then
        m.weight_q, m.weight_q_desc = nil, nil
      else
        -- a format object per layer: stochastic rounding draws from its own counter
        local f = lpact.format(spec)
        local function q(w, s) return f:quantize(w, { scale = s }) end
        local function s_of(a) return (a > 0 and a < math.huge and a / f.max > 1e-37) and a / f.max or 1 end
        m.weight_q_desc = label
        m.weight_q = ag.custom {
          name = "weight_q",
          forward = function(_, w)
            if scale == "none" then return q(w, 1) end
            if scale == "amax" then return q(w, s_of(qcore.amax(w))) end
            local out = w:clone()
            for r = 1, w:size(1) do
              local row = w:narrow(1, r, 1)
              out:narrow(1, r, 1):copy(q(row, s_of(qcore.amax(row))))
            end
            return out
          end,
          backward = function(_, g) return g end,
        }
      end
      return
    end
    for _, c in ipairs(m._children or {}) do walk(c.module) end
  end
  walk(model)
  return n, not f0.identity and label or nil
end

--- Schedules of formats or level states by epoch (or by step): a list of
-- {epoch, value} pairs (epochs count from 1; the last pair at or before an
-- epoch wins); :at(epoch) returns the value. Compose with qact.scheduler
-- (by = "step" reads the numbers as training steps).
--     qact.schedule{{1, "fp8"}, {3, "fp4"}, {5, "fp2"}}
--     qact.schedule{{1, "learnable"}, {4, "freeze"}}
function qact.schedule(pairs_)
  table.sort(pairs_, function(a, b) return a[1] < b[1] end)
  return {
    per = "epoch",
    at = function(_, e)
      local v
      for _, p in ipairs(pairs_) do if p[1] <= e then v = p[2] end end
      return v
    end,
  }
end

--- Applies schedules to every quantized layer of a model: returns an
-- on_epoch callback for train.fit (it sets epoch e+1's state after epoch
-- e) after applying epoch 1's state now. o = {precision = sched (values:
-- a format spec or {in, out}), levels = sched (values: "freeze",
-- "unfreeze", "reset"), chain = another callback of the same kind, by =
-- "epoch" (default) | "step"}. With by = "step" the schedules count
-- training steps (batches, from 1) and the callback goes to train.fit's
-- on_batch: step s+1's state is set after step s.
--     train.fit{..., on_batch = qact.scheduler(model, {by = "step",
--       precision = qact.schedule{{1, "fp8"}, {500, "fp4"}}})}
function qact.scheduler(model, o)
  if type(o) ~= "table" then lpact.fail("qact.scheduler: an options table expected, got " .. type(o)) end
  lpact.check_options(o, { "precision", "levels", "chain", "by" }, "qact.scheduler", { formats = "precision", fmt = "precision" })
  local by = o.by or "epoch"
  if by ~= "epoch" and by ~= "step" then
    lpact.fail("qact.scheduler: option 'by': expected epoch or step, got " .. tostring(by))
  end
  local state = {}
  local function apply(e, opt)
    for _, l in ipairs(qact.layers(model)) do
      if o.precision then
        local f = o.precision:at(e)
        local key = type(f) == "table" and (f[1] .. "->" .. f[2]) or f
        if f and state[l] ~= key then
          if type(f) == "table" then l:set_format(f[1], f[2]) else l:set_format(f) end
          state[l] = key
          -- the level count changed: the optimizer's moments for it restart
          if opt and l._lv and opt.params and opt.slots then
            for i, p in ipairs(opt.params) do
              if (p.var or p) == l._lv then opt.slots[i] = {} end
            end
          end
        end
      end
      if o.levels then
        local v = o.levels:at(e)
        if v == "freeze" then l:freeze()
        elseif v == "unfreeze" or v == "learnable" then l:unfreeze()
        elseif v == "reset" then l:reset_levels() end
      end
    end
  end
  apply(1)
  return function(info)
    apply((by == "step" and info.step or info.epoch) + 1, info.optimizer)
    if o.chain then return o.chain(info) end
  end
end

-- qact.experiment and qact.summary live in lpact.qact.experiment, loaded
-- on first use (it is the part that trains: models, train, data).
local LAZY = { experiment = true, summary = true }

-- lpact.qact{...} returns a factory: one fresh layer per activation site.
-- The options are checked now (a layer is built once), so a bad option
-- fails before any model or training exists.
return setmetatable(qact, {
  __index = function(_, k)
    if LAZY[k] then return require("lpact.qact.experiment")[k] end
  end,
  __call = function(_, cfg)
    if type(cfg) == "string" then cfg = { cfg } end
    QAct(cfg)
    return function() return QAct(cfg) end
  end,
})
