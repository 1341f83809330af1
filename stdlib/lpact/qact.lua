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
local qk = lpact.qk

local qact = {}

local function is_tensor(v) return lpact.is_tensor(v) end

local function data_of(x) return type(x) == "table" and x.data or x end

local function spec_name(f)
  if type(f) == "string" then return f end
  return tostring(f)
end

-- Layer ---------------------------------------------------------------------

local QAct = nn.class("QAct")
QAct.is_activation = true
qact.QAct = QAct

local MODES = { emulate = true, lut = true, ops = true }
local STES = { fprime = true, identity = true, clipped = true, staircase = true }

local function label(cfg)
  local f = cfg[1] or cfg.fn
  local parts = { type(f) == "string" and f or "lua-function" }
  for _, k in ipairs { "fmt", "in_fmt", "out_fmt", "mode", "levels", "ste" } do
    local v = cfg[k]
    if v ~= nil then parts[#parts + 1] = k .. "=" .. (type(v) == "table" and "{...}" or tostring(v)) end
  end
  return "qact{" .. table.concat(parts, ", ") .. "}"
end

-- The message of a format spec that lpact.format refused (a failure
-- object: the option is named by fail); anything else is a bug, raised on.
local function format_error(e)
  if lpact.is_failure(e) then return e.msg end
  error(e, 0)
end

local function fail(cfg, option, msg)
  lpact.fail(string.format("%s: option '%s': %s", label(cfg), option, msg))
end

-- Parses the scale option into a rule table.
local function parse_scale(cfg)
  local s = cfg.scale
  if s == nil or s == "none" then return { kind = "none" } end
  if type(s) == "number" then
    if not (s > 0 and s < math.huge) then fail(cfg, "scale", "a fixed scale must be a positive number") end
    return { kind = "fixed", si = s, so = 1 }
  end
  if type(s) == "string" then s = { s } end
  if type(s) ~= "table" then fail(cfg, "scale", "expected a rule name, a number or a table, got " .. type(s)) end
  local kind = s[1] or s.rule
  if kind == nil and s.fixed then kind = "fixed" end
  if kind == "fixed" then
    local si, so = s.fixed or s[2] or 1, s.out or 1
    if type(si) ~= "number" or si <= 0 or type(so) ~= "number" or so <= 0 then
      fail(cfg, "scale", "fixed scales must be positive numbers")
    end
    return { kind = "fixed", si = si, so = so }
  elseif kind == "amax" then
    local h = s.history
    if h ~= nil and (math.type(h) ~= "integer" or h < 1) then fail(cfg, "scale", "history must be a positive integer") end
    if h and not s.init then
      fail(cfg, "scale", "a delayed amax (history = " .. h .. ") needs statistics before the first batch: give init = <scale>")
    end
    return { kind = "amax", history = h, init = s.init, hist = {} }
  elseif kind == "channel" then
    return { kind = "channel", axis = s.axis or 2 }
  elseif kind == "lsq" or kind == "pact" then
    local init = s.init
    if init ~= nil and (type(init) ~= "number" or not (init > 0 and init < math.huge)) then
      fail(cfg, "scale", kind .. " init must be a positive number")
    end
    if kind == "pact" and init == nil then init = 6 end
    return { kind = kind, init = init }
  elseif kind == "mx" then
    local b = s.block or 32
    if math.type(b) ~= "integer" or b < 1 then fail(cfg, "scale", "MX block must be a positive integer") end
    local rule = s.rule or "floor"
    if rule ~= "floor" and rule ~= "ceil" then fail(cfg, "scale", "MX rule is 'floor' or 'ceil', got " .. tostring(rule)) end
    if s.size and s.size % b ~= 0 and not s.pad then
      fail(cfg, "scale", string.format("MX block %d does not divide the axis size %d (give pad = true to allow a short last block)", b, s.size))
    end
    return { kind = "mx", block = b, axis = s.axis or -1, rule = rule, pad = s.pad }
  end
  fail(cfg, "scale", "unknown rule '" .. tostring(kind) .. "' (none, fixed, amax, channel, mx, lsq, pact)")
end

local function with_sr(spec, cfg)
  if type(spec) ~= "string" then fail(cfg, "sr", "stochastic rounding needs the format as a spec string") end
  if spec == "fp32" then return spec end
  return spec .. ":sr" .. (cfg.sr_seed and (":seed=" .. math.tointeger(cfg.sr_seed)) or "")
end

-- The options a layer reads, and those of each scale rule's table: a
-- misspelt option is an error, never a silent default.
local OPTIONS = { fn = 1, alpha = 1, fmt = 1, in_fmt = 1, out_fmt = 1, mode = 1, levels = 1, sorted = 1,
  level_lr = 1, level_init = 1, ste = 1, sr = 1, sr_seed = 1, scale = 1, scale_at = 1, telemetry = 1,
  grad_fmt = 1, grad_scale = 1 }
local SCALE_OPTIONS = {
  fixed = { rule = 1, fixed = 1, out = 1 }, amax = { rule = 1, history = 1, init = 1 },
  channel = { rule = 1, axis = 1 }, lsq = { rule = 1, init = 1 }, pact = { rule = 1, init = 1 },
  mx = { block = 1, axis = 1, rule = 1, pad = 1, size = 1 },
}
-- the functions that take alpha, from the registry
local ALPHA_FNS, alpha_names = {}, {}
for _, a in ipairs(lpact.activations()) do
  if a.alpha then ALPHA_FNS[a.name] = true; alpha_names[#alpha_names + 1] = a.name end
end
local ALIASES = { format = "fmt", formats = "fmt", in_format = "in_fmt", out_format = "out_fmt", func = "fn",
  ["function"] = "fn", act = "fn", learnable = "levels", seed = "sr_seed", grad_format = "grad_fmt" }

local function check_keys(cfg, t, known, where)
  local name, guess = lpact.unknown_option(t, known, ALIASES)
  if name then fail(cfg, name, "unknown " .. where .. (guess and (" (did you mean '" .. guess .. "'?)") or "")) end
end

-- Checks the option names and the options no other step reads closely.
local function check_options(cfg, fname)
  check_keys(cfg, cfg, OPTIONS, "option")
  if type(cfg.scale) == "table" then
    local kind = cfg.scale[1] or cfg.scale.rule or (cfg.scale.fixed and "fixed")
    if SCALE_OPTIONS[kind] then check_keys(cfg, cfg.scale, SCALE_OPTIONS[kind], "option of scale '" .. kind .. "'") end
  end
  if cfg.alpha ~= nil then
    if type(cfg.alpha) ~= "number" or cfg.alpha ~= cfg.alpha then fail(cfg, "alpha", "a number expected, got " .. tostring(cfg.alpha)) end
    if type(fname) == "string" and not ALPHA_FNS[fname] then
      fail(cfg, "alpha", "only " .. table.concat(alpha_names, " and ") .. " take alpha (the function is " .. fname .. ")")
    end
  end
  if cfg.sr_seed ~= nil then
    local sd = cfg.sr_seed
    local whole = math.tointeger(sd)
    if type(sd) ~= "number" or not whole or whole < 0 then
      fail(cfg, "sr_seed", "a whole number >= 0 expected, got " .. tostring(sd))
    end
    if not cfg.sr then fail(cfg, "sr_seed", "a seed for stochastic rounding: give sr = true as well") end
  end
  for _, k in ipairs { "telemetry", "sorted", "sr" } do
    local v = cfg[k]
    if v ~= nil and type(v) ~= "boolean" then fail(cfg, k, "true or false expected, got " .. tostring(v)) end
  end
end

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
    local a = qk.amax(dx)
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
  self.core = qk.new(cname, fin, fout, mode, self.alpha)
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

-- max |f| over [lo, hi]: exact for the built-in functions (qk.absmax);
-- on a grid of 257 points (ends included) for a Lua function.
local function amax_range_f(self, lo, hi)
  if not self.luaf then return qk.absmax(self.name, lo, hi, self.alpha) end
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
  local cur = qk.amax(xd)
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
      local dx = qk.backward(g, xd, r, fname, alpha, lo, hi, px, py, dT, codes, cw, mult)
      if layer.gfmt and dx then dx = layer:_round_grad(dx) end
      local ds
      if sv then
        local kind = layer.scale.kind
        local v = sv.data:get(1)
        local d
        if kind == "lsq" then
          -- LSQ's gradient scale 1 / sqrt(N * Q_max)
          d = qk.scale_grad(g, xd, y, "lsq", layer.luaf and "identity" or layer.name, layer.alpha, v,
            info.out_lo, info.out_hi) / math.sqrt(xd:numel() * info.out_hi)
        else
          d = qk.scale_grad(g, xd, y, "pact", layer.name, layer.alpha, v, 0, 0)
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

-- Module API ----------------------------------------------------------------

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
            if scale == "amax" then return q(w, s_of(qk.amax(w))) end
            local out = w:clone()
            for r = 1, w:size(1) do
              local row = w:narrow(1, r, 1)
              out:narrow(1, r, 1):copy(q(row, s_of(qk.amax(row))))
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
function qact.errors(f, cfg, lo, hi, n)
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
-- rel_mean, rel_max, n, hist = {edges, counts}}.
function qact.act_errors(model, x, max_elems)
  max_elems = max_elems or 65536
  if math.type(max_elems) ~= "integer" or max_elems < 1 then
    lpact.fail("act_errors: max_elems must be a whole number >= 1, got " .. tostring(max_elems))
  end
  local layers = qact.layers(model)
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
      out[#out + 1] = e
    end
  end
  return out
end

--- Describes every quantized layer of a model (one line each, with the
-- levels when learnable = true is passed).
function qact.summary(model, with_levels)
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
function qact.experiment(o)
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

-- lpact.qact{...} returns a factory: one fresh layer per activation site.
-- The options are checked now (a layer is built once), so a bad option
-- fails before any model or training exists.
return setmetatable(qact, {
  __call = function(_, cfg)
    if type(cfg) == "string" then cfg = { cfg } end
    QAct(cfg)
    return function() return QAct(cfg) end
  end,
})
