--- lpact.figure — figure files for slides and papers (PNG, SVG, PDF)
-- drawn by gnuplot (Debian's gnuplot-nox), with axis labels and a legend.
--
--     local p = plot("tanh", "fp4", -4, 4)     -- or lpact.show.plot(...)
--     p:save("tanh-fp4.png")                   -- or .svg / .pdf
--     hist(t):save("activations.svg")
--
-- A figure is data: {kind = "hist", edges = {...}, counts = {...}},
-- {kind = "bars", labels = {...}, counts = {...}} (one bar a label) or
-- {kind = "plot", series = {{x = {...}, y = {...}, label = "..."}, ...}},
-- {kind = "numberline", rows = {{label =, values = {...}}, ...}, log = bool}
-- (compare's value sets, one row of points each) or {kind = "text", lines =
-- {...}} (a table of monospace text, as levels() prints it), with title,
-- xlabel, ylabel, and width and height (pixels) where the kind needs them. The file is drawn into a temporary file next
-- to the target and renamed, so a failed run never leaves half a figure.
-- $LPACT_GNUPLOT names another gnuplot program.

local figure = {}

local fmt_str = string.format

local TERMINALS = {
  png = "pngcairo size %d,%d enhanced font 'sans,11'",
  svg = "svg size %d,%d dynamic enhanced font 'sans,11'",
  pdf = "pdfcairo size %gin,%gin enhanced font 'sans,10'",
}

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local function gp_quote(s) return '"' .. tostring(s):gsub('[\\"]', "\\%0"):gsub("\n", " ") .. '"' end

local function gp_num(x)
  if x ~= x then return "NaN" end
  if x == math.huge or x == -math.huge then return "NaN" end
  return fmt_str("%.17g", x)
end

--- The gnuplot program to run: $LPACT_GNUPLOT or "gnuplot".
function figure.gnuplot()
  local g = os.getenv("LPACT_GNUPLOT")
  return (g and g ~= "") and g or "gnuplot"
end

--- True when gnuplot can be run.
function figure.available()
  local ok = os.execute("command -v " .. shell_quote(figure.gnuplot()) .. " >/dev/null 2>&1")
  return ok == true
end

--- The gnuplot script of a figure (drawing into `out` with `term`).
local function script(fig, term, out)
  local L = {}
  local function add(...) L[#L + 1] = fmt_str(...) end
  add("set terminal %s", term)
  add("set output %s", gp_quote(out))
  add("set encoding utf8")
  add("set title %s noenhanced", gp_quote(fig.title or ""))
  add("set xlabel %s noenhanced", gp_quote(fig.xlabel or "x"))
  add("set ylabel %s noenhanced", gp_quote(fig.ylabel or "y"))
  add("set key top left box opaque")
  add("set grid lc rgb '#dddddd'")
  if fig.kind == "hist" then
    add("$data << EOD")
    for i, c in ipairs(fig.counts) do
      local a, b = fig.edges[i], fig.edges[i + 1]
      add("%s %s %s", gp_num((a + b) / 2), gp_num(c), gp_num(b - a))
    end
    add("EOD")
    add("set style fill solid 0.6 border lc rgb '#1f4e99'")
    add("set yrange [0:*]")
    add("plot $data using 1:2:3 with boxes lc rgb '#3b75c4' title %s noenhanced", gp_quote(fig.label or "count"))
  elseif fig.kind == "bars" then
    add("$data << EOD")
    for i, c in ipairs(fig.counts) do add("%d %s %s", i - 1, gp_num(c), gp_quote(fig.labels[i])) end
    add("EOD")
    add("set style fill solid 0.6 border lc rgb '#1f4e99'")
    add("set boxwidth 0.8")
    add("set yrange [0:*]")
    add("set xrange [-0.6:%s]", gp_num(#fig.counts - 0.4))
    add("plot $data using 1:2:xtic(3) with boxes lc rgb '#3b75c4' title %s noenhanced", gp_quote(fig.label or "count"))
  elseif fig.kind == "plot" then
    local plots = {}
    local colors = { "#3b75c4", "#d1495b", "#2e933c", "#edae49" }
    for k, s in ipairs(fig.series) do
      add("$s%d << EOD", k)
      for i = 1, #s.x do
        local y = s.y[i]
        if y ~= y or y == math.huge or y == -math.huge then add("") else add("%s %s", gp_num(s.x[i]), gp_num(y)) end
      end
      add("EOD")
      plots[#plots + 1] = fmt_str("$s%d using 1:2 with lines lw %s lc rgb '%s' title %s noenhanced", k,
        k == 1 and "2" or "1.5", colors[(k - 1) % #colors + 1], gp_quote(s.label or ("series " .. k)))
    end
    add("plot %s", table.concat(plots, ", \\\n  "))
  elseif fig.kind == "numberline" then
    -- one row of points per format, the first row on top; on a log2
    -- scale zero sits at the left edge, apart from the powers of two
    local lo, hi = math.huge, -math.huge
    for _, r in ipairs(fig.rows) do
      for _, v in ipairs(r.values) do
        local x = fig.log and (v > 0 and math.log(v, 2) or nil) or v
        if x then lo, hi = math.min(lo, x), math.max(hi, x) end
      end
    end
    if lo > hi then lo, hi = 0, 1 end
    local zero = fig.log and lo - math.max(1, (hi - lo) * 0.08) or 0
    local function pos(v) return (fig.log and v > 0) and math.log(v, 2) or (fig.log and zero or v) end
    local n = #fig.rows
    local ytics = {}
    for i, r in ipairs(fig.rows) do
      add("$r%d << EOD", i)
      for _, v in ipairs(r.values) do add("%s %d", gp_num(pos(v)), n - i + 1) end
      add("EOD")
      ytics[#ytics + 1] = fmt_str("%s %d", gp_quote(r.label), n - i + 1)
    end
    add("set ytics (%s) noenhanced", table.concat(ytics, ", "))
    add("set yrange [0.4:%s]", gp_num(n + 0.6))
    local left = fig.log and zero or math.min(0, lo)
    local pad = (hi - left) * 0.03
    add("set xrange [%s:%s]", gp_num(left - pad), gp_num(hi + pad))
    if fig.log then
      local tics, step = { fmt_str("\"0\" %s", gp_num(zero)) }, math.max(1, math.ceil((hi - lo) / 10))
      for e = math.ceil(lo), math.floor(hi), step do tics[#tics + 1] = fmt_str("\"2^{%d}\" %d", e, e) end
      add("set xtics (%s)", table.concat(tics, ", "))
    end
    add("set grid xtics noytics lc rgb '#dddddd'")
    add("unset key")
    add("set border 1")
    add("set ytics nomirror scale 0")
    add("set xtics nomirror")
    local plots = {}
    local colors = { "#3b75c4", "#d1495b", "#2e933c", "#edae49" }
    for i = 1, n do
      plots[#plots + 1] = fmt_str("$r%d using 1:2 with points pt 7 ps 1.2 lc rgb '%s'", i, colors[(i - 1) % #colors + 1])
    end
    add("plot %s", table.concat(plots, ", "))
  elseif fig.kind == "text" then
    -- lines of monospace text (a table) drawn as a picture: one label a
    -- line, from the top, with no axes
    add("unset border")
    add("unset tics")
    add("unset key")
    add("unset grid")
    add("unset xlabel")
    add("unset ylabel")
    add("set margins 2, 2, 1, 3")
    add("set xrange [0:1]")
    add("set yrange [0:1]")
    local n = #fig.lines
    for i, l in ipairs(fig.lines) do
      add("set label %d %s at graph 0, graph %s left font 'DejaVu Sans Mono,%d' noenhanced", i, gp_quote(l),
        gp_num(1 - (i - 0.5) / n), fig.fontsize or 11)
    end
    add("plot NaN notitle")
  else
    error("figure: unknown kind " .. tostring(fig.kind))
  end
  add("unset output")
  return table.concat(L, "\n") .. "\n"
end
figure.script = script

--- Whether bytes are a whole file of type ext ("png", "svg", "pdf"):
-- gnuplot exits 0 after a failed write (a full disk leaves a truncated
-- PNG or an empty SVG), so what it produced is checked before it is
-- renamed into place. Returns nil, or what is wrong in a few words.
function figure.incomplete(ext, bytes)
  if #bytes == 0 then return "the file is empty" end
  if ext == "png" then
    if bytes:sub(1, 8) ~= "\137PNG\r\n\26\n" then return "not a PNG file" end
    if bytes:sub(-12) ~= "\0\0\0\0IEND\174\66\96\130" then return "the PNG is cut short (no IEND chunk)" end
  elseif ext == "svg" then
    if not bytes:find("<svg", 1, true) then return "not an SVG file" end
    if not bytes:find("</svg>%s*$") then return "the SVG is cut short (no closing </svg>)" end
  elseif ext == "pdf" then
    if bytes:sub(1, 5) ~= "%PDF-" then return "not a PDF file" end
    if not bytes:sub(-1024):find("%%EOF", 1, true) then return "the PDF is cut short (no %%EOF)" end
  end
  return nil
end
local incomplete = figure.incomplete

--- Saves a figure to `path`; the extension picks the file type (png, svg,
-- pdf). opts: width, height (pixels; default 800 x 500). Returns path.
-- Fails with one clear line naming the file when gnuplot is missing, fails,
-- reports an error on stderr, or leaves an empty or cut-short file (a full
-- disk): the target is then left as it was.
function figure.save(fig, path, opts)
  opts = opts or {}
  if type(path) ~= "string" or path == "" then lpact.fail("save: a file name expected, e.g. save(\"plot.png\")") end
  local ext = path:match("%.(%w+)$")
  ext = ext and ext:lower()
  if not TERMINALS[ext] then
    lpact.fail(fmt_str("save: cannot tell the file type of '%s' (use .png, .svg or .pdf)", path))
  end
  if not figure.available() then
    lpact.fail(fmt_str("save: gnuplot is not installed, cannot draw '%s' (apt-get install gnuplot-nox)", path), 1)
  end
  local w, h = opts.width or fig.width or 800, opts.height or fig.height or 500
  local term = ext == "pdf" and fmt_str(TERMINALS.pdf, w / 100, h / 100) or fmt_str(TERMINALS[ext], w, h)
  local tmp = fmt_str("%s.tmp-%d-%d", path, os.time(), math.random(1 << 30))
  local sfile = os.tmpname()
  local f = assert(io.open(sfile, "w"))
  f:write(script(fig, term, tmp))
  f:close()
  local efile = sfile .. ".err"
  local ok = os.execute(fmt_str("%s %s >/dev/null 2>%s", shell_quote(figure.gnuplot()), shell_quote(sfile),
    shell_quote(efile)))
  local ef = io.open(efile, "r")
  local err = ef and ef:read("a") or ""
  if ef then ef:close() end
  os.remove(sfile)
  os.remove(efile)
  local out = io.open(tmp, "rb")
  local bytes = out and out:read("a") or ""
  if out then out:close() end
  local errline = err:match("[^\n]*[Ee]rror[^\n]*") or err:match("[^\n]*[Cc]annot[^\n]*")
  local why = ok ~= true and (errline or err:match("([^\n]+)%s*$") or "no output")
    or errline or incomplete(ext, bytes)
  if why then
    os.remove(tmp)
    lpact.fail(fmt_str("save: gnuplot could not draw '%s': %s", path, why), 1)
  end
  local renamed, rerr = pcall(lpact.engine.rename, tmp, path)
  if not renamed then
    os.remove(tmp)
    lpact.fail("save: " .. tostring(rerr), 1)
  end
  return path
end

return figure
