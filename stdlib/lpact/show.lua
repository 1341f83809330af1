--- lpact.show — text renderers for the terminal: a format's summary, its
-- table of levels, value sets on a number line, histograms, line charts
-- of a function and its quantized version, error reports.
--
--     local show = require "lpact.show"
--     print(show.levels "fp4")
--     print(show.hist({1, 2, 2, 3, 3, 3}, {bins = 3}))
--     local p = show.plot("tanh", "fp4", -3, 3); print(p); p:save("tanh.png")
--
-- Every renderer returns a view object: tostring(view) is the text (drawn
-- for the current terminal width), and histogram and chart views can
-- :save("x.png" | "x.svg") through lpact.figure. Widths come from opts.width,
-- else $COLUMNS, else the terminal's size, else 80. Colours appear only on a
-- terminal that has them, and never when NO_COLOR is set.
--
-- The renderers work from plain descriptions (`show.describe(fmt)` for
-- formats), so that the tests can feed them fixed inputs.

local show = {}

local floor, abs, huge = math.floor, math.abs, math.huge
local fmt_str = string.format

-- Small helpers ---------------------------------------------------------------

local function fail(msg) lpact.fail(msg) end

--- The shortest decimal text that reads back as exactly x ("0.001953125",
-- "448", "-0", "nan", "inf").
function show.num(x)
  if x ~= x then return "nan" end
  if x == huge then return "inf" elseif x == -huge then return "-inf" end
  if x == 0 then return (1 / x < 0) and "-0" or "0" end
  if math.type(x) == "integer" then return tostring(x) end
  if x == floor(x) and abs(x) < 2^53 then return fmt_str("%d", x) end
  for p = 1, 17 do
    local s = fmt_str("%." .. p .. "g", x)
    if tonumber(s) == x then return s end
  end
  return fmt_str("%.17g", x)
end
local num = show.num

-- x as "2^k" when it is an exact power of two, else nil.
local function pow2(x)
  if x <= 0 or x ~= x or x == huge then return nil end
  local e = floor(math.log(x, 2) + 0.5)
  return (2.0 ^ e == x) and ("2^" .. e) or nil
end

--- The terminal width to draw for: opts.width, else $COLUMNS, else the
-- size of the terminal on stdout, else 80.
function show.width(opts)
  if opts ~= nil and type(opts) ~= "table" then fail("options expected (a table such as {width = 80}), got " .. type(opts)) end
  if opts and opts.width ~= nil and (type(opts.width) ~= "number" or opts.width ~= opts.width) then
    fail("width must be a number of columns, got " .. tostring(opts.width))
  end
  local w = opts and opts.width or tonumber(os.getenv("COLUMNS") or "")
  if not w and lpact.engine.isatty(1) then
    local p = io.popen("stty size </dev/tty 2>/dev/null")
    if p then
      local s = p:read("l")
      p:close()
      w = s and tonumber(s:match("%d+%s+(%d+)"))
    end
  end
  w = math.tointeger(floor(w or 80))
  return math.max(20, math.min(w, 400))
end

--- True when colours may be used: stdout is a terminal, TERM is not
-- "dumb" and NO_COLOR is unset or empty (opts.color overrides).
function show.color(opts)
  if opts and opts.color ~= nil then return opts.color and true or false end
  local nc = os.getenv("NO_COLOR")
  if nc and nc ~= "" then return false end
  local term = os.getenv("TERM")
  if not term or term == "" or term == "dumb" then return false end
  return lpact.engine.isatty(1)
end

local COLORS = { blue = "34", red = "31", yellow = "33", dim = "2", bold = "1", green = "32" }
local function paint(on, color, s)
  if not on or s == "" then return s end
  return "\27[" .. COLORS[color] .. "m" .. s .. "\27[0m"
end

-- Display width of UTF-8 text (one column per code point).
-- (escape codes take no room)
local function ulen(s)
  if s:find("\27", 1, true) then s = s:gsub("\27%[[%d;]*m", "") end
  return utf8.len(s) or #s
end
local function rpad(s, n) return s .. string.rep(" ", n - ulen(s)) end
local function lpad(s, n) return string.rep(" ", n - ulen(s)) .. s end

-- A view: text drawn on demand, optional figure for :save.
local View = {}
View.__index = View
View.__name = "lpact.View"
function View.__tostring(v) return v.draw(v) end
--- Saves the view as a figure ("x.png" or "x.svg") through gnuplot.
function View:save(path, opts)
  if not self.figure then fail("this view cannot be saved as a figure (only histograms and plots)") end
  return require("lpact.figure").save(self.figure, path, opts)
end
local function view(fields, draw)
  fields.draw = draw
  return setmetatable(fields, View)
end
show.View = View

-- Formats ---------------------------------------------------------------------

-- The Format behind a spec string or Format userdata; a bad spec is one
-- clear line (lpact.fail), never a traceback through this module.
local function get_format(spec, who)
  if type(spec) == "table" and spec.ebits then return nil, spec end  -- a description already
  if type(lpact.format) ~= "function" then
    fail(who .. ": formats are not available in this build (lpact.format is missing)")
  end
  if type(spec) ~= "string" and type(spec) ~= "userdata" then
    fail(fmt_str("%s: a format expected (a spec like \"fp4\" or a Format), got %s", who, type(spec)))
  end
  local ok, f = pcall(lpact.format, spec)
  if not ok then
    if not lpact.is_failure(f) then error(f, 0) end   -- a bug, not a bad spec
    fail(fmt_str("%s: %s", who, f.msg))
  end
  return f
end

local function pick(t, ...)
  for i = 1, select("#", ...) do
    local v = t[(select(i, ...))]
    if v ~= nil then return v end
  end
end

local POLICY_TEXT = {
  ieee = "top exponent holds inf and NaN",
  fn = "no infinity; the all-ones code is NaN",
  fin = "every code is a finite number",
  fnuz = "no infinity, no -0; the code of -0 is NaN",
  e8m0 = "no zero, no sign; the all-ones code is NaN",
}

-- Kind of a code from its fields, for formats described by fields.
local function code_kind(d, e, m)
  local emax_field = (1 << d.ebits) - 1
  local mmax = (1 << d.mbits) - 1
  if d.policy == "ieee" and d.ebits > 0 and e == emax_field then
    return m == 0 and "inf" or "nan"
  end
  if d.policy == "fn" and e == emax_field and m == mmax then return "nan" end
  if e == 0 and d.ebits > 0 then
    if m == 0 then return "zero" end
    return d.subnormals and "subnormal" or "unused"
  end
  if d.ebits == 0 then return m == 0 and "zero" or "subnormal" end
  return "normal"
end

-- Value of a code from its fields (used when no Format object decodes).
local function field_value(d, s, e, m, kind)
  local v
  if kind == "nan" then return 0 / 0
  elseif kind == "inf" then v = huge
  elseif kind == "zero" or kind == "unused" then v = 0.0
  elseif kind == "subnormal" then v = m * 2.0 ^ (1 - d.bias - d.mbits)
  else v = (1 + m / 2.0 ^ d.mbits) * 2.0 ^ (e - d.bias) end
  return s == 1 and -v or v
end

--- Formats up to this many bits have their codes listed (levels, compare).
show.MAX_LIST_BITS = 12

--- A plain description of a format: name, spec, signed, ebits, mbits, bits,
-- bias, subnormals, policy, overflow, mode, max, minnorm, minsub, epsilon,
-- and codes = {{code=, s=, e=, m=, value=, kind=}, ...} (up to 2^16 codes).
-- `fmt` may be a spec string, a Format, or a table with at least ebits,
-- mbits, bias (signed, subnormals, policy default to true, true, "fin").
function show.describe(fmt, who)
  who = who or "describe"
  local f, d0 = get_format(fmt, who)
  local d = {}
  if f then
    local info = f.info and f:info() or {}
    d.name = pick(info, "name") or tostring(fmt)
    d.spec = pick(info, "spec", "canonical") or d.name
    d.ebits = pick(info, "ebits", "e", "E", "exponent_bits")
    d.mbits = pick(info, "mbits", "m", "M", "mantissa_bits")
    d.bias = pick(info, "bias")
    d.signed = pick(info, "signed", "is_signed")
    d.subnormals = pick(info, "subnormals", "sub")
    d.policy = pick(info, "policy")
    d.overflow = pick(info, "overflow")
    d.mode = pick(info, "mode", "rounding")
    d.max = pick(info, "max", "maxval")
    d.minnorm = pick(info, "min_normal", "minnorm", "min_norm")
    d.minsub = pick(info, "min_subnormal", "minsub", "min_sub", "min_positive")
    d.epsilon = pick(info, "epsilon", "eps")
    d.identity = pick(info, "identity")
    d.nvalues = pick(info, "nvalues")
    d.format = f
  else
    for k, v in pairs(d0) do d[k] = v end
  end
  if d.signed == nil then d.signed = true end
  if d.subnormals == nil then d.subnormals = true end
  d.policy = d.policy or "fin"
  d.overflow = d.overflow or (d.policy == "ieee" and "inf" or "sat")
  d.mode = d.mode or "rne"
  d.name = d.name or fmt_str("%se%dm%d", d.signed and "" or "u", d.ebits, d.mbits)
  d.spec = d.spec or d.name
  d.bits = (d.signed and 1 or 0) + d.ebits + d.mbits
  d.epsilon = d.epsilon or 2.0 ^ -d.mbits
  if d.bits <= show.MAX_LIST_BITS and not d.identity then
    local codes = {}
    local mb, eb = d.mbits, d.ebits
    for c = 0, (1 << d.bits) - 1 do
      local s = d.signed and (c >> (eb + mb)) & 1 or 0
      local e = (c >> mb) & ((1 << eb) - 1)
      local m = c & ((1 << mb) - 1)
      local kind = code_kind(d, e, m)
      codes[#codes + 1] = { code = c, s = s, e = e, m = m, kind = kind, value = field_value(d, s, e, m, kind) }
    end
    if f and f.codes then       -- the format's own decoding is the reference
      for i, c in ipairs(f:codes()) do
        local my = codes[i]
        my.value, my.kind = c.value, c.kind or my.kind
        my.s, my.e, my.m = c.sign or my.s, c.exponent or my.e, c.mantissa or my.m
      end
    end
    d.codes = codes
    -- derived properties when the format did not give them
    local maxv, minpos, minnorm = 0, huge, huge
    local distinct = {}
    for _, c in ipairs(codes) do
      local v = c.value
      if c.kind ~= "nan" and c.kind ~= "inf" and c.kind ~= "unused" then
        if v > maxv then maxv = v end
        if v > 0 and v < minpos then minpos = v end
        if c.kind == "normal" and v > 0 and v < minnorm then minnorm = v end
        distinct[v == 0 and 0.0 or v] = true
      end
    end
    local n = 0
    for _ in pairs(distinct) do n = n + 1 end
    d.nvalues = d.nvalues or n
    d.max = d.max or maxv
    d.minsub = d.minsub or (minpos < huge and minpos or nil)
    d.minnorm = d.minnorm or (minnorm < huge and minnorm or nil)
  end
  return d
end

-- The layout string "s eeee mmm" (unsigned formats have no s).
local function layout(d)
  local parts = {}
  if d.signed then parts[#parts + 1] = "s" end
  if d.ebits > 0 then parts[#parts + 1] = string.rep("e", d.ebits) end
  if d.mbits > 0 then parts[#parts + 1] = string.rep("m", d.mbits) end
  return table.concat(parts, " ")
end

local function numpow(x)
  if x == nil then return "—" end
  local p = pow2(x)
  return p and fmt_str("%s (%s)", num(x), p) or num(x)
end

--- The one-screen summary of a format: layout, bias, policy, max, min
-- normal, min subnormal, epsilon, number of values.
function show.format(fmt, opts)
  local d = show.describe(fmt, "format")
  return view({ desc = d, opts = opts }, function(v)
    local d_ = v.desc
    local lines = {}
    local function row(k, val) lines[#lines + 1] = rpad(k, 15) .. val end
    lines[1] = fmt_str("%s  (%s, %d bits)", d_.name, d_.spec, d_.bits)
    local fields = {}
    if d_.signed then fields[#fields + 1] = "1 sign" end
    fields[#fields + 1] = d_.ebits .. " exponent"
    fields[#fields + 1] = d_.mbits .. " mantissa bits"
    row("layout", rpad(layout(d_), math.max(14, ulen(layout(d_)) + 2)) .. table.concat(fields, ", "))
    row("bias", tostring(d_.bias))
    row("policy", fmt_str("%s (%s); overflow %s", d_.policy, POLICY_TEXT[d_.policy] or "?", d_.overflow))
    row("rounding", d_.mode)
    row("max", numpow(d_.max))
    row("min normal", numpow(d_.minnorm))
    row("min subnormal", d_.subnormals and numpow(d_.minsub) or "— (no subnormals)")
    row("epsilon", numpow(d_.epsilon))
    if d_.nvalues then
      row("values", fmt_str("%d distinct finite values in %d codes", d_.nvalues, 1 << d_.bits))
    end
    if d_.max and d_.minsub and d_.minsub > 0 then
      row("range", fmt_str("%.3g binades (log2 max/min)", math.log(d_.max / d_.minsub, 2)))
    end
    return table.concat(lines, "\n")
  end)
end

-- Levels ----------------------------------------------------------------------

local function bits_of(x, n)
  local t = {}
  for i = n - 1, 0, -1 do t[#t + 1] = ((x >> i) & 1 == 1) and "1" or "0" end
  return table.concat(t)
end

-- The fields of a code, "s eee mm"; on a colour terminal the sign,
-- exponent and mantissa fields in red, green and blue.
local function field_text(d, c, color)
  local parts = {}
  if d.signed then parts[#parts + 1] = paint(color, "red", tostring(c.s)) end
  if d.ebits > 0 then parts[#parts + 1] = paint(color, "green", bits_of(c.e, d.ebits)) end
  if d.mbits > 0 then parts[#parts + 1] = paint(color, "blue", bits_of(c.m, d.mbits)) end
  return table.concat(parts, " ")
end

-- Sorted distinct finite magnitudes, for the gaps.
local function magnitudes(d)
  local set, list = {}, {}
  for _, c in ipairs(d.codes) do
    if c.kind ~= "nan" and c.kind ~= "inf" and c.kind ~= "unused" then
      local a = abs(c.value)
      if not set[a] then set[a] = true; list[#list + 1] = a end
    end
  end
  table.sort(list)
  local nxt = {}
  for i = 1, #list - 1 do nxt[list[i]] = list[i + 1] end
  return nxt, list
end

local function pct(r)
  local s = fmt_str("%.3g", r * 100)
  return s .. "%"
end

local function learned_list(learned, n)
  if learned == nil then return nil end
  local t = learned
  if type(learned) == "userdata" and learned.totable then t = learned:totable() end
  if type(t) ~= "table" then fail("levels: learned levels must be a list or a tensor, got " .. type(learned)) end
  if #t ~= n then fail(fmt_str("levels: %d learned levels given for %d codes", #t, n)) end
  return t
end

local function short(x)
  local s = num(x)
  if #s > 8 then s = fmt_str("%.4g", x) end
  return s
end

-- The levels of a larger format as a grid: one row per exponent field
-- (a binade), one column per mantissa field, non-negative codes only.
local function levels_grid(v)
  local d = v.desc
  local nm = 1 << d.mbits
  local rows = {}
  local nxt = magnitudes(d)
  local relmin, relmax = huge, 0
  for _, c in ipairs(d.codes) do
    if c.s == 0 then
      local r = rows[c.e + 1]
      if not r then
        local scale = (c.e == 0 and d.ebits > 0) and (1 - d.bias) or (c.e - d.bias)
        r = { bits = d.ebits > 0 and bits_of(c.e, d.ebits) or "-", scale = "2^" .. scale, cells = {}, gap = nil }
        rows[c.e + 1] = r
      end
      local cell = { kind = c.kind, value = c.value, max = c.value == d.max }
      if c.kind ~= "unused" and c.kind ~= "nan" and c.kind ~= "inf" then
        local g = nxt[abs(c.value)]
        if g then
          if c.m == 0 or not r.gap then r.gap = g - abs(c.value) end
          if c.value > 0 then
            local rel = (g - c.value) / c.value
            relmin, relmax = math.min(relmin, rel), math.max(relmax, rel)
          end
        end
      end
      r.cells[c.m + 1] = cell
    end
  end
  local width = show.width(v.opts)
  -- Tries a layout: cell text by `cellf`, columns separated by `sep`, with
  -- or without the gap column; returns its lines and widest line.
  local function layout_with(cellf, sep, with_gap)
    local head = { d.ebits > 0 and string.rep("e", d.ebits) or "e", "scale" }
    for m = 0, nm - 1 do head[#head + 1] = d.mbits > 0 and bits_of(m, d.mbits) or "" end
    if with_gap then head[#head + 1] = "gap" end
    local lines = {}
    for _, r in ipairs(rows) do
      local l = { r.bits, r.scale }
      for m = 1, nm do
        local c = r.cells[m]
        local text = ""
        if c then
          if c.kind == "unused" then text = "—"
          elseif c.kind == "nan" or c.kind == "inf" then text = num(c.value)
          else text = cellf(c.value) .. (c.max and "*" or "") end
        end
        l[#l + 1] = text
      end
      if with_gap then l[#l + 1] = r.gap and cellf(r.gap) or "—" end
      lines[#lines + 1] = l
    end
    local widths = {}
    for i = 1, #head do widths[i] = ulen(head[i]) end
    for _, l in ipairs(lines) do
      for i = 1, #l do widths[i] = math.max(widths[i], ulen(l[i])) end
    end
    local function render(l)
      local cells = { rpad(l[1], widths[1]), lpad(l[2], widths[2]) }
      for i = 3, #l do cells[#cells + 1] = lpad(l[i], widths[i]) end
      return (table.concat(cells, sep):gsub("%s+$", ""))
    end
    local body = { render(head) }
    local w = ulen(body[1])
    for _, l in ipairs(lines) do
      body[#body + 1] = render(l)
      w = math.max(w, ulen(body[#body]))
    end
    return body, w
  end
  local g3 = function(x) return fmt_str("%.3g", x) end
  local body, colw
  for _, try in ipairs { { short, "  ", true }, { g3, " ", true }, { g3, " ", false } } do
    body, colw = layout_with(try[1], try[2], try[3])
    if colw <= width then break end
  end
  local out = {}
  out[1] = fmt_str("%s = %s: %d codes, %d distinct values", d.name, d.spec, #d.codes, d.nvalues or 0)
  out[2] = fmt_str("%srows %s × columns %s; * max; relative gap %s–%s",
    d.signed and "s = 0 (s = 1 mirrors); " or "", string.rep("e", d.ebits),
    string.rep("m", d.mbits), pct(relmin), pct(relmax))
  -- two grids side by side when the rows are many and the screen wide
  local nrows = #body - 1
  if nrows > 16 and 2 * colw + 3 <= width then
    local half = math.ceil(nrows / 2)
    for i = 1, half + 1 do
      local left = body[i]
      local right = i == 1 and body[1] or body[half + i]
      out[#out + 1] = right and (rpad(left, colw) .. " │ " .. right) or left
    end
  else
    for _, b in ipairs(body) do out[#out + 1] = b end
  end
  return table.concat(out, "\n")
end

--- The table of every code of a format: code, bit fields (sign | exponent |
-- mantissa), value, gap to the next larger magnitude, relative gap, kind.
-- Formats up to 5 bits list every code. Larger ones with up to 3
-- mantissa bits show a grid of the non-negative codes (the negative ones
-- mirror them): one row per exponent field (a binade), one column per
-- mantissa field, fitted to the width (E4M3 fits 80 x 24); others list
-- the non-negative codes in columns.
-- With `learned` (a list or tensor of one level per code) a column of
-- learned levels stands next to the format's values.
function show.levels(fmt, learned, opts)
  if type(learned) == "table" and learned.width and #learned == 0 then opts, learned = learned, nil end
  local d = show.describe(fmt, "levels")
  if not d.codes then
    fail(fmt_str("levels: %s has 2^%d codes; levels lists formats up to %d bits (its summary: lpact.format \"%s\")",
      d.name, d.bits, show.MAX_LIST_BITS, d.name))
  end
  local lv = learned_list(learned, #d.codes)
  if opts and opts.original then opts.original = learned_list(opts.original, #d.codes) end
  local npos = #d.codes >> (d.signed and 1 or 0)
  if not lv and npos > 16 and d.mbits <= 3 and not (opts and opts.original) then
    return view({ desc = d, opts = opts }, levels_grid)
  end
  return view({ desc = d, learned = lv, opts = opts }, function(v)
    local d_, lv_ = v.desc, v.learned
    local orig = v.opts and v.opts.original
    local color = show.color(v.opts)
    local nxt = magnitudes(d_)
    local hexw = floor((d_.bits + 3) / 4)
    local rows = {}
    local all = d_.bits <= 5 or lv_ ~= nil
    for _, c in ipairs(d_.codes) do
      if all or c.s == 0 then
        local val, gap, rel = c.value, "—", "—"
        if c.kind ~= "nan" and c.kind ~= "inf" and c.kind ~= "unused" then
          local g = nxt[abs(val)]
          if g then
            gap = num(g - abs(val))
            if val ~= 0 then rel = pct((g - abs(val)) / abs(val)) end
          end
        end
        local note = c.kind
        if note == "normal" then note = (abs(val) == d_.max) and "max" or "" end
        if note == "unused" then val = 0 / 0 end
        local r = { fmt_str("0x%0" .. hexw .. "x", c.code), field_text(d_, c, color),
          c.kind == "unused" and "—" or num(val) }
        if orig then r[#r + 1] = num(orig[c.code + 1]) end
        if lv_ then
          local x = lv_[c.code + 1]
          r[#r + 1] = (x == x and x ~= 0 and #num(x) > 8) and fmt_str("%.4g", x) or num(x)
        end
        r[#r + 1] = gap
        r[#r + 1] = rel
        r[#r + 1] = note
        rows[#rows + 1] = r
      end
    end
    local head = { "code", layout(d_), "value" }
    if orig then head[#head + 1] = "original" end
    if lv_ then head[#head + 1] = "learned" end
    head[#head + 1] = "gap"; head[#head + 1] = "rel gap"; head[#head + 1] = "kind"
    local ncol = #head
    local widths = {}
    for i = 1, ncol do widths[i] = ulen(head[i]) end
    for _, r in ipairs(rows) do
      for i = 1, ncol do widths[i] = math.max(widths[i], ulen(r[i])) end
    end
    local nnum = 5 + (lv_ and 1 or 0) + (orig and 1 or 0)
    local right = {}
    for i = 3, nnum do right[i] = true end
    local function line(r)
      local cells = {}
      for i = 1, ncol do
        cells[i] = right[i] and lpad(r[i], widths[i]) or rpad(r[i], widths[i])
      end
      return (table.concat(cells, "  "):gsub("%s+$", ""))
    end
    local out = {}
    local title = fmt_str("%s = %s: %d codes, %d distinct values", d_.name, d_.spec,
      #d_.codes, d_.nvalues or 0)
    if not all then title = title .. " (non-negative codes; s = 1 mirrors them)" end
    out[1] = title
    if v.opts and v.opts.title then table.insert(out, 1, v.opts.title) end
    -- columns of rows when there are many and the screen is wide
    local body = {}
    for _, r in ipairs(rows) do body[#body + 1] = line(r) end
    local hline = line(head)
    local colw = 0
    for _, s in ipairs(body) do colw = math.max(colw, ulen(s)) end
    colw = math.max(colw, ulen(hline))
    local width = show.width(v.opts)
    local ncols = 1
    if #body > 32 then
      ncols = math.max(1, math.min(floor((width + 3) / (colw + 3)), math.ceil(#body / 16)))
    end
    local nrows = math.ceil(#body / ncols)
    local hdr = {}
    for k = 1, ncols do hdr[k] = rpad(hline, colw) end
    out[#out + 1] = (table.concat(hdr, " │ "):gsub("%s+$", ""))
    for i = 1, nrows do
      local cells = {}
      for k = 1, ncols do
        local s = body[(k - 1) * nrows + i]
        if s then cells[#cells + 1] = rpad(s, colw) end
      end
      out[#out + 1] = (table.concat(cells, " │ "):gsub("%s+$", ""))
    end
    return table.concat(out, "\n")
  end)
end

-- Number line -------------------------------------------------------------------

local function positive_values(d)
  local set, list = {}, {}
  for _, c in ipairs(d.codes) do
    local v = c.value
    if c.kind ~= "nan" and c.kind ~= "inf" and c.kind ~= "unused" and v >= 0 and not set[v] then
      set[v] = true
      list[#list + 1] = v
    end
  end
  table.sort(list)
  return list
end

--- Two or more formats' non-negative values on one number line: linear
-- when the values span a small range, else logarithmic (zero at the left
-- edge). A column shows '|' for one value, a digit for several, '#' for
-- ten or more. Below, the values themselves when there are few.
--     compare("e2m1", "e1m2")
function show.compare(...)
  local args = table.pack(...)
  local opts = {}
  if args.n > 0 and type(args[args.n]) == "table" and not args[args.n].ebits then
    opts = args[args.n]
    args.n = args.n - 1
  end
  if args.n < 2 then fail("compare: two formats expected, e.g. compare(\"e2m1\", \"e1m2\")") end
  local descs = {}
  for i = 1, args.n do
    local d = show.describe(args[i], "compare")
    if not d.codes then
      fail(fmt_str("compare: %s has 2^%d codes; compare draws formats up to %d bits", d.name, d.bits, show.MAX_LIST_BITS))
    end
    descs[i] = d
  end
  return view({ descs = descs, opts = opts }, function(v)
    local ds = v.descs
    local sets, top, bottom = {}, 0, huge
    for i, d in ipairs(ds) do
      sets[i] = positive_values(d)
      for _, x in ipairs(sets[i]) do
        if x > top then top = x end
        if x > 0 and x < bottom then bottom = x end
      end
    end
    local namew = 0
    for _, d in ipairs(ds) do namew = math.max(namew, ulen(d.name)) end
    local width = show.width(v.opts)
    local n = math.max(10, width - namew - 3)
    local logscale = v.opts.scale == "log" or (v.opts.scale ~= "linear" and top / bottom > 64)
    local lo, hi
    if logscale then lo, hi = math.log(bottom, 2), math.log(top, 2) else lo, hi = 0, top end
    local function col(x)           -- 1..n; zero at column 1 on both scales
      if x == 0 then return 1 end
      local t
      if logscale then
        t = hi > lo and (math.log(x, 2) - lo) / (hi - lo) or 1
        return 2 + floor(t * (n - 2) + 0.5)
      end
      t = hi > 0 and x / hi or 1
      return 1 + floor(t * (n - 1) + 0.5)
    end
    local out = {}
    out[1] = fmt_str("non-negative values, %s scale", logscale and "log2" or "linear")
    for i, d in ipairs(ds) do
      local counts = {}
      for _, x in ipairs(sets[i]) do
        local c = col(x)
        counts[c] = (counts[c] or 0) + 1
      end
      local cells = {}
      for c = 1, n do
        local k = counts[c] or 0
        cells[c] = k == 0 and "─" or k == 1 and "|" or k < 10 and tostring(k) or "#"
      end
      out[#out + 1] = rpad(d.name, namew) .. "  " .. table.concat(cells)
    end
    -- axis labels: ends and a few ticks in between
    local axis = {}
    for c = 1, n do axis[c] = " " end
    local function label(s, c)
      local start = math.max(1, math.min(c - floor(#s / 2), n - #s + 1))
      for k = 0, #s - 1 do
        if axis[start + k] ~= " " or (axis[start + k - 1] or " ") ~= " " then return end
      end
      for k = 1, #s do axis[start + k - 1] = s:sub(k, k) end
    end
    if logscale then
      label("0", 1)
      local e0, e1 = math.ceil(lo), floor(hi)
      local step = math.max(1, math.ceil((e1 - e0 + 1) / math.max(1, floor(n / 8))))
      for e = e0, e1, step do label("2^" .. e, col(2.0 ^ e)) end
    else
      local step = top / 4
      local p = 10 ^ floor(math.log(step, 10))
      step = math.ceil(step / p) * p
      for x = 0, top + 1e-12, step do label(num(x), col(x)) end
      label(num(top), n)
    end
    out[#out + 1] = string.rep(" ", namew + 2) .. (table.concat(axis):gsub("%s+$", ""))
    local few = true
    for i = 1, #ds do if #sets[i] > 16 then few = false end end
    for i, d in ipairs(ds) do
      local s = sets[i]
      if few then
        local t = {}
        for k, x in ipairs(s) do t[k] = num(x) end
        out[#out + 1] = rpad(d.name, namew) .. "  " .. table.concat(t, " ")
      else
        out[#out + 1] = fmt_str("%s  %d values from %s to %s", rpad(d.name, namew), #s,
          num(s[2] or s[1]), num(s[#s]))
      end
    end
    return table.concat(out, "\n")
  end)
end

-- Histograms -------------------------------------------------------------------

--- A flat list of numbers from a tensor, a (nested) list, or a number.
local function numbers(x, who)
  if type(x) == "table" and type(x.data) == "userdata" and getmetatable(x) ~= nil then
    x = x.data                  -- an autograd Var: its tensor
  end
  if type(x) == "userdata" and x.totable then x = x:totable() end
  if type(x) == "number" then return { x } end
  if type(x) ~= "table" then
    fail(fmt_str("%s: a tensor or a list of numbers expected, got %s", who, type(x)))
  end
  local out = {}
  local function walk(t, depth)
    for i = 1, #t do
      local e = t[i]
      if type(e) == "number" then out[#out + 1] = e
      elseif type(e) == "table" and depth < 16 then walk(e, depth + 1)
      else fail(fmt_str("%s: element %d is a %s, not a number", who, i, type(e))) end
    end
  end
  walk(x, 0)
  return out
end
show.numbers = numbers

local EIGHTHS = { "▏", "▎", "▍", "▌", "▋", "▊", "▉", "█" }

-- A bar of `len` cells (fractional, drawn in eighths).
local function bar(len)
  local full = floor(len)
  local frac = floor((len - full) * 8 + 0.5)
  if frac == 8 then full, frac = full + 1, 0 end
  local s = string.rep("█", full)
  if frac > 0 then s = s .. EIGHTHS[frac] end
  if s == "" and len > 0 then s = "▏" end
  return s
end

-- Bins over the finite values: edges[1..bins+1], counts[1..bins].
local function binning(xs, bins, lo, hi)
  local counts = {}
  for i = 1, bins do counts[i] = 0 end
  local edges = {}
  for i = 0, bins do edges[i + 1] = lo + (hi - lo) * i / bins end
  edges[bins + 1] = hi
  local w = (hi - lo) / bins
  local out = 0
  for _, x in ipairs(xs) do
    if x >= lo and x <= hi then
      local k = w > 0 and floor((x - lo) / w) + 1 or 1
      if k > bins then k = bins end
      if k < 1 then k = 1 end
      counts[k] = counts[k] + 1
    else
      out = out + 1
    end
  end
  return edges, counts, out
end

--- A histogram of a tensor or a list of numbers: one row per bin, with
-- the bin's edges, its count and a bar of Unicode blocks fitted to the
-- width. opts: bins (default: Sturges' rule, 5..24), range = {lo, hi},
-- width, title, log (bars by log(1 + count)). NaN and ±inf are counted
-- apart. The view can :save("h.png").
function show.hist(x, opts)
  opts = opts or {}
  local xs = numbers(x, "hist")
  local finite, nan, pinf, ninf = {}, 0, 0, 0
  local sum, sum2 = 0, 0
  for _, v in ipairs(xs) do
    if v ~= v then nan = nan + 1
    elseif v == huge then pinf = pinf + 1
    elseif v == -huge then ninf = ninf + 1
    else finite[#finite + 1] = v; sum = sum + v; sum2 = sum2 + v * v end
  end
  local n = #finite
  local lo, hi = huge, -huge
  for _, v in ipairs(finite) do
    if v < lo then lo = v end
    if v > hi then hi = v end
  end
  if opts.range then lo, hi = opts.range[1], opts.range[2] end
  local bins = opts.bins and math.tointeger(opts.bins)
  if opts.bins and (not bins or bins < 1) then fail("hist: bins must be a positive integer") end
  bins = bins or math.max(5, math.min(24, math.ceil(math.log(math.max(n, 1), 2)) + 1))
  if n > 0 and lo == hi then bins = 1 end
  local edges, counts, outside = {}, {}, 0
  if n > 0 then edges, counts, outside = binning(finite, bins, lo, hi) end
  local mean = n > 0 and sum / n or 0 / 0
  local sd = n > 0 and math.sqrt(math.max(0, sum2 / n - mean * mean)) or 0 / 0
  local h = { counts = counts, edges = edges, n = #xs, finite = n, nan = nan, pinf = pinf, ninf = ninf,
    outside = outside, min = lo, max = hi, mean = mean, sd = sd, opts = opts, title = opts.title }
  h.figure = { kind = "hist", edges = edges, counts = counts, title = opts.title or "histogram",
    xlabel = opts.xlabel or "value", ylabel = "count", label = opts.label or "count" }
  return view(h, function(v)
    local out = {}
    local head = fmt_str("%s%d values", v.title and (v.title .. ": ") or "", v.n)
    if v.finite > 0 then
      head = head .. fmt_str(", min %.4g, max %.4g, mean %.4g, sd %.4g", v.min, v.max, v.mean, v.sd)
    end
    out[1] = head
    if v.finite == 0 then
      out[#out + 1] = "(no finite values)"
    else
      local labels, cnts = {}, {}
      local lw, cw = 0, 0
      local lefts, rights = {}, {}
      for i = 1, #v.counts do
        lefts[i] = fmt_str("%.4g", v.edges[i])
        rights[i] = fmt_str("%.4g", v.edges[i + 1])
      end
      local w1, w2 = 0, 0
      for i = 1, #v.counts do w1 = math.max(w1, #lefts[i]); w2 = math.max(w2, #rights[i]) end
      for i = 1, #v.counts do
        local close = i == #v.counts and "]" or ")"
        labels[i] = fmt_str("[%s, %s%s", lpad(lefts[i], w1), lpad(rights[i], w2), close)
        cnts[i] = tostring(v.counts[i])
        lw = math.max(lw, ulen(labels[i]))
        cw = math.max(cw, #cnts[i])
      end
      local width = show.width(v.opts)
      local room = math.max(4, width - lw - cw - 3)
      local maxc = 0
      for _, c in ipairs(v.counts) do maxc = math.max(maxc, c) end
      local color = show.color(v.opts)
      for i, c in ipairs(v.counts) do
        local len
        if v.opts.log then
          len = maxc > 0 and math.log(1 + c) / math.log(1 + maxc) * room or 0
        else
          len = maxc > 0 and c / maxc * room or 0
        end
        out[#out + 1] = rpad(labels[i], lw) .. " " .. lpad(cnts[i], cw) .. " " .. paint(color, "blue", bar(len))
      end
    end
    local extra = {}
    if v.nan > 0 then extra[#extra + 1] = "nan " .. v.nan end
    if v.ninf > 0 then extra[#extra + 1] = "-inf " .. v.ninf end
    if v.pinf > 0 then extra[#extra + 1] = "inf " .. v.pinf end
    if v.outside > 0 then extra[#extra + 1] = "outside the range " .. v.outside end
    if #extra > 0 then out[#out + 1] = table.concat(extra, ", ") end
    return table.concat(out, "\n")
  end)
end

-- Activations (the engine's registry, in double precision) ----------------------

local function activation(f, who)
  if type(f) == "function" then return f, "f" end
  if type(f) == "string" then
    local names = {}
    for _, a in ipairs(lpact.activations()) do
      if a.name == f then
        local value = lpact.kernels.act_value
        return function(x) return value(f, x) end, f
      end
      names[#names + 1] = a.name
    end
    fail(fmt_str("%s: unknown activation '%s' (known: %s, or a Lua function)", who, f, table.concat(names, ", ")))
  end
  fail(fmt_str("%s: a function or an activation name expected, got %s", who, type(f)))
end

-- Rounds x to the format (a number in, a number out).
local function rounder(f, who)
  if type(f) == "table" and f.ebits then fail(who .. ": a format spec or Format expected") end
  local F = get_format(f, who)
  return function(x) return F:round(x) end, F
end

-- Samples f and its quantized version: xs, ys, qs.
local function sample(f, fmt, lo, hi, n, who, input)
  local fn, fname = activation(f, who)
  if type(lo) ~= "number" or type(hi) ~= "number" or not (lo < hi) then
    fail(fmt_str("%s: an input range lo < hi expected, got %s, %s", who, tostring(lo), tostring(hi)))
  end
  local q, F = rounder(fmt, who)
  local xs, ys, qs = {}, {}, {}
  for i = 0, n - 1 do
    local x = lo + (hi - lo) * i / (n - 1)
    local ok, y = pcall(fn, x)
    if not ok then fail(fmt_str("%s: f(%s) raised: %s", who, num(x), tostring(y))) end
    if type(y) ~= "number" then fail(fmt_str("%s: f(%s) returned %s, a number expected", who, num(x), type(y))) end
    if y ~= y then fail(fmt_str("%s: f(%s) is NaN; nothing to draw", who, num(x))) end
    local xin = input == false and x or q(x)
    local okq, yq = pcall(fn, xin)
    if not okq or type(yq) ~= "number" then
      fail(fmt_str("%s: f(%s) failed on a quantized input", who, num(xin)))
    end
    xs[#xs + 1], ys[#ys + 1], qs[#qs + 1] = x, y, q(yq)
  end
  return xs, ys, qs, fname, F
end

-- Samples a lpact.qact layer as it stands (learned levels included)
-- against its function: xs, ys (f), qs (the layer), name.
local function sample_layer(layer, lo, hi, n)
  if type(lo) ~= "number" or type(hi) ~= "number" or not (lo < hi) then
    fail(fmt_str("plot: an input range lo < hi expected, got %s, %s", tostring(lo), tostring(hi)))
  end
  local xs = {}
  for i = 0, n - 1 do xs[#xs + 1] = lo + (hi - lo) * i / (n - 1) end
  local ag = require "lpact.autograd"
  local was = layer.training
  layer:eval()
  local ok, out = pcall(ag.no_grad, function() return layer:forward(lpact.tensor(xs)) end)
  if was then layer:train() end
  if not ok then fail("plot: the layer failed: " .. tostring(type(out) == "table" and out.msg or out)) end
  local qs = (type(out) == "table" and out.data or out):totable()
  local ref = layer.luaf or activation(layer.name, "plot")
  local ys = {}
  for i, x in ipairs(xs) do ys[i] = ref(x) end
  return xs, ys, qs, layer.name
end

local BRAILLE_BITS = { { 0x01, 0x02, 0x04, 0x40 }, { 0x08, 0x10, 0x20, 0x80 } }

--- f and its quantized version Q(f(Q(x))) on one terminal chart drawn in
-- braille cells (2 x 4 dots per character). opts: width, height (rows,
-- default 14), n (samples, default two per column), input = false to
-- quantize only the output. The view can :save("tanh-fp4.png").
--     plot("tanh", "fp4", -4, 4)
function show.plot(f, fmt, lo, hi, opts)
  local layer
  if type(f) == "table" and f.fin and f.forward then  -- plot(layer, lo, hi [, opts])
    layer, fmt, lo, hi, opts = f, nil, fmt, lo, hi
  end
  opts = opts or {}
  local width = show.width(opts)
  local height = opts.height or 14
  local plotw = math.max(10, width - 10)
  local n = opts.n or plotw * 2
  local xs, ys, qs, fname, F
  if layer then
    xs, ys, qs, fname = sample_layer(layer, lo, hi, n)
  else
    xs, ys, qs, fname, F = sample(f, fmt, lo, hi, n, "plot", opts.input)
  end
  local fmtname = layer and layer:describe():gsub("^qact %S+ ", "") or type(fmt) == "string" and fmt or tostring(F)
  local p = { xs = xs, ys = ys, qs = qs, fname = fname, fmtname = fmtname, lo = lo, hi = hi,
    height = height, opts = opts }
  p.figure = { kind = "plot", title = opts.title or fmt_str("%s in %s", fname, fmtname),
    xlabel = opts.xlabel or "x", ylabel = opts.ylabel or "y",
    series = { { x = xs, y = ys, label = fname .. " (fp32)" },
      { x = xs, y = qs, label = fmt_str("%s in %s", fname, fmtname), steps = true } } }
  return view(p, function(v)
    local H = v.height
    local ymin, ymax = huge, -huge
    for i = 1, #v.ys do
      for _, y in ipairs({ v.ys[i], v.qs[i] }) do
        if y == y and abs(y) < huge then
          if y < ymin then ymin = y end
          if y > ymax then ymax = y end
        end
      end
    end
    if ymin == huge then return "plot: nothing finite to draw" end
    if ymin == ymax then ymin, ymax = ymin - 1, ymax + 1 end
    local function ynum(y) local t = fmt_str("%.4g", y); return t == "-0" and "0" or t end
    local lw = math.max(#ynum(ymax), #ynum(ymin), 1)
    local W = math.max(10, show.width(v.opts) - lw - 2)
    local cols, rows = W * 2, H * 4
    local grid = { {}, {} }                 -- per series: cell index -> dot bits
    local function dot(s, px, py)
      local cx, cy = px // 2, py // 4
      local k = cy * W + cx
      grid[s][k] = (grid[s][k] or 0) | BRAILLE_BITS[px % 2 + 1][py % 4 + 1]
    end
    local function py_of(y) return floor((ymax - y) / (ymax - ymin) * (rows - 1) + 0.5) end
    for s, series in ipairs({ v.ys, v.qs }) do
      local prev
      for i = 1, #v.xs do
        local y = series[i]
        if y == y and abs(y) < huge then
          local px = floor((v.xs[i] - v.lo) / (v.hi - v.lo) * (cols - 1) + 0.5)
          local py = py_of(y)
          dot(s, px, py)
          if prev and prev[1] ~= px then  -- join vertical jumps so steps read as steps
            local a, b = math.min(prev[2], py), math.max(prev[2], py)
            for yy = a + 1, b - 1 do dot(s, px, yy) end
          end
          prev = { px, py }
        else
          prev = nil
        end
      end
    end
    local color = show.color(v.opts)
    local ylab = { [0] = ynum(ymax), [H - 1] = ynum(ymin) }
    local zero_row = (ymin < 0 and ymax > 0) and (py_of(0) // 4) or nil
    if zero_row and zero_row ~= 0 and zero_row ~= H - 1 then ylab[zero_row] = "0" end

    local out = {}
    for r = 0, H - 1 do
      local cells = {}
      for c = 0, W - 1 do
        local k = r * W + c
        local a, b = grid[1][k], grid[2][k]
        if not a and not b then
          cells[#cells + 1] = (r == zero_row) and paint(color, "dim", "┈") or " "
        elseif color then
          local ch = utf8.char(0x2800 | (a or 0) | (b or 0))
          cells[#cells + 1] = paint(true, (a and b) and "yellow" or a and "blue" or "red", ch)
        else
          cells[#cells + 1] = utf8.char(0x2800 | (a or 0) | (b or 0))
        end
      end
      out[#out + 1] = lpad(ylab[r] or "", lw) .. " ┤" .. table.concat(cells)
    end
    out[#out + 1] = string.rep(" ", lw) .. " └" .. string.rep("─", W)
    local xl, xr = num(v.lo), num(v.hi)
    out[#out + 1] = string.rep(" ", lw + 2) .. xl .. string.rep(" ", math.max(1, W - #xl - #xr)) .. xr
    local key1 = paint(color, "blue", "⠉⠉") .. " " .. v.fname .. " (fp32)"
    local key2 = paint(color, "red", "⠛⠛") .. " " .. fmt_str("%s in %s", v.fname, v.fmtname)
    out[#out + 1] = string.rep(" ", lw + 2) .. key1 .. "   " .. key2
    return table.concat(out, "\n")
  end)
end

-- The error report shared by errors(), errors(layer) and errors(f, cfg):
-- r holds fname, fmtname, n, max, argmax, mean, rms, bias, nan; errs the
-- signed errors; label names what was measured (default "<fname> in
-- <fmtname>"). Attaches their histogram and figure, and renders as text.
local function error_view(r, errs, opts, xlabel, label)
  label = label or fmt_str("%s in %s", r.fname, r.fmtname)
  r.hist = show.hist(errs, { bins = opts.bins, width = opts.width, color = opts.color,
    title = "signed error", xlabel = xlabel })
  r.figure = r.hist.figure
  r.figure.label = fmt_str("signed error, %d inputs", #errs)
  r.figure.title = "error of " .. label
  return view(r, function(v)
    local out = {}
    out[1] = fmt_str("%s against fp32, %d inputs", label, v.n)
    out[2] = fmt_str("max |error|  %.6g  (at x = %s)", v.max, v.argmax and fmt_str("%.6g", v.argmax) or "—")
    out[3] = fmt_str("mean |error| %.6g", v.mean)
    out[4] = fmt_str("RMS error    %.6g", v.rms)
    out[5] = fmt_str("mean error   %.6g  (bias)", v.bias)
    if v.nan > 0 then out[#out + 1] = fmt_str("NaN results  %d (left out)", v.nan) end
    out[#out + 1] = tostring(v.hist)
    return table.concat(out, "\n")
  end)
end

--- The error of the quantized activation Q(f(Q(x))) against f in FP32,
-- over n points of [lo, hi] or over the values of a tensor/list given as
-- `lo`: max, mean and RMS absolute error, mean signed error (bias), and a
-- histogram of the signed error. opts: n (default 1001), bins, width,
-- input = false (quantize only the output).
--     errors("sigmoid", "fp4", -6, 6)
function show.errors(f, fmt, lo, hi, opts)
  if type(f) == "table" and f.fin and f.forward then return show.errors_layer(f, fmt, lo, hi) end
  if type(hi) == "table" and opts == nil then opts, hi = hi, nil end
  opts = opts or {}
  if type(fmt) == "table" and not fmt.ebits then return show.errors_qact(f, fmt, lo, hi, opts) end
  local fn, fname = activation(f, "errors")
  local q, F = rounder(fmt, "errors")
  local xs
  if type(lo) == "number" then
    if type(hi) ~= "number" or not (lo < hi) then
      fail(fmt_str("errors: an input range lo < hi expected, got %s, %s", tostring(lo), tostring(hi)))
    end
    local n = opts.n or 1001
    xs = {}
    for i = 0, n - 1 do xs[#xs + 1] = lo + (hi - lo) * i / (n - 1) end
  else
    xs = numbers(lo, "errors")
  end
  local errs = {}
  local emax, sabs, s2, sgn, nanc = 0, 0, 0, 0, 0
  local argmax
  for _, x in ipairs(xs) do
    local y = fn(x)
    local yq = q(fn(opts.input == false and x or q(x)))
    if type(y) ~= "number" or type(yq) ~= "number" then
      fail(fmt_str("errors: f(%s) returned a %s, a number expected", num(x), type(y)))
    end
    local e = yq - y
    if e ~= e then
      nanc = nanc + 1
    else
      errs[#errs + 1] = e
      local a = abs(e)
      if a > emax then emax, argmax = a, x end
      sabs, s2, sgn = sabs + a, s2 + a * a, sgn + e
    end
  end
  if #errs == 0 then fail(fmt_str("errors: %s is NaN everywhere on the input", fname)) end
  local n = #errs
  local fmtname = type(fmt) == "string" and fmt or tostring(F)
  local r = { fname = fname, fmtname = fmtname, n = #xs, max = emax, argmax = argmax, mean = sabs / n,
    rms = math.sqrt(s2 / n), bias = sgn / n, nan = nanc, errors = errs, opts = opts }
  return error_view(r, errs, opts, fmt_str("%s in %s minus fp32", fname, fmtname))
end

--- The error of a quantized activation layer as it stands (learned
-- levels included) against its function in double precision:
-- errors(layer, lo, hi [, opts]) or errors(layer, tensor [, opts]).
function show.errors_layer(layer, lo, hi, opts)
  if type(hi) == "table" and opts == nil then opts, hi = hi, nil end
  opts = opts or {}
  local xs
  if type(lo) == "number" then
    if type(hi) ~= "number" or not (lo < hi) then
      fail(fmt_str("errors: an input range lo < hi expected, got %s, %s", tostring(lo), tostring(hi)))
    end
    local n = opts.n or 1001
    xs = {}
    for i = 0, n - 1 do xs[#xs + 1] = lo + (hi - lo) * i / (n - 1) end
  else
    xs = numbers(lo, "errors")
  end
  local ag = require "lpact.autograd"
  local was = layer.training
  layer:eval()
  local ok, out = pcall(ag.no_grad, function() return layer:forward(lpact.tensor(xs)) end)
  if was then layer:train() end
  if not ok then fail("errors: the layer failed: " .. tostring(type(out) == "table" and out.msg or out)) end
  local ys = (type(out) == "table" and out.data or out):totable()
  local ref = layer.luaf or activation(layer.name, "errors")
  local errs, emax, sabs, s2, sgn, nanc, argmax = {}, 0, 0, 0, 0, 0, nil
  for i, x in ipairs(xs) do
    local e = ys[i] - ref(x)
    if e ~= e then nanc = nanc + 1
    else
      errs[#errs + 1] = e
      local a = abs(e)
      if a > emax then emax, argmax = a, x end
      sabs, s2, sgn = sabs + a, s2 + a * a, sgn + e
    end
  end
  if #errs == 0 then fail("errors: the layer gives NaN everywhere on the input") end
  local n = #errs
  local r = { fname = layer.name, fmtname = layer:describe(), n = #xs, max = emax, argmax = argmax,
    mean = sabs / n, rms = math.sqrt(s2 / n), bias = sgn / n, nan = nanc, errors = errs, opts = opts }
  return error_view(r, errs, opts, nil, r.fmtname)
end

--- The error of a lpact.qact layer built from options `cfg` (see
-- lpact.qact) against f in double precision, through lpact.qact.errors:
-- same report as show.errors.
function show.errors_qact(f, cfg, lo, hi, opts)
  opts = opts or {}
  local ok, qact = pcall(require, "lpact.qact")
  if not ok then fail("errors: quantized activations (lpact.qact) are not available") end
  if type(lo) == "number" and (type(hi) ~= "number" or not (lo < hi)) then
    fail(fmt_str("errors: an input range lo < hi expected, got %s, %s", tostring(lo), tostring(hi)))
  end
  local okr, r = pcall(qact.errors, f, cfg, lo, hi, opts.n and opts.n - 1 or 1000)
  if not okr then
    if not lpact.is_failure(r) then error(r, 0) end
    fail("errors: " .. r.msg)
  end
  local fname = type(f) == "string" and f or "f"
  local label = {}
  for _, k in ipairs({ "fmt", "in_fmt", "out_fmt", "mode", "scale" }) do
    if cfg[k] ~= nil then label[#label + 1] = k .. "=" .. tostring(cfg[k]) end
  end
  local errs = {}
  local pts = r.points or {}
  for i = 1, #(pts.q or {}) do
    local e = pts.q[i] - pts.y[i]
    if e == e then errs[#errs + 1] = e end
  end
  local v = { fname = fname, fmtname = "qact{" .. table.concat(label, ", ") .. "}", n = #(pts.x or {}),
    max = r.max, mean = r.mean, rms = r.rms, nan = #(pts.x or {}) - (r.n or 0), opts = opts }
  local sum = 0
  for _, e in ipairs(errs) do sum = sum + e end
  v.bias = #errs > 0 and sum / #errs or 0 / 0
  for i, e in ipairs(errs) do
    if math.abs(e) == r.max then v.argmax = pts.x[i]; break end
  end
  return error_view(v, errs, opts)
end

-- Telemetry ---------------------------------------------------------------------

-- The codes of a telemetry table in value order (-0 before +0, NaN
-- codes last), with the hexadecimal width of the largest code.
local function codes_by_value(values)
  local function key(v)
    if v ~= v then return huge, 2 end
    return v, (v == 0 and 1 / v < 0) and 0 or 1
  end
  local order = {}
  for c = 1, #values do order[c] = c end
  table.sort(order, function(a, b)
    local va, sa = key(values[a])
    local vb, sb = key(values[b])
    if va ~= vb then return va < vb end
    if sa ~= sb then return sa < sb end
    return a < b
  end)
  return order, #fmt_str("%x", math.max(#values - 1, 0))
end

--- The level usage of a quantized activation layer (lpact.qact) with its
-- telemetry on: how many inputs fell on each code of its input format,
-- in value order, with their share and a bar, and the inputs that
-- saturated, underflowed to zero or were NaN. Formats of more than 32
-- codes list only the codes that were used. The view can
-- :save("usage.png") (a bar per code). opts: width, color.
function show.usage(layer, opts)
  if opts ~= nil and type(opts) ~= "table" then fail("usage: options expected (a table), got " .. type(opts)) end
  opts = opts or {}
  if type(layer) ~= "table" or type(layer.telemetry) ~= "function" or type(layer.describe) ~= "function" then
    fail("usage: a quantized activation layer (lpact.qact) expected, got " .. (type(layer) == "table" and "a table" or type(layer)))
  end
  local t = layer:telemetry()
  if not t.usage_codes then
    fail("usage: " .. layer:describe() .. " has no codes to count (its formats are fp32 or wider than 16 bits)")
  end
  if (t.elements or 0) == 0 then
    fail("usage: " .. layer:describe() .. " has counted nothing yet: switch its telemetry on "
      .. "(lpact.qact{..., telemetry = true} or layer:telemetry(true)) and run a forward pass")
  end
  local values, counts = t.values, {}
  for i, c in ipairs(t.usage_codes) do counts[i] = math.tointeger(c) or floor(c) end
  local order, digits = codes_by_value(values)
  local rows = {}
  local all = #values <= 32
  for _, c in ipairs(order) do
    if all or counts[c] > 0 then
      rows[#rows + 1] = { code = fmt_str("0x%0" .. digits .. "x", c - 1), value = show.num(values[c]), count = counts[c] }
    end
  end
  local nan_inputs = counts[#values + 1] or 0
  local v = { title = layer:describe(), rows = rows, n = t.elements, passes = t.passes, sat = t.saturations,
    under = t.underflows, nan = nan_inputs, unused = 0, ncodes = #values, opts = opts }
  for c = 1, #values do if counts[c] == 0 then v.unused = v.unused + 1 end end
  local labels, cs = {}, {}
  for i, r in ipairs(rows) do labels[i], cs[i] = r.value, r.count end
  v.figure = { kind = "bars", labels = labels, counts = cs, title = "level usage: " .. v.title,
    xlabel = "input level", ylabel = "inputs", label = "inputs" }
  local function share(k) return fmt_str("%.1f%%", 100 * k / v.n) end
  return view(v, function(u)
    local out = { "level usage of " .. u.title }
    out[2] = fmt_str("%d input%s in %d pass%s: %d saturated (%s), %d rounded to zero (%s), %d NaN (%s)",
      u.n, u.n == 1 and "" or "s", u.passes, u.passes == 1 and "" or "es", u.sat, share(u.sat),
      u.under, share(u.under), u.nan, share(u.nan))
    local cw, vw, nw, sw = 4, 5, 5, 5
    for _, r in ipairs(u.rows) do
      cw, vw = math.max(cw, #r.code), math.max(vw, ulen(r.value))
      nw, sw = math.max(nw, #tostring(r.count)), math.max(sw, #share(r.count))
    end
    out[3] = rpad("code", cw) .. "  " .. lpad("value", vw) .. "  " .. lpad("count", nw) .. "  " .. lpad("share", sw)
    local room = math.max(4, show.width(u.opts) - cw - vw - nw - sw - 8)
    local maxc = 0
    for _, r in ipairs(u.rows) do maxc = math.max(maxc, r.count) end
    local color = show.color(u.opts)
    for _, r in ipairs(u.rows) do
      local line = rpad(r.code, cw) .. "  " .. lpad(r.value, vw) .. "  " .. lpad(tostring(r.count), nw) .. "  "
        .. lpad(share(r.count), sw)
      if r.count > 0 then line = line .. "  " .. paint(color, "blue", bar(r.count / maxc * room)) end
      out[#out + 1] = line
    end
    if u.unused > 0 then
      out[#out + 1] = fmt_str("%d of %d codes never used%s", u.unused, u.ncodes, #u.rows < u.ncodes and " (not listed)" or "")
    end
    return table.concat(out, "\n")
  end)
end

-- Tensors -----------------------------------------------------------------------

--- A tensor for the REPL, NumPy-like: its shape (and min, max, mean and
-- the NaN count when it has more than 9 elements), then the values with
-- one common width; past `opts.threshold` elements (default 1000) each
-- dimension shows its first and last 3 entries around "...". Rows longer
-- than the width wrap.
function show.tensor(t, opts)
  opts = opts or {}
  local shape = t:shape()
  local nd, n = #shape, t:numel()
  local dims = {}
  for i = 1, nd do dims[i] = math.tointeger(shape[i]) or shape[i] end
  local head = "Tensor (" .. table.concat(dims, ", ") .. (nd == 1 and ",)" or ")")
  if n > 9 then
    local ok, mn, mx, mean, nan = pcall(function()
      return t:min(), t:max(), t:mean(), t:isnan():sum()
    end)
    if ok then
      local function g4(x) return x ~= x and "nan" or fmt_str("%.4g", x) end
      head = head .. fmt_str("  min %s, max %s, mean %s", g4(mn), g4(mx), g4(mean))
      if nan and nan > 0 then head = head .. fmt_str(", %d NaN", math.tointeger(nan) or nan) end
    end
  end
  if nd == 0 then return head .. "\n" .. num(t:item()) end
  if n == 0 then return head .. "\n[]" end
  local summarize = n > (opts.threshold or 1000)
  local edge = opts.edgeitems or 3
  local function shown(size)
    local l = {}
    if summarize and size > 2 * edge then
      for i = 1, edge do l[#l + 1] = i end
      l[#l + 1] = false
      for i = size - edge + 1, size do l[#l + 1] = i end
    else
      for i = 1, size do l[i] = i end
    end
    return l
  end
  local lists = {}
  for d = 1, nd do lists[d] = shown(dims[d]) end
  -- the values shown, read one by one (cheap even for a huge tensor)
  local vals, idx = {}, {}
  local integral = true
  local function gather(d)
    for _, i in ipairs(lists[d]) do
      if i then
        idx[d] = i
        if d == nd then
          local v = t:get(table.unpack(idx, 1, nd))
          vals[#vals + 1] = v
          if v ~= v or abs(v) == huge or v ~= floor(v) or abs(v) >= 1e6 then integral = false end
        else
          gather(d + 1)
        end
      end
    end
  end
  gather(1)
  local function cell(v)
    if v ~= v then return "nan" elseif v == huge then return "inf" elseif v == -huge then return "-inf" end
    if integral then return fmt_str("%d", v) end
    local s_ = fmt_str("%.4g", v)
    return s_ == "-0" and "-0" or s_
  end
  local w = 0
  for _, v in ipairs(vals) do w = math.max(w, #cell(v)) end
  local width = show.width(opts)
  local k = 0
  local function render(d, indent)
    if d == nd then
      local cells = {}
      for _, i in ipairs(lists[d]) do
        if i then
          k = k + 1
          cells[#cells + 1] = lpad(cell(vals[k]), w)
        else
          cells[#cells + 1] = lpad("...", w)
        end
      end
      -- wrap the row at the width
      local lines_, line = {}, "["
      for c, text in ipairs(cells) do
        local piece = text .. (c < #cells and "," or "]")
        if #line + #piece + 1 > width - indent and line ~= "[" then
          lines_[#lines_ + 1] = line
          line = " " .. piece
        else
          line = line .. (line == "[" and "" or " ") .. piece
        end
      end
      lines_[#lines_ + 1] = line
      return table.concat(lines_, "\n" .. string.rep(" ", indent + 1))
    end
    local parts = {}
    for _, i in ipairs(lists[d]) do
      parts[#parts + 1] = i and render(d + 1, indent + 1) or "..."
    end
    local sep = "," .. string.rep("\n", nd - d) .. string.rep(" ", indent + 1)
    return "[" .. table.concat(parts, sep) .. "]"
  end
  return head .. "\n" .. render(1, 0)
end

-- Plain tables --------------------------------------------------------------------

local function is_ident(k) return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil end

--- A short inline view of a plain table: {1, 2, 3} or {a = 1, b = {…}};
-- long tables are cut with "…" (maxlen characters, default 200).
function show.table(t, maxlen)
  maxlen = maxlen or 200
  local seen = {}
  local function render(v, depth)
    if type(v) == "string" then return fmt_str("%q", v) end
    if type(v) == "number" then return num(v) end
    if type(v) ~= "table" or debug.getmetatable(v) ~= nil then return tostring(v) end
    if seen[v] then return "{…cycle}" end
    if depth > 2 then return "{…}" end
    seen[v] = true
    local parts, len = {}, 0
    local n = #v
    for i = 1, n do
      parts[#parts + 1] = render(v[i], depth + 1)
      len = len + #parts[#parts]
      if len > maxlen then break end
    end
    local keys = {}
    for k in pairs(v) do
      if not (math.type(k) == "integer" and k >= 1 and k <= n) then keys[#keys + 1] = k end
    end
    table.sort(keys, function(a, b)
      local ta, tb = type(a), type(b)
      if ta ~= tb then return ta < tb end
      if ta == "string" or ta == "number" then return a < b end
      return tostring(a) < tostring(b)
    end)
    for _, k in ipairs(keys) do
      if len > maxlen then break end
      local ks = is_ident(k) and k or ("[" .. render(k, depth + 1) .. "]")
      parts[#parts + 1] = ks .. " = " .. render(v[k], depth + 1)
      len = len + #parts[#parts]
    end
    seen[v] = nil
    local s = "{" .. table.concat(parts, ", ") .. "}"
    if #s > maxlen then s = s:sub(1, maxlen) .. "…}" end
    return s
  end
  return render(t, 0)
end

return show
