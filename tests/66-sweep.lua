-- Sweeps you can trust (lpact.sweep through scripts/paper.lua, on the
-- built-in synthetic set with tiny settings): a changed setting trains
-- anew and the same command twice trains nothing; a stray JSON file is
-- named and changes nothing; SIGTERM ends with 143, an interrupted record
-- and a resume that matches an uninterrupted run bit for bit; kill -9 at
-- random moments, twenty times, then the same command: the same records,
-- no duplicate, no temporary file left; two workers and a third copy on
-- one folder train every configuration exactly once.
local t = require "lpact.tap"
local json = lpact.json
local B = os.getenv("LPACT_BUILD") or "build"
local LP = B .. "/lpact"

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  return d
end

local function names(dir)
  local out = {}
  for _, n in ipairs(lpact.io.listdir(dir) or {}) do out[#out + 1] = n end
  return out
end

local function count(s, pat)
  local n = 0
  for _ in s:gmatch(pat) do n = n + 1 end
  return n
end

local function read(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- The numbers of a record: everything but the timings, the host and the
-- time it was written (which differ between two runs of one configuration).
local VOLATILE = { seconds = true, seconds_per_epoch = true, created = true, peak_memory_kb = true, run = true,
  engine = true, file = true }
local function numbers(path)
  local r = json.decode(read(path))
  for k in pairs(VOLATILE) do r[k] = nil end
  return json.encode(r)
end

-- The complete records of a folder: id -> canonical numbers.
local function records(dir)
  local out, n = {}, 0
  for _, name in ipairs(names(dir)) do
    local id = name:match("^(.-%-%x+)%.json$")
    if id and not name:match("%.interrupted%.json$") and not name:match("%.failed%.json$") then
      out[id] = numbers(dir .. "/" .. name)
      n = n + 1
    end
  end
  return out, n
end

local function paper(args)
  return t.run(LP .. " scripts/paper.lua --data builtin --models mlp --acts relu " .. args)
end

-- 1. identity ---------------------------------------------------------------

do
  local sweep = lpact.sweep
  local base = { model = "mlp", lr = 1e-3, batch = 64, epochs = 1, seed = 1, data = { limit = 300, normalize = false },
    qact = { level_lr = 1 } }
  local id0 = sweep.cell({ "mlp", "relu" }, base).id
  t.like(id0, "^mlp%-relu%-%x%x%x%x%x%x%x%x%x%x%x%x$", "a cell's id is a readable prefix and 12 hex digits of its hash")
  t.is(sweep.cell({ "mlp", "relu" }, { seed = 1, epochs = 1, batch = 64, lr = 1e-3, model = "mlp",
    qact = { level_lr = 1 }, data = { normalize = false, limit = 300 } }).id, id0,
    "the id does not depend on the order the settings were given in")
  local seen = { [id0] = "base" }
  for _, change in ipairs {
    { "lr", function(c) c.lr = 2e-3 end }, { "batch", function(c) c.batch = 32 end },
    { "epochs", function(c) c.epochs = 2 end }, { "seed", function(c) c.seed = 2 end },
    { "limit", function(c) c.data.limit = 3000 end }, { "normalize", function(c) c.data.normalize = true end },
    { "level option", function(c) c.qact.level_lr = 0.1 end },
  } do
    local c = json.decode(json.encode(base))
    change[2](c)
    local id = sweep.cell({ "mlp", "relu" }, c).id
    t.ok(not seen[id], "changing " .. change[1] .. " changes the id")
    seen[id] = change[1]
  end
  local save = sweep.NUMERICS
  sweep.NUMERICS = save + 1
  t.ok(sweep.cell({ "mlp", "relu" }, base).id ~= id0, "bumping sweep.NUMERICS changes every id")
  sweep.NUMERICS = save
  t.is(lpact.sys.hash("abc"), "e71fa2190541574b", "sys.hash is 64-bit FNV-1a (its published value for 'abc')")
end

-- 2. the same command twice; every changed setting trains anew -------------------

local dir = tmpdir()
local base = "--formats fp2 --levels learnable --seeds 1 --epochs 1 --limit 200 --batch 64 --out " .. dir
local out, code = paper(base)
t.is(code, 0, "a one-configuration sweep exits 0")
t.is(count(out, ": trained, test "), 1, "it trains its one configuration")
out = paper(base)
t.ok(count(out, ": done before\n") == 1 and count(out, ": trained") == 0, "the same command again trains nothing")
for _, change in ipairs {
  { "--lr 0.002", "lr" }, { "--batch 32", "batch" }, { "--limit 300", "limit" }, { "--epochs 2", "epochs" },
  { "--seeds 2", "seed" }, { "--normalize", "normalisation" }, { "--level_lr 0.5", "a level option" },
} do
  local args = base:gsub("%-%-epochs 1", change[1]:match("^%-%-epochs") and change[1] or "--epochs 1")
    :gsub("%-%-seeds 1", change[1]:match("^%-%-seeds") and change[1] or "--seeds 1")
    :gsub("%-%-limit 200", change[1]:match("^%-%-limit") and change[1] or "--limit 200")
    :gsub("%-%-batch 64", change[1]:match("^%-%-batch") and change[1] or "--batch 64")
  if not change[1]:match("^%-%-epochs") and not change[1]:match("^%-%-seeds") and not change[1]:match("^%-%-limit")
      and not change[1]:match("^%-%-batch") then args = args .. " " .. change[1] end
  out = paper(args)
  t.ok(count(out, ": trained, test ") == 1 and count(out, "done before") == 0,
    "changing " .. change[2] .. " trains anew (" .. change[1] .. ")")
end
local _, nrec = records(dir)
t.is(nrec, 8, "the old records stay beside the new ones: 8 configurations, 8 records")

-- a record of another epoch count is never taken as done
out = paper(base:gsub("%-%-epochs 1", "--epochs 3"))
t.is(count(out, ": trained, test "), 1, "--epochs 3 after --epochs 1 and 2 trains (the 1-epoch record is not done)")

-- 3. stray files: named in a warning, nothing retrained --------------------------

do
  local f = io.open(dir .. "/notes.json", "w")
  f:write("{ this is not json")
  f:close()
  out, code = paper(base)
  t.is(code, 0, "a garbage notes.json in the folder: exit 0")
  t.like(out, "notes%.json is not named like a record", "it is named in a warning")
  t.ok(count(out, ": trained") == 0 and count(out, ": done before\n") == 1, "and nothing is retrained")
  os.remove(dir .. "/notes.json")
end
os.execute("rm -rf '" .. dir .. "'")

-- 4. SIGTERM mid-training: 143, interrupted record, bit-identical resume -----------

local long = "--formats fp2 --levels learnable --seeds 1 --epochs 6 --limit 2000 "
local ref = tmpdir()
out, code = paper(long .. "--out " .. ref)
t.is(code, 0, "an uninterrupted 6-epoch run")
local ref_recs = records(ref)
local sdir = tmpdir()
local sh = string.format([[
%s scripts/paper.lua --data builtin --models mlp --acts relu %s --out %s > %s.log 2>&1 & pid=$!
i=0; while ! ls %s/*.ckpt >/dev/null 2>&1 && [ $i -lt 1200 ]; do sleep 0.02; i=$((i+1)); done
kill -TERM $pid; wait $pid; echo "exit=$?"]], LP, long, sdir, sdir, sdir)
local p = io.popen(sh)
out = p:read("a")
p:close()
t.like(out, "exit=143", "SIGTERM during training: exit status 143")
local inames = table.concat(names(sdir), " ")
t.like(inames, "%.interrupted%.json", "the training's record is written as interrupted")
local man = json.decode(read(sdir .. "/manifest.json"))
t.ok(man.status == "interrupted" and man.signal == 15, "the manifest says interrupted, by signal 15")
local irec = json.decode(read(sdir .. "/" .. inames:match("(%S+%.interrupted%.json)")))
t.ok(irec.interrupted == true and irec.signal == 15 and irec.epochs < 6, "the record says interrupted after "
  .. tostring(irec.epochs) .. " of 6 epochs")
t.like(read(sdir .. ".log"), "stopped by signal 15", "one line says the signal stopped it")
out, code = paper(long .. "--out " .. sdir)
t.is(code, 0, "the same command resumes")
t.like(out, "resumed from .-%.ckpt after epoch %d", "from the last whole epoch's checkpoint")
local got, ng = records(sdir)
local id, want = next(ref_recs)
t.ok(ng == 1 and got[id] == want, "the resumed record equals the uninterrupted one bit for bit (all 6 epochs of history)")
t.ok(not table.concat(names(sdir), " "):match("%.ckpt") and not table.concat(names(sdir), " "):match("interrupted"),
  "the checkpoint and the interrupted record are gone")
os.execute("rm -rf '" .. sdir .. "' '" .. sdir .. ".log'")

-- 5. kill -9 at random moments, 20 times, then the same command -------------------

do
  local grid = "--formats fp32,fp2 --levels learnable --seeds 1 --epochs 3 --limit 1200 "
  local kref = tmpdir()
  paper(grid .. "--out " .. kref)
  local want_recs, nwant = records(kref)
  local kdir = tmpdir()
  math.randomseed(10)   -- a fixed seed: the same kill moments every time
  local kills = 0
  for _ = 1, 20 do
    local delay = 0.05 + math.random() * 0.45
    local q = io.popen(string.format([[
%s scripts/paper.lua --data builtin --models mlp --acts relu %s --out %s > /dev/null 2>&1 & pid=$!
sleep %.3f; kill -9 $pid 2>/dev/null && echo killed; wait $pid 2>/dev/null]], LP, grid, kdir, delay))
    if q:read("a"):match("killed") then kills = kills + 1 end
    q:close()
  end
  t.diag("kill -9 landed " .. kills .. " times of 20")
  out, code = paper(grid .. "--out " .. kdir)
  t.is(code, 0, "after 20 kill -9, the same command finishes the sweep")
  local got_recs, ngot = records(kdir)
  local same = ngot == nwant and nwant == 2
  for k, v in pairs(want_recs) do same = same and got_recs[k] == v end
  t.ok(same, "its records equal an uninterrupted sweep's, bit for bit (" .. ngot .. " of " .. nwant .. ")")
  local left = {}
  for _, n in ipairs(names(kdir)) do
    if n:match("%.tmp%-") or n:match("%.ckpt$") or n:match("%.claim") or n:match("interrupted") then left[#left + 1] = n end
  end
  t.is(table.concat(left, " "), "", "no temporary file, checkpoint or claim is left")
  if #left > 0 then t.diag("left: " .. table.concat(left, " ")) end
  os.execute("rm -rf '" .. kref .. "' '" .. kdir .. "'")
end

-- 6. two workers and a third copy on one folder -----------------------------------

do
  local wdir = tmpdir()
  local grid = "--formats fp32,fp4,fp2 --levels fixed,learnable --seeds 1,2 --epochs 1 --limit 600 --out " .. wdir
  local q = io.popen(string.format([[
%s scripts/paper.lua --data builtin --models mlp --acts relu %s --workers 2 > %s.a 2>&1 &
%s scripts/paper.lua --data builtin --models mlp --acts relu %s --worker third > %s.b 2>&1 &
wait; cat %s.a %s.b]], LP, grid, wdir, LP, grid, wdir, wdir, wdir))
  local all = q:read("a")
  q:close()
  local trained, dup = {}, 0
  for tid in all:gmatch("\n?([%w.-]+): trained, test ") do
    if trained[tid] then dup = dup + 1 end
    trained[tid] = true
  end
  local n = 0
  for _ in pairs(trained) do n = n + 1 end
  local _, nrecs = records(wdir)
  t.ok(n == 10 and dup == 0 and nrecs == 10, string.format(
    "two workers and a third copy: each of the 10 configurations trained exactly once (%d trained, %d twice, %d records)",
    n, dup, nrecs))
  local mans = 0
  for _, nm in ipairs(names(wdir)) do if nm:match("^manifest%-") then mans = mans + 1 end end
  t.is(mans, 3, "each worker keeps its own manifest")
  os.execute("rm -rf '" .. wdir .. "' '" .. wdir .. ".a' '" .. wdir .. ".b'")
end

-- 7. thread count is not part of the identity, and does not change the numbers -----

do
  local d1, d2 = tmpdir(), tmpdir()
  local args = "--formats fp4 --levels learnable --seeds 1 --epochs 1 --limit 300 "
  t.run("LPACT_THREADS=1 " .. LP .. " scripts/paper.lua --data builtin --models mlp --acts relu " .. args .. "--out " .. d1)
  t.run("LPACT_THREADS=2 " .. LP .. " scripts/paper.lua --data builtin --models mlp --acts relu " .. args .. "--out " .. d2)
  local r1, r2 = records(d1), records(d2)
  local k1, v1 = next(r1)
  t.ok(k1 and r2[k1] == v1, "1 and 2 threads: the same id and the same numbers bit for bit")
  os.execute("rm -rf '" .. d1 .. "' '" .. d2 .. "'")
end

-- 7b. the default thread count is the job's allocation, not the machine
do
  local q = LP .. " -e 'io.write(lpact.io.threads())'"
  t.is(t.run("env -u LPACT_THREADS SLURM_CPUS_PER_TASK=3 " .. q), "3", "SLURM_CPUS_PER_TASK=3: 3 threads")
  if os.execute("command -v taskset >/dev/null 2>&1") then
    t.is(t.run("env -u LPACT_THREADS -u SLURM_CPUS_PER_TASK taskset -c 0 " .. q), "1",
      "an affinity mask of one CPU (taskset -c 0): 1 thread")
  else
    t.skip(1, "taskset not found")
  end
  t.is(t.run("env -u SLURM_CPUS_PER_TASK LPACT_THREADS=2 taskset -c 0 " .. q), "2", "LPACT_THREADS still overrides")
end

-- 8b. scripts/train.lua: resuming a finished training changes nothing; a
-- partly resumed run writes every epoch's history
do
  local d = tmpdir()
  os.execute("mkdir -p " .. d)
  local tr = LP .. " scripts/train.lua --dataset builtin --limit 400 --quiet "
  t.run(tr .. "--epochs 3 --save " .. d .. "/a.ckpt --json " .. d .. "/a.json")
  local before = read(d .. "/a.json")
  local o1, c1 = t.run(tr .. "--epochs 3 --resume " .. d .. "/a.ckpt --json " .. d .. "/a.json")
  t.ok(c1 == 0 and o1:match("holds all 3 epochs of this training %(%-%-epochs 3%): nothing to train"),
    "train.lua: resuming a finished training says so and trains nothing")
  t.is(read(d .. "/a.json"), before, "and leaves its --json file as it was")
  t.run(tr .. "--epochs 1 --save " .. d .. "/b.ckpt")
  t.run(tr .. "--epochs 3 --resume " .. d .. "/b.ckpt --save " .. d .. "/b.ckpt --json " .. d .. "/b.json")
  local a, b = json.decode(before), json.decode(read(d .. "/b.json") or "{}")
  t.ok(b.epochs == 3 and json.encode(b.test_acc_per_epoch) == json.encode(a.test_acc_per_epoch),
    "a run resumed after epoch 1 writes all 3 epochs' accuracies, equal to the uninterrupted run's")
  os.execute("rm -rf '" .. d .. "'")
end

-- 8. lpact submit --dry writes the array and report scripts without submitting ------------

do
  local d = tmpdir()
  local o8, c8 = t.run(LP .. " submit --array 3 --cpus 2 --time 2:00:00 --partition gpu --account proj7 "
    .. "--sbatch --mem=2G --signal-lead 90 --dry -- scripts/paper.lua --models mlp --out " .. d)
  t.is(c8, 0, "lpact submit --dry exits 0")
  local a = read(d .. "/slurm/sweep.sbatch") or ""
  local r = read(d .. "/slurm/report.sbatch") or ""
  for _, line in ipairs { "--array=1-3", "--cpus-per-task=2", "--time=2:00:00", "--partition=gpu", "--account=proj7",
      "--mem=2G", "--signal=B:TERM@90" } do
    t.ok(a:find("\n#SBATCH " .. line .. "\n", 1, true) ~= nil, "the array script has #SBATCH " .. line)
  end
  t.ok(a:find("scripts/paper.lua --models mlp --out " .. d .. " --worker task${SLURM_ARRAY_TASK_ID}\n", 1, true) ~= nil,
    "each task runs the sweep command as a worker")
  t.ok(r:find(" report " .. d, 1, true) ~= nil and o8:find("--dependency=afterany:", 1, true) ~= nil,
    "the report script runs lpact report after the array (afterany)")
  local o9, c9 = t.run(LP .. " submit --dry -- scripts/paper.lua --models mlp")
  t.ok(c9 == 2 and o9:match("needs %-%-out DIR"), "a sweep command without --out is refused in one line")
  os.execute("rm -rf '" .. d .. "'")
end

t.done()
