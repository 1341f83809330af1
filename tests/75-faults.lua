-- Faults from outside: a gnuplot that exits 0 after a failed write, a full
-- file system (a tiny tmpfs, mounted when root), and kill -9 in the middle
-- of checkpoint and results writes. Every case: one clear error line
-- naming the file, a non-zero exit, the old file intact, never half a file.
local t = require "lpact.tap"
local B = os.getenv("LPACT_BUILD") or "build"
local exe = B .. "/lpact"

local dir = t.tmpdir()
local spit = t.spit
local slurp = t.slurp
local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"rc=$?\"")
  local out = p:read("a")
  p:close()
  local body, rc = out:match("^(.*)rc=(%d+)\n$")
  return body, tonumber(rc)
end
local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local function listdir(d)
  local out, p = {}, io.popen("ls -A " .. q(d))
  for l in p:lines() do out[#out + 1] = l end
  p:close()
  table.sort(out)
  return table.concat(out, " ")
end

-- a results folder the report can read
local function results_dir(d)
  os.execute("mkdir -p " .. q(d))
  for i, acc in ipairs { "0.8", "0.6" } do
    spit(string.format("%s/r%d.json", d, i), string.format('{"schema": "lpact-result/1", "model": "mlp", ' ..
      '"dataset": "blobs", "activation": "relu", "format": "%s", "seed": 1, "epochs": 1, "epochs_planned": 1, ' ..
      '"test_acc": %s, "accuracy": [%s]}\n', i == 1 and "fp32" or "fp4", acc, acc))
  end
end

-- 1. A gnuplot that exits 0 but writes a cut-short PNG, an empty SVG, or
-- complains on stderr (what a full disk looks like to us).
local fake = dir .. "/fake-gnuplot"
spit(fake, [[#!/bin/sh
# every output the script names (quoted either way): a cut-short PNG header
# or nothing at all; or the real drawing plus an error message
sed -n "s/^set output [\"']\\(.*\\)[\"']\$/\\1/p" "$1" | while IFS= read -r out; do
  case "$FAKE_MODE" in
    cut) printf '\211PNG\r\n\032\n\0\0\0\rIHDR' > "$out" ;;
    empty) : > "$out" ;;
  esac
done
if [ "$FAKE_MODE" = stderr ]; then /usr/bin/gnuplot "$1" 2>/dev/null; echo 'cairo error: No space left on device' >&2; fi
exit 0
]])
os.execute("chmod +x " .. q(fake))
if os.execute("command -v gnuplot >/dev/null 2>&1") then
  for _, c in ipairs { { "cut", "png", "the PNG is cut short (no IEND chunk)" }, { "empty", "svg", "the file is empty" },
      { "stderr", "png", "cairo error: No space left on device" } } do
    local target = dir .. "/fig." .. c[2]
    spit(target, "OLD")
    local out, rc = sh(string.format("FAKE_MODE=%s LPACT_GNUPLOT=%s %s -e %s", c[1], q(fake), exe,
      q(string.format("lpact.show.hist(lpact.randn({100}, 1)):save(%q)", target))))
    t.is(rc, 1, "figure, gnuplot " .. c[1] .. ": exit 1")
    t.like(out, "^lpact: save: gnuplot could not draw '" .. target:gsub("%p", "%%%0") .. "': " .. c[3]:gsub("%p", "%%%0") .. "\n$",
      "figure, gnuplot " .. c[1] .. ": one line naming the file and why")
    t.is(slurp(target), "OLD", "figure, gnuplot " .. c[1] .. ": the old file is intact")
    t.is(listdir(dir), "fake-gnuplot fig." .. c[2], "figure, gnuplot " .. c[1] .. ": no temporary left")
    os.remove(target)
  end
  local res = dir .. "/res"
  results_dir(res)
  local out, rc = sh(string.format("FAKE_MODE=cut LPACT_GNUPLOT=%s %s report %s", q(fake), exe, q(res)))
  t.is(rc, 1, "report with a cut-short PNG: exit 1")
  t.like(out, "report: gnuplot could not draw [^\n]*%.png: the PNG is cut short", "report names the figure and why")
  t.ok(not listdir(res):find("%.png") and not listdir(res):find("tmp%-"), "report leaves no PNG and no temporary: " .. listdir(res))
  os.execute("rm -rf " .. q(res))
else
  t.skip(14, "gnuplot is not installed")
end

-- 2. A full file system: a 256 KiB tmpfs, filled up after the old files are written.
local mnt = dir .. "/full"
os.execute("mkdir -p " .. q(mnt))
local mounted = false
local uid = io.popen("id -u"):read("l")
if uid == "0" then mounted = os.execute("mount -t tmpfs -o size=256k tmpfs " .. q(mnt) .. " 2>/dev/null") == true end
if not mounted then
  t.skip(10, uid == "0" and "cannot mount a tmpfs here (no CAP_SYS_ADMIN in this container)" or "not root: cannot mount a tmpfs for the full-disk test")
else
  local ok, err = pcall(function()
    local script = dir .. "/full.lua"
    spit(script, string.format([[
local what, dir = ...
local nn = lpact.nn
local m = nn.Sequential { nn.Linear(64, 64, { seed = tonumber(os.getenv("SEED") or "1") }) }
if what == "ckpt" then lpact.checkpoint.save(dir .. "/m.ckpt", m, nil, { epoch = 1 })
elseif what == "result" then
  lpact.results.write(dir .. "/res", lpact.results.record({ model = "mlp", activation = "relu", format = "fp4", seed = 1, epochs = 1, id = "r1", pad = string.rep("x", 30000) }, { epochs = { { test_acc = 0.5 } } }))
elseif what == "fig" then lpact.show.hist(lpact.randn({ 1000 }, 1)):save(dir .. "/fig.svg")
end
]]))
    local function run(what, seed) return sh(string.format("SEED=%d %s %s %s %s", seed, exe, q(script), what, q(mnt))) end
    -- the old files, written while there is room
    local _, rc1 = run("ckpt", 1)
    local _, rc2 = run("result", 1)
    results_dir(mnt .. "/rep")
    spit(mnt .. "/rep/report.md", "OLD REPORT")
    spit(mnt .. "/fig.svg", "OLD")
    t.ok(rc1 == 0 and rc2 == 0, "old checkpoint and record written while there is room")
    local old_ck, old_rec = slurp(mnt .. "/m.ckpt"), slurp(mnt .. "/res/r1.json")
    os.execute("dd if=/dev/zero of=" .. q(mnt .. "/filler") .. " bs=4096 2>/dev/null")
    local out, rc = run("ckpt", 2)
    t.ok(rc == 1 and out:match("^lpact: [^\n]*m%.ckpt: cannot write the checkpoint: No space left on device\n$"),
      "full disk, checkpoint: one line, exit 1: " .. out)
    t.is(slurp(mnt .. "/m.ckpt"), old_ck, "full disk: the old checkpoint is intact")
    out, rc = run("result", 2)
    t.ok(rc == 1 and out:match("r1%.json: cannot write[^\n]*No space left on device\n$") ~= nil, "full disk, result record: one line, exit 1: " .. out)
    t.is(slurp(mnt .. "/res/r1.json"), old_rec, "full disk: the old record is intact")
    out, rc = sh(string.format("%s report %s", exe, q(mnt .. "/rep")))
    t.ok(rc == 1 and out:match("No space left on device") ~= nil, "full disk, report: exit 1 with the reason: " .. out)
    t.is(slurp(mnt .. "/rep/report.md"), "OLD REPORT", "full disk: the old report table is intact")
    out, rc = run("fig", 1)
    t.ok(rc == 1 and out:match("fig%.svg") ~= nil, "full disk, figure: exit 1 naming the file: " .. out)
    t.is(slurp(mnt .. "/fig.svg"), "OLD", "full disk: the old figure is intact")
    t.ok(not listdir(mnt):find("tmp%-") and not listdir(mnt .. "/res"):find("tmp%-"), "full disk: no temporary left behind")
    os.remove(mnt .. "/filler")
    out, rc = run("ckpt", 2)
    t.is(rc, 0, "with room again the checkpoint is written")
  end)
  os.execute("umount " .. q(mnt))
  if not ok then t.ok(false, "full-disk test raised: " .. tostring(err)) end
end

-- 3. kill -9 in the middle of writes, in a bounded loop: the file at the
-- target name is always a whole one that was written (its contents say
-- which write it was), never half of one.
do
  local ck = dir .. "/k.ckpt"
  local res = dir .. "/kres"
  local counter = dir .. "/count"
  local script = dir .. "/writer.lua"
  spit(script, string.format([[
local nn = lpact.nn
local m = nn.Sequential { nn.Linear(256, 512, { seed = 1 }) }   -- 512 KB a checkpoint
local w = m:parameters()[1].var.data
for i = 1, 1e9 do
  w:fill(i)
  lpact.checkpoint.save(%q, m, nil, { i = i })
  lpact.results.write(%q, lpact.results.record({ id = "r", model = "mlp", seed = i, pad = string.rep("y", 200000) }, {}))
  local f = io.open(%q .. ".tmp", "w") f:write(i) f:close()
  os.rename(%q .. ".tmp", %q)
end
]], ck, res, counter, counter, counter))
  local rounds, good = 4, 0
  local last = 0
  for r = 1, rounds do
    -- start the writer, wait until it has finished a write beyond the last
    -- one seen (a state, not a time), then kill it at once
    local p = io.popen(string.format("%s %s >/dev/null 2>&1 & echo $!", exe, q(script)))
    local pid = p:read("l")
    p:close()
    local want = last + 2
    for _ = 1, 30000 do
      local c = tonumber(slurp(counter) or "0") or 0
      if c >= want then break end
      os.execute("sleep 0.01")
    end
    os.execute("kill -9 " .. pid .. " 2>/dev/null; while kill -0 " .. pid .. " 2>/dev/null; do sleep 0.01; done")
    local c = tonumber(slurp(counter) or "0") or 0
    local okc, meta = pcall(lpact.checkpoint.load, ck, nil)
    local i = okc and type(meta) == "table" and meta.i
    local info = okc and lpact.checkpoint.inspect(ck)
    local whole = i and (i == c or i == c + 1)
    if whole then
      -- the parameters are those of write i, bit for bit
      local m = lpact.nn.Sequential { lpact.nn.Linear(256, 512, { seed = 1 }) }
      lpact.checkpoint.load(ck, m)
      local w = m:parameters()[1].var.data
      whole = w:min() == i and w:max() == i
    end
    local okr, rec = pcall(lpact.results.read, res .. "/r.json")
    local rec_ok = okr and type(rec) == "table" and (rec.seed == c or rec.seed == c + 1)
    if whole and rec_ok and info then good = good + 1 else
      t.diag(string.format("round %d: counter %d, checkpoint %s (%s), record %s", r, c, tostring(i), tostring(meta), tostring(rec and rec.seed or rec)))
    end
    last = c
  end
  t.is(good, rounds, string.format("kill -9 during writes, %d rounds: every checkpoint and record at its name is a whole one", rounds))
end

os.execute("rm -rf " .. q(dir))
t.done()
