--- lpact report DIR [--out OUTDIR] [--no-figures] — tables and figures from a results folder.
--
-- Turns a folder of result files (one JSON object per trained
-- configuration, written by lpact.results) into:
--   report.md    Markdown tables (rows activations, columns formats, the
--                change from fp32 when the group has it; other runs listed)
--   report.csv   the same tables, one row per (group, activation)
--   runs.csv     one row per result file
--   fig-<group>.png / .svg   accuracy per format, one line per activation
--                (through gnuplot; --no-figures skips them)
-- written atomically into DIR or OUTDIR, and prints the Markdown.

local lpact = require "lpact"
local results = require "lpact.results"
local io_ = lpact.io

local USAGE = "usage: lpact report DIR [--out OUTDIR] [--no-figures]"

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
  local tag = string.format("%08x", io_.crc32(stem .. os.clock()))
  local png, svg = out .. "/" .. stem .. ".png", out .. "/" .. stem .. ".svg"
  local tpng, tsvg = png .. ".tmp-" .. tag, svg .. ".tmp-" .. tag
  local script = table.concat({
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
    "set terminal pngcairo noenhanced size 900,540",
    "set output " .. gp_quote(tpng),
    "plot for [i=3:" .. (#tb.activations + 2) .. "] $d using 1:i:xtic(2) lw 2 pt 7",
    "set terminal svg noenhanced size 900,540 dynamic",
    "set output " .. gp_quote(tsvg),
    "replot",
    "set output",
  }, "\n") .. "\n"
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
  lpact.engine.rename(tpng, png)
  lpact.engine.rename(tsvg, svg)
  return png, svg
end

return function(args)
  local dir, out, figures = nil, nil, true
  local i = 1
  while args[i] do
    local a = args[i]
    if a == "--out" or a == "-o" then
      out = args[i + 1] or lpact.fail(USAGE)
      i = i + 1
    elseif a:match("^%-%-out=") then
      out = a:sub(7)
    elseif a == "--no-figures" then
      figures = false
    elseif a == "-h" or a == "--help" then
      print(USAGE)
      return 0
    elseif a:match("^%-") then
      lpact.fail("report: unknown option '" .. a .. "' (" .. USAGE .. ")")
    elseif dir then
      lpact.fail("report: one results folder expected (" .. USAGE .. ")")
    else
      dir = a
    end
    i = i + 1
  end
  if not dir then lpact.fail(USAGE) end
  dir = dir:gsub("(.)/+$", "%1")
  if not io_.isdir(dir) then lpact.fail("report: no such folder: " .. dir) end
  local records = results.read_dir(dir)
  if #records == 0 then
    lpact.fail("report: no result files in " .. dir .. " (JSON objects with schema " .. results.SCHEMA .. ")", 1)
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
  results.write_file(out .. "/report.md", md)
  results.write_file(out .. "/report.csv", results.csv(records))
  results.write_file(out .. "/runs.csv", results.runs_csv(records))
  io.write(md)
  if figures then
    local used = {}
    for _, tb in ipairs(results.tables(records)) do
      if tb.kind == "matrix" then
        local stem = "fig-" .. slug(results.table_title(tb))
        while used[stem] do stem = stem .. "-2" end
        used[stem] = true
        figure(gp, tb, out, stem)
        io.write("figure: ", out, "/", stem, ".png, .svg\n")
      end
    end
  end
  return 0
end
