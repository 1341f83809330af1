--- lpact.qact.errors — how far a quantized activation is from f: over a
-- range or captured activations (qact.errors, layer:errors) and for every
-- quantized layer of a model (qact.act_errors).

local ag = require "lpact.autograd"
local QAct = require "lpact.qact.layer"

local E = {}

local function is_tensor(v) return lpact.is_tensor(v) end

local function data_of(x) return type(x) == "table" and x.data or x end

local function layers_of(model)
  return require("lpact.qact").layers(model)
end

-- The error statistics of layer's output against f in float64 over the
-- elements of x (a flat tensor), the layer in evaluation mode.
local function error_stats(layer, x, fx)
  local q = ag.no_grad(function() return data_of(layer:forward(x)) end)
  local xv, qv = x:totable(), q:totable()
  local emax, esum, e2, rsum, rmax, nrel, cnt = 0, 0, 0, 0, 0, 0, 0
  local errs, ys = {}, {}
  for i = 1, #xv do
    local y = fx(xv[i])
    ys[i] = y
    local e = qv[i] - y
    if e == e then
      cnt = cnt + 1
      errs[#errs + 1] = e
      local a = math.abs(e)
      if a > emax then emax = a end
      esum, e2 = esum + a, e2 + a * a
      if y ~= 0 then
        local r = a / math.abs(y)
        rsum, nrel = rsum + r, nrel + 1
        if r > rmax then rmax = r end
      end
    end
  end
  local lo_e, hi_e = math.huge, -math.huge
  for _, e in ipairs(errs) do lo_e, hi_e = math.min(lo_e, e), math.max(hi_e, e) end
  local nb = 32
  if lo_e == hi_e then lo_e, hi_e = lo_e - 0.5, hi_e + 0.5 end
  local edges, counts = {}, {}
  for b = 0, nb do edges[b + 1] = lo_e + (hi_e - lo_e) * b / nb end
  for b = 1, nb do counts[b] = 0 end
  for _, e in ipairs(errs) do
    local b = math.min(nb, math.floor((e - lo_e) / (hi_e - lo_e) * nb) + 1)
    counts[b] = counts[b] + 1
  end
  return {
    max = emax, mean = cnt > 0 and esum / cnt or 0 / 0, rms = cnt > 0 and math.sqrt(e2 / cnt) or 0 / 0,
    rel_mean = nrel > 0 and rsum / nrel or 0 / 0, rel_max = rmax, n = cnt,
    hist = { edges = edges, counts = counts }, points = { x = xv, y = ys, q = qv },
  }
end

--- Error of a quantized activation against f in float64:
-- qact.errors(f, cfg, lo, hi [, n]) over n + 1 points of [lo, hi], or
-- qact.errors(f, cfg, tensor) over captured activations. Returns
-- {max=, mean=, rms=, rel_mean=, rel_max=, n=, hist = {edges = {...},
-- counts = {...}} (signed error, 32 bins), points = {x=..., y=..., q=...}}.
-- Learnable levels are taken at the format's values; layer:errors(x)
-- measures a trained layer as it stands.
function E.errors(f, cfg, lo, hi, n)
  local o = {}
  for k, v in pairs(cfg or {}) do o[k] = v end
  o[1], o.fn = f, nil
  o.levels = o.levels == "learnable" and "fixed" or o.levels
  local layer = QAct(o)
  layer:eval()
  local x
  if is_tensor(lo) then x = lo:contiguous():reshape { lo:numel() }
  else
    n = n or 1000
    local xs = {}
    for k = 0, n do xs[k + 1] = lo + (hi - lo) * k / n end
    x = lpact.tensor(xs)
  end
  return error_stats(layer, x, function(v) return type(f) == "function" and f(v) or lpact.kernels.act_value(f, v, cfg and cfg.alpha) end)
end

--- The error of this layer as it stands (its learned levels, its scales)
-- against f in float64 over the elements of tensor x, with the same
-- fields as qact.errors. The layer's state is left as it was: training
-- mode, telemetry, capture hooks, scale histories and the stochastic
-- rounding counter.
function QAct:errors(x)
  if not is_tensor(x) then lpact.fail("errors: a tensor of activations expected, got " .. type(x)) end
  if self.scale.kind == "channel" or self.scale.kind == "mx" then
    lpact.fail("errors: layers with grouped scales (channel, mx) need their own shape; use qact.errors over a range")
  end
  local saved = { self.training, self.telemetry_on, self.capture_fn, self.ctr, self.scale.hist and { table.unpack(self.scale.hist) } }
  self.training, self.telemetry_on, self.capture_fn = false, false, nil
  local ok, res = pcall(error_stats, self, x:contiguous():reshape { x:numel() }, function(v)
    return self.luaf and self.luaf(v) or lpact.kernels.act_value(self.name, v, self.alpha)
  end)
  self.training, self.telemetry_on, self.capture_fn, self.ctr = saved[1], saved[2], saved[3], saved[4]
  if saved[5] then self.scale.hist = saved[5] end
  if not ok then error(res, 0) end
  return res
end

--- The error of every quantized layer of a model on the activations that
-- input x produces (one forward pass in evaluation mode). Each layer's
-- input is cut to its first samples, at most max_elems (65536) elements,
-- so that the cost stays small on convolutions. Returns a list, one entry
-- per layer in order: {layer = i, describe = "...", max, mean, rms,
-- rel_mean, rel_max, n, hist = {edges, counts}}: the layer as it stands,
-- learned levels included. A layer with learnable levels also gets own =
-- {max, mean, rms, n, hist}, the error of the format's own levels on the
-- same inputs (rounding alone), and drift = {code, level, learned, by}, the
-- level that moved furthest from the format's value (by = learned − level).
function E.act_errors(model, x, max_elems)
  max_elems = max_elems or 65536
  if math.type(max_elems) ~= "integer" or max_elems < 1 then
    lpact.fail("act_errors: max_elems must be a whole number >= 1, got " .. tostring(max_elems))
  end
  local layers = layers_of(model)
  local got, hooks = {}, {}
  for i, l in ipairs(layers) do
    hooks[i] = l.capture_fn or false
    if l.scale.kind ~= "channel" and l.scale.kind ~= "mx" then
      l.capture_fn = function(_, xin)
        if not got[i] then
          local per = xin:dim() > 1 and xin:numel() // xin:size(1) or xin:numel()
          local n = xin:dim() > 1 and math.max(1, math.min(xin:size(1), max_elems // math.max(per, 1))) or nil
          got[i] = (n and xin:narrow(1, 1, n) or xin):clone()
        end
      end
    end
  end
  local was = model.training
  model:eval()
  local ok, err = pcall(ag.no_grad, function() return model:forward(x) end)
  if was ~= false then model:train() end
  for i, l in ipairs(layers) do l.capture_fn = hooks[i] or nil end
  if not ok then error(err, 0) end
  local out = {}
  for i, l in ipairs(layers) do
    if got[i] then
      local e = l:errors(got[i])
      e.points = nil
      e.layer, e.describe = i, l:describe()
      if l.learnable and l._lv and l.original then
        -- Learned levels apart from rounding: the same inputs through the
        -- format's own levels (the layer's levels reset, then put back),
        -- and the level that moved furthest from the format's value.
        local learned = l._lv.data:clone()
        local own_levels, now = l.original:totable(), learned:totable()
        l:reset_levels()
        local ok2, own = pcall(l.errors, l, got[i])
        l._lv.data:copy(learned)
        if not ok2 then error(own, 0) end
        e.own = { max = own.max, mean = own.mean, rms = own.rms, n = own.n, hist = own.hist }
        local best
        for c, v in ipairs(own_levels) do
          local d = now[c] - v
          if d == d and v == v and (not best or math.abs(d) > math.abs(best.by)) then
            best = { code = c - 1, level = v, learned = now[c], by = d }
          end
        end
        e.drift = best
      end
      out[#out + 1] = e
    end
  end
  return out
end

return E
