--- lpact.qact.options — the options of a quantized activation layer:
-- their names, their checks, and the messages that name them. The layer
-- (lpact.qact.layer) and lpact.qact read them from here.

local O = {}

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

O.MODES, O.STES, O.ALPHA_FNS = MODES, STES, ALPHA_FNS
O.label, O.format_error, O.fail = label, format_error, fail
O.parse_scale, O.with_sr, O.check_options = parse_scale, with_sr, check_options
return O
