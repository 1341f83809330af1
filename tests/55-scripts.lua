-- scripts/demo.lua (the main job, `make demo`) and scripts/paper.lua (the
-- study's grid) from the command line: the fallback to the synthetic set
-- when Fashion-MNIST is missing, the tables and the records they write,
-- the same numbers on a second run, resuming a sweep, and bad options
-- refused with one line before any training.
local t = require "lpact.tap"
local B = os.getenv("LPACT_BUILD") or "build"

local function run(script, args, env)
  return t.run((env or "") .. " " .. B .. "/lpact scripts/" .. script .. " " .. args)
end

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  return d
end

local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

local function lines(s)
  local out = {}
  for l in s:gmatch("[^\n]+") do out[#out + 1] = l end
  return out
end

-- The records of a results folder, by activation .. "/" .. format (.. "/" .. levels).
local function records(dir)
  local p = io.popen("ls " .. dir)
  local names = p:read("a")
  p:close()
  local out, n = {}, 0
  for name in names:gmatch("[^\n]+") do
    if name:match("%.json$") and not name:match("^manifest") then
      local f = assert(io.open(dir .. "/" .. name))
      local r = lpact.json.decode(f:read("a"))
      f:close()
      out[r.activation .. "/" .. r.format .. "/" .. (r.modes.levels or "-")] = r
      n = n + 1
    end
  end
  return out, n
end

local NODATA = "LPACT_DATA=/nonexistent"

-- demo.lua without the data set -------------------------------------------

local out_dir = tmpdir()
local demo_args = "--limit 300 --epochs 1 --acts relu,sigmoid --formats fp32,fp2 --out " .. out_dir
local out, code = run("demo.lua", demo_args, NODATA)
t.is(code, 0, "demo without the data set exits 0")
t.like(out, "Fashion%-MNIST was not found %(", "it says the data set is missing")
t.like(out, "apt%-get install dataset%-fashion%-mnist", "and how to get it")
t.like(out, "built%-in SYNTHETIC stand%-in", "and that it runs on the synthetic set instead")
t.like(out, "Test accuracy %(%%%) after 1 epoch on builtin %(SYNTHETIC stand%-in%):", "the table says which data it is")

-- progress while each configuration trains: not on a terminal, a plain
-- line at each epoch's end with the epoch's mean loss, before the result
t.like(out, "\n  relu     fp32   epoch 1/1  loss %d%.%d%d%d%d\n  relu     fp32   test ", "not a terminal: a plain line per epoch")
t.ok(not out:find("\r", 1, true), "and no carriage returns")
-- on a terminal (script(1) gives the command one): a live line redrawn in
-- place with the batch, cleared before the result line
if os.execute("command -v script >/dev/null 2>&1") then
  local tty_dir = tmpdir()
  local p = io.popen("script -qec '" .. NODATA .. " " .. B .. "/lpact scripts/demo.lua --limit 300 --epochs 1 --acts tanh " ..
    "--formats fp32,fp2 --out " .. tty_dir .. "' /dev/null 2>&1")
  local tty = p:read("a")
  p:close()
  t.like(tty, "\r  tanh     fp32   epoch 1/1  batch %d+/3  loss %d%.%d%d%d%d\27%[K", "a terminal: a live line with epoch, batch and loss")
  t.like(tty, "\r\27%[K  tanh     fp2    test ", "the live line is cleared before the result")
  -- on 300 synthetic images tanh FP2 collapses: the demo's note on why
  -- tanh survives FP2 (learnable levels) is printed only when it did
  local fp32, fp2 = tty:match("\n| tanh | ([%d.]+) | ([%d.]+) |")
  t.ok(fp32 and tonumber(fp2) < tonumber(fp32) / 2 and not tty:find("tanh kept", 1, true),
    "tanh FP2 collapsed here (" .. tostring(fp2) .. "): no note claiming it survived")
else
  t.skip(3, "script(1) is not installed: no terminal to test the live line on")
end

-- the accuracy table and the change table agree with each other
local acc, drop = {}, {}
for _, l in ipairs(lines(out)) do
  local a, x, y = l:match("^| (%a+) | ([%d.]+) | ([%d.]+) |$")
  if a then acc[a] = { tonumber(x), tonumber(y) } end
  local b, d = l:match("^| (%a+) | ([+-][%d.]+) |$")
  if b then drop[b] = tonumber(d) end
end
t.ok(acc.relu and acc.sigmoid, "one accuracy row per activation")
t.like(out, "\nChange from FP32 %(points; negative: the format loses accuracy%):\n", "the second table is the change from FP32, its sign said")
t.ok(not out:find("Drop from", 1, true), "no table is called a drop")
for _, a in ipairs { "relu", "sigmoid" } do
  t.ok(acc[a] and drop[a] and math.abs(drop[a] - (acc[a][2] - acc[a][1])) <= 0.011,
    string.format("%s: the change from FP32 is FP2 minus FP32 (%s)", a, tostring(drop[a])))
end

-- one record per training, holding the printed accuracy
local recs, n = records(out_dir)
t.is(n, 4, "four records, one per configuration")
t.ok(exists(out_dir .. "/manifest.json"), "and the run's manifest")
local r = recs["relu/fp2/learnable"]
t.ok(r and r.dataset == "builtin" and r.epochs == 1 and r.seed == 1 and r.modes.mode == "emulate",
  "the relu FP2 record names data, epochs, seed and mode")
t.ok(r and acc.relu and string.format("%.2f", 100 * r.test_acc) == string.format("%.2f", acc.relu[2]),
  "its test accuracy is the one in the table")

-- the same command gives the same numbers
local out2 = run("demo.lua", demo_args .. "2", NODATA)
local function table_of(s) return (s:match("(Test accuracy.-)\n%d+ trainings") or "") end
t.ok(table_of(out) ~= "" and table_of(out) == table_of(out2), "a second run prints the same tables")

-- --ste: the same command with another STE rule, named in the header
local sdemo = tmpdir()
local o7, c7 = run("demo.lua", "--limit 300 --epochs 1 --acts relu --formats fp32,fp3 --ste clipped --out " .. sdemo, NODATA)
t.is(c7, 0, "demo --ste clipped exits 0")
t.like(o7, "levels learnable, emulate, STE clipped\n", "the header names the STE")
local srec = records(sdemo)
t.ok(srec["relu/fp3/learnable"] and srec["relu/fp3/learnable"].modes.ste == "clipped", "and the record has it")
os.execute("rm -rf '" .. sdemo .. "'")

-- demo.lua with the real data (installed by make deps) ---------------------

if exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz") then
  local o3, c3 = run("demo.lua", "--limit 600 --epochs 1 --acts relu --formats fp32 --out " .. tmpdir())
  t.is(c3, 0, "demo on the real Fashion-MNIST exits 0")
  t.like(o3, "Fashion%-MNIST from /usr/share/datasets/fashion%-mnist: 600 training and 600 test images",
    "it reads the Debian package's files")
  t.like(o3, "after 1 epoch on fashion%-mnist:\n", "and its table is not marked synthetic")
else
  t.skip(3, "dataset-fashion-mnist is not installed")
end

-- demo.lua: bad options -----------------------------------------------------

for _, case in ipairs {
  { "--epochs 0", "%-%-epochs: a whole number >= 1 expected, got '0'" },
  { "--epochs two", "%-%-epochs: a whole number >= 1 expected" },
  { "--limit -3", "%-%-limit: a whole number >= 1 expected" },
  { "--levels maybe", "%-%-levels: expected fixed, learnable, got 'maybe'" },
  { "--acts swish", "unknown activation 'swish'" },
  { "--formats fp32,fp9", "unknown format 'fp9'" },
  { "--colour red", "unknown option '%-%-colour'" },
  { "--ste magic", "%-%-ste: expected clipped, fprime, identity, staircase, got 'magic'" },
  { "--acts", "option '%-%-act' requires an argument" },
  { "--act=relu --format=fp32,fp9", "unknown format 'fp9'" },
  { "--act=relu --epochs=-1", "%-%-epochs: a whole number >= 1 expected, got '%-1'" },
  { "--epoch 1", "unknown option '%-%-epoch' %(did you mean '%-%-epochs'%?%)" },
} do
  local dir = tmpdir()
  local o4, c4 = run("demo.lua", "--limit 300 --epochs 1 --out " .. dir .. " " .. case[1], NODATA)
  t.is(c4, 2, "demo " .. case[1] .. ": exit status 2")
  t.ok(#lines(o4) == 1 and o4:match("^lpact: ") and o4:match(case[2]), "demo " .. case[1] .. ": one line: " .. o4:gsub("\n$", ""))
  t.ok(not exists(dir), "demo " .. case[1] .. ": no results folder is written")
end

-- --help: generated from the options (lpact.cli) on stdout, exit 0 ---------

for _, script in ipairs { "demo.lua", "paper.lua", "bench/qact_overhead.lua", "bench/train_vs_torch.lua" } do
  for _, flag in ipairs { "--help", "--epochs 1 -h" } do
    local dir = tmpdir()
    local oh, ch = run(script, flag .. " --out " .. dir, NODATA)
    t.is(ch, 0, script .. " " .. flag .. ": exit status 0")
    t.like(oh, "^Usage: lpact scripts/" .. script:gsub("%p", "%%%0") .. " %[%-h%]", script .. " " .. flag .. ": starts with the usage")
    t.ok(not ("\n" .. oh):match("\n%-%- ") and not oh:match("\n%-%-\n"), script .. " " .. flag .. ": without comment marks")
    t.ok(not exists(dir), script .. " " .. flag .. ": nothing is written")
  end
end
t.like(run("paper.lua", "--help"), "\n   %-%-act LIST +activations %(default: relu,leaky_relu,gelu,silu,sigmoid,tanh%)\n",
  "paper --help: each option with its default")
t.like(run("demo.lua", "--help"), "\n   %-%-ste RULE +the straight%-through rule %(default: fprime%)\n", "demo --help explains the options")

-- paper.lua ------------------------------------------------------------------

out, code = run("paper.lua", "--acts relu,gelu --formats fp32,fp4 --levels fixed,learnable --seeds 1,2 --models mlp --dry")
t.is(code, 0, "paper --dry exits 0")
-- FP32 has no levels: per activation and seed one FP32 run and two FP4 runs
t.like(out, "^12 configurations, 5 epochs each", "2 activations x 2 seeds x (1 FP32 + 2 FP4 level rules) = 12")
local listed = 0
for l in out:gmatch("\n  mlp_[%w_.-]+") do listed = listed + 1 end
t.is(listed, 12, "--dry lists each configuration")

local pdir = tmpdir()
local pargs = "--acts relu --formats fp32,fp2 --levels fixed,learnable --seeds 1 --models mlp --epochs 1 --limit 300 --out " .. pdir
out, code = run("paper.lua", pargs, NODATA)
t.is(code, 0, "a small paper sweep on the synthetic set exits 0")
t.like(out, "SYNTHETIC", "it says the data are synthetic")
recs, n = records(pdir)
t.is(n, 3, "three records: FP32, FP2 fixed, FP2 learnable")
local rows = {}
for lv, x, y in out:gmatch("\n| mlp | relu | (%a+) | ([%d.]+) | ([%d.]+) |") do rows[lv] = { x, y } end
t.ok(rows.fixed and rows.learnable and rows.fixed[1] == rows.learnable[1], "both level rows show the one FP32 baseline")
t.ok(rows.learnable and recs["relu/fp2/learnable"]
  and string.format("%.2f", 100 * recs["relu/fp2/learnable"].test_acc) == rows.learnable[2],
  "the table's FP2 learnable cell is its record's accuracy")
t.ok(recs["relu/fp2/fixed"] and recs["relu/fp2/fixed"].modes.levels == "fixed", "the fixed run is recorded as fixed")
local dl = recs["relu/fp2/learnable"] and recs["relu/fp2/fixed"]
  and 100 * (recs["relu/fp2/learnable"].test_acc - recs["relu/fp2/fixed"].test_acc)
local cmp_cell = out:match("### builtin, mlp: levels learnable against fixed\n.-\n| relu | ([^|]-) |")
t.ok(dl and cmp_cell and cmp_cell == string.format("%+.2f (%d/1)", dl, dl > 0 and 1 or 0):gsub("^%-0%.00", "+0.00"),
  "paper prints the paired comparison: learnable minus fixed, from the records (" .. tostring(cmp_cell) .. ")")

-- an interrupted or repeated sweep skips what is done
local again = run("paper.lua", pargs, NODATA)
local skipped = 0
for _ in again:gmatch(": done before\n") do skipped = skipped + 1 end
t.is(skipped, 3, "a second run finds all three records and trains nothing")
t.ok(again:match("(| model.*)$") == out:match("(| model.*)$"), "and prints the same table")
local function manifest(path)
  local f = io.open(path)
  if not f then return nil end
  local m = lpact.json.decode(f:read("a"))
  f:close()
  return m
end
local man = manifest(pdir .. "/manifest.json")
local earlier = 0
for _, e in ipairs(man and man.results or {}) do
  if e.earlier == true and exists(pdir .. "/" .. tostring(e.file)) then earlier = earlier + 1 end
end
t.is(earlier, 3, "the resumed run's manifest still lists all three results, marked earlier")

-- --shard K/N: N jobs share the grid, every N-th configuration each
local grid = "--acts relu,gelu --formats fp32,fp4 --levels fixed,learnable --seeds 1,2 --models mlp --dry"
local function listed_names(s)
  local names = {}
  for name in s:gmatch("\n  (mlp_[%w_.-]+)") do names[#names + 1] = name end
  return names
end
local all = listed_names(run("paper.lua", grid))
local s1, s1c = run("paper.lua", grid .. " --shard 1/2")
local s2 = run("paper.lua", grid .. " --shard 2/2")
t.is(s1c, 0, "paper --shard 1/2 --dry exits 0")
t.like(s1, "^shard 1/2: 6 of the grid's 12 configurations, 5 epochs each", "it says which share of the grid it runs")
local n1, n2 = listed_names(s1), listed_names(s2)
local union, overlap = {}, 0
for _, nm in ipairs(n1) do union[nm] = true end
for _, nm in ipairs(n2) do if union[nm] then overlap = overlap + 1 end union[nm] = true end
local covered = 0
for _, nm in ipairs(all) do if union[nm] then covered = covered + 1 end end
t.ok(#n1 == 6 and #n2 == 6 and overlap == 0 and covered == 12 and #all == 12,
  "shards 1/2 and 2/2 split the 12 configurations into two disjoint halves")
t.is(n1[2], all[3], "shard 1/2 takes configurations 1, 3, 5, ...")
t.like(run("paper.lua", grid .. " --shard 3/3"), "^shard 3/3: 4 of the grid's 12", "shard 3/3 takes 4 of 12")

local shdir = tmpdir()
local sh = "--acts relu --formats fp32,fp2 --levels fixed,learnable --seeds 1 --models mlp --epochs 1 --limit 300 --out " .. shdir
local _, sc1 = run("paper.lua", sh .. " --shard 1/2", NODATA)
local _, sc2 = run("paper.lua", sh .. " --shard 2/2", NODATA)
t.ok(sc1 == 0 and sc2 == 0, "two shards of a sweep into one folder exit 0")
local shrecs, shn = records(shdir)
t.is(shn, 3, "together they write the sweep's three records")
t.ok(shrecs["relu/fp2/learnable"] and recs["relu/fp2/learnable"]
  and shrecs["relu/fp2/learnable"].test_acc == recs["relu/fp2/learnable"].test_acc,
  "a sharded run gives the same accuracy as the unsharded one")
local m1, m2 = manifest(shdir .. "/manifest-1-of-2.json"), manifest(shdir .. "/manifest-2-of-2.json")
t.ok(m1 and m2 and #m1.results == 2 and #m2.results == 1 and m1.status == "complete" and m2.status == "complete",
  "each shard keeps its own manifest (2 and 1 results)")
t.ok(not exists(shdir .. "/manifest.json"), "and neither writes the unsharded manifest")
local rep, rc = t.run(B .. "/lpact report " .. shdir .. " --no-figures")
t.ok(rc == 0 and rep:match("| relu |") and not rep:match("Other runs"), "lpact report reads the shards' records as one sweep")
os.execute("rm -rf '" .. shdir .. "'")

-- the STE as a grid dimension: one FP32 baseline, one row per level rule and STE
out = run("paper.lua", "--acts relu --formats fp32,fp4 --levels fixed,learnable --ste fprime,clipped --seeds 1 --models mlp --dry")
t.like(out, "^5 configurations", "1 FP32 + 2 level rules x 2 STEs = 5 configurations")
local sdir = tmpdir()
out, code = run("paper.lua", "--acts relu --formats fp32,fp2 --levels learnable --ste fprime,clipped --seeds 1 --models mlp "
  .. "--epochs 1 --limit 300 --out " .. sdir, NODATA)
t.is(code, 0, "a sweep over two STEs exits 0")
recs, n = records(sdir)
t.is(n, 3, "three records: FP32 and FP2 with each STE")
t.like(out, "| model | activation | levels, STE | FP32 | FP2 |", "the table's rows name level rule and STE")
local b1 = out:match("\n| mlp | relu | learnable, fprime | ([%d.]+) |")
local b2 = out:match("\n| mlp | relu | learnable, clipped | ([%d.]+) |")
t.ok(b1 and b1 == b2 and recs["relu/fp32/-"] and string.format("%.2f", 100 * recs["relu/fp32/-"].test_acc) == b1,
  "both rows show the one FP32 baseline")
t.ok(not out:match("| mlp | relu | fixed"), "no row for a level rule that was not swept")
os.execute("rm -rf '" .. sdir .. "'")

for _, case in ipairs {
  { "--epochs 0", "%-%-epochs: a whole number >= 1 expected, got '0'" },
  { "--seeds 1,2.5", "%-%-seed: a whole number >= 0 expected, got '2.5'" },
  { "--lr -1", "%-%-lr: a number > 0 expected, got '%-1'" },
  { "--models lenet", "%-%-model: expected mlp, cnn_small, got 'lenet'" },
  { "--levels fixed,maybe", "%-%-levels: expected fixed, learnable, got 'maybe'" },
  { "--formats fp32,fp4,fp9", "unknown format 'fp9'" },
  { "--ste magic", "%-%-ste: expected clipped, fprime, identity, staircase, got 'magic'" },
  { "--scale foo", "option 'scale': unknown rule 'foo'" },
  { "--level_init zzz", "%-%-level%-init: expected format, centroid, got 'zzz'" },
  { "--shuffle yes", "unknown option '%-%-shuffle'" },
  { "--modle mlp", "unknown option '%-%-modle' %(did you mean '%-%-mode'%?%)" },
  { "--shard 3/2", "%-%-shard must be K/N with whole numbers 1 <= K <= N, got '3/2'" },
  { "--shard 0/2", "%-%-shard must be K/N" },
  { "--shard half", "%-%-shard must be K/N" },
  { "--grad_fmt fp9", "option 'grad_fmt': fp9: unknown format 'fp9'" },
  { "--grad_scale amax", "%-%-grad%-scale needs %-%-grad%-fmt" },
  { "--grad_fmt e5m2 --grad_scale max", "%-%-grad%-scale: expected none, amax, got 'max'" },
} do
  local dir = tmpdir()
  local o5, c5 = run("paper.lua", "--acts relu --formats fp32,fp4 --seeds 1 --models mlp --epochs 1 --limit 300 --out "
    .. dir .. " " .. case[1], NODATA)
  t.is(c5, 2, "paper " .. case[1] .. ": exit status 2")
  t.ok(#lines(o5) == 1 and o5:match("^lpact: ") and o5:match(case[2]), "paper " .. case[1] .. ": one line, before any training: "
    .. o5:gsub("\n$", ""))
  t.ok(not exists(dir), "paper " .. case[1] .. ": no results folder is written")
end

-- the benchmark script refuses bad counts instead of timing nothing
for _, case in ipairs {
  { "x", "batches: a whole number >= 1 expected, got 'x'" },
  { "10 0", "rounds: a whole number >= 1 expected, got '0'" },
  { "10 2 gpu", "model: expected mlp, cnn, both, got 'gpu'" },
  { "10 2 mlp fp9", "unknown format 'fp9'" },
} do
  local o6, c6 = run("bench/qact_overhead.lua", case[1], NODATA)
  t.is(c6, 2, "qact_overhead " .. case[1] .. ": exit status 2")
  t.ok(#lines(o6) == 1 and o6:match(case[2]), "qact_overhead " .. case[1] .. ": one line: " .. o6:gsub("\n$", ""))
end

-- an interrupted record (ID.interrupted.json) is trained again, even if it reached its last epoch
do
  local rdir = tmpdir()
  local rargs = "--acts relu --formats fp32 --seeds 1 --models mlp --epochs 1 --limit 300 --out " .. rdir
  run("paper.lua", rargs, NODATA)
  local p = io.popen("ls " .. rdir .. "/mlp-*.json")
  local file = p:read("l")
  p:close()
  local f = io.open(file)
  local rec = lpact.json.decode(f:read("a"))
  f:close()
  rec.interrupted = true
  f = io.open((file:gsub("%.json$", ".interrupted.json")), "w")
  f:write(lpact.json.encode(rec))
  f:close()
  os.remove(file)
  local o9 = run("paper.lua", rargs, NODATA)
  t.like(o9, "\nmlp%-relu%-fp32%-s1%-e1%-%x+: trained, test ", "a sweep retrains a configuration whose record is interrupted")
  t.ok(exists(file) and not exists((file:gsub("%.json$", ".interrupted.json"))),
    "the complete record replaces the interrupted one")
  os.execute("rm -rf '" .. rdir .. "'")
end

-- Ctrl-C during a sweep: the training stops after its batch, the sweep
-- stops there (status 130, one line saying how to resume), the manifest
-- says "interrupted", and the same command finishes the sweep.
for _, script in ipairs { "paper.lua", "demo.lua" } do
  local idir = tmpdir()
  local iargs = "--acts relu --formats fp32,fp2 --epochs 400 --limit 300 --out " .. idir
    .. (script == "paper.lua" and " --seeds 1 --models mlp" or "")
  local log = idir .. ".log"
  local sh = string.format([[
%s %s/lpact scripts/%s %s > %s 2>&1 & pid=$!
i=0; while ! grep -q '%s' %s 2>/dev/null && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done
sleep 0.5; kill -INT $pid; wait $pid; echo "exit=$?"; cat %s]], NODATA, B, script, iargs, log,
    script == "paper.lua" and "configurations" or "^mlp", log, log)
  local p = io.popen(sh)
  local o8 = p:read("a")
  p:close()
  t.like(o8, "^exit=130\n", script .. ": Ctrl-C ends the sweep with status 130")
  local what = script == "paper.lua" and "sweep: stopped by signal 2 in mlp%-relu%-fp32%-s1%-e400%-%x+; the same command resumes"
    or "demo.lua: interrupted during relu fp32; the records so far are in "
  t.like(o8, "\n" .. what, script .. ": one line says where it stopped")
  t.ok(not o8:match("Test accuracy") and not o8:match("| model |"), script .. ": no table of half-trained numbers")
  local mf = io.open(idir .. "/manifest.json")
  local m = mf and lpact.json.decode(mf:read("a"))
  if mf then mf:close() end
  t.ok(m and m.status == "interrupted", script .. ": the manifest says interrupted")
  local _, nrec = records(idir)
  t.is(nrec, 1, script .. ": the interrupted training's record is there (marked partial)")
  os.execute("rm -rf '" .. idir .. "' '" .. log .. "'")
end

os.execute("rm -rf '" .. out_dir .. "' '" .. out_dir .. "2' '" .. pdir .. "'")
t.done()
