--- lpact submit [options] -- SCRIPT ARGS... — run a sweep as a Slurm array.
--
-- Writes <out>/slurm/sweep.sbatch, an array job whose every task runs
--   lpact SCRIPT ARGS --worker task<N>
-- (a worker on the shared --out folder: the tasks share the grid by
-- claiming configurations, longest first), and <out>/slurm/report.sbatch,
-- a job that runs `lpact report <out>` after the array, whatever its end
-- (--dependency=afterany); then submits both with sbatch, or with --dry
-- only writes them and prints the sbatch commands. <out> is the script's
-- --out. Tasks get SIGTERM --signal-lead seconds before their time limit
-- (--signal=B:TERM@S: the training stops after its batch, keeps its
-- checkpoint and record, and a requeued or resubmitted task resumes it).
-- Threads default to the task's allocation (SLURM_CPUS_PER_TASK).
--
-- Options: --array N (tasks, 4), --cpus C (per task, 1), --time T (per
-- task, 1:00:00), --partition P, --account A, --sbatch LINE (an extra
-- #SBATCH line, repeatable: "--mem=4G"), --signal-lead S (60), --report
-- "ARGS" (options for lpact report, e.g. "--no-figures --require-complete"),
-- --dry.

local lpact = require "lpact"

local USAGE = "usage: lpact submit [--array N] [--cpus C] [--time T] [--partition P] [--account A] "
  .. "[--sbatch LINE]... [--signal-lead S] [--report ARGS] [--dry] -- SCRIPT ARGS..."

local function sh_quote(s)
  s = tostring(s)
  if s:match("^[%w%.%-_/=:,+@]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function absolute(path)
  if path:sub(1, 1) == "/" then return path end
  local p = io.popen("pwd")
  local cwd = p:read("l")
  p:close()
  return cwd .. "/" .. path
end

-- The engine binary: /proc/self/exe, so the tasks run this very build.
local function engine_path()
  local p = io.popen("readlink -f /proc/" .. lpact.sys.pid() .. "/exe 2>/dev/null")
  local exe = p and p:read("l")
  if p then p:close() end
  return exe and exe ~= "" and exe or "lpact"
end

local function run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok, _, code = p:close()
  return out, ok and 0 or (code or 1)
end

return function(args)
  local o = { array = "4", cpus = "1", time = "1:00:00", signal_lead = "60", sbatch = {} }
  local script, sargs = nil, {}
  local i = 1
  while args[i] do
    local a = args[i]
    if a == "--" then
      script = args[i + 1]
      for j = i + 2, #args do sargs[#sargs + 1] = args[j] end
      break
    elseif a == "-h" or a == "--help" then
      print(USAGE)
      return 0
    elseif a == "--dry" then
      o.dry = true
    else
      local k = a:match("^%-%-([%w-]+)$")
      k = k and k:gsub("-", "_")
      if not k or not ({ array = 1, cpus = 1, time = 1, partition = 1, account = 1, sbatch = 1, signal_lead = 1,
          report = 1 })[k] then
        lpact.fail("submit: unknown option '" .. a .. "' (" .. USAGE .. ")")
      end
      local v = args[i + 1]
      if v == nil then lpact.fail("submit: " .. a .. " needs a value") end
      if k == "sbatch" then o.sbatch[#o.sbatch + 1] = v else o[k] = v end
      i = i + 1
    end
    i = i + 1
  end
  if not script then lpact.fail("submit: the sweep command is missing (" .. USAGE .. ")") end
  for _, k in ipairs { "array", "cpus", "signal_lead" } do
    local n = math.tointeger(tonumber(o[k]))
    if not n or n < (k == "signal_lead" and 0 or 1) then
      lpact.fail(string.format("submit: --%s must be a whole number >= %d, got '%s'", k:gsub("_", "-"),
        k == "signal_lead" and 0 or 1, tostring(o[k])))
    end
    o[k] = n
  end
  if not tostring(o.time):match("^[%d:%-]+$") then lpact.fail("submit: --time must be a Slurm time (MM, HH:MM:SS, D-HH), got '" .. o.time .. "'") end
  for _, line in ipairs(o.sbatch) do
    if line:find("\n") then lpact.fail("submit: --sbatch takes one line") end
  end
  local out
  for j, a in ipairs(sargs) do
    if a == "--out" then out = sargs[j + 1] end
    if a == "--worker" or a == "--workers" or a == "--shard" then
      lpact.fail("submit: the sweep command must not have " .. a .. " (each task is a worker of its own)")
    end
  end
  if not out then lpact.fail("submit: the sweep command needs --out DIR (the folder the tasks share)") end
  if not io.open(script) then lpact.fail("submit: no such script: " .. script) end
  out = absolute(out)
  script = absolute(script)
  local sdir = out .. "/slurm"
  local okd, err = lpact.io.mkdir(sdir)
  if not okd then lpact.fail("submit: cannot create " .. err, 1) end
  local exe = engine_path()

  local cmd = { sh_quote(exe), sh_quote(script) }
  for j, a in ipairs(sargs) do
    cmd[#cmd + 1] = sh_quote(sargs[j - 1] == "--out" and out or a)   -- the folder as an absolute path
  end
  local head = {
    "#!/bin/sh",
    "#SBATCH --job-name=lpact-sweep",
    "#SBATCH --array=1-" .. o.array,
    "#SBATCH --cpus-per-task=" .. o.cpus,
    "#SBATCH --time=" .. o.time,
    "#SBATCH --signal=B:TERM@" .. o.signal_lead,
    "#SBATCH --output=" .. sdir .. "/sweep-%A_%a.out",
  }
  if o.partition then head[#head + 1] = "#SBATCH --partition=" .. o.partition end
  if o.account then head[#head + 1] = "#SBATCH --account=" .. o.account end
  for _, line in ipairs(o.sbatch) do head[#head + 1] = "#SBATCH " .. line end
  local array = table.concat(head, "\n") .. "\n"
    .. "# each task is one worker on the shared folder; exec, so that Slurm's signals reach it\n"
    .. "exec " .. table.concat(cmd, " ") .. " --worker task${SLURM_ARRAY_TASK_ID}\n"
  local rhead = {
    "#!/bin/sh",
    "#SBATCH --job-name=lpact-report",
    "#SBATCH --cpus-per-task=1",
    "#SBATCH --time=" .. o.time,
    "#SBATCH --output=" .. sdir .. "/report-%j.out",
  }
  if o.partition then rhead[#rhead + 1] = "#SBATCH --partition=" .. o.partition end
  if o.account then rhead[#rhead + 1] = "#SBATCH --account=" .. o.account end
  local report = table.concat(rhead, "\n") .. "\n"
    .. "exec " .. sh_quote(exe) .. " report " .. sh_quote(out) .. (o.report and (" " .. o.report) or "") .. "\n"
  local files = require "lpact.files"
  local apath, rpath = sdir .. "/sweep.sbatch", sdir .. "/report.sbatch"
  files.write_atomic(apath, array)
  files.write_atomic(rpath, report)
  print("wrote " .. apath)
  print("wrote " .. rpath)
  if o.dry then
    print("submit with:")
    print("  id=$(sbatch --parsable " .. sh_quote(apath) .. ")")
    print("  sbatch --dependency=afterany:${id%%;*} " .. sh_quote(rpath))
    return 0
  end
  local text, code = run("sbatch --parsable " .. sh_quote(apath))
  local id = code == 0 and text:match("^(%d+)")
  if not id then lpact.fail("submit: sbatch failed: " .. (text:match("[^\n]+") or ("exit " .. code)), 1) end
  local rtext, rcode = run("sbatch --parsable --dependency=afterany:" .. id .. " " .. sh_quote(rpath))
  local rid = rcode == 0 and rtext:match("^(%d+)")
  if not rid then lpact.fail("submit: sbatch of the report job failed: " .. (rtext:match("[^\n]+") or ("exit " .. rcode)), 1) end
  print(string.format("submitted array job %s (%d tasks) and report job %s (after the array)", id, o.array, rid))
  return 0
end
