-- lpact report on a handmade results folder: exact Markdown and CSV,
-- figures through gnuplot, and the command's errors.
local t = require "lpact.tap"
local B = os.getenv("LPACT_BUILD") or "build"
local exe = B .. "/lpact"

local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir .. "/res")
local res = dir .. "/res"
local spit = t.spit
local slurp = t.slurp
local run = t.run

-- Result files as an experiment writes them (only the fields the report reads).
local n = 0
local function result(fields)
  n = n + 1
  local parts = { '"schema": "lpact-result/1"' }
  for k, v in pairs(fields) do parts[#parts + 1] = string.format("%q: %s", k, v) end
  table.sort(parts)
  spit(string.format("%s/r%02d.json", res, n), "{" .. table.concat(parts, ", ") .. "}\n")
end
local modes = '{"mode": "emulate", "levels": "learnable"}'
local function mlp(act, fmt, seed, acc)
  result { model = '"mlp"', dataset = '"fashion-mnist"', activation = '"' .. act .. '"', format = '"' .. fmt .. '"',
    modes = modes, seed = seed, epochs = 2, test_acc = acc, seconds_per_epoch = "[1.5, 2.5]" }
end
mlp("sigmoid", "fp2", 1, "0.1")
mlp("relu", "fp32", 1, "0.88")
mlp("relu", "fp32", 2, "0.89")
mlp("relu", "fp4", 1, "0.87")
mlp("relu", "fp2", 1, "0.8")
mlp("sigmoid", "fp32", 1, "0.87")
local function vgg(act, fmt, acc)
  result { model = '"vgg_cifar"', dataset = '"cifar-10"', activation = '"' .. act .. '"', format = '"' .. fmt .. '"',
    seed = 3, epochs = 10, test_acc = acc }
end
vgg("relu", "fp6", "0.7")
vgg("gelu", "e4m3", "0.76")
vgg("relu", "e4m3", "0.75")
-- Records as lpact.qact.experiment writes them: no schema, flat mode
-- fields; the fp32 run is the baseline of both variants.
local function flat(fields)
  n = n + 1
  local parts = {}
  for k, v in pairs(fields) do parts[#parts + 1] = string.format("%q: %s", k, v) end
  table.sort(parts)
  spit(string.format("%s/r%02d.json", res, n), "{" .. table.concat(parts, ", ") .. "}\n")
end
flat { model = '"cnn_small"', dataset = '"fashion-mnist"', activation = '"relu"', format = '"fp32"', mode = '"fp32"',
  levels = '"fixed"', seed = 1, epochs = 2, test_acc = "0.9", loss = "0.25", peak_memory = "2097152" }
flat { model = '"cnn_small"', dataset = '"fashion-mnist"', activation = '"relu"', format = '"fp4"', mode = '"emulate"',
  levels = '"fixed"', seed = 1, epochs = 2, test_acc = "0.85" }
flat { model = '"cnn_small"', dataset = '"fashion-mnist"', activation = '"relu"', format = '"fp4"', mode = '"emulate"',
  levels = '"learnable"', seed = 1, epochs = 2, test_acc = "0.89" }
-- a second seed of both fp4 variants: the paired comparison sees +4 and -2
flat { model = '"cnn_small"', dataset = '"fashion-mnist"', activation = '"relu"', format = '"fp4"', mode = '"emulate"',
  levels = '"fixed"', seed = 2, epochs = 2, test_acc = "0.86" }
flat { model = '"cnn_small"', dataset = '"fashion-mnist"', activation = '"relu"', format = '"fp4"', mode = '"emulate"',
  levels = '"learnable"', seed = 2, epochs = 2, test_acc = "0.84" }
result { id = '"baseline"', model = '"mlp"', dataset = '"fashion-mnist"', seed = 1, epochs = 5, test_acc = "0.8812",
  seconds_per_epoch = "[3, 4]" }
spit(res .. "/manifest.json", '{"schema": "lpact-manifest/1", "results": []}\n')
spit(res .. "/notes.txt", "not a result\n")

local want_md = [[
# lpact results: res

## cifar-10, vgg_cifar

Final test accuracy (%).

| activation | e4m3 | fp6 |
|---|---:|---:|
| relu | 75.00 | 70.00 |
| gelu | 76.00 | - |

3 runs; epochs: 10; seeds: 3.

## fashion-mnist, cnn_small, levels=fixed mode=emulate

Final test accuracy (%), mean ± standard deviation over seeds; in brackets the change from fp32.

| activation | fp32 | fp4 |
|---|---:|---:|
| relu | 90.00 | 85.50 ± 0.71 (-4.50) |

3 runs; epochs: 2; seeds: 1, 2.

## fashion-mnist, cnn_small, levels=learnable mode=emulate

Final test accuracy (%), mean ± standard deviation over seeds; in brackets the change from fp32.

| activation | fp32 | fp4 |
|---|---:|---:|
| relu | 90.00 | 86.50 ± 3.54 (-3.50) |

3 runs; epochs: 2; seeds: 1, 2.

## fashion-mnist, mlp, levels=learnable mode=emulate

Final test accuracy (%), mean ± standard deviation over seeds; in brackets the change from fp32.

| activation | fp32 | fp4 | fp2 |
|---|---:|---:|---:|
| relu | 88.50 ± 0.71 | 87.00 (-1.50) | 80.00 (-8.50) |
| sigmoid | 87.00 | - | 10.00 (-77.00) |

6 runs; epochs: 2; seeds: 1, 2.

## fashion-mnist, cnn_small: levels learnable against fixed

Change in final test accuracy (points) from levels=fixed to levels=learnable after 2 epochs, paired by seed (mode=emulate): the mean, and in brackets on how many seeds learnable is higher.

| activation | fp4 |
|---|---:|
| relu | +1.00 (1/2) |

## Other runs

| run | model | dataset | seed | epochs | test acc (%) | s/epoch |
|---|---|---|---:|---:|---:|---:|
| baseline | mlp | fashion-mnist | 1 | 5 | 88.12 | 3.50 |
]]
local want_csv = [[
dataset,model,variant,activation,fp32,e4m3,fp6,fp4,fp2,change_e4m3,change_fp6,change_fp4,change_fp2
cifar-10,vgg_cifar,,relu,,75.00,70.00,,,,,,
cifar-10,vgg_cifar,,gelu,,76.00,,,,,,,
fashion-mnist,cnn_small,levels=fixed mode=emulate,relu,90.00,,,85.50,,,,-4.50,
fashion-mnist,cnn_small,levels=learnable mode=emulate,relu,90.00,,,86.50,,,,-3.50,
fashion-mnist,mlp,levels=learnable mode=emulate,relu,88.50,,,87.00,80.00,,,-1.50,-8.50
fashion-mnist,mlp,levels=learnable mode=emulate,sigmoid,87.00,,,,10.00,,,,-77.00
]]

local out, code = run(exe .. " report " .. res .. " --no-figures")
t.is(code, 0, "report exits 0")
t.is(out, want_md, "prints the Markdown")
t.is(slurp(res .. "/report.md"), want_md, "report.md: exact text")
t.is(slurp(res .. "/report.csv"), want_csv, "report.csv: exact text")
local runs = slurp(res .. "/runs.csv")
t.like(runs, "^id,model,dataset,activation,format,variant,seed,epochs,test_acc,final_loss,seconds_per_epoch,peak_memory_kb,act_rms\n",
  "runs.csv header")
t.like(runs, "\nbaseline,mlp,fashion%-mnist,,,,1,5,88%.12,,3%.50,,\n", "runs.csv: the baseline row")
local lines = 0
for _ in runs:gmatch("\n") do lines = lines + 1 end
t.is(lines, 16, "runs.csv: header + 15 results")
t.like(runs, "\nr10,cnn_small,fashion%-mnist,relu,fp32,levels=fixed mode=fp32,1,2,90%.00,0%.2500,,2048,\n",
  "runs.csv: a flat record (final loss, peak memory in bytes -> kB)")

-- The same tables through the library.
local recs = lpact.results.read_dir(res)
t.is(lpact.results.markdown(recs, { heading = "lpact results: res" }), want_md, "results.markdown gives the same text")
local cps = lpact.results.comparisons(recs)
t.ok(#cps == 1 and cps[1].key == "levels" and cps[1].base == "fixed" and cps[1].other == "learnable"
  and cps[1].cells.relu.fp4.n == 2 and cps[1].cells.relu.fp4.wins == 1
  and math.abs(cps[1].cells.relu.fp4.min + 2) < 1e-9 and math.abs(cps[1].cells.relu.fp4.max - 4) < 1e-9,
  "results.comparisons: one pair (levels), two seeds, one win, from -2 to +4")

-- Runs of one model for different numbers of epochs get a table each, with
-- their own fp32 baseline: 2-epoch and 5-epoch accuracies are not averaged.
local mixed = {}
for _, r in ipairs { { "fp32", 2, 0.85 }, { "fp4", 2, 0.80 }, { "fp32", 5, 0.88 }, { "fp4", 5, 0.86 },
                     { "fp4", 5, 0.84, "fixed" } } do
  mixed[#mixed + 1] = { schema = "lpact-result/1", model = "mlp", dataset = "d", activation = "relu", format = r[1],
    modes = { levels = r[4] or "learnable" }, seed = 1, epochs = r[2], test_acc = r[3] }
end
-- and a training stopped by Ctrl-C in its 2nd epoch: left out of the tables
mixed[#mixed + 1] = { schema = "lpact-result/1", model = "mlp", dataset = "d", activation = "relu", format = "fp4",
  modes = { levels = "learnable" }, seed = 2, epochs = 2, epochs_planned = 5, test_acc = 0.1, interrupted = true,
  id = "stopped-run" }
local tbs = lpact.results.tables(mixed)
local by = {}
for _, tb in ipairs(tbs) do by[tb.variant or tb.kind] = tb end
t.ok(by.interrupted and #by.interrupted.records == 1 and by.interrupted.records[1].seed == 2,
  "an interrupted run is listed apart")
table.remove(tbs)
t.ok(#tbs == 3 and by["levels=learnable epochs=2"] and by["levels=learnable epochs=5"] and by["levels=fixed epochs=5"],
  "mixed epochs: one table per epoch count (the variant names it)")
local c2, c5 = by["levels=learnable epochs=2"], by["levels=learnable epochs=5"]
t.ok(c2 and c5 and math.abs(c2.cells.relu.fp4.mean - 80) < 1e-9 and math.abs(c2.cells.relu.fp32.mean - 85) < 1e-9
  and math.abs(c5.cells.relu.fp4.mean - 86) < 1e-9 and math.abs(c5.cells.relu.fp32.mean - 88) < 1e-9,
  "each with the fp32 baseline of its own epoch count")
local mcp = lpact.results.comparisons(mixed)
t.ok(#mcp == 1 and mcp[1].epochs == 5 and math.abs(mcp[1].cells.relu.fp4.mean - 2) < 1e-9,
  "the comparison pairs runs of the same epoch count only (learnable - fixed at 5 epochs: +2)")
t.like(lpact.results.markdown(mixed), "\n## Interrupted runs\n\nStopped by Ctrl%-C before their last epoch; left out of the tables above.-\n| stopped%-run | mlp | d | 2 | 2 | 5 |",
  "the report lists it under Interrupted runs, with its epochs done and planned")

t.raises(function() return lpact.results.comparisons(5) end, "results.comparisons: a list of records expected, got number",
  "comparisons of a number: one line")
t.is(#lpact.results.comparisons({ 5, "x", { modes = 3 } }), 0, "things that are not records are skipped")

-- --out and figures.
local outdir = dir .. "/out/sub"
os.execute("mkdir -p " .. dir .. "/out")
out, code = run(exe .. " report " .. res .. " --out " .. outdir)
t.is(code, 0, "report with figures exits 0")
t.is(slurp(outdir .. "/report.md"), want_md, "--out: report.md written there")
local png = slurp(outdir .. "/fig-fashion-mnist-mlp-levels-learnable-mode-emulate.png")
t.ok(png and png:sub(1, 8) == "\x89PNG\r\n\26\n", "PNG figure for the fashion-mnist table")
local svg = slurp(outdir .. "/fig-cifar-10-vgg-cifar.svg")
t.ok(svg and svg:find("<svg", 1, true) and svg:find("gelu", 1, true), "SVG figure for the cifar-10 table, with its legend")
local left = io.popen("ls -A " .. outdir):read("a")
local cmp = slurp(outdir .. "/cmp-fashion-mnist-cnn-small-mode-emulate-levels-learnable-vs-fixed-after-2-epochs.svg")
t.ok(cmp and cmp:find("levels learnable - fixed", 1, true) and cmp:find(">relu<", 1, true) and cmp:find(">fp4<", 1, true),
  "SVG figure of the paired comparison: its title, the activation and the format")
local function three(stem) return stem .. ".pdf\n" .. stem .. ".png\n" .. stem .. ".svg\n" end
t.is(left, three("cmp-fashion-mnist-cnn-small-mode-emulate-levels-learnable-vs-fixed-after-2-epochs") ..
  three("fig-cifar-10-vgg-cifar") .. three("fig-fashion-mnist-cnn-small-levels-fixed-mode-emulate") ..
  three("fig-fashion-mnist-cnn-small-levels-learnable-mode-emulate") .. three("fig-fashion-mnist-mlp-levels-learnable-mode-emulate") ..
  "report.csv\nreport.md\nreport.tex\nruns.csv\n", "exactly these files (PNG, SVG and PDF of each figure), no temporaries")

-- Errors: one line each.
out, code = run("LPACT_GNUPLOT=/nonexistent/gnuplot " .. exe .. " report " .. res)
t.is(out, "lpact: report: gnuplot not found ('/nonexistent/gnuplot'): install the Debian package gnuplot-nox, or pass --no-figures\n",
  "gnuplot missing: one clear line")
t.is(code, 1, "gnuplot missing: exit 1")
out, code = run(exe .. " report")
t.is(out, "lpact: report: missing argument 'dir'; usage: lpact report [-h] [-o OUTDIR] [--no-figures] [--require-complete] [--log-counts] DIR\n",
  "no folder: one line with the usage")
t.is(code, 2, "usage error exits 2")
out, code = run(exe .. " report " .. dir .. "/nope")
t.is(out, "lpact: report: no such folder: " .. dir .. "/nope\n", "missing folder named")
t.is(code, 2, "exit 2")
out, code = run(exe .. " report " .. res .. " --bogus")
t.like(out, "^lpact: report: unknown option '%-%-bogus'", "unknown option")
os.execute("mkdir -p " .. dir .. "/empty")
out, code = run(exe .. " report " .. dir .. "/empty")
t.is(out, "lpact: report: no result files in " .. dir .. "/empty (JSON objects with schema lpact-result/1)\n", "empty folder")
t.is(code, 1, "exit 1")
spit(res .. "/zz.json", '{"schema": "lpact-result/1", "test_acc": 0.5,,}')
out, code = run(exe .. " report " .. res .. " --no-figures")
t.like(out, "^lpact report: rejected " .. res:gsub("%p", "%%%0") .. "/zz%.json: json%.decode: object key expected at line 1 column 46\n",
  "a broken file is named on stderr, with the parser's reason")
t.like(out, "\n## Rejected files\n\nLeft out of every table:\n\n%- `zz%.json`: json%.decode: object key expected", "and in the report")
t.is(code, 0, "the other records still make the report (exit 0)")

os.execute("rm -rf " .. dir)
t.done()
