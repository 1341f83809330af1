--- lpact.show.formats — views of number formats, for the REPL and the
-- command line alike: a format's summary (show.format, the text of
-- `lpact info`), its table of levels (show.levels; `lpact levels` is its
-- list layout), value sets on a number line (show.compare), and the small
-- helpers `lpact round` shares (show.num, show.f32bits, show.code_digits).
--
--     local show = require "lpact.show.formats"
--     print(show.format "fp4")
--     print(show.levels("fp4", nil, { list = true, color = false }))

-- show.width, show.num, ... (the primitives) read through
local show = setmetatable({}, { __index = require "lpact.show.draw" })

local floor, abs, huge = math.floor, math.abs, math.huge
local fmt_str = string.format
local D = require("lpact.show.draw").D
local fail = D.fail
local num = D.num
local pow2 = D.pow2
local paint = D.paint
local ulen = D.ulen
local rpad = D.rpad
local lpad = D.lpad
local view = D.view

--- The binary32 bit pattern of x as an integer (x rounded to binary32).
function show.f32bits(x)
  return (string.unpack("<I4", string.pack("<f", x)))
end

--- The number whose binary32 bit pattern is the integer b.
function show.f32value(b)
  return (string.unpack("<f", string.pack("<I4", b)))
end

--- Hex digits needed for a code of `bits` bits.
function show.code_digits(bits)
  return math.max(1, (bits + 3) // 4)
end

-- Formats ---------------------------------------------------------------------

-- The Format behind a spec string or Format userdata; a bad spec is one
-- clear line (lpact.fail), never a traceback through this module.
local function get_format(spec, who)
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

--- Formats up to this many bits have their codes listed (levels, compare).
show.MAX_LIST_BITS = 12

--- A plain description of a format's codes, for the code views (levels,
-- compare): name, spec, signed, ebits, mbits, bits, bias, subnormals,
-- policy, max, nvalues, format and, for formats up to MAX_LIST_BITS,
-- codes = {{code=, s=, e=, m=, value=, kind=}, ...} as the format
-- decodes them (f:codes()). `fmt` is a spec string or a Format. Its
-- summary is show.summary.
function show.describe(fmt, who)
  local f = get_format(fmt, who or "describe")
  local info = f:info()   -- the engine's fields (docs/formats.md, "From Lua")
  local d = { format = f }
  d.name, d.spec, d.ebits, d.mbits, d.bias = info.name, info.spec, info.ebits, info.mbits, info.bias
  d.signed, d.subnormals, d.policy = info.signed, info.subnormals, info.policy
  d.max, d.nvalues, d.bits = info.max, info.nvalues, info.bits
  if d.bits <= show.MAX_LIST_BITS and not info.identity then
    local codes = {}
    for i, c in ipairs(f:codes()) do
      codes[i] = { code = c.code, s = c.sign, e = c.exponent, m = c.mantissa, kind = c.kind, value = c.value }
    end
    d.codes = codes
  end
  return d
end

local function numpow(x)
  local p = pow2(x)
  return p and fmt_str("%s (%s)", num(x), p) or num(x)
end

local SPECIALS = {
  ieee = "inf and NaN in the top exponent (ieee)",
  fn = "no inf; NaN is the all-ones code (fn)",
  fin = "no inf, no NaN: every code is a number (fin)",
  fnuz = "no inf, no -0; NaN is the code of -0 (fnuz)",
  e8m0 = "no zero, no sign: every code but the all-ones NaN is 2^(code - bias) (e8m0)",
}

--- The summary of a Format as a title ("fp4 = e2m1:bias=1:fin:sat:rne") and
-- rows {name, text}: layout, bias, values, max, min normal, min subnormal,
-- epsilon, dynamic range (the engine's binades: log2 of max over the
-- smallest positive value), specials, overflow, rounding. Every figure
-- is the engine's (f:info(), docs/formats.md).
function show.summary(f)
  local i = f:info()
  local rows = {}
  local function add(k, v) rows[#rows + 1] = { k, v } end
  add("layout", fmt_str("%s%d exponent + %d mantissa bits = %d bits, %s codes",
    i.signed and "1 sign + " or "unsigned, ", i.ebits, i.mbits, i.bits,
    i.bits >= 32 and "2^32" or tostring(i.ncodes)))
  if i.ebits > 0 then
    add("bias", fmt_str("%d (normal exponents %d .. %d)", i.bias, i.emin, i.emax))
  else
    add("bias", fmt_str("%d (fixed point: values m * 2^%d)", i.bias, 1 - i.bias - i.mbits))
  end
  local zero_note = ({ e8m0 = "no zero", fnuz = "one zero: fnuz has no -0" })[i.policy]
    or (i.signed and "+0 and -0 count once" or "unsigned: one zero")
  add("values", fmt_str("%d distinct finite (%s)", i.nvalues, zero_note))
  add("max", numpow(i.max))
  add("min normal", i.ebits > 0 and numpow(i.min_normal) or "none (no exponent bits: fixed point)")
  if i.policy == "e8m0" then add("min subnormal", "none (e8m0: the smallest value is 2^-bias)")
  elseif not i.subnormals then add("min subnormal", "none (nosub)")
  elseif i.mbits == 0 then add("min subnormal", "none (M = 0: no nonzero subnormal)")
  else add("min subnormal", numpow(i.min_subnormal)) end
  add("epsilon", numpow(i.epsilon) .. ", the relative gap 2^-M")
  add("dynamic range", fmt_str("%.2f binades (log2 of max / min positive)", i.binades))
  add("specials", SPECIALS[i.policy])
  local ovf
  if i.overflow == "sat" then ovf = "saturates to +-max (sat)"
  elseif not i.has_inf then ovf = "gives NaN in rne/rna/sr, +-max in rtz/rno (inf)"
  else ovf = "gives +-inf in rne/rna/sr, +-max in rtz/rno (inf)" end
  add("overflow", ovf)
  local mode = i.mode
  if mode == "sr" then
    mode = fmt_str("sr (stochastic, %d random bits, seed %d)", i.sr_bits, i.seed)
  end
  add("rounding", mode)
  return fmt_str("%s = %s", i.name, i.spec), rows
end

--- The one-screen summary of a format (a spec or a Format): the title and
-- the rows of show.summary, the same text as `lpact info`.
function show.format(fmt)
  local f = get_format(fmt, "format")
  local title, rows = show.summary(f)
  return view({ title = title, rows = rows }, function(v)
    local lines = { v.title }
    for _, r in ipairs(v.rows) do lines[#lines + 1] = fmt_str("  %-15s %s", r[1], r[2]) end
    return table.concat(lines, "\n")
  end)
end

-- Levels ----------------------------------------------------------------------

-- The layout string "s eeee mmm" (unsigned formats have no s).
local function layout(d)
  local parts = {}
  if d.signed then parts[#parts + 1] = "s" end
  if d.ebits > 0 then parts[#parts + 1] = string.rep("e", d.ebits) end
  if d.mbits > 0 then parts[#parts + 1] = string.rep("m", d.mbits) end
  return table.concat(parts, " ")
end

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
-- learned levels stands next to the format's values. opts.list lists
-- every code, one per line, whatever the size (`lpact levels`).
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
  local list = opts and opts.list
  if not lv and not list and npos > 16 and d.mbits <= 3 and not (opts and opts.original) then
    return view({ desc = d, opts = opts, as_text = true }, levels_grid)
  end
  return view({ desc = d, learned = lv, opts = opts, as_text = true }, function(v)
    local d_, lv_ = v.desc, v.learned
    local orig = v.opts and v.opts.original
    local color = show.color(v.opts)
    local nxt = magnitudes(d_)
    local hexw = floor((d_.bits + 3) / 4)
    local rows = {}
    local list_all = v.opts and v.opts.list
    local all = d_.bits <= 5 or lv_ ~= nil or list_all
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
    if #body > 32 and not list_all then
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
-- ten or more (a legend line says so). Below, the values themselves when
-- there are few. Rows are labelled as the formats were given ("e3m2:nosub");
-- the view can :save("values.png") as a number line figure.
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
  -- Each row is labelled as the format was asked for ("e3m2:nosub", not the
  -- bare name "e3m2"); labels that still coincide show the full spec.
  local labels, seen, clash = {}, {}, false
  for i, d in ipairs(descs) do
    labels[i] = type(args[i]) == "string" and args[i] or d.name
    if seen[labels[i]] then clash = true end
    seen[labels[i]] = true
  end
  if clash then for i, d in ipairs(descs) do labels[i] = d.spec or labels[i] end end
  local rows = {}
  for i, d in ipairs(descs) do rows[i] = { label = labels[i], values = positive_values(d) } end
  local top, bottom = 0, huge
  for _, r in ipairs(rows) do
    for _, x in ipairs(r.values) do
      if x > top then top = x end
      if x > 0 and x < bottom then bottom = x end
    end
  end
  local logscale = opts.scale == "log" or (opts.scale ~= "linear" and top / bottom > 64)
  local fig = { kind = "numberline", rows = rows, log = logscale,
    title = "non-negative values of " .. table.concat(labels, ", "),
    xlabel = logscale and "value (log2 scale; 0 at the left edge)" or "value", ylabel = "",
    height = 150 + 80 * #rows }
  return view({ descs = descs, labels = labels, opts = opts, figure = fig }, function(v)
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
    for _, l in ipairs(v.labels) do namew = math.max(namew, ulen(l)) end
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
      out[#out + 1] = rpad(v.labels[i], namew) .. "  " .. table.concat(cells)
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
    out[#out + 1] = string.rep(" ", namew + 2) .. "| one value in a column, 2-9 that many, # ten or more"
    local few = true
    for i = 1, #ds do if #sets[i] > 16 then few = false end end
    for i, d in ipairs(ds) do
      local s = sets[i]
      if few then
        local t = {}
        for k, x in ipairs(s) do t[k] = num(x) end
        out[#out + 1] = rpad(v.labels[i], namew) .. "  " .. table.concat(t, " ")
      else
        out[#out + 1] = fmt_str("%s  %d values from %s to %s", rpad(v.labels[i], namew), #s,
          num(s[2] or s[1]), num(s[#s]))
      end
    end
    return table.concat(out, "\n")
  end)
end

show.get_format = get_format
return show
