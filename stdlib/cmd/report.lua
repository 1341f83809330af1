--- lpact report DIR [--out OUTDIR] [--no-figures] — tables and figures from a results folder.
--
-- Turns a folder of result files (one JSON object per trained
-- configuration, written by lpact.results) into:
--   report.md    Markdown tables (rows activations, columns formats, the
--                change from fp32 when the group has it; other runs listed)
--   report.csv   the same tables, one row per (group, activation)
--   report.tex   the same tables for LaTeX (booktabs, mean ± SD, best in bold)
--   runs.csv     one row per result file
--   fig-<group>.png / .svg   accuracy per format, one line per activation
--   err-<group>.png / .svg   the activation error histograms (first quantized
--                layer, lowest seed), one panel per activation and format,
--                for records that carry act_errors
--   lm-<group>.png / .svg    language models (scripts/lm.lua): validation
--                bits/char against bits per activation, a line per site
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
  p:flag("--log-counts", "the error histograms' counts on a log scale")
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

-- A gnuplot string in double quotes, where a newline (\n) breaks the line.
local function gp_lines(s)
  return '"' .. tostring(s):gsub('[\\"]', "\\%0"):gsub("\n", "\\n") .. '"'
end

local function slug(s)
  local r = s:lower():gsub("[^%w%.]+", "-"):gsub("^%-+", ""):gsub("%-+$", "")
  -- a file name stays well under the 255 bytes a file system allows (a
  -- table of many differing settings has a long title): cut, and told
  -- apart by the hash of the whole
  if #r > 150 then r = r:sub(1, 137) .. "-" .. lpact.sys.hash(r):sub(1, 12) end
  return r ~= "" and r or "results"
end

local function gnuplot_command()
  local cmd = os.getenv("LPACT_GNUPLOT") or "gnuplot"
  if not os.execute("command -v " .. shell_quote(cmd) .. " >/dev/null 2>&1") then return nil, cmd end
  return cmd
end

-- Every report figure is drawn three times: PNG to look at, SVG and PDF
-- (vector, its text as text) for a paper. Sizes in pixels; the PDF's in
-- inches at 100 pixels an inch.
local TERMS = {
  { ext = "png", term = "pngcairo noenhanced size %d,%d font 'sans,11'" },
  { ext = "svg", term = "svg noenhanced size %d,%d dynamic font 'sans,11'" },
  { ext = "pdf", term = "pdfcairo noenhanced size %gin,%gin font 'sans,9'" },
}

-- Draws out/<stem>.png, .svg and .pdf, w x h: for each, the prelude (data
-- blocks, settings), then the body. The files are written
-- under temporary names, checked (gnuplot exits 0 after a failed write: a
-- full disk) and queued for the rename; on failure they are removed and
-- the report fails with gnuplot's first line. Returns the PNG's path.
local function draw(gp, out, stem, w, h, prelude, body)
  local files, lines = {}, {}
  for _, t in ipairs(TERMS) do
    local final = out .. "/" .. stem .. "." .. t.ext
    local tmp = temp_name(final)
    files[#files + 1] = { tmp, final, t.ext }
    -- each pass starts from gnuplot's defaults: a body that unsets its
    -- title or key for a second panel leaves nothing to the next file
    lines[#lines + 1] = "reset"
    lines[#lines + 1] = "set terminal " .. (t.ext == "pdf" and string.format(t.term, w / 100, h / 100)
      or string.format(t.term, w, h))
    lines[#lines + 1] = "set output " .. gp_quote(tmp)
    lines[#lines + 1] = prelude
    lines[#lines + 1] = body
    lines[#lines + 1] = "set output"
  end
  local sf = os.tmpname()
  local f = assert(io.open(sf, "wb"))
  f:write(table.concat(lines, "\n") .. "\n")
  f:close()
  local p = io.popen(shell_quote(gp) .. " " .. shell_quote(sf) .. " 2>&1")
  local msg = p:read("a")
  local ok = p:close()
  os.remove(sf)
  local function drop() for _, x in ipairs(files) do os.remove(x[1]) end end
  if not ok then
    drop()
    local first = msg:match("[^\n]*[%w][^\n]*") or "failed"
    lpact.fail("report: gnuplot failed: " .. first:gsub("^%s+", ""), 1)
  end
  local errline = msg:match("[^\n]*[Ee]rror[^\n]*") or msg:match("[^\n]*[Cc]annot[^\n]*")
  for _, x in ipairs(files) do
    local fh = io.open(x[1], "rb")
    local bytes = fh and fh:read("a") or ""
    if fh then fh:close() end
    local why = errline or figure.incomplete(x[3], bytes)
    if why then
      drop()
      lpact.fail(string.format("report: gnuplot could not draw %s: %s", x[2], why:gsub("^%s+", "")), 1)
    end
  end
  for _, x in ipairs(files) do pending[#pending + 1] = { x[1], x[2] } end
  return files[1][2]
end

-- A round step for at most `n` tics over a span.
local function tic_step(span, n)
  if not (span > 0) then return 1 end
  local step = 10 ^ math.floor(math.log(span / n, 10))
  for _, m in ipairs { 1, 2, 5, 10 } do
    if span / (m * step) <= n then return m * step end
  end
  return 10 * step
end

-- Cells whose accuracy collapsed: a mean below half the table's best.
-- They get a panel of their own under the others, so that a 10% cell does
-- not squash every other difference into a sliver.
local function collapsed_cells(tb)
  local best = -math.huge
  for _, a in ipairs(tb.activations) do
    for _, f in ipairs(tb.formats) do
      local c = tb.cells[a][f]
      if c and c.mean > best then best = c.mean end
    end
  end
  local low = {}
  for _, a in ipairs(tb.activations) do
    for _, f in ipairs(tb.formats) do
      local c = tb.cells[a][f]
      if c and c.mean < best / 2 then low[a .. "\0" .. f] = true end
    end
  end
  return low, best
end

-- A y range around values, padded so that no point or bar sits on the frame.
local function padded(lo, hi, min_pad)
  local pad = math.max((hi - lo) * 0.08, min_pad)
  return lo - pad, hi + pad
end

-- Draws one matrix table: accuracy against format, one line per activation
-- through the means; with several seeds a bar of ± one standard deviation
-- and every seed as a small circle. Collapsed cells (results: below half
-- the best) are drawn in a second, short panel under a broken axis, each
-- labelled with its value; the lines run from one panel into the other.
local function accuracy_figure(gp, tb, out, stem)
  local acts, fmts = tb.activations, tb.formats
  local multi = #tb.seeds > 1
  local low = collapsed_cells(tb)
  local pre = {}
  local function add(x) pre[#pre + 1] = x end
  local ranges = { main = { math.huge, -math.huge }, low = { math.huge, -math.huge } }
  local function widen(r, lo, hi) r[1], r[2] = math.min(r[1], lo), math.max(r[2], hi) end
  local nlow, labels = 0, {}
  for k, a in ipairs(acts) do
    local dx = 0.05 * (k - 1 - (#acts - 1) / 2)
    local m, sd = {}, {}
    for i, f in ipairs(fmts) do
      local c = tb.cells[a][f]
      if c then
        local x = i - 1 + dx
        local lo, hi = c.mean - (c.sd or 0), c.mean + (c.sd or 0)
        m[#m + 1] = string.format("%.4f %.4f %.4f %.4f", x, c.mean, lo, hi)
        for _, v in ipairs(c.accs or {}) do
          sd[#sd + 1] = string.format("%.4f %.4f", x, v)
          lo, hi = math.min(lo, v), math.max(hi, v)
        end
        if low[a .. "\0" .. f] then
          widen(ranges.low, lo, hi)
          nlow = nlow + 1
          labels[#labels + 1] = { x = x, y = c.mean, text = string.format("%s %s: %.2f", a, f, c.mean) }
        else
          widen(ranges.main, lo, hi)
        end
      end
    end
    add("$m" .. k .. " << EOD")
    add(table.concat(m, "\n"))
    add("EOD")
    if multi then
      add("$s" .. k .. " << EOD")
      add(table.concat(sd, "\n"))
      add("EOD")
    end
  end
  local function plots(with_titles)
    local p = {}
    for k, a in ipairs(acts) do
      local ttl = with_titles and ("title " .. gp_quote(a)) or "notitle"
      if multi then
        p[#p + 1] = string.format("$m%d using 1:2:3:4 with yerrorlines lw 2 pt 7 ps 1 lc %d %s", k, k, ttl)
        p[#p + 1] = string.format("$s%d using 1:2 with points pt 6 ps 0.7 lc %d notitle", k, k)
      else
        p[#p + 1] = string.format("$m%d using 1:2 with linespoints lw 2 pt 7 ps 1 lc %d %s", k, k, ttl)
      end
    end
    return "plot " .. table.concat(p, ", ")
  end
  local xt = {}
  for i, f in ipairs(fmts) do xt[#xt + 1] = gp_quote(f) .. " " .. (i - 1) end
  local note = multi and string.format("mean ± SD over %d seeds (bars); circles: each seed", #tb.seeds)
    or (#tb.seeds == 1 and ("seed " .. tb.seeds[1]) or "")
  add("set xrange [-0.5:" .. (#fmts - 0.5) .. "]")
  add("set xtics (" .. table.concat(xt, ", ") .. ")")
  add("set grid ytics lc rgb '#dddddd'")
  add("set key outside right top")
  add("set title " .. gp_lines(results.table_title(tb) .. (note ~= "" and ("\n" .. note) or "")))
  add("set ylabel 'final test accuracy (%)'")
  local body = {}
  local function b(x) body[#body + 1] = x end
  local w, h = 900, 540
  if ranges.main[1] > ranges.main[2] then ranges.main = ranges.low end   -- every cell collapsed: one panel
  local main_lo, main_hi = padded(ranges.main[1], ranges.main[2], 0.5)
  if nlow == 0 or ranges.main == ranges.low then
    b("set xlabel 'activation format'")
    b(string.format("set yrange [%.4f:%.4f]", main_lo, main_hi))
    b(plots(true))
  else
    h = 640
    local low_lo, low_hi = padded(ranges.low[1], ranges.low[2], 1)
    b("set multiplot")
    b("set lmargin at screen 0.10")
    b("set rmargin at screen 0.80")
    b("set tmargin at screen 0.86")
    b("set bmargin at screen 0.36")
    local blank = {}
    for i = 1, #fmts do blank[i] = "'' " .. (i - 1) end
    b("set xtics (" .. table.concat(blank, ", ") .. ")")
    b("unset xlabel")
    b(string.format("set yrange [%.4f:%.4f]", main_lo, main_hi))
    b(plots(true))
    b("unset title")
    b("unset key")
    b("set tmargin at screen 0.29")
    b("set bmargin at screen 0.12")
    b("set xtics (" .. table.concat(xt, ", ") .. ")")
    b("set xlabel 'activation format'")
    b("set ylabel 'collapsed' offset 0,0")
    b(string.format("set yrange [%.4f:%.4f]", low_lo, low_hi))
    b(string.format("set ytics %.9g", tic_step(low_hi - low_lo, 3)))
    for i, l in ipairs(labels) do
      b(string.format("set label %d %s at %.4f, %.4f left offset 1.2, 0.6 font ',9'", i, gp_quote(l.text), l.x, l.y))
    end
    -- the break between the panels: two short slanted strokes on the y axis
    b("set arrow 1 from screen 0.09, 0.305 to screen 0.11, 0.325 nohead lw 1.5")
    b("set arrow 2 from screen 0.09, 0.335 to screen 0.11, 0.355 nohead lw 1.5")
    b(plots(false))
    b("unset multiplot")
    b("unset label")
    b("unset arrow")
    b("set ytics autofreq")
  end
  return draw(gp, out, stem, w, h, table.concat(pre, "\n"), table.concat(body, "\n"))
end

-- The error histograms of one matrix table (the first quantized layer of
-- the lowest seed, per activation and format) as one grid figure: a row
-- per activation, a column per format, every panel with its axis labels,
-- the panels of a row on one x range (so a row compares its formats), at
-- least 1200 pixels wide (a 2 x 2 grid: 600-pixel panels). log: counts on
-- a log scale. nil when no cell has histograms.
local function error_figure(gp, tb, out, stem, log)
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
  local w, h = math.max(1200, 450 * #fmts), 80 + 400 * #acts
  local pre, body = {}, {}
  local function b(x) body[#body + 1] = x end
  local any_own = false
  for _, a in ipairs(acts) do
    for _, f in ipairs(fmts) do
      local c = tb.cells[a][f]
      if c and c.hist and c.hist.own then any_own = true end
    end
  end
  b("set multiplot layout " .. #acts .. "," .. #fmts .. " title " ..
    gp_lines("activation error (output - f), first quantized layer, lowest seed" ..
      (log and "; counts on a log scale" or "") ..
      (any_own and "\nfilled: the learned levels; red outline: the format's own levels on the same inputs" or "")))
  b(log and "set logscale y" or "unset logscale y")
  b(log and "set yrange [0.8:*]" or "set yrange [0:*]")
  b("set format y '%g'")
  b("set xlabel 'output - f'")
  b(log and "set ylabel 'count (log scale)'" or "set ylabel 'count'")
  b("set style fill solid 0.6 border lc rgb '#1f4e99'")
  local nblock = 0
  for _, a in ipairs(acts) do
    -- the row's x range: the union of its formats' histogram edges
    local lo, hi = math.huge, -math.huge
    for _, f in ipairs(fmts) do
      local c = tb.cells[a][f]
      for _, hh in ipairs { c and c.hist or false, c and c.hist and c.hist.own or false } do
        if hh then
          local e = hh.edges
          if type(e[1]) == "number" then lo = math.min(lo, e[1]) end
          if type(e[#e]) == "number" then hi = math.max(hi, e[#e]) end
        end
      end
    end
    if not (hi > lo) then lo, hi = lo - 1, lo + 1 end
    local pad = (hi - lo) * 0.02
    b(string.format("set xrange [%.9g:%.9g]", lo - pad, hi + pad))
    b(string.format("set xtics %.9g", tic_step(hi - lo, 4)))
    for _, f in ipairs(fmts) do
      local c = tb.cells[a][f]
      if c and c.hist then
        local function block(hh)
          local d = {}
          for k, n in ipairs(hh.counts) do
            local l, r = hh.edges[k], hh.edges[k + 1]
            if type(l) == "number" and type(r) == "number" and type(n) == "number" then
              d[#d + 1] = string.format("%.9g %.9g %.9g", (l + r) / 2, n, r - l)
            end
          end
          nblock = nblock + 1
          pre[#pre + 1] = "$h" .. nblock .. " << EOD\n" .. table.concat(d, "\n") .. "\nEOD"
          return "$h" .. nblock
        end
        local learned = block(c.hist)
        b("set title " .. gp_quote(a .. " " .. f))
        if c.hist.own then
          -- learnable levels: the learned function (filled) over the
          -- format's own levels on the same inputs (outline): drift apart
          -- from rounding
          local own = block(c.hist.own)
          b(string.format("plot %s using 1:2:3 with boxes lc rgb '#3b75c4' notitle, " ..
            "%s using 1:2:3 with boxes fs empty lc rgb '#d1495b' lw 1.5 notitle", learned, own))
        else
          b("plot " .. learned .. " using 1:2:3 with boxes lc rgb '#3b75c4' notitle")
        end
      else
        b("set multiplot next")
      end
    end
  end
  b("unset multiplot")
  b("unset logscale y")
  return draw(gp, out, stem, w, h, table.concat(pre, "\n"), table.concat(body, "\n"))
end

-- The mean over runs of a per-epoch list of a record (loss, accuracy, …),
-- epoch by epoch, skipping nulls; scale multiplies (100 for accuracies).
local function epoch_means(recs, field, scale)
  local sum, n = {}, {}
  for _, r in ipairs(recs or {}) do
    if type(r[field]) == "table" then
      for e, v in ipairs(r[field]) do
        if type(v) == "number" and v == v then
          sum[e], n[e] = (sum[e] or 0) + v * scale, (n[e] or 0) + 1
        end
      end
    end
  end
  local out = {}
  for e = 1, #sum do out[e] = n[e] and sum[e] / n[e] or nil end
  return out, #sum
end

-- The training curves of one matrix table: a column per format, loss in
-- the top row and accuracy in the bottom one, against the epoch; one colour
-- per activation, training solid and test dashed, each the mean over the
-- seeds; the panels of a row share their y range. nil when the records
-- hold fewer than two epochs.
local function curves_figure(gp, tb, out, stem)
  local fmts, acts = tb.formats, tb.activations
  local rows = {
    { name = "loss", fields = { "loss", "test_loss" }, scale = 1 },
    { name = "accuracy (%)", fields = { "train_accuracy", "accuracy" }, scale = 100 },
  }
  local pre, nb, maxep = {}, 0, 0
  local blocks = {}    -- [row][fmt][act] = {train block, test block}
  for ri, row in ipairs(rows) do
    row.lo, row.hi = math.huge, -math.huge
    blocks[ri] = {}
    for _, f in ipairs(fmts) do
      blocks[ri][f] = {}
      for _, a in ipairs(acts) do
        local c = tb.cells[a][f]
        local pair = {}
        for k, field in ipairs(row.fields) do
          local m, n = epoch_means(c and c.records, field, row.scale)
          local d = {}
          for e = 1, n do
            if m[e] then
              d[#d + 1] = string.format("%d %.6g", e, m[e])
              row.lo, row.hi = math.min(row.lo, m[e]), math.max(row.hi, m[e])
            end
          end
          if #d > 0 then
            nb = nb + 1
            pre[#pre + 1] = "$c" .. nb .. " << EOD\n" .. table.concat(d, "\n") .. "\nEOD"
            pair[k] = "$c" .. nb
            maxep = math.max(maxep, n)
          end
        end
        blocks[ri][f][a] = pair
      end
    end
  end
  if maxep < 2 then return nil end
  -- a row no record has numbers for (records without losses) is left out:
  -- its range would be [inf:-inf], which gnuplot refuses
  local kept, kept_blocks = {}, {}
  for ri, row in ipairs(rows) do
    if row.lo <= row.hi then kept[#kept + 1], kept_blocks[#kept + 1] = row, blocks[ri] end
  end
  if #kept == 0 then return nil end
  rows, blocks = kept, kept_blocks
  local body = {}
  local function b(x) body[#body + 1] = x end
  b("set multiplot layout " .. #rows .. "," .. #fmts .. " title " ..
    gp_quote(results.table_title(tb) .. ": training curves, mean over seeds (solid: training, dashed: test)"))
  b("set xlabel 'epoch'")
  b(string.format("set xrange [0.8:%.1f]", maxep + 0.2))
  b(string.format("set xtics %d", math.max(1, math.ceil(maxep / 8))))
  b("set grid lc rgb '#dddddd'")
  for ri, row in ipairs(rows) do
    local lo, hi = padded(row.lo, row.hi, row.scale == 100 and 0.5 or 0.01)
    b(string.format("set yrange [%.6g:%.6g]", lo, hi))
    b("set ylabel " .. gp_quote(row.name))
    for fi, f in ipairs(fmts) do
      b("set title " .. gp_quote(f))
      if ri == 1 and fi == 1 then b("set key top right") else b("unset key") end
      local p = {}
      for k, a in ipairs(acts) do
        local pair = blocks[ri][f][a]
        if pair[1] then p[#p + 1] = string.format("%s using 1:2 with linespoints lw 2 pt 7 ps 0.6 lc %d dt 1 title %s", pair[1], k, gp_quote(a)) end
        if pair[2] then p[#p + 1] = string.format("%s using 1:2 with linespoints lw 2 pt 6 ps 0.6 lc %d dt 2 notitle", pair[2], k) end
      end
      if #p == 0 then b("set multiplot next") else b("plot " .. table.concat(p, ", ")) end
    end
  end
  b("unset multiplot")
  return draw(gp, out, stem, math.max(1200, 380 * #fmts), #rows == 2 and 820 or 440, table.concat(pre, "\n"),
    table.concat(body, "\n"))
end

-- Draws the language-model figure of one (dataset, model) group of
-- results.lm_sites: validation bits per character against bits per
-- activation (log2 axis, 32 = FP32 at the right), one line per site (MLP
-- activation, attention probabilities, both), ± SD bars with several seeds.
-- Twelve colours that stay apart (gnuplot's default cycle repeats after
-- eight, and a grid has a line per activation, site, levels and STE).
local LM_COLOURS = { "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
  "#bcbd22", "#17becf", "#000000", "#a6761d" }
local function lm_figure(gp, g, out, stem)
  local pre, plots, multi = {}, {}, false
  local lo, hi = math.huge, -math.huge
  local xs = {}
  for k, l in ipairs(g.lines) do
    local d = {}
    for _, p in ipairs(l.points) do
      local sd = p.sd or 0
      if p.sd then multi = true end
      d[#d + 1] = string.format("%d %.6f %.6f %.6f", p.bits, p.mean, p.mean - sd, p.mean + sd)
      for _, v in ipairs(p.values) do lo, hi = math.min(lo, v), math.max(hi, v) end
      lo, hi = math.min(lo, p.mean - sd), math.max(hi, p.mean + sd)
      xs[p.bits] = true
    end
    pre[#pre + 1] = "$l" .. k .. " << EOD\n" .. table.concat(d, "\n") .. "\nEOD"
    plots[#plots + 1] = string.format("$l%d using 1:2:3:4 with yerrorlines lw 2 pt %d ps 1.1 lc rgb '%s' title %s",
      k, 5 + 2 * ((k - 1) % 3), LM_COLOURS[(k - 1) % #LM_COLOURS + 1], gp_quote(l.label))
  end
  local tics = {}
  for x in pairs(xs) do tics[#tics + 1] = x end
  table.sort(tics)
  local xmin, xmax = tics[1], tics[#tics]
  for i, x in ipairs(tics) do tics[i] = string.format("'%s' %d", x == 32 and "32 (fp32)" or tostring(x), x) end
  local ylo, yhi = padded(lo, hi, 0.005)
  pre[#pre + 1] = table.concat({
    "set logscale x 2",
    string.format("set xrange [%g:%g]", xmin / 1.25, xmax * 1.25),
    "set xtics (" .. table.concat(tics, ", ") .. ")",
    string.format("set yrange [%.6f:%.6f]", ylo, yhi),
    "set grid lc rgb '#dddddd'",
    "set key below left",
    "set xlabel 'bits per activation (log scale)'",
    "set ylabel 'validation bits per character'",
    "set title " .. gp_lines(tostring(g.dataset) .. ", " .. tostring(g.model) .. (g.length and (", " .. g.length) or "") ..
      ": validation bits per character, one line per site" ..
      (multi and "\nmean ± SD over seeds" or "")),
  }, "\n")
  return draw(gp, out, stem, 900, 600, table.concat(pre, "\n"), "plot " .. table.concat(plots, ", "))
end

-- Draws one paired comparison (results.comparisons): the mean change per
-- format, one line per activation, with bars from the lowest to the
-- highest seed's change, and the zero line.
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
  return draw(gp, out, stem, 900, 540, table.concat({
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
  }, "\n"), "plot for [k=0:" .. (#cp.activations - 1) .. "] $d using ($1 + 0.06 * (k - "
      .. string.format("%.1f", (#cp.activations - 1) / 2) .. ")):3 + 3 * k:4 + 3 * k:5 + 3 * k "
      .. "with yerrorlines lw 2 pt 7 title word(names, k + 1)")
end

local function run(args)
  local o = cli.parse(parser(), args)
  local dir, out, figures, require_complete = o.dir, o.out, not o.no_figures, o.require_complete and true or false
  local log_counts = o.log_counts and true or false
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
  -- Ctrl-C, SIGTERM or SIGHUP while the outputs are staged: the staged
  -- files are removed and nothing is renamed into place (a signal's
  -- default action would leave the temporary files behind)
  local engine = lpact.engine
  local soft = engine.catch_interrupt(true)
  local function stop_if_signalled()
    if engine.interrupted() or engine.signal() then
      local sig = engine.signal() or 2
      lpact.fail(string.format("report: stopped by signal %d; nothing written", sig), 128 + sig)
    end
  end
  local okw, werr = pcall(function()
    stage_text(out .. "/report.md", md)
    stage_text(out .. "/report.csv", results.csv(records))
    stage_text(out .. "/report.tex", results.latex(records))
    stage_text(out .. "/runs.csv", results.runs_csv(records))
    stop_if_signalled()
    local shown = {}
    if figures then
      local used = {}
      for _, tb in ipairs(results.tables(records)) do
        if tb.kind == "matrix" then
          local stem = "fig-" .. slug(results.table_title(tb))
          while used[stem] do stem = stem .. "-2" end
          used[stem] = true
          accuracy_figure(gp, tb, out, stem)
          stop_if_signalled()
          shown[#shown + 1] = "figure: " .. out .. "/" .. stem .. ".png, .svg, .pdf\n"
          local cstem = "curves" .. stem:sub(4)
          while used[cstem] do cstem = cstem .. "-2" end
          local drew = curves_figure(gp, tb, out, cstem)
          stop_if_signalled()
          if drew then
            used[cstem] = true
            shown[#shown + 1] = "figure: " .. out .. "/" .. cstem .. ".png, .svg, .pdf\n"
          end
          local estem = "err" .. stem:sub(4)
          while used[estem] do estem = estem .. "-2" end
          drew = error_figure(gp, tb, out, estem, log_counts)
          stop_if_signalled()
          if drew then
            used[estem] = true
            shown[#shown + 1] = "figure: " .. out .. "/" .. estem .. ".png, .svg, .pdf\n"
          end
        end
      end
      for _, g in ipairs(results.lm_sites(records)) do
        local stem = "lm-" .. slug(tostring(g.dataset) .. " " .. tostring(g.model) .. (g.length and (" " .. g.length) or ""))
        while used[stem] do stem = stem .. "-2" end
        used[stem] = true
        lm_figure(gp, g, out, stem)
        stop_if_signalled()
        shown[#shown + 1] = "figure: " .. out .. "/" .. stem .. ".png, .svg, .pdf\n"
      end
      for _, cp in ipairs(results.comparisons(records)) do
        local stem = "cmp-" .. slug(string.format("%s %s %s %s %s vs %s after %s epochs", tostring(cp.dataset),
          tostring(cp.model), cp.rest, cp.key, cp.other, cp.base, tostring(cp.epochs)))
        while used[stem] do stem = stem .. "-2" end
        used[stem] = true
        comparison_figure(gp, cp, out, stem)
        stop_if_signalled()
        shown[#shown + 1] = "figure: " .. out .. "/" .. stem .. ".png, .svg, .pdf\n"
      end
    end
    stop_if_signalled()
    for _, p in ipairs(pending) do lpact.engine.rename(p[1], p[2]) end
    pending = {}
    lpact.sys.fsync_dir(out)
    io.write(md)
    for _, l in ipairs(shown) do io.write(l) end
  end)
  if not okw then
    for _, p in ipairs(pending) do os.remove(p[1]) end
    pending = {}
    local okf, ferr = pcall(stop_if_signalled)   -- gnuplot killed by the same Ctrl-C: say so, not that gnuplot failed
    engine.catch_interrupt(soft)
    if not okf then error(ferr, 0) end
    error(werr, 0)
  end
  engine.catch_interrupt(soft)
  if require_complete and (#status.missing > 0 or #status.failed > 0 or #status.interrupted > 0) then
    lpact.fail(string.format("report: the sweep is not complete: %d of %d configurations done (%d missing, %d failed, %d interrupted)",
      status.done, status.grid, #status.missing, #status.failed, #status.interrupted), 1)
  end
  return 0
end

-- The command (lpact.command calls it), and its parser for lpact submit,
-- which checks a report job's options before the array runs.
return setmetatable({ parser = parser }, { __call = function(_, args) return run(args) end })
