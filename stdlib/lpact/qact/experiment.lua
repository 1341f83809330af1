--- lpact.qact.experiment — one training configuration of the study
-- (qact.experiment) and a model's quantized layers listed
-- (qact.summary). The layer itself needs neither models nor train.

local X = {}

local qact = require "lpact.qact"

--- Describes every quantized layer of a model (one line each, with the
-- levels when learnable = true is passed).
function X.summary(model, with_levels)
  local out = {}
  for i, l in ipairs(qact.layers(model)) do
    out[#out + 1] = string.format("[%d] %s%s", i, l.path and (l.path .. " ") or "", l:describe())
    if with_levels then out[#out + 1] = l:show_levels() end
  end
  return table.concat(out, "\n")
end

local function modes_learnable(q) return q.levels ~= nil and q.levels ~= "fixed" end

local EXPERIMENT_OPTIONS = { act = 1, fmt = 1, qact = 1, model = 1, data = 1, seed = 1, epochs = 1, batch = 1, lr = 1,
  verbose = 1, on_epoch = 1, scheduler = 1, level_warmup = 1, max_batches = 1, tag = 1, weights = 1, on_batch = 1,
  checkpoint = 1 }

--- Trains one configuration. o = {act = "relu", fmt = "fp4" (or "fp32":
-- the FP32 activation), qact = {extra qact options}, model = "mlp" |
-- "cnn_small" | a function(act) -> model, data = a data set, epochs = 2,
-- batch = 128, lr = 1e-3, seed = 1, verbose = false, max_batches =,
-- scheduler = function(model) -> an on_epoch callback, or {on_batch = f}
-- for a step schedule (qact.scheduler{by = "step"}), level_warmup = E
-- (learnable levels frozen for the first E epochs), weights = a format or
-- {fmt =, scale =} (qact.weights: the model's weights rounded in the
-- forward pass), tag = "...", on_batch = f (train.fit's, after the
-- scheduler's), checkpoint = {path =, key =} (train.fit's: per-epoch
-- checkpoint and resume; a resumed run's centroid initialisation and level
-- warm-up are where the uninterrupted run's would be)}.
-- Returns {cfg = (a configuration for lpact.results.record / run:add),
-- history = train.fit's history, model = the trained model, test_acc =,
-- seconds =}.
function X.experiment(o)
  local models, train = require "lpact.models", require "lpact.train"
  if type(o) ~= "table" then lpact.fail("qact.experiment: an options table expected, got " .. type(o)) end
  lpact.check_options(o, EXPERIMENT_OPTIONS, "qact.experiment")
  local fmt = o.fmt or "fp32"
  local q = o.qact or {}
  local plain = fmt == "fp32" and not q.in_fmt and not q.out_fmt
  local spec
  if plain then
    spec = o.act
  else
    local c = { o.act, fmt = fmt }
    for k, v in pairs(q) do c[k] = v end
    spec = qact(c)
  end
  local model
  local kind = o.model or "mlp"
  if type(kind) == "function" then model = kind(spec)
  elseif kind == "mlp" then model = models.mlp { 784, 256, 128, 10, act = spec, seed = o.seed or 1 }
  elseif kind == "cnn_small" then model = models.cnn_small { act = spec, seed = o.seed or 1 }
  else lpact.fail("qact.experiment: unknown model '" .. tostring(kind) .. "'") end
  local wlabel
  if o.weights ~= nil then _, wlabel = qact.weights(model, o.weights) end
  local on_epoch, on_batch = o.on_epoch, nil
  if o.scheduler then
    -- a callback for on_epoch, or {on_epoch = f} / {on_batch = f} (a step schedule)
    local cb = o.scheduler(model)
    if type(cb) == "table" then on_epoch, on_batch = cb.on_epoch or on_epoch, cb.on_batch else on_epoch = cb end
  end
  local lw = o.level_warmup
  if lw ~= nil and (math.type(lw) ~= "integer" or lw < 0) then
    lpact.fail("qact.experiment: level_warmup must be a number of epochs >= 0, got " .. tostring(lw))
  end
  if lw and lw > 0 then
    -- learnable levels frozen for the first lw epochs, then learned
    on_epoch = qact.scheduler(model, { levels = qact.schedule { { 1, "freeze" }, { lw + 1, "unfreeze" } }, chain = on_epoch })
  end
  if o.on_batch then
    local first, user = on_batch, o.on_batch
    on_batch = first and function(info)
      local r = first(info)
      if user(info) == false then return false end
      return r
    end or user
  end
  local function on_resume(meta)
    for _, l in ipairs(qact.layers(model)) do
      l._centroid_pending = false   -- the loaded levels were initialised before
      if lw and lw > 0 and l.learnable then
        if meta.epoch + 1 <= lw then l:freeze() else l:unfreeze() end
      end
    end
  end
  local t0 = lpact.wallclock()
  local hist = train.fit { model = model, data = o.data, epochs = o.epochs or 2, batch = o.batch or 128,
    lr = o.lr or 1e-3, seed = o.seed or 1, verbose = o.verbose or false, progress = false,
    on_epoch = on_epoch, on_batch = on_batch, max_batches = o.max_batches,
    checkpoint = o.checkpoint, on_resume = o.checkpoint and on_resume or nil }
  local learned = {}
  for i, l in ipairs(qact.layers(model)) do if l.learnable then learned[i] = l:levels() end end
  -- the trained layers' error against f on the first 1000 test images
  local act_errors
  if #qact.layers(model) > 0 and o.data and o.data.test and o.data.test.x:size(1) > 0 then
    local xt = o.data.test.x
    act_errors = qact.act_errors(model, xt:narrow(1, 1, math.min(1000, xt:size(1))))
  end
  local modes
  if plain then modes = { mode = "fp32" }
  else
    local sc = q.scale
    if type(sc) == "table" then sc = sc[1] or sc.rule or "fixed" end
    modes = { mode = q.mode or "emulate", levels = type(q.levels) == "string" and q.levels or "fixed",
      ste = q.ste or "fprime", scale = sc and tostring(sc) or "none", scale_at = q.scale and (q.scale_at or "both") or nil,
      sr = q.sr and "sr" or nil, level_lr = q.level_lr, level_init = q.level_init,
      grad_fmt = q.grad_fmt and tostring(q.grad_fmt) or nil, grad_scale = q.grad_fmt and q.grad_scale or nil,
      level_warmup = (lw and lw > 0 and modes_learnable(q)) and lw or nil }
  end
  if o.tag then modes.tag = o.tag end
  modes.weights = wlabel
  local cfg = {
    model = type(kind) == "string" and kind or "custom", dataset = o.data.name or "?",
    activation = o.act, seed = o.seed or 1, epochs = o.epochs or 2, batch = o.batch or 128,
    optimizer = "adam", lr = o.lr or 1e-3, modes = modes,
    levels_learned = next(learned) and learned or nil,
    act_errors = act_errors and #act_errors > 0 and act_errors or nil,
  }
  local fi, fo = q.in_fmt or fmt, q.out_fmt or fmt
  if fi == fo then cfg.format = fi else cfg.formats = { input = fi, output = fo } end
  return { cfg = cfg, history = hist, model = model, test_acc = hist.test_acc,
    seconds = lpact.wallclock() - t0 }
end

return X
