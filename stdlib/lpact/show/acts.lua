--- lpact.show.acts — views of activation functions: f and its
-- quantized version on one chart (show.plot), error reports (show.errors)
-- and a layer's level usage (show.usage). The functions come from the
-- engine's registry (lpact.activations()).

-- show.width, show.describe, ... (the other views) read through
local show = setmetatable({}, { __index = function(_, k)
  local v = require("lpact.show.draw")[k]
  if v == nil then v = require("lpact.show.formats")[k] end
  return v
end })

local floor, abs, huge = math.floor, math.abs, math.huge
local fmt_str = string.format
local D = require("lpact.show.draw").D
local fail = D.fail
local num = D.num
local paint = D.paint
local ulen = D.ulen
local rpad = D.rpad
local lpad = D.lpad
local view = D.view
local numbers = D.numbers
local bar = D.bar
local get_format = require("lpact.show.formats").get_format

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
  if type(lo) ~= "number" or type(hi) ~= "number" or not (lo < hi and hi - lo < math.huge) then
    fail(fmt_str("%s: an input range lo < hi expected, of finite width, got %s, %s", who, tostring(lo), tostring(hi)))
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
  if type(lo) ~= "number" or type(hi) ~= "number" or not (lo < hi and hi - lo < math.huge) then
    fail(fmt_str("plot: an input range lo < hi expected, of finite width, got %s, %s", tostring(lo), tostring(hi)))
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
-- The inputs of an error view: n (opts.n, 1001) evenly spaced points of
-- [lo, hi], or the numbers of a list or tensor lo.
local function error_inputs(lo, hi, opts)
  if type(lo) ~= "number" then return numbers(lo, "errors") end
  if type(hi) ~= "number" or not (lo < hi and hi - lo < math.huge) then
    fail(fmt_str("errors: an input range lo < hi expected, of finite width, got %s, %s", tostring(lo), tostring(hi)))
  end
  local n, xs = opts.n or 1001, {}
  for i = 0, n - 1 do xs[#xs + 1] = lo + (hi - lo) * i / (n - 1) end
  return xs
end

-- Statistics of err(x) over xs (in order): max |e| and where, mean |e|,
-- RMS, mean e (bias), NaN count and the list of non-NaN errors; fails
-- with allnan when every error is NaN.
local function error_stats(xs, err, allnan)
  local errs, emax, sabs, s2, sgn, nanc, argmax = {}, 0, 0, 0, 0, 0, nil
  for _, x in ipairs(xs) do
    local e = err(x)
    if e ~= e then
      nanc = nanc + 1
    else
      errs[#errs + 1] = e
      local a = abs(e)
      if a > emax then emax, argmax = a, x end
      sabs, s2, sgn = sabs + a, s2 + a * a, sgn + e
    end
  end
  if #errs == 0 then fail(allnan) end
  local n = #errs
  return { n = #xs, max = emax, argmax = argmax, mean = sabs / n, rms = math.sqrt(s2 / n), bias = sgn / n,
    nan = nanc, errors = errs }
end

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
  local xs = error_inputs(lo, hi, opts)
  local r = error_stats(xs, function(x)
    local y = fn(x)
    local yq = q(fn(opts.input == false and x or q(x)))
    if type(y) ~= "number" or type(yq) ~= "number" then
      fail(fmt_str("errors: f(%s) returned a %s, a number expected", num(x), type(y)))
    end
    return yq - y
  end, fmt_str("errors: %s is NaN everywhere on the input", fname))
  local fmtname = type(fmt) == "string" and fmt or tostring(F)
  r.fname, r.fmtname, r.opts = fname, fmtname, opts
  local errs = r.errors
  return error_view(r, errs, opts, fmt_str("%s in %s minus fp32", fname, fmtname))
end

--- The error of a quantized activation layer as it stands (learned
-- levels included) against its function in double precision:
-- errors(layer, lo, hi [, opts]) or errors(layer, tensor [, opts]).
function show.errors_layer(layer, lo, hi, opts)
  if type(hi) == "table" and opts == nil then opts, hi = hi, nil end
  opts = opts or {}
  local xs = error_inputs(lo, hi, opts)
  local ag = require "lpact.autograd"
  local was = layer.training
  layer:eval()
  local ok, out = pcall(ag.no_grad, function() return layer:forward(lpact.tensor(xs)) end)
  if was then layer:train() end
  if not ok then fail("errors: the layer failed: " .. tostring(type(out) == "table" and out.msg or out)) end
  local ys = (type(out) == "table" and out.data or out):totable()
  local ref = layer.luaf or activation(layer.name, "errors")
  local i = 0
  local r = error_stats(xs, function(x)
    i = i + 1
    return ys[i] - ref(x)
  end, "errors: the layer gives NaN everywhere on the input")
  r.fname, r.fmtname, r.opts = layer.name, layer:describe(), opts
  return error_view(r, r.errors, opts, nil, r.fmtname)
end

--- The error of a lpact.qact layer built from options `cfg` (see
-- lpact.qact) against f in double precision, through lpact.qact.errors:
-- same report as show.errors.
function show.errors_qact(f, cfg, lo, hi, opts)
  opts = opts or {}
  local qact = require "lpact.qact"
  if type(lo) == "number" and (type(hi) ~= "number" or not (lo < hi and hi - lo < math.huge)) then
    fail(fmt_str("errors: an input range lo < hi expected, of finite width, got %s, %s", tostring(lo), tostring(hi)))
  end
  local okr, r = pcall(qact.errors, f, cfg, lo, hi, opts.n and opts.n - 1 or 1000)
  if not okr then
    if not lpact.is_failure(r) then error(r, 0) end
    fail("errors: " .. r.msg)
  end
  local fname = type(f) == "string" and f or "f"
  -- a table option (scale = {"amax", history = 2}) as Lua would write it
  local function show_value(v)
    if type(v) ~= "table" then return tostring(v) end
    local parts, keys = {}, {}
    for i = 1, #v do parts[#parts + 1] = show_value(v[i]) end
    for k in pairs(v) do if not (math.type(k) == "integer" and k >= 1 and k <= #v) then keys[#keys + 1] = tostring(k) end end
    table.sort(keys)
    for _, k in ipairs(keys) do parts[#parts + 1] = k .. " = " .. show_value(v[k]) end
    return "{" .. table.concat(parts, ", ") .. "}"
  end
  local label = {}
  for _, k in ipairs({ "fmt", "in_fmt", "out_fmt", "mode", "scale" }) do
    if cfg[k] ~= nil then label[#label + 1] = k .. "=" .. show_value(cfg[k]) end
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
    local counted = fmt_str("%d input%s in %d pass%s:", u.n, u.n == 1 and "" or "s", u.passes, u.passes == 1 and "" or "es")
    local fates = fmt_str("%d saturated (%s), %d rounded to zero (%s), %d NaN (%s)",
      u.sat, share(u.sat), u.under, share(u.under), u.nan, share(u.nan))
    if ulen(counted) + 1 + ulen(fates) <= show.width(u.opts) then
      out[2] = counted .. " " .. fates
    else   -- two lines rather than one wider than the terminal
      out[2], out[3] = counted, "  " .. fates
    end
    local cw, vw, nw, sw = 4, 5, 5, 5
    for _, r in ipairs(u.rows) do
      cw, vw = math.max(cw, #r.code), math.max(vw, ulen(r.value))
      nw, sw = math.max(nw, #tostring(r.count)), math.max(sw, #share(r.count))
    end
    out[#out + 1] = rpad("code", cw) .. "  " .. lpad("value", vw) .. "  " .. lpad("count", nw) .. "  " .. lpad("share", sw)
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

return show
