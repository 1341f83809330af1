--- lpact.qact.layer — one quantized activation layer (QAct): an
-- activation f with its input and output rounded to formats, forward and
-- backward over the C kernels (lpact.qcore), learnable levels and scales,
-- telemetry. Options: lpact.qact's file comment; their checks:
-- lpact.qact.options. Needs nn and autograd only.

local nn = require "lpact.nn"
local ag = require "lpact.autograd"
local O = require "lpact.qact.options"
local qcore = lpact.qcore

local MODES, STES = O.MODES, O.STES
local label, format_error, fail = O.label, O.format_error, O.fail
local parse_scale, with_sr, check_options = O.parse_scale, O.with_sr, O.check_options

local function is_tensor(v) return lpact.is_tensor(v) end

local function data_of(x) return type(x) == "table" and x.data or x end

local function spec_name(f)
  if type(f) == "string" then return f end
  return tostring(f)
end

local QAct = nn.class("QAct")
QAct.is_activation = true

--- qact.layer{...}: one quantized activation layer (options as for lpact.qact).
function QAct:init(cfg)
  if type(cfg) == "string" then cfg = { cfg } end
  if type(cfg) ~= "table" then lpact.fail("qact: options table expected, got " .. type(cfg)) end
  check_options(cfg, cfg[1] or cfg.fn or "relu")
  self.cfg = cfg
  local f = cfg[1] or cfg.fn or "relu"
  self.mode = cfg.mode or "emulate"
  if not MODES[self.mode] then fail(cfg, "mode", "expected emulate, lut or ops, got '" .. tostring(self.mode) .. "'") end
  local sk = type(cfg.scale) == "table" and (cfg.scale[1] or cfg.scale.rule) or cfg.scale
  self.ste = cfg.ste or (sk == "pact" and "clipped" or "fprime")
  if not STES[self.ste] then fail(cfg, "ste", "expected fprime, identity, clipped or staircase, got '" .. tostring(self.ste) .. "'") end
  if type(f) == "function" then
    self.luaf, self.name = f, "lua-function"
    if self.ste == "fprime" or self.ste == "clipped" then self.ste = "staircase" end
  elseif type(f) == "string" then
    if nn.activation_info(f) == nil then
      fail(cfg, "fn", "unknown activation '" .. f .. "' (known: " .. table.concat(nn.activation_names, ", ") .. ", identity)")
    end
    self.name = f
  else
    fail(cfg, "fn", "a function name or a Lua function expected, got " .. type(f))
  end
  self.alpha = cfg.alpha
  local fmt = cfg.fmt or "fp32"
  self.in_spec = cfg.in_fmt or fmt
  self.out_spec = cfg.out_fmt or fmt
  if cfg.sr then self.in_spec = with_sr(self.in_spec, cfg) end
  self.scale = parse_scale(cfg)
  self.scale_at = cfg.scale_at or "both"
  if self.scale_at ~= "in" and self.scale_at ~= "out" and self.scale_at ~= "both" then
    fail(cfg, "scale_at", "expected in, out or both")
  end
  self.telemetry_on = cfg.telemetry and true or false
  self.ctr = 0
  self:_grad_format(cfg)
  self:_build()
  local lv = cfg.levels or "fixed"
  if lv ~= "fixed" and lv ~= "learnable" and type(lv) ~= "table" then
    fail(cfg, "levels", "expected 'fixed', 'learnable' or a list of values, got " .. tostring(lv))
  end
  self.learnable = lv ~= "fixed"
  self.sorted = cfg.sorted and true or false
  local llr = cfg.level_lr
  if llr ~= nil and (type(llr) ~= "number" or not (llr >= 0 and llr < math.huge)) then
    fail(cfg, "level_lr", "a learning-rate multiplier (a number >= 0) expected, got " .. tostring(llr))
  end
  if self.learnable then
    self:_init_levels(type(lv) == "table" and lv or nil)
    -- the optimizer steps the levels with lr * level_lr (optim's lr_mult)
    if llr then self._lv.lr_mult = llr end
  end
  self:_check_level_init()
  local k = self.scale.kind
  if k == "lsq" or k == "pact" then
    -- a learnable scale: the LSQ step (both sides) or the PACT clipping level
    self._sv = self:param(k == "lsq" and "step" or "clip", lpact.tensor { self.scale.init or 1 })
    self._sv_ready = self.scale.init ~= nil
  end
  self.frozen = false
  self:reset_telemetry()
end

-- The format of the gradient this layer passes back (grad_fmt; nil:
-- float32) and its scale rule (grad_scale: "none" or "amax").
function QAct:_grad_format(cfg)
  local gs = cfg.grad_scale or "none"
  if gs ~= "none" and gs ~= "amax" then fail(cfg, "grad_scale", "expected none or amax, got " .. tostring(gs)) end
  if cfg.grad_scale ~= nil and cfg.grad_fmt == nil then
    fail(cfg, "grad_scale", "a scale for the rounded gradient: give grad_fmt as well")
  end
  self.grad_scale, self.gctr = gs, 0
  if cfg.grad_fmt == nil then return end
  if type(cfg.grad_fmt) ~= "string" and type(cfg.grad_fmt) ~= "userdata" then
    fail(cfg, "grad_fmt", "a format spec expected, got " .. type(cfg.grad_fmt))
  end
  local ok, gf = pcall(lpact.format, cfg.grad_fmt)
  if not ok then fail(cfg, "grad_fmt", format_error(gf)) end
  if not gf.identity then self.gfmt, self.gmax = gf, gf.max end
end

-- Rounds dx (the gradient passed back) to grad_fmt: s * Q(dx / s) with s =
-- amax(dx) / max under grad_scale = "amax", else s = 1; stochastic
-- rounding draws from the layer's own counter, so a run repeats bit for
-- bit. With telemetry on, counts the nonzero gradients rounded to zero
-- and those beyond the format's range.
function QAct:_round_grad(dx)
  local s = 1
  if self.grad_scale == "amax" then
    local a = qcore.amax(dx)
    if a > 0 and a < math.huge and a / self.gmax > 1e-37 then s = a / self.gmax end
  end
  local ctr = self.gctr
  self.gctr = ctr + dx:numel()
  local q = self.gfmt:quantize(dx, { scale = s, ctr = ctr })
  if self.telemetry_on then
    local st = self.stats
    st.grad_elements = st.grad_elements + dx:numel()
    st.grad_underflows = st.grad_underflows + math.tointeger(dx:ne(0):mul(q:eq(0)):sum())
    st.grad_saturations = st.grad_saturations + math.tointeger((dx:abs() / s):gt(self.gmax):sum())
  end
  return q
end

-- State that a checkpoint does not hold: the stochastic-rounding
-- counters of the input, output and gradient sides, and the history of a
-- delayed amax (see train.unresumable).
function QAct:resume_blocker()
  if self.cfg.sr or self.any_sr then return "the stochastic-rounding counter of " .. self.name end
  if self.gfmt and self.gfmt:info().mode == "sr" then return "the gradient's stochastic-rounding counter of " .. self.name end
  if self.scale.history then return "the delayed-amax history of " .. self.name end
  return nil
end

-- Builds the C core and checks the combination of options.
function QAct:_build()
  local cfg = self.cfg
  local ok, fin = pcall(lpact.format, self.in_spec)
  if not ok then fail(cfg, cfg.in_fmt and "in_fmt" or "fmt", format_error(fin)) end
  local ok2, fout = pcall(lpact.format, self.out_spec)
  if not ok2 then fail(cfg, cfg.out_fmt and "out_fmt" or "fmt", format_error(fout)) end
  self.fin, self.fout = fin, fout
  -- stochastic rounding on either side: the counter advances every pass;
  -- on the output side a table (one rounding per input code) cannot hold it
  self.out_sr = fout:info().mode == "sr"
  self.any_sr = self.out_sr or fin:info().mode == "sr"
  local cname = self.luaf and "identity" or self.name
  local mode = self.mode
  if self.luaf and mode == "ops" then fail(cfg, "mode", "ops mode needs a built-in function") end
  self.core = qcore.new(cname, fin, fout, mode, self.alpha)
  self.info = self.core:info()
  local info = self.info
  if mode == "lut" and info.in_codes == 0 then
    fail(cfg, "mode", "lut needs an input format of at most 16 bits (got '" .. spec_name(self.in_spec) .. "')")
  end
  if self.luaf and info.in_codes == 0 then
    fail(cfg, "fn", "a Lua function needs an input format with codes (at most 16 bits)")
  end
  local k = self.scale.kind
  if mode == "lut" and k ~= "none" and k ~= "fixed" then
    fail(cfg, "scale", "lut mode takes scale none or fixed (the table holds outputs)")
  end
  if self.ste == "staircase" and (k == "channel" or k == "mx") then
    fail(cfg, "ste", "staircase needs a per-tensor scale")
  end
  if (k == "channel" or k == "mx") and self.luaf then fail(cfg, "scale", "grouped scales need a built-in function") end
  if (k == "lsq" or k == "pact") and (self.luaf or mode == "lut") then
    fail(cfg, "scale", "a learnable scale needs a built-in function and emulate or ops mode")
  end
  if (k == "channel" or k == "mx") and cfg.levels and cfg.levels ~= "fixed" and self.scale_at ~= "in" then
    fail(cfg, "levels", "learnable levels with grouped scales need scale_at = 'in' (one output grid)")
  end
end

-- Learnable levels: over the input codes (lut) or the output codes.
function QAct:_init_levels(values)
  local info = self.info
  local n = self.mode == "lut" and info.in_codes or info.out_codes
  if n == 0 then
    fail(self.cfg, "levels", "learnable levels need an " .. (self.mode == "lut" and "input" or "output") ..
      " format with codes (at most 16 bits), got fp32")
  end
  if self.sorted and n > 4096 then fail(self.cfg, "sorted", "sorted levels need at most 4096 entries") end
  local init
  if values then
    if #values ~= n then
      fail(self.cfg, "levels", string.format("%d values given but the format has %d codes", #values, n))
    end
    init = lpact.tensor(values)
  else
    init = self:_original()
  end
  self.original = self:_original()
  self._lv = self:param("levels", init)
  rawset(self, "levels", nil)   -- the method levels() reads them back
  if self.sorted then self:_order() end
end

-- Checks the level_init option and arms the centroid initialisation.
function QAct:_check_level_init()
  local cfg = self.cfg
  local li = cfg.level_init or "format"
  if li ~= "format" and li ~= "centroid" then
    fail(cfg, "level_init", "expected 'format' or 'centroid', got '" .. tostring(li) .. "'")
  end
  self.level_init = li
  if li ~= "centroid" then return end
  if not self.learnable then fail(cfg, "level_init", "centroid initialisation needs levels = 'learnable'") end
  if type(cfg.levels) == "table" then fail(cfg, "level_init", "centroid initialisation replaces a given list of levels") end
  if self.mode == "ops" then fail(cfg, "level_init", "centroid initialisation needs mode emulate or lut") end
  local k = self.scale.kind
  if k ~= "none" and k ~= "fixed" then fail(cfg, "level_init", "centroid initialisation needs scale none or fixed") end
  if self.info.in_codes == 0 and self.mode == "lut" then fail(cfg, "level_init", "lut needs input codes") end
  self._centroid_pending = true
end

-- Centroid initialisation from the first training batch: level k = mean of
-- f(x) / s_o (lut: f(x)) over the elements whose code is k (at most 65536
-- elements, evenly strided); levels no element uses keep their value.
-- Levels that no longer hold the format's values (loaded from a
-- checkpoint, set by a script) are left alone.
function QAct:_centroid_init(xd)
  self._centroid_pending = false
  local cur, orig = self._lv.data:totable(), self.original:totable()
  for i = 1, #cur do
    if cur[i] ~= orig[i] and (cur[i] == cur[i] or orig[i] == orig[i]) then return end
  end
  local si, so = self.scale.si or 1, self.scale.so or 1
  local n = xd:numel()
  local step = math.max(1, n // 65536)
  local flat = xd:contiguous():reshape { n }
  local lut = self.mode == "lut"
  local core, name, alpha, luaf = self.core, self.name, self.alpha, self.luaf
  local function f(v) if luaf then return luaf(v) end return lpact.kernels.act_value(name, v, alpha) end
  local sum, cnt = {}, {}
  for i = 1, n, step do
    local v = flat:get(i)
    if v == v then
      local q = si * core:round(v / si, "in")
      local c
      if lut then c = core:code(v / si, "in") else c = core:code(f(q) / so, "out") end
      if c then
        sum[c] = (sum[c] or 0) + (lut and f(v) or f(v) / so)
        cnt[c] = (cnt[c] or 0) + 1
      end
    end
  end
  local t = self._lv.data
  for c, s in pairs(sum) do t:set(c + 1, s / cnt[c]) end
  if self.sorted then self:_project() end
end

-- The format's own table (lut: Q_out(f(v)) over input codes; else the
-- output format's values), as a new tensor; NaN codes stay NaN.
function QAct:_original()
  if self.mode == "lut" then return self:_table(self.scale.si or 1, self.scale.so or 1, nil) end
  local t = lpact.tensor(self.info.out_values)
  return t
end

-- Order of the initial values (for sorted levels): a permutation of the
-- finite entries and the rank positions.
function QAct:_order()
  local vals = self._lv.data:totable()
  local idx = {}
  for i, v in ipairs(vals) do if v == v then idx[#idx + 1] = i end end
  table.sort(idx, function(a, b)
    if vals[a] ~= vals[b] then return vals[a] < vals[b] end
    return a < b
  end)
  self.order = idx
end

-- Projects the levels back onto the initial order (sorted option).
function QAct:_project()
  local t = self._lv.data
  local vals = t:totable()
  local xs = {}
  for i, k in ipairs(self.order) do xs[i] = vals[k] end
  table.sort(xs)
  for i, k in ipairs(self.order) do
    if vals[k] ~= xs[i] then t:set(k, xs[i]) end
  end
end

-- The table over the input codes at scales si, so with levels (a tensor or nil).
function QAct:_table(si, so, levels)
  if self.luaf then
    local info, vals = self.info, {}
    for c = 1, info.in_codes do
      local v = info.in_values[c]
      if v ~= v then vals[c] = 0 / 0
      else
        local z = self.luaf(si * v) / so
        local r = self.core:round(z, "out")
        if levels then
          local oc = self.core:code(z, "out")
          r = oc and levels:get(oc + 1) or 0 / 0
        end
        vals[c] = so * r
      end
    end
    return lpact.tensor(vals)
  end
  return self.core:table(si, so, levels)
end

-- max |f| over [lo, hi]: exact for the built-in functions (qcore.absmax);
-- on a grid of 257 points (ends included) for a Lua function.
local function amax_range_f(self, lo, hi)
  if not self.luaf then return qcore.absmax(self.name, lo, hi, self.alpha) end
  local m = 0
  local n = 256
  for k = 0, n do
    local x = lo + (hi - lo) * k / n
    local v = math.abs(self.luaf(x))
    if v > m then m = v end
  end
  return m
end

-- Per-tensor scales (si, so) for input data xd, updating delayed history.
function QAct:_scales(xd)
  local s = self.scale
  if s.kind == "none" then return 1, 1 end
  if s.kind == "fixed" then return s.si, s.so end
  if s.kind == "lsq" or s.kind == "pact" then
    local info, t = self.info, self._sv.data
    if not self._sv_ready then
      -- LSQ's initial step from the first batch: 2 mean|x| / sqrt(max)
      local m = xd:abs():mean()
      if type(m) ~= "number" then m = m:item() end
      t:set(1, m > 0 and 2 * m / math.sqrt(info.out_hi) or 1)
      self._sv_ready = true
    end
    local v = t:get(1)
    if not (v > 1e-12) then v = 1e-12; t:set(1, v) end   -- keep the scale positive
    if s.kind == "lsq" then return v, v end
    return v / (info.in_codes > 0 and info.in_hi or 1), v / (info.out_codes > 0 and info.out_hi or 1)
  end
  -- amax
  local info = self.info
  local cur = qcore.amax(xd)
  local a = cur
  if s.history then
    a = s.init
    for _, h in ipairs(s.hist) do if h > a then a = h end end
    if self.training then
      table.insert(s.hist, cur)
      if #s.hist > s.history then table.remove(s.hist, 1) end
    end
  end
  local si, so = 1, 1
  if a == 0 or a ~= a then a = 1 end
  if self.scale_at ~= "out" and info.in_codes > 0 then si = a / info.in_hi end
  if self.scale_at ~= "in" and info.out_codes > 0 then
    local lo = info.in_codes > 0 and math.max(-a, info.in_lo * si) or -a
    local fm = amax_range_f(self, lo, a)
    if fm > 0 then so = fm / info.out_hi end
  end
  self.last_scales = { si, so }
  return si, so
end

-- Grouped scales (per channel or MX blocks): the group description.
function QAct:_groups(xd)
  local s = self.scale
  local nd = xd:dim()
  local axis = s.axis < 0 and nd + 1 + s.axis or s.axis
  if axis < 1 or axis > nd then
    fail(self.cfg, "scale", string.format("axis %d does not exist for input of %d dims", s.axis, nd))
  end
  if s.kind == "mx" and xd:size(axis) % s.block ~= 0 and not s.pad then
    fail(self.cfg, "scale", string.format("MX block %d does not divide axis %d of size %d (give pad = true to allow a short last block)",
      s.block, axis, xd:size(axis)))
  end
  return { axis = axis, block = s.kind == "mx" and s.block or 0 }
end

--- The layer's forward pass: x a Var or Tensor -> Var.
function QAct:forward(x)
  local xd = data_of(x)
  if not xd:is_contiguous() then xd = xd:contiguous() end
  if self.capture_fn then self.capture_fn(self, xd) end
  if self._centroid_pending and self.training then self:_centroid_init(xd) end
  if self.learnable and self.sorted and not self.frozen and self.training then self:_project() end
  local sv = self._sv
  local n = xd:numel()
  local ctr0 = self.ctr
  if self.cfg.sr or self.any_sr then self.ctr = self.ctr + n end
  local info = self.info
  local lev = self.learnable and self._lv or nil
  local kind = self.scale.kind
  local layer = self
  local y, codes, cw, mult, si, so
  if kind == "channel" or kind == "mx" then
    local s = self.scale
    y, codes, cw = self.core:grouped(xd, self:_groups(xd), s.kind == "mx", s.rule or "floor",
      self.scale_at ~= "out", self.scale_at ~= "in", lev and lev.data, ctr0)
    mult, si, so = 1, 1, 1
  else
    si, so = self:_scales(xd)
    if info.in_codes > 0 and not (self.out_sr and self.mode ~= "lut" and not self.luaf) then
      local T, use_map
      if self.mode == "lut" then
        T = lev and lev.data or self:_fixed_table(si, so)
      else
        T = self:_table(si, so, lev and lev.data)
        use_map = lev ~= nil and not self.luaf
      end
      self.effective = T
      if self.luaf and lev and self.mode ~= "lut" then
        -- Lua functions: the output code of each input code, made here
        y, codes, cw = self.core:lookup(xd, T, si, true, ctr0, self:_luaf_map(si, so))
      else
        y, codes, cw = self.core:lookup(xd, T, si, use_map, ctr0)
      end
      mult = self.mode == "lut" and 1 or so
    else
      y, codes, cw = self.core:direct(xd, si, so, lev and lev.data, nil, ctr0)
      mult = so
    end
  end
  if self.telemetry_on then
    local ts = (kind == "channel" or kind == "mx") and 1 or si
    local usage = self.usage
    local sat, under, nan, cnt = self.core:telemetry(xd, ts, ctr0, usage)
    local t = self.stats
    t.saturations, t.underflows, t.nans, t.elements = t.saturations + sat, t.underflows + under, t.nans + nan, t.elements + cnt
    t.passes = t.passes + 1
  end
  local lo, hi = (info.in_lo or -math.huge) * si, (info.in_hi or math.huge) * si
  if info.in_codes == 0 then lo, hi = -math.huge, math.huge end
  local rule = self.ste
  local op = ag.custom {
    name = "qact",
    forward = function() return y end,
    backward = function(_, g)
      g = g:is_contiguous() and g or g:contiguous()
      -- one pass over g: the STE's dx and the levels' gradient
      local dT
      if lev and not layer.frozen then dT = lpact.zeros { lev.data:numel() } end
      local px, py
      local r, fname, alpha = rule, layer.name, layer.alpha
      if rule == "staircase" then
        px, py = layer:_stair_points(si)
        fname, alpha = "identity", 0
      elseif layer.luaf then
        r, fname, alpha = "identity", "identity", 0
      end
      local dx = qcore.backward(g, xd, r, fname, alpha, lo, hi, px, py, dT, codes, cw, mult)
      if layer.gfmt and dx then dx = layer:_round_grad(dx) end
      local ds
      if sv then
        local kind = layer.scale.kind
        local v = sv.data:get(1)
        local d
        if kind == "lsq" then
          -- LSQ's gradient scale 1 / sqrt(N * Q_max)
          d = qcore.scale_grad(g, xd, y, "lsq", layer.luaf and "identity" or layer.name, layer.alpha, v,
            info.out_lo, info.out_hi) / math.sqrt(xd:numel() * info.out_hi)
        else
          d = qcore.scale_grad(g, xd, y, "pact", layer.name, layer.alpha, v, 0, 0)
        end
        ds = lpact.tensor { d }
      end
      if lev and sv then return dx, dT, ds end
      if lev then return dx, dT end
      if sv then return dx, ds end
      return dx
    end,
  }
  if lev and sv then return op(x, lev, sv) end
  if lev then return op(x, lev) end
  if sv then return op(x, sv) end
  return op(x)
end

-- The output code of every input code (and of the NaN sentinel) for a Lua
-- function, as a tensor for core:lookup (learnable output levels).
function QAct:_luaf_map(si, so)
  local info, map = self.info, {}
  for c = 1, info.in_codes do
    local v = info.in_values[c]
    map[c] = v == v and self.core:code(self.luaf(si * v) / so, "out") or info.out_codes
  end
  map[info.in_codes + 1] = info.out_codes
  return lpact.tensor(map)
end

function QAct:_fixed_table(si, so)
  local key = si .. ":" .. so
  if self._ftkey ~= key then
    self._ft, self._ftkey = self:_table(si, so, nil), key
  end
  return self._ft
end

-- Points (x, y) of the effective table, sorted by x, for the staircase STE.
function QAct:_stair_points(si)
  local info = self.info
  local T = self.effective or self:_fixed_table(si, 1)
  local tv = T:totable()
  local pts = {}
  for c = 1, info.in_codes do
    local v = info.in_values[c]
    if v == v and v > -math.huge and v < math.huge and tv[c] == tv[c] then
      pts[#pts + 1] = { si * v, tv[c] }
    end
  end
  table.sort(pts, function(a, b) return a[1] < b[1] end)
  local px, py = {}, {}
  for _, p in ipairs(pts) do
    if #px == 0 or p[1] > px[#px] then px[#px + 1], py[#py + 1] = p[1], p[2] end
  end
  return px, py
end

--- The levels as a Lua list, by code: the learned ones (learnable), else
-- the format's (lut: the table Q_out(f(v)); otherwise the output values).
function QAct:levels()
  if not self.learnable then return self:_original():totable() end
  return self._lv.data:totable()
end

--- Resets learnable levels to the format's values.
function QAct:reset_levels()
  if self.learnable then self._lv.data:copy(self.original) end
  return self
end

--- Stops updating the levels (their gradient becomes nil).
function QAct:freeze() self.frozen = true; return self end
--- Resumes updating the levels.
function QAct:unfreeze() self.frozen = false; return self end

--- Changes the formats (precision schedules): fmt, or in_fmt and out_fmt.
-- Learnable levels restart from the new format's values (the level count
-- changes with the format); the optimizer keeps the same parameter Var.
function QAct:set_format(fmt, out_fmt)
  self.in_spec, self.out_spec = fmt, out_fmt or fmt
  if self.cfg.sr then self.in_spec = with_sr(self.in_spec, self.cfg) end
  self._ft, self._ftkey, self.effective = nil, nil, nil
  self:_build()
  if self.learnable then
    local new = self:_original()
    self.original = new
    local v = self._lv
    v.data = new:clone()
    v.grad = nil
    if self.sorted then self:_order() end
    -- centroid initialisation: again from the next training batch
    if self.level_init == "centroid" then self._centroid_pending = true end
  end
  self:reset_telemetry()
  return self
end

--- Clears the telemetry counters.
function QAct:reset_telemetry()
  self.stats = { saturations = 0, underflows = 0, nans = 0, elements = 0, passes = 0 }
  if self.gfmt then self.stats.grad_elements, self.stats.grad_underflows, self.stats.grad_saturations = 0, 0, 0 end
  local n = self.info.in_codes > 0 and self.info.in_codes or self.info.out_codes
  self.usage = n > 0 and lpact.zeros { n + 1 } or nil
end

--- Telemetry: telemetry(true|false) switches counting on or off; with no
-- argument returns {saturations=, underflows=, nans=, elements=, passes=,
-- usage_codes = {count per code, then NaN inputs}, values = {the value of
-- each code}} (lpact.show.usage draws them as a histogram).
function QAct:telemetry(on)
  if on ~= nil then self.telemetry_on = on and true or false; return self end
  local t = {}
  for k, v in pairs(self.stats) do t[k] = v end
  if self.usage then
    t.usage_codes = self.usage:totable()
    local vals = self.info.in_codes > 0 and self.info.in_values or self.info.out_values
    t.values = vals
  end
  return t
end

--- Calls fn(layer, input_tensor) at every forward pass (nil removes it).
function QAct:on_input(fn) self.capture_fn = fn; return self end

--- Captures the input of the next forward pass; returns a function that
-- returns it (a Tensor copy) once it has been seen.
function QAct:capture()
  local got
  self.capture_fn = function(l, x) got = x:clone(); l.capture_fn = nil end
  return function() return got end
end

--- One line: function, formats, mode, levels, STE, scale.
function QAct:describe()
  local lv = self.learnable and (self.frozen and "learnable(frozen)" or "learnable") or "fixed"
  local fmt = self.in_spec == self.out_spec and spec_name(self.in_spec)
    or (spec_name(self.in_spec) .. "->" .. spec_name(self.out_spec))
  local sc = self.scale.kind ~= "none" and (" scale=" .. self.scale.kind) or ""
  local gr = ""
  if self.gfmt then
    local g = type(self.cfg.grad_fmt) == "string" and self.cfg.grad_fmt or self.gfmt.name
    gr = " grad=" .. g .. (self.grad_scale == "amax" and ":amax" or "")
  end
  return string.format("qact %s %s %s levels=%s ste=%s%s%s", self.name, fmt, self.mode, lv, self.ste, sc, gr)
end

--- Writes the layer's lookup table (input code -> output code/value) for
-- hardware: layer:export_lut(path, {format = "json"|"c"|"hex"|"npy"}).
-- See lpact.lut.
function QAct:export_lut(path, o) return require("lpact.lut").export(self, path, o) end

--- The learned levels next to the format's original values, as text.
function QAct:show_levels()
  local lines = { self:describe() }
  local info = self.info
  local cur = self.learnable and self._lv.data:totable() or nil
  local orig = self.learnable and self.original:totable() or self:_original():totable()
  local keyv = self.mode == "lut" and info.in_values or info.out_values
  local rows = {}
  for c = 1, #orig do
    if keyv[c] == keyv[c] then rows[#rows + 1] = c end
  end
  table.sort(rows, function(a, b)
    if keyv[a] ~= keyv[b] then return keyv[a] < keyv[b] end
    return a < b
  end)
  lines[#lines + 1] = string.format("  %6s  %12s  %12s  %12s", "code",
    self.mode == "lut" and "input" or "level", "original", self.learnable and "learned" or "")
  for _, c in ipairs(rows) do
    lines[#lines + 1] = string.format("  %6d  %12.6g  %12.6g  %12s", c - 1, keyv[c], orig[c],
      cur and string.format("%.6g", cur[c]) or "")
  end
  return table.concat(lines, "\n")
end

return QAct
