--- lpact.repl — what `lpact-repl` sets up: the short globals of the lab
-- (levels, compare, hist, plot, errors, usage, help) and the printer of results.
--
-- The C loop (interp/repl.c) requires this module once, prints
-- `banner()`, and hands every expression's values to `print(...)`.
-- Renderers live in lpact.show and load on first use, so that the REPL
-- starts fast.

local repl = {}

-- The printer keeps its own references, so that a session that redefines
-- print, tostring or io still gets its values printed.
local tostring, select, type, concat = tostring, select, type, table.concat
local stdout = io.stdout

local function show() return require "lpact.show" end

-- "layer i: " in front of a layer's report in a model's.
local function fmt_layer(i, text) return "layer " .. i .. ": " .. text end

--- The one-line banner shown when the REPL starts.
function repl.banner()
  return string.format("lpact %s (%s) — minifloat lab. Try levels \"fp4\", help(), Ctrl-D quits.",
    lpact.version, _VERSION)
end

-- The globals ---------------------------------------------------------------

--- levels(format) — every code of a format: bit fields (sign | exponent |
-- mantissa), value, gap to the next value and relative gap.
-- levels(format, learned) puts learned levels (a list or tensor, one
-- per code) next to the format's own values; levels(layer) does so for
-- a quantized activation layer (lpact.qact) with learnable levels.
--     levels "fp4"      levels "e3m2:nosub"      levels(lpact.qact.layers(model)[1])
function levels(fmt, learned, opts)
  if type(fmt) == "table" and fmt.fin and type(fmt.levels) == "function" then
    local layer = fmt                -- a lpact.qact layer
    local lut = layer.mode == "lut"
    local o = { title = layer:describe() }
    for k, v in pairs(learned or {}) do o[k] = v end
    if lut then o.original = (layer.original or layer:_original()):totable() end
    if not layer.learnable then
      return show().levels(lut and layer.fin or layer.fout, nil, o)
    end
    return show().levels(lut and layer.fin or layer.fout, layer:levels(), o)
  end
  return show().levels(fmt, learned, opts)
end

--- compare(a, b, ...) — the value sets of two or more formats on one
-- number line (their non-negative halves: formats are symmetric), linear
-- or log2 as their range asks; a last table of options may give width
-- and scale = "linear" | "log".
--     compare("e2m1", "e1m2")      compare("e4m3", "e5m2")
function compare(...)
  return show().compare(...)
end

-- The text of the call `name(...)` that is running: from the chunk typed
-- at the prompt (repl.chunk, set by the C loop while a chunk runs), else
-- from the line of the script that called (level: the caller's stack
-- level); nil when it cannot be read or spans lines.
local function call_text(name, level)
  local pat = name .. "%s*%b()"
  if type(repl.chunk) == "string" then
    local c = repl.chunk:match(pat)
    if c then return c end
  end
  local info = debug.getinfo(level + 1, "Sl")
  if not info or info.currentline < 1 or info.source:sub(1, 1) ~= "@" then return nil end
  local f = io.open(info.source:sub(2), "r")
  if not f then return nil end
  local k, line = 0, nil
  for l in f:lines() do
    k = k + 1
    if k == info.currentline then line = l break end
  end
  f:close()
  return line and line:match(pat) or nil
end

--- hist(x [, opts]) — a histogram of a tensor or a list of numbers in the
-- terminal, with bin edges and counts. opts: bins (default: Sturges'
-- rule, 5 to 24), range = {lo, hi}, width (default: the terminal's),
-- title, log (bars by log(1 + count)). NaN and infinities are counted apart.
-- The result can :save("h.png") or :save("h.svg"); the figure's title is
-- opts.title, else the call as written (`hist(w)`).
--     hist(lpact.randn({1000}, 1))
function hist(x, opts)
  local inner = type(x) == "table" and rawget(x, "data")   -- an autograd Var holds its tensor
  local holds_tensor = inner ~= nil and debug.getmetatable(inner) == debug.getregistry()["lpact.Tensor"]
  if type(x) == "table" and rawlen(x) == 0 and next(x) ~= nil and not holds_tensor then
    lpact.fail("hist: a tensor or a list of numbers expected, got a table with no list part"
      .. (debug.getmetatable(x) and " (an object: a model, a layer?)" or " (a table of named fields?)"))
  end
  local v = show().hist(x, opts)
  -- a saved figure is titled after the call that made it, not "histogram"
  if not (opts and opts.title) then v.figure.title = call_text("hist", 2) or v.figure.title end
  return v
end

--- plot(f, format, lo, hi [, opts]) — f and its quantized version
-- Q(f(Q(x))) on one terminal chart (braille cells). f is a function of
-- one number or an activation name ("tanh", "relu", ...). opts: n
-- (samples), width, height, input=false (quantize only the output).
-- plot(layer, lo, hi) draws a lpact.qact layer as it stands (learned
-- levels included). The result can :save("tanh-fp4.png").
--     plot("tanh", "fp4", -4, 4)
function plot(f, fmt, lo, hi, opts)
  return show().plot(f, fmt, lo, hi, opts)
end

--- errors(f, format, lo, hi [, opts]) — the error of the quantized
-- activation Q(f(Q(x))) against f in FP32 over [lo, hi] (or over the
-- values of a tensor / list given in place of lo): max, mean and RMS
-- absolute error, and a histogram of the signed error. With a table of
-- lpact.qact options in place of the format (errors("tanh", {fmt =
-- "fp4", mode = "lut"}, -3, 3)) such a layer is measured; and
-- errors(layer, lo, hi) measures a lpact.qact layer as it stands, its
-- learned levels included.
--     errors("sigmoid", "fp4", -6, 6)
function errors(f, fmt, lo, hi, opts)
  return show().errors(f, fmt, lo, hi, opts)
end

--- usage(layer) — how often each input level of a quantized activation
-- layer (lpact.qact) was used, with saturations, underflows to zero and
-- NaNs, as a bar per level; usage(model) shows every quantized layer of
-- a model. The layer counts only with its telemetry on (lpact.qact{...,
-- telemetry = true} or layer:telemetry(true)). The result can
-- :save("usage.png") (the first layer's, for a model).
--     usage(lpact.qact.layers(model)[1])
function usage(x, opts)
  if type(x) == "table" and type(x.telemetry) ~= "function" then
    local ok, qact = pcall(require, "lpact.qact")
    local layers = ok and qact.layers(x) or nil
    if not layers or #layers == 0 then
      lpact.fail("usage: a quantized activation layer or a model with some (lpact.qact) expected")
    end
    local views = {}
    for i, l in ipairs(layers) do views[i] = show().usage(l, opts) end
    local v = show().View
    return setmetatable({ figure = views[1].figure, draw = function()
      local parts = {}
      for i, w in ipairs(views) do parts[i] = fmt_layer(i, tostring(w)) end
      return table.concat(parts, "\n\n")
    end }, v)
  end
  return show().usage(x, opts)
end

--- help([x]) — help() lists what there is; help(f) shows the doc comment
-- of a function, module or object; help "name" looks a name up.
function help(x, ...)
  return require("lpact.help").help(x, ...)
end

--- lesson([name]) — lesson() lists the guided lessons with your
-- progress; lesson "rounding" starts one, or resumes it where you left
-- it. Inside a lesson, :hint, :skip, :back, :repeat and :quit steer it.
function lesson(name)
  return require("lpact.lesson").start(name)
end

-- Lessons -------------------------------------------------------------------

--- The running lesson's hooks ({command = fn(line), after = fn(values,
-- text)}), or nil; lpact.lesson sets it.
repl.hook = nil

--- Called by the C loop for a line that starts with ':' and a letter
-- (never Lua): the running lesson's commands.
function repl.command(line)
  if repl.hook then return repl.hook.command(line) end
  stdout:write("no lesson is running: ", line:match("^%s*(.-)%s*$"),
    " is a lesson command (lesson() lists the lessons)\n")
end

--- Called by the C loop after every chunk that ran without error, with
-- its values packed ({n = count, ...}) and its text: the running lesson
-- judges them.
function repl.after(values, text)
  if repl.hook then return repl.hook.after(values, text) end
end

-- Printing ------------------------------------------------------------------

local function is_format(v)
  local mt = debug.getmetatable(v)
  return mt ~= nil and mt == debug.getregistry()["lpact.Format"]
end

local function is_tensor(v)
  local mt = debug.getmetatable(v)
  return mt ~= nil and mt == debug.getregistry()["lpact.Tensor"]
end

--- Renders one value the way the REPL prints it: Formats get their
-- one-screen summary, Tensors an abbreviated NumPy-like view with their
-- statistics, plain tables a short inline view, everything else tostring
-- (models list their layers through their own __tostring).
function repl.render(v)
  if type(v) == "userdata" and is_format(v) then
    return tostring(show().format(v))
  elseif type(v) == "userdata" and is_tensor(v) then
    return show().tensor(v)
  elseif type(v) == "table" and debug.getmetatable(v) == nil then
    return show().table(v)
  elseif type(v) == "string" then
    return v
  end
  return tostring(v)
end

--- Prints the values of an expression typed at the prompt: one a line
-- when any of them spans lines, else separated by tabs (as lua.c does).
function repl.print(...)
  local n = select("#", ...)
  local out, multi = {}, false
  for i = 1, n do
    local s = repl.render((select(i, ...)))
    out[i] = s
    if s:find("\n", 1, true) then multi = true end
  end
  local text = concat(out, multi and "\n" or "\t")
  stdout:write(text, text:sub(-1) == "\n" and "" or "\n")
  stdout:flush()
end

return repl
