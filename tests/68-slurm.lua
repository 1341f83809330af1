-- A real one-node Slurm cluster (Debian's munged, slurmctld and slurmd,
-- started here from a configuration written into a temporary folder and
-- stopped by their pids): `lpact submit` runs a tiny grid on the built-in
-- synthetic set as a 2-task array; one task is cancelled (scancel: SIGTERM)
-- during training; the grid is submitted again; every configuration ends
-- in the folder exactly once and the report job finds the sweep complete.
-- Needs root (the daemons) and the Debian packages slurmctld, slurmd,
-- slurm-client and munge; otherwise a TAP skip says which is missing.
local t = require "lpact.tap"
local sys = lpact.sys
local B = os.getenv("LPACT_BUILD") or "build"

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  p:close()
  return out
end

local function skip(why)
  t.skip(1, why)
  t.done()
  os.exit(0)
end

if sh("id -u"):match("^(%d+)") ~= "0" then skip("the Slurm cluster test needs root (munged, slurmctld and slurmd)") end
for _, prog in ipairs { "munged", "slurmctld", "slurmd", "sbatch", "scancel", "squeue", "sinfo", "scontrol" } do
  if sh("command -v " .. prog) == "" then
    skip(prog .. " not found: install the Debian packages slurmctld slurmd slurm-client munge (make deps)")
  end
end

local D = os.tmpname()
os.remove(D)
os.execute("mkdir -p " .. D .. "/state " .. D .. "/spool && chmod 755 " .. D)
local host = sys.hostname()
-- ports of our own, so that two suites on one machine do not meet
local port = 20000 + (sys.pid() * 7 + tonumber(sys.random_hex(3), 16)) % 20000 // 2 * 2
local conf = D .. "/slurm.conf"
local f = assert(io.open(conf, "w"))
f:write(table.concat({
  "ClusterName=lpacttest", "SlurmctldHost=" .. host,
  "AuthType=auth/munge", "AuthInfo=socket=" .. D .. "/munge.sock", "CredType=cred/munge",
  "SlurmUser=root", "SlurmdUser=root", "SlurmctldPort=" .. port, "SlurmdPort=" .. (port + 1),
  "StateSaveLocation=" .. D .. "/state", "SlurmdSpoolDir=" .. D .. "/spool",
  "SlurmctldPidFile=" .. D .. "/slurmctld.pid", "SlurmdPidFile=" .. D .. "/slurmd.pid",
  "SlurmctldLogFile=" .. D .. "/slurmctld.log", "SlurmdLogFile=" .. D .. "/slurmd.log",
  "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none",
  "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core", "SchedulerType=sched/builtin",
  "JobAcctGatherType=jobacct_gather/none", "AccountingStorageType=accounting_storage/none",
  "MpiDefault=none", "ReturnToService=2", "KillWait=10", "MinJobAge=600",
  "NodeName=" .. host .. " CPUs=" .. sys.cpus() .. " State=UNKNOWN",
  "PartitionName=lp Nodes=ALL Default=YES MaxTime=INFINITE State=UP", "",
}, "\n"))
f:close()
local ENV = "SLURM_CONF=" .. conf .. " "

local pids = {}
local function start(name, cmd)
  local pid = math.tointeger(tonumber(sh(cmd .. " > " .. D .. "/" .. name .. ".out 2>&1 & echo $!"):match("(%d+)")))
  pids[#pids + 1] = { name = name, pid = pid }
  return pid
end
local function stop_all()
  sh(ENV .. "scancel --quiet --full --signal=KILL --partition=lp 2>/dev/null; true")
  for i = #pids, 1, -1 do
    local p = pids[i]
    if p.pid and sys.alive(p.pid) then sys.kill(p.pid, 15) end
  end
  for i = #pids, 1, -1 do
    local p = pids[i]
    for _ = 1, 100 do
      if not p.pid or not sys.alive(p.pid) then break end
      sys.sleep(0.05)
    end
    if p.pid and sys.alive(p.pid) then sys.kill(p.pid, 9) end
  end
end

local function wait_for(what, secs, pred)
  local t0 = sys.time()
  while sys.time() - t0 < secs do
    local v = pred()
    if v then return v end
    sys.sleep(0.1)
  end
  t.diag("timed out waiting for " .. what)
  return nil
end

local ok, err = pcall(function()
  os.execute("dd if=/dev/urandom of=" .. D .. "/munge.key bs=1024 count=1 2>/dev/null; chmod 400 " .. D .. "/munge.key")
  start("munged", string.format("munged -F -f --key-file=%s/munge.key --socket=%s/munge.sock --pid-file=%s/munged.pid "
    .. "--log-file=%s/munged.log --seed-file=%s/munged.seed", D, D, D, D, D))
  wait_for("munged", 10, function() return sys.mtime(D .. "/munge.sock") end)
  start("slurmctld", "slurmctld -D -f " .. conf)
  start("slurmd", "slurmd -D -f " .. conf)
  local up = wait_for("the node to be idle", 20, function() return sh(ENV .. "sinfo -h -o %T"):match("^idle") end)
  t.ok(up, "a one-node cluster comes up (munged, slurmctld, slurmd from a configuration in a temporary folder)")
  if not up then
    t.diag(sh("tail -5 " .. D .. "/*.out " .. D .. "/*.log"))
    return
  end

  local out = D .. "/results"
  local submit = ENV .. B .. "/lpact submit --array 2 --time 5 --report '--no-figures --require-complete' -- scripts/paper.lua "
    .. "--data builtin --models mlp --acts relu --formats fp32,fp4,fp2 --levels fixed,learnable --seeds 1 --epochs 6 "
    .. "--limit 3000 --out " .. out
  local s1 = sh(submit)
  local jid = s1:match("submitted array job (%d+) %(2 tasks%) and report job (%d+)")
  t.ok(jid, "lpact submit: an array job of 2 tasks and a report job after it")
  if not jid then t.diag(s1) return end
  local script = io.open(out .. "/slurm/sweep.sbatch"):read("a")
  t.ok(script:match("\n#SBATCH %-%-array=1%-2\n") and script:match("\n#SBATCH %-%-signal=B:TERM@60\n")
    and script:match("\n#SBATCH %-%-cpus%-per%-task=1\n") and script:match("%-%-worker task%${SLURM_ARRAY_TASK_ID}\n$"),
    "the array script: its size, the CPUs, SIGTERM before the time limit, a worker per task")
  -- cancel task 2 while it trains
  local claimed = wait_for("task 2 to claim a configuration", 30, function()
    for _, n in ipairs(lpact.io.listdir(out) or {}) do
      if n:match("%.claim$") then
        local c = io.open(out .. "/" .. n)
        local s = c and c:read("a") or ""
        if c then c:close() end
        if s:match('"worker":"task2"') then return n end
      end
    end
  end)
  t.ok(claimed, "task 2 claims a configuration")
  sh(ENV .. "scancel " .. jid .. "_2")
  local state2 = wait_for("task 2 to end", 30, function()
    local s = sh(ENV .. "scontrol -o show job " .. jid .. "_2")
    return s:match("JobState=CANCELLED") and s:match("ExitCode=(%d+:%d+)")
  end)
  t.is(state2, "143:0", "scancel during training: task 2 exits with status 143 (SIGTERM handled)")
  local m2 = io.open(out .. "/manifest-task2.json")
  local man = m2 and lpact.json.decode(m2:read("a"))
  if m2 then m2:close() end
  t.ok(man and man.status == "interrupted" and man.signal == 15, "its manifest says interrupted by signal 15")
  -- the same grid submitted again
  local s2 = sh(submit)
  local rid = s2:match("and report job (%d+)")
  local rstate = rid and wait_for("the report job", 45, function()
    local s = sh(ENV .. "scontrol -o show job " .. rid)
    local st = s:match("JobState=(%u+)")
    return (st == "COMPLETED" or st == "FAILED" or st == "CANCELLED") and st
  end)
  t.is(rstate, "COMPLETED", "after the resubmitted array, the report job (--require-complete) completes")
  local recs, interrupted, other = {}, 0, 0
  for _, n in ipairs(lpact.io.listdir(out) or {}) do
    if n:match("%.interrupted%.json$") then interrupted = interrupted + 1
    elseif n:match("%-%x+%.json$") then recs[#recs + 1] = n
    elseif n:match("%.tmp%-") or n:match("%.claim") or n:match("%.ckpt$") then other = other + 1 end
  end
  t.ok(#recs == 5 and interrupted == 0 and other == 0,
    string.format("every configuration of the grid is in the folder exactly once (%d records, %d interrupted, %d leftovers)",
      #recs, interrupted, other))
  local rep = io.open(out .. "/report.md")
  local text = rep and rep:read("a") or ""
  if rep then rep:close() end
  t.like(text, "5 of the grid's 5 configurations are done%.", "the report finds the grid complete")
end)
stop_all()
t.ok(ok, "the test ran to its end" .. (ok and "" or (": " .. tostring(err))))
local left = 0
for _, p in ipairs(pids) do if p.pid and sys.alive(p.pid) then left = left + 1 end end
t.is(left, 0, "the daemons it started are stopped")
os.execute("rm -rf '" .. D .. "'")
t.done()
