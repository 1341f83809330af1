--- lpact.show.draw — the terminal drawing primitives of lpact.show:
-- numbers in short form, widths and colours, padded text, view objects
-- (text now, a figure on :save), histograms, tensors and plain tables.

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
  if not w and lpact.engine.isatty(1) then w = lpact.io.term_size(1) end
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
--- Saves the view as a figure ("x.png", "x.svg" or "x.pdf") through
-- gnuplot. A table view (levels) is saved as its text, uncoloured, set in
-- a monospace font: the table as a picture for a slide.
function View:save(path, opts)
  local fig = self.figure
  if not fig and self.as_text then
    local o = {}
    for k, v in pairs(self.opts or {}) do o[k] = v end
    o.color, o.width = false, 100
    local saved = self.opts
    self.opts = o
    local ok, text = pcall(self.draw, self)
    self.opts = saved
    if not ok then error(text, 0) end
    local lines, w = {}, 0
    for l in (text .. "\n"):gmatch("(.-)\n") do
      lines[#lines + 1] = l
      w = math.max(w, ulen(l))
    end
    fig = { kind = "text", lines = lines, title = self.opts and self.opts.title or "",
      width = math.max(320, 9 * w + 40), height = 19 * #lines + 60 }
  end
  if not fig then fail("this view cannot be saved as a figure (histograms, plots, compare and levels can)") end
  return require("lpact.figure").save(fig, path, opts)
end
local function view(fields, draw)
  fields.draw = draw
  return setmetatable(fields, View)
end
show.View = View

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

-- the primitives the other views draw with
show.D = { fail = fail, num = num, pow2 = pow2, paint = paint, ulen = ulen, rpad = rpad, lpad = lpad,
  view = view, View = View, numbers = numbers, bar = bar, binning = binning, EIGHTHS = EIGHTHS }
return show
