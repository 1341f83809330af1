-- lpact report's figures and LaTeX on a handmade folder, every number
-- worked out by hand from the records: report.tex (booktabs, mean ± SD,
-- best per column in bold); the accuracy figure's error bars, seed points
-- and its collapsed-cell panel (read from the gnuplot script it ran); the
-- error-histogram grid (a row's x range, labels on every panel, size, log
-- counts); the training curves; PDF files with their text in fonts.
local t = require "lpact.tap"
local json = require "lpact.json"
local B = os.getenv("LPACT_BUILD") or "build"
local exe = B .. "/lpact"

local dir = os.tmpname()
os.remove(dir)
local res, cap = dir .. "/res", dir .. "/cap"
os.execute("mkdir -p " .. res .. " " .. cap)
local spit = t.spit
local slurp = t.slurp

-- Two activations x fp32, fp4, fp2 x seeds 1 and 2, three epochs each.
-- Accuracies (%): relu 80/82, 78/76, 70/74; sigmoid 79/77, 79/77, 10/12.
-- Means ± SD (two seeds: SD = |a - b| / sqrt 2): relu 81.00 ± 1.41,
-- 77.00 ± 1.41, 72.00 ± 2.83; sigmoid 78.00 ± 1.41, 78.00 ± 1.41, 11.00 ±
-- 1.41. Best per column: relu (fp32), sigmoid (fp4), relu (fp2). Change
-- from fp32: relu -4.00, -9.00; sigmoid +0.00, -67.00.
local ACC = { relu = { fp32 = { 0.80, 0.82 }, fp4 = { 0.78, 0.76 }, fp2 = { 0.70, 0.74 } },
  sigmoid = { fp32 = { 0.79, 0.77 }, fp4 = { 0.79, 0.77 }, fp2 = { 0.10, 0.12 } } }
-- Error histograms (first layer; the lowest seed's is drawn): a row's
-- panels share the union of their edges: relu [-3, 1] (its fp2 cell also
-- has the format's own levels' histogram, from -3), sigmoid [-1, 0.25].
local HIST = { relu = { fp4 = { { -0.5, 0, 0.5 }, { 3, 5 } }, fp2 = { { -2, -1, 0, 1 }, { 1, 2, 3 } } },
  sigmoid = { fp4 = { { -0.25, 0, 0.25 }, { 4, 4 } }, fp2 = { { -1, 0 }, { 7 } } } }
-- Training loss per epoch: seed 1 {1.0, 0.8, 0.6}, seed 2 {1.2, 0.8, 0.4}:
-- the curve is their mean {1.1, 0.8, 0.5}.
local LOSS = { { 1.0, 0.8, 0.6 }, { 1.2, 0.8, 0.4 } }
for _, a in ipairs { "relu", "sigmoid" } do
  for _, f in ipairs { "fp32", "fp4", "fp2" } do
    for seed = 1, 2 do
      local acc = ACC[a][f][seed]
      local rec = { schema = "lpact-result/1", model = "mlp", dataset = "d", activation = a, format = f,
        modes = { levels = "learnable" }, seed = seed, epochs = 3, test_acc = acc,
        accuracy = { acc * 0.6, acc * 0.8, acc }, train_accuracy = { acc * 0.5, acc * 0.8, acc },
        loss = LOSS[seed], test_loss = { 1.1, 0.9, 0.7 } }
      if HIST[a][f] then
        rec.act_errors = { { layer = 2, rms = 0.1, hist = { edges = HIST[a][f][1], counts = HIST[a][f][2] } } }
      end
      if a == "relu" and f == "fp2" and seed == 1 then
        -- learnable levels: the format's own levels on the same inputs, and
        -- the level that moved furthest (+0 learned as -0.5)
        rec.act_errors[1].own = { rms = 0.05, hist = { edges = { -3, -1, 1 }, counts = { 2, 4 } } }
        rec.act_errors[1].drift = { code = 0, level = 0.0, learned = -0.5, by = -0.5 }
      end
      spit(string.format("%s/%s-%s-s%d.json", res, a, f, seed), json.encode(rec))
    end
  end
end

-- report.tex, worked out by hand
local want_tex = [[
\documentclass{article}
\usepackage[T1]{fontenc}
\usepackage{booktabs}
\begin{document}

\begin{table}[ht]
\centering
\caption{d, mlp, levels=learnable: final test accuracy (\%), mean $\pm$ standard deviation over 2 seeds; the best of each column in bold.}
\begin{tabular}{lrrr}
\toprule
activation & fp32 & fp4 & fp2 \\
\midrule
relu & \textbf{81.00} $\pm$ 1.41 & 77.00 $\pm$ 1.41 & \textbf{72.00} $\pm$ 2.83 \\
sigmoid & 78.00 $\pm$ 1.41 & \textbf{78.00} $\pm$ 1.41 & 11.00 $\pm$ 1.41 \\
\bottomrule
\end{tabular}
\end{table}

\begin{table}[ht]
\centering
\caption{d, mlp, levels=learnable: change in final test accuracy from fp32 (points; negative: the format loses accuracy), of the means over seeds.}
\begin{tabular}{lrr}
\toprule
activation & fp4 & fp2 \\
\midrule
relu & $-4.00$ & $-9.00$ \\
sigmoid & $+0.00$ & $-67.00$ \\
\bottomrule
\end{tabular}
\end{table}

\end{document}
]]
local out, code = t.run(exe .. " report " .. res .. " --no-figures")
t.is(code, 0, "report --no-figures exits 0")
t.is(slurp(res .. "/report.tex"), want_tex, "report.tex: booktabs, mean ± SD, best of each column in bold; the change from fp32")
t.is(lpact.results.tex_escape("fp8>fp4 a_b 5% #1 {x} $ & ~^\\"),
  "fp8\\textgreater{}fp4 a\\_b 5\\% \\#1 \\{x\\} \\$ \\& \\textasciitilde{}\\textasciicircum{}\\textbackslash{}",
  "LaTeX escapes its special characters")
local tex = slurp(res .. "/report.tex") or ""
local opened, closed = select(2, tex:gsub("{", "")), select(2, tex:gsub("}", ""))
t.is(opened, closed, "report.tex: braces balance")
if os.execute("command -v pdflatex >/dev/null 2>&1") then
  local rc = os.execute("cd " .. res .. " && pdflatex -interaction=nonstopmode -halt-on-error report.tex >/dev/null 2>&1")
  t.ok(rc and slurp(res .. "/report.pdf"), "report.tex compiles with pdflatex")
else
  t.skip(1, "pdflatex is not installed: report.tex's structure is checked instead")
end

if not os.execute("command -v gnuplot >/dev/null 2>&1") then
  t.skip(24, "gnuplot is not installed")
  os.execute("rm -rf " .. dir)
  t.done()
  return
end

-- A gnuplot that keeps a copy of each script it runs, then runs gnuplot.
local fake = dir .. "/gnuplot-keep"
spit(fake, "#!/bin/sh\ncp \"$1\" \"$(mktemp " .. cap .. "/gp.XXXXXX)\"\nexec gnuplot \"$1\"\n")
os.execute("chmod +x " .. fake)
local function script_of(stem)
  local p = io.popen("grep -l -F '" .. stem .. ".png' " .. cap .. "/gp.* 2>/dev/null")
  local name = p:read("l")
  p:close()
  return name and slurp(name) or ""
end
local function png_size(path)
  local s = slurp(path) or ""
  if #s < 24 then return 0, 0 end
  return string.unpack(">I4I4", s, 17)
end
local function ranges(script, what)
  local r = {}
  for a, b in script:gmatch("set " .. what .. " %[([-%d.e]+):([-%d.e]+)%]") do r[#r + 1] = { tonumber(a), tonumber(b) } end
  return r
end

local od = dir .. "/out"
out, code = t.run("LPACT_GNUPLOT=" .. fake .. " " .. exe .. " report " .. res .. " --out " .. od)
t.is(code, 0, "report with figures exits 0")

-- The accuracy figure: the sigmoid fp2 cell (11.00 < 81.00 / 2) collapsed,
-- drawn in a lower panel; the upper panel spans the others' bars and seed
-- points, 69.17 (72 - 2.83) to 82.41 (81 + 1.41), with room on both sides.
local fig = script_of("fig-d-mlp-levels-learnable")
local yr = ranges(fig, "yrange")
t.is(#yr, 6, "accuracy figure: two panels, drawn for PNG, SVG and PDF")
local top, low = yr[1] or { 0, 0 }, yr[2] or { 0, 0 }
t.ok(top[1] < 69.17 and top[1] > 60 and top[2] > 82.42 and top[2] < 90,
  string.format("the upper panel holds 69.17..82.41 off the frame, not the collapsed cell: [%g, %g]", top[1], top[2]))
t.ok(low[1] < 9.59 and low[2] > 12.41 and low[2] < 69,
  string.format("the lower panel holds the collapsed cell's 9.59..12.41 off the frame: [%g, %g]", low[1], low[2]))
t.like(fig, "set label 1 'sigmoid fp2: 11%.00' at 2%.0250, 11%.0000", "the collapsed point is labelled with its value")
t.like(fig, "with yerrorlines", "several seeds: error bars")
-- relu's block: format index (fp32 0, fp4 1, fp2 2) shifted left by 0.025,
-- mean, mean - SD, mean + SD; and every seed as a point
t.like(fig, "\n%$m1 << EOD\n%-0%.0250 81%.0000 79%.5858 82%.4142\n0%.9750 77%.0000 75%.5858 78%.4142\n1%.9750 72%.0000 69%.1716 74%.8284\nEOD",
  "relu: mean ± SD per format")
t.like(fig, "\n%$s2 << EOD\n0%.0250 79%.0000\n0%.0250 77%.0000\n1%.0250 79%.0000\n1%.0250 77%.0000\n2%.0250 10%.0000\n2%.0250 12%.0000\nEOD",
  "sigmoid: every seed's accuracy")
local svg = slurp(od .. "/fig-d-mlp-levels-learnable.svg") or ""
t.ok(svg:find("mean ± SD over 2 seeds", 1, true) and svg:find(">collapsed<", 1, true), "the SVG says what the bars are and names the lower panel")
local pw, ph = png_size(od .. "/fig-d-mlp-levels-learnable.png")
t.ok(pw == 900 and ph == 640, string.format("accuracy PNG 900 x 640 with its second panel (%d x %d)", pw, ph))
local pdf = slurp(od .. "/fig-d-mlp-levels-learnable.pdf") or ""
t.ok(pdf:sub(1, 5) == "%PDF-" and pdf:find("/FontFile", 1, true), "the PDF holds its text in an embedded font")

-- The error grid: 2 x 2 panels, each row on the union of its edges (2% margin)
local err = script_of("err-d-mlp-levels-learnable")
local xr = ranges(err, "xrange")
t.ok(#xr == 6 and math.abs(xr[1][1] + 3.08) < 1e-9 and math.abs(xr[1][2] - 1.08) < 1e-9
  and math.abs(xr[2][1] + 1.025) < 1e-9 and math.abs(xr[2][2] - 0.275) < 1e-9,
  "error grid: relu's row on [-3.08, 1.08], sigmoid's on [-1.025, 0.275]")
-- relu fp2: the learned levels' histogram filled ($h2), the format's own
-- levels' as a red outline ($h3) over it
t.like(err, "\n%$h3 << EOD\n%-2 2 2\n0 4 2\nEOD", "relu fp2: the own levels' bins")
t.like(err, "plot %$h2 using 1:2:3 with boxes lc rgb '#3b75c4' notitle, %$h3 using 1:2:3 with boxes fs empty lc rgb '#d1495b'",
  "drawn as an outline over the learned levels' histogram")
t.like(slurp(od .. "/err-d-mlp-levels-learnable.svg") or "", "red outline: the format's own levels on the same inputs",
  "the title says which is which")
t.like(slurp(od .. "/report.md") or "", "\n| relu | own 0%.05, learned 0%.1, %+0 → %-0%.5 |\n| sigmoid | %- |\n",
  "report.md: the learned levels apart from rounding for relu fp2")
local ew = png_size(od .. "/err-d-mlp-levels-learnable.png")
t.ok(ew >= 1200, "error grid PNG at least 1200 pixels wide (" .. ew .. ")")
local esvg = slurp(od .. "/err-d-mlp-levels-learnable.svg") or ""
t.is(select(2, esvg:gsub(">output %- f<", "")), 4, "every panel labels its x axis")
t.is(select(2, esvg:gsub(">count<", "")), 4, "and its y axis")
t.like(err, "\n%$h2 << EOD\n%-1%.5 1 1\n%-0%.5 2 1\n0%.5 3 1\nEOD", "relu fp2's bins: centre, count, width")
t.ok(not err:find("logscale y\n", 1, true) or err:find("unset logscale y", 1, true), "linear counts by default")

-- Training curves: a panel per format and row (loss, accuracy)
local cur = script_of("curves-d-mlp-levels-learnable")
t.like(cur, "\n%$c1 << EOD\n1 1%.1\n2 0%.8\n3 0%.5\nEOD", "relu fp32's training loss: the mean of the seeds per epoch")
t.like(cur, "set multiplot layout 2,3", "two rows (loss, accuracy) of three formats")
local csvg = slurp(od .. "/curves-d-mlp-levels-learnable.svg") or ""
t.ok(csvg:find(">epoch<", 1, true) and csvg:find("solid: training, dashed: test", 1, true), "curves: epoch axis and the line styles said")

-- --log-counts: the error grid's counts on a log scale
os.execute("rm -f " .. cap .. "/gp.*")
out, code = t.run("LPACT_GNUPLOT=" .. fake .. " " .. exe .. " report " .. res .. " --out " .. od .. " --log-counts")
t.is(code, 0, "--log-counts exits 0")
local lerr = script_of("err-d-mlp-levels-learnable")
t.ok(lerr:find("set logscale y\nset yrange [0.8:*]", 1, true) ~= nil, "--log-counts: a log count axis from 0.8")
t.like(slurp(od .. "/err-d-mlp-levels-learnable.svg") or "", "counts on a log scale", "and its title says so")

-- One seed, nothing collapsed: one panel, no error bars
local one = dir .. "/one"
os.execute("mkdir -p " .. one)
for i, f in ipairs { "fp32", "fp4" } do
  spit(one .. "/r" .. i .. ".json", json.encode { schema = "lpact-result/1", model = "mlp", dataset = "d",
    activation = "relu", format = f, seed = 1, epochs = 1, test_acc = 0.9 - 0.1 * i })
end
os.execute("rm -f " .. cap .. "/gp.*")
out, code = t.run("LPACT_GNUPLOT=" .. fake .. " " .. exe .. " report " .. one .. " --out " .. one)
local f1 = script_of("fig-d-mlp")
local r1 = ranges(f1, "yrange")
t.ok(code == 0 and #r1 == 3 and r1[1][1] < 70 and r1[1][2] > 80 and not f1:find("yerrorlines", 1, true)
  and not f1:find("collapsed", 1, true), "one seed, no collapse: one panel around 70..80, no error bars")

os.execute("rm -rf " .. dir)
t.done()
