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

local cli = require "lpact.cli"
local lfs = require "lfs"

local function sh_quote(s)
  s = tostring(s)
  if s:match("^[%w%.%-_/=:,+@]+$") then return s end
  return "'" .. s:gsub("'", "'\\''") .. "'"
end

local function absolute(path)
  if path:sub(1, 1) == "/" then return path end
  return lfs.currentdir() .. "/" .. path
end

-- The engine binary: /proc/self/exe, so the tasks run this very build.
local function engine_path()
  local exe = lfs.symlinkattributes("/proc/self/exe", "target")
  return exe and exe ~= "" and exe or "lpact"
end

local function run(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok, _, code = p:close()
  return out, ok and 0 or (code or 1)
end

return function(args)
  -- the words before "--" are submit's own; the rest is the sweep command
  local own, script, sargs = {}, nil, {}
  for i = 1, #args do
    if args[i] == "--" then
      script = args[i + 1]
      for j = i + 2, #args do sargs[#sargs + 1] = args[j] end
      break
    end
    own[#own + 1] = args[i]
  end
  local p = cli.parser("lpact submit", "Run a sweep as a Slurm array: lpact submit [options] -- SCRIPT ARGS... " ..
    "(lpact help submit says more).")
  p:option("--array", "array tasks"):argname("N"):default("4"):convert(cli.int(1))
  p:option("--cpus", "CPUs per task"):argname("C"):default("1"):convert(cli.int(1))
  p:option("--time", "time limit per task (MM, HH:MM:SS, D-HH)"):argname("T"):default("1:00:00")
  p:option("--partition", "Slurm partition"):argname("P")
  p:option("--account", "Slurm account"):argname("A")
  p:option("--sbatch", "an extra #SBATCH line (repeatable)"):argname("LINE"):count("*")
  p:option("--signal-lead", "seconds of SIGTERM before the time limit"):argname("S"):default("60"):convert(cli.int(0))
  p:option("--report", "options for lpact report"):argname("ARGS")
  p:flag("--dry", "write the job files and print the sbatch commands; submit nothing")
  local o = cli.parse(p, own)
  if not script then lpact.fail("submit: the sweep command is missing (lpact submit [options] -- SCRIPT ARGS...)") end
  if not tostring(o.time):match("^[%d:%-]+$") then lpact.fail("submit: --time must be a Slurm time (MM, HH:MM:SS, D-HH), got '" .. o.time .. "'") end
  for _, line in ipairs(o.sbatch) do
    if line:find("\n") then lpact.fail("submit: --sbatch takes one line") end
  end
  for _, k in ipairs { "partition", "account" } do
    if o[k] and not o[k]:match("^[%w_.,-]+$") then
      lpact.fail(string.format("submit: --%s must be a Slurm name (letters, digits, '_', '.', '-', ','), got '%s'", k, o[k]))
    end
  end
  -- the report job's options, checked now by lpact report's own parser (a
  -- mistake found when the array has run would lose the report), each
  -- word quoted in the job file
  local report_words = {}
  if o.report then
    for w in o.report:gmatch("%S+") do
      if w == "-h" or w == "--help" then lpact.fail("submit: --report: --help is not a report option") end
      report_words[#report_words + 1] = w
    end
    local rargs = { "DIR" }
    for _, w in ipairs(report_words) do rargs[#rargs + 1] = w end
    local okr, e = pcall(cli.parse, require("cmd.report").parser(), rargs)
    if not okr then lpact.fail("submit: --report: " .. (lpact.is_failure(e) and e.msg or tostring(e))) end
  end
  local out
  -- the sweep's own options, spelled as its parser takes them (lpact.cli)
  local function opt_name(a) return a:match("^%-%-([%w_-]+)") and a:match("^%-%-([%w_-]+)"):gsub("_", "-") end
  local out_at
  for j, a in ipairs(sargs) do
    local name = opt_name(a)
    if name == "out" then
      out_at = j
      out = a:match("^[^=]*=(.*)$") or sargs[j + 1]
    end
    if name == "worker" or name == "workers" or name == "shard" then
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
    -- the folder as an absolute path
    if j == out_at and a:find("=", 1, true) then cmd[#cmd + 1] = sh_quote("--out=" .. out)
    else cmd[#cmd + 1] = sh_quote((out_at and j == out_at + 1 and not sargs[out_at]:find("=", 1, true)) and out or a) end
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
  local quoted = { "exec", sh_quote(exe), "report", sh_quote(out) }
  for _, w in ipairs(report_words) do quoted[#quoted + 1] = sh_quote(w) end
  local report = table.concat(rhead, "\n") .. "\n" .. table.concat(quoted, " ") .. "\n"
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
