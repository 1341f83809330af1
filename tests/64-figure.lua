-- Figures through gnuplot: PNG and SVG files with the title, axis labels
-- and legend; written through a temporary file and a rename (nothing left
-- behind); one clear line when gnuplot is missing or the type unknown.
local t = require "lpact.tap"
local show = require "lpact.show"
local figure = require "lpact.figure"
require "lpact.repl"
local B = os.getenv("LPACT_BUILD") or "build"

local dir = t.tmpdir()
local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end
local function listing()
  local names = {}
  for n in require("lfs").dir(dir) do
    if n ~= "." and n ~= ".." then names[#names + 1] = n .. "\n" end
  end
  table.sort(names)
  return table.concat(names)
end

-- The script itself: labels, legend entries, data rows.
local fig = { kind = "hist", edges = { 0, 1, 2 }, counts = { 3, 5 }, title = "T", xlabel = "value", ylabel = "count" }
local sc = figure.script(fig, "svg", "out.svg")
t.like(sc, 'set xlabel "value" noenhanced', "script: x label")
t.like(sc, 'set ylabel "count" noenhanced', "script: y label")
t.like(sc, "\n0%.5 3 1\n1%.5 5 1\nEOD\n", "script: bins as centre, count, width")
local ps = figure.script({ kind = "plot", series = { { x = { 0, 1 }, y = { 0, 0 / 0 }, label = 'a"b' } } }, "svg", "o.svg")
t.like(ps, 'title "a\\"b" noenhanced', "script: legend text is quoted")
t.like(ps, "\n0 0\n\nEOD", "script: a NaN point breaks the line instead of drawing it")

if figure.available() then
  local p = show.plot("tanh", "fp4", -3, 3, { width = 60 })
  local svg = dir .. "/tanh.svg"
  t.is(p:save(svg), svg, "save returns the path")
  local s = slurp(svg) or ""
  t.like(s, "<svg", "an SVG file")
  t.like(s, "tanh %(fp32%)", "its legend names f")
  t.like(s, "tanh in fp4", "and its quantized version")
  t.like(s, ">x<", "the x axis label")
  local png = dir .. "/h.png"
  show.hist({ 1, 2, 2, 3 }):save(png)
  t.is((slurp(png) or ""):sub(1, 8), "\137PNG\r\n\26\n", "a PNG file")
  local e = show.errors("sigmoid", "fp3", -4, 4)
  e:save(dir .. "/e.svg")
  t.like(slurp(dir .. "/e.svg") or "", "error of sigmoid in fp3", "an error report saves its histogram")
  local ul = lpact.qact.layer { "relu", fmt = "fp2", telemetry = true }
  ul:forward(lpact.tensor { -3, 0.2, 1.5 })
  show.usage(ul):save(dir .. "/u.svg")
  local us = slurp(dir .. "/u.svg") or ""
  t.ok(us:match("level usage: qact relu fp2") and us:match(">%-0<") and us:match(">input level<"),
    "a level-usage view saves a bar per level, labelled by value")
  t.is(listing(), "e.svg\nh.png\ntanh.svg\nu.svg\n", "no temporary file is left behind")
  t.raises(function() return p:save(dir .. "/no/such/dir/x.png") end, "^save: gnuplot could not draw", "an unwritable place is one message")
  t.is(listing(), "e.svg\nh.png\ntanh.svg\nu.svg\n", "and leaves nothing behind")
  -- a saved hist is titled after its call; an explicit title wins
  local w = { 1, 2, 2, 3 }
  hist(w):save(dir .. "/hw.svg")
  t.like(slurp(dir .. "/hw.svg") or "", ">hist%(w%)<", "a saved hist(w) is titled hist(w)")
  hist(w, { title = "weights" }):save(dir .. "/ht.svg")
  local ht = slurp(dir .. "/ht.svg") or ""
  t.ok(ht:find(">weights<", 1, true) and not ht:find("hist(w", 1, true), "an explicit title is kept")
  -- compare as a number line: a row of points per format, labelled as asked
  compare("e3m2", "e3m2:nosub"):save(dir .. "/cmp.svg")
  local cs = slurp(dir .. "/cmp.svg") or ""
  t.ok(cs:find(">e3m2:nosub<", 1, true) and cs:find(">e3m2<", 1, true), "a saved compare labels its rows e3m2 and e3m2:nosub")
  -- levels as a picture of its table: every code's line is text in the file
  levels("fp4"):save(dir .. "/lv.svg")
  local ls = slurp(dir .. "/lv.svg") or ""
  t.ok(ls:find("0x7   0 11 1      6", 1, true) and ls:find("subnormal", 1, true), "a saved levels table holds its rows as text")
  levels("fp4"):save(dir .. "/lv.pdf")
  local lp = slurp(dir .. "/lv.pdf") or ""
  t.ok(lp:sub(1, 5) == "%PDF-" and lp:find("/FontFile", 1, true) ~= nil, "a levels table as PDF: text in an embedded font")
else
  t.diag("gnuplot is not installed: skipping the files")
end
t.raises(function() return show.plot("relu", "fp4", -1, 1):save(dir .. "/x.gif") end,
  "cannot tell the file type of '.*x.gif' %(use %.png, %.svg or %.pdf%)", "unknown file type")
t.raises(function() return show.format("fp4"):save(dir .. "/x.png") end, "cannot be saved", "a format's summary is not a figure")

-- compare's number line script: e2m1's values on the top row (y = 2),
-- e1m2's below (y = 1), linear scale (6 / 0.5 < 64)
local ns = figure.script(compare("e2m1", "e1m2").figure, "svg", "o.svg")
t.like(ns, "\n%$r1 << EOD\n0 2\n0%.5 2\n1 2\n1%.5 2\n2 2\n3 2\n4 2\n6 2\nEOD\n", "number line: e2m1's values on row 2")
t.like(ns, "\n%$r2 << EOD\n0 1\n0%.5 1\n1 1\n1%.5 1\n2 1\n2%.5 1\n3 1\n3%.5 1\nEOD\n", "number line: e1m2's on row 1")
t.like(ns, 'set ytics %("e2m1" 2, "e1m2" 1%) noenhanced', "number line: rows labelled by format")

-- Without gnuplot: one line, exit status 1, no file.
local p = io.popen(string.format("LPACT_GNUPLOT=/nonexistent/gnuplot %s/lpact -e " ..
  "'require \"lpact.show\".hist({1, 2}):save(\"%s/y.png\")' 2>&1; echo \"exit=$?\"", B, dir))
local out = p:read("a")
p:close()
t.is(out, "lpact: save: gnuplot is not installed, cannot draw '" .. dir ..
  "/y.png' (apt-get install gnuplot-nox)\nexit=1\n", "gnuplot missing: one clear line, status 1")
t.is(slurp(dir .. "/y.png"), nil, "gnuplot missing: no file")

os.execute("rm -rf " .. dir)
t.done()
