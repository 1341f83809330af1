--- lpact report DIR [--out OUTDIR] [--no-figures] — tables and figures from a results folder.
--
-- Turns a folder of result files (one JSON object per trained
-- configuration, written by lpact.results) into:
--   report.md    Markdown tables (rows activations, columns formats, the
--                change from fp32 when the group has it; other runs listed)
--   report.csv   the same tables, one row per (group, activation)
--   runs.csv     one row per result file
--   fig-<group>.png / .svg   accuracy per format, one line per activation
--   err-<group>.png / .svg   the activation error histograms (first quantized
--                layer, lowest seed), one panel per activation and format,
--                for records that carry act_errors
--   cmp-<pair>.png / .svg    a paired comparison: the change per format from
--                one setting to another (learnable - fixed levels, ...)
--                (through gnuplot; --no-figures skips them)
-- written into DIR or OUTDIR as a set (all are drawn under temporary
-- names, then renamed: all or nothing), and prints the Markdown.
-- Every record is checked against the results schema first; a file that
-- fails is named, with the reason, on stderr and under "Rejected files".
-- The sweep's manifests give the grid: missing, failed and interrupted
-- configurations and unfinished workers are listed; --require-complete
-- makes any of the first three an error (exit 1, after the report is
-- written).

local lpact = require "lpact"
local figure = require "lpact.figure"
local results = require "lpact.results"
local io_ = lpact.io

local cli = require "lpact.cli"

local function parser()
  local p = cli.parser("lpact report", "Tables and figures from a folder of result records " ..
    "(report.md, report.csv, runs.csv and the figures; docs/results.md).")
  p:argument("dir", "the results folder"):argname("DIR")
  p:option("-o --out", "write the report into OUTDIR [DIR]"):argname("OUTDIR")
  p:flag("--no-figures", "tables only: no gnuplot figures")
  p:flag("--require-complete", "exit 1 (after writing the report) when a configuration of the grid is missing, failed or interrupted")
  return p
end

-- Outputs drawn or written under temporary names, renamed together at the end.
local pending = {}
local function temp_name(path)
  local sys = lpact.sys
  return string.format("%s.tmp-%s-%d-%s", path, (sys.hostname():gsub("[/.]", "_")), sys.pid(), sys.random_hex(8))
end
local function stage_text(path, text)
  local tmp = temp_name(path)
  local ok, err = lpact.sys.create_excl(tmp, text)
  if not ok then lpact.fail("report: " .. err, 1) end
  pending[#pending + 1] = { tmp, path }
end

local function shell_quote(s)
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

-- A gnuplot string literal (single quotes; a quote is doubled).
local function gp_quote(s)
  return "'" .. tostring(s):gsub("'", "''") .. "'"
end

local function slug(s)
  local r = s:lower():gsub("[^%w%.]+", "-"):gsub("^%-+", ""):gsub("%-+$", "")
  return r ~= "" and r or "results"
end

local function gnuplot_command()
  local cmd = os.getenv("LPACT_GNUPLOT") or "gnuplot"
  if not os.execute("command -v " .. shell_quote(cmd) .. " >/dev/null 2>&1") then return nil, cmd end
  return cmd
end

-- Runs a gnuplot script that writes tpng/tsvg, then renames them into
-- place; on failure removes them and fails with gnuplot's first line.
local function draw(gp, script, png, svg, tpng, tsvg)
  local sf = os.tmpname()
  local f = assert(io.open(sf, "wb"))
  f:write(script)
  f:close()
  local p = io.popen(shell_quote(gp) .. " " .. shell_quote(sf) .. " 2>&1")
  local msg = p:read("a")
  local ok = p:close()
  os.remove(sf)
  if not ok then
    os.remove(tpng)
    os.remove(tsvg)
    local first = msg:match("[^\n]*[%w][^\n]*") or "failed"
    lpact.fail("report: gnuplot failed: " .. first:gsub("^%s+", ""), 1)
  end
  -- gnuplot exits 0 after a failed write (a full disk): check both files
  -- and its messages before either is renamed into place
  local errline = msg:match("[^\n]*[Ee]rror[^\n]*") or msg:match("[^\n]*[Cc]annot[^\n]*")
  for _, pair in ipairs { { tpng, png, "png" }, { tsvg, svg, "svg" } } do
    local f = io.open(pair[1], "rb")
    local bytes = f and f:read("a") or ""
    if f then f:close() end
    local why = errline or figure.incomplete(pair[3], bytes)
    if why then
      os.remove(tpng)
      os.remove(tsvg)
      lpact.fail(string.format("report: gnuplot could not draw %s: %s", pair[2], why:gsub("^%s+", "")), 1)
    end
  end
  pending[#pending + 1] = { tpng, png }
  pending[#pending + 1] = { tsvg, svg }
  return png, svg
end

-- The figure's files out/<stem>.png and .svg, and the temporary names
-- they are drawn under before the rename.
local function targets(out, stem)
  local png, svg = out .. "/" .. stem .. ".png", out .. "/" .. stem .. ".svg"
  return png, svg, temp_name(png), temp_name(svg)
end

-- Draws a one-panel chart, 900 x 540, as PNG and SVG: the setup lines
-- (data block included), then the plot command.
local function draw_chart(gp, out, stem, setup, plot)
  local png, svg, tpng, tsvg = targets(out, stem)
  local lines = {}
  for _, l in ipairs(setup) do lines[#lines + 1] = l end
  for _, l in ipairs {
    "set terminal pngcairo noenhanced size 900,540",
    "set output " .. gp_quote(tpng),
    plot,
    "set terminal svg noenhanced size 900,540 dynamic",
    "set output " .. gp_quote(tsvg),
    "replot",
    "set output",
  } do lines[#lines + 1] = l end
  return draw(gp, table.concat(lines, "\n") .. "\n", png, svg, tpng, tsvg)
end

-- Draws one matrix table into out/<stem>.png and .svg (atomically).
local function figure(gp, tb, out, stem)
  local rows = { "x format " .. table.concat(tb.activations, " ") }
  for i, f in ipairs(tb.formats) do
    local r = { tostring(i - 1), f }
    for _, a in ipairs(tb.activations) do
      local c = tb.cells[a][f]
      r[#r + 1] = c and string.format("%.4f", c.mean) or "-"
    end
    rows[#rows + 1] = table.concat(r, " ")
  end
  return draw_chart(gp, out, stem, {
    "set datafile missing '-'",
    "set key autotitle columnhead outside right",
    "set title " .. gp_quote(results.table_title(tb)),
    "set xlabel 'activation format'",
    "set ylabel 'final test accuracy (%)'",
    "set grid ytics",
    "set xrange [-0.5:" .. (#tb.formats - 0.5) .. "]",
    "set style data linespoints",
    "$d << EOD",
    table.concat(rows, "\n"),
    "EOD",
  }, "plot for [i=3:" .. (#tb.activations + 2) .. "] $d using 1:i:xtic(2) lw 2 pt 7")
end

-- The error histograms of one matrix table (the first quantized layer of
-- the lowest seed, per activation and format) as one grid figure in
-- out/<stem>.png and .svg; nil when no cell has them.
local function error_figure(gp, tb, out, stem)
  local fmts, acts = {}, {}
  for _, f in ipairs(tb.formats) do
    for _, a in ipairs(tb.activations) do
      if tb.cells[a][f] and tb.cells[a][f].hist then fmts[#fmts + 1] = f break end
    end
  end
  for _, a in ipairs(tb.activations) do
    for _, f in ipairs(fmts) do
      if tb.cells[a][f] and tb.cells[a][f].hist then acts[#acts + 1] = a break end
    end
  end
  if #fmts == 0 then return nil end
  local png, svg, tpng, tsvg = targets(out, stem)
  local w, h = math.max(480, 280 * #fmts), math.max(300, 210 * #acts + 60)
  local L = {}
  local function add(x) L[#L + 1] = x end
  local body = {}
  for _, a in ipairs(acts) do
    for _, f in ipairs(fmts) do
      local c = tb.cells[a][f]
      body[#body + 1] = "set title " .. gp_quote(a .. " " .. f)
      if c and c.hist then
        -- at most five x tics, at a round step
        local lo, hi = c.hist.edges[1], c.hist.edges[#c.hist.edges]
        local span = (type(lo) == "number" and type(hi) == "number" and hi > lo) and (hi - lo) or 1
        local step = 10 ^ math.floor(math.log(span / 4, 10))
        for _, m in ipairs { 1, 2, 5, 10 } do
          if span / (m * step) <= 4 then step = m * step break end
        end
        body[#body + 1] = string.format("set xtics %.9g", step)
        local d = {}
        for k, n in ipairs(c.hist.counts) do
          local lo, hi = c.hist.edges[k], c.hist.edges[k + 1]
          if type(lo) == "number" and type(hi) == "number" and type(n) == "number" then
            d[#d + 1] = string.format("%.9g %.9g %.9g", (lo + hi) / 2, n, hi - lo)
          end
        end
        body[#body + 1] = "plot '-' using 1:2:3 with boxes fs solid 0.6 lc rgb '#3b75c4' notitle"
        body[#body + 1] = table.concat(d, "\n")
        body[#body + 1] = "e"
      else
        body[#body + 1] = "set multiplot next"
      end
    end
  end
  local grid = table.concat(body, "\n")
  for _, term in ipairs {
    { "set terminal pngcairo noenhanced size " .. w .. "," .. h, tpng },
    { "set terminal svg noenhanced size " .. w .. "," .. h .. " dynamic", tsvg },
  } do
    add(term[1])
    add("set output " .. gp_quote(term[2]))
    add("set multiplot layout " .. #acts .. "," .. #fmts .. " title " ..
      gp_quote("activation error (output - f), first quantized layer"))
    add("set yrange [0:*]")
    add("set format y '%g'")
    add("set key off")
    add(grid)
    add("unset multiplot")
    add("set output")
  end
  return draw(gp, table.concat(L, "\n") .. "\n", png, svg, tpng, tsvg)
end

-- Draws one paired comparison (results.comparisons) into out/<stem>.png
-- and .svg: the mean change per format, one line per activation, with
-- bars from the lowest to the highest seed's change, and the zero line.
local function comparison_figure(gp, cp, out, stem)
  local rows = {}
  for i, f in ipairs(cp.formats) do
    local r = { tostring(i - 1), f }
    for _, a in ipairs(cp.activations) do
      local c = cp.cells[a][f]
      if c then
        r[#r + 1] = string.format("%.4f %.4f %.4f", c.mean, c.min, c.max)
      else
        r[#r + 1] = "- - -"
      end
    end
    rows[#rows + 1] = table.concat(r, " ")
  end
  local xtics = {}
  for i, f in ipairs(cp.formats) do xtics[#xtics + 1] = gp_quote(f) .. " " .. (i - 1) end
  return draw_chart(gp, out, stem, {
    "set datafile missing '-'",
    "names = " .. gp_quote(table.concat(cp.activations, " ")),
    "set key outside right",
    "set title " .. gp_quote(results.comparison_title(cp, "-") .. ", paired by seed (bars: lowest to highest seed)"),
    "set xlabel 'activation format'",
    "set ylabel 'change in final test accuracy (points)'",
    "set grid ytics",
    "set xrange [-0.5:" .. (#cp.formats - 0.5) .. "]",
    "set xzeroaxis lt -1",
    "set xtics (" .. table.concat(xtics, ", ") .. ")",
    "$d << EOD",
    table.concat(rows, "\n"),
    "EOD",
  }, "plot for [k=0:" .. (#cp.activations - 1) .. "] $d using ($1 + 0.06 * (k - "
      .. string.format("%.1f", (#cp.activations - 1) / 2) .. ")):3 + 3 * k:4 + 3 * k:5 + 3 * k "
      .. "with yerrorlines lw 2 pt 7 title word(names, k + 1)")
end

return function(args)
  local o = cli.parse(parser(), args)
  local dir, out, figures, require_complete = o.dir, o.out, not o.no_figures, o.require_complete and true or false
  dir = dir:gsub("(.)/+$", "%1")
  if not io_.isdir(dir) then lpact.fail("report: no such folder: " .. dir) end
  local records, rejected = results.read_dir(dir)
  for _, r in ipairs(rejected) do
    io.stderr:write(string.format("lpact report: rejected %s/%s: %s\n", dir, r.file, r.why))
  end
  if #records == 0 then
    lpact.fail("report: no result files in " .. dir .. " (JSON objects with schema " .. results.SCHEMA .. ")"
      .. (#rejected > 0 and string.format("; %d rejected", #rejected) or ""), 1)
  end
  local status = results.sweep_status(dir, records)
  for _, r in ipairs(status.rejected) do
    io.stderr:write(string.format("lpact report: rejected %s/%s: %s\n", dir, r.file, r.why))
  end
  out = out and out:gsub("(.)/+$", "%1") or dir
  local ok, err = io_.mkdir(out)
  if not ok then lpact.fail("report: cannot create the output folder " .. err, 1) end

  local gp
  if figures then
    local missing
    gp, missing = gnuplot_command()
    if not gp then
      lpact.fail("report: gnuplot not found ('" .. missing ..
        "'): install the Debian package gnuplot-nox, or pass --no-figures", 1)
    end
  end
  local name = dir:match("([^/]+)$") or dir
  local md = results.markdown(records, { heading = "lpact results: " .. name })
  local extra = results.status_markdown(status, rejected)
  if extra ~= "" then md = md .. "\n" .. extra end
  pending = {}
  local okw, werr = pcall(function()
    stage_text(out .. "/report.md", md)
    stage_text(out .. "/report.csv", results.csv(records))
    stage_text(out .. "/runs.csv", results.runs_csv(records))
    local shown = {}
    if figures then
      local used = {}
      for _, tb in ipairs(results.tables(records)) do
        if tb.kind == "matrix" then
          local stem = "fig-" .. slug(results.table_title(tb))
          while used[stem] do stem = stem .. "-2" end
          used[stem] = true
          figure(gp, tb, out, stem)
          shown[#shown + 1] = "figure: " .. out .. "/" .. stem .. ".png, .svg\n"
          local estem = "err" .. stem:sub(4)
          while used[estem] do estem = estem .. "-2" end
          if error_figure(gp, tb, out, estem) then
            used[estem] = true
            shown[#shown + 1] = "figure: " .. out .. "/" .. estem .. ".png, .svg\n"
          end
        end
      end
      for _, cp in ipairs(results.comparisons(records)) do
        local stem = "cmp-" .. slug(string.format("%s %s %s %s %s vs %s after %s epochs", tostring(cp.dataset),
          tostring(cp.model), cp.rest, cp.key, cp.other, cp.base, tostring(cp.epochs)))
        while used[stem] do stem = stem .. "-2" end
        used[stem] = true
        comparison_figure(gp, cp, out, stem)
        shown[#shown + 1] = "figure: " .. out .. "/" .. stem .. ".png, .svg\n"
      end
    end
    for _, p in ipairs(pending) do lpact.engine.rename(p[1], p[2]) end
    pending = {}
    lpact.sys.fsync_dir(out)
    io.write(md)
    for _, l in ipairs(shown) do io.write(l) end
  end)
  if not okw then
    for _, p in ipairs(pending) do os.remove(p[1]) end
    pending = {}
    error(werr, 0)
  end
  if require_complete and (#status.missing > 0 or #status.failed > 0 or #status.interrupted > 0) then
    lpact.fail(string.format("report: the sweep is not complete: %d of %d configurations done (%d missing, %d failed, %d interrupted)",
      status.done, status.grid, #status.missing, #status.failed, #status.interrupted), 1)
  end
  return 0
end
