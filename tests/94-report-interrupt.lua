-- lpact report stopped by a signal leaves nothing behind and says so in
-- one line; Ctrl-C in a script is one line and status 130 (no traceback);
-- a record's histogram of another shape is not drawn (gnuplot failed on
-- it, losing every figure); a folder named like a record is named so.
local t = require "lpact.tap"
local json = lpact.json
local B = os.getenv("LPACT_BUILD") or "build"
local LP = B .. "/lpact"

local d = t.tmpdir()
local function exists(p) return t.slurp(p) ~= nil end
local function wait_for(p)
  for _ = 1, 2000 do
    if exists(p) then return true end
    os.execute("sleep 0.01")
  end
  return false
end
local function listing(dir)
  local p = io.popen("ls -A '" .. dir .. "' 2>/dev/null")
  local s = p:read("a")
  p:close()
  return s
end

local function rec(id, act, fmt, seed, acc, hist)
  return { schema = "lpact-result/1", id = id, model = "mlp", dataset = "builtin", activation = act, format = fmt,
    modes = { mode = "emulate", levels = "fixed" }, seed = seed, epochs = 1, accuracy = { acc }, test_acc = acc,
    act_errors = hist and { { layer = 1, rms = 0.1, hist = hist } } or nil }
end
local res = d .. "/res"
os.execute("mkdir -p " .. res)
local good = { edges = { -1, 0, 1 }, counts = { 3, 5 } }
t.spit(res .. "/a.json", json.encode(rec("a", "relu", "fp4", 1, 0.5, good)))
t.spit(res .. "/b.json", json.encode(rec("b", "tanh", "fp4", 1, 0.6, good)))

-- 1. SIGTERM, SIGHUP and Ctrl-C while the figures are drawn
do
  -- a gnuplot that says it started, then waits for the test to let it fail
  local fake = d .. "/gnuplot"
  t.spit(fake, "#!/bin/sh\ntouch \"$MARK/started\"\nwhile [ ! -e \"$MARK/go\" ]; do sleep 0.01; done\nexit 1\n")
  os.execute("chmod +x " .. fake)
  for _, case in ipairs { { "TERM", 15 }, { "HUP", 1 }, { "INT", 2 } } do
    local mark, out = d .. "/mark-" .. case[1], d .. "/out-" .. case[1]
    os.execute("mkdir -p " .. mark .. " " .. out)
    -- pid and rc are written to another name and moved: a file seen is whole
    os.execute(string.format("(MARK=%s LPACT_GNUPLOT=%s %s report %s -o %s >%s/log 2>&1 & echo $! >%s/p; mv %s/p %s/pid; "
      .. "wait $!; echo $? >%s/r; mv %s/r %s/rc) &", mark, fake, LP, res, out, mark, mark, mark, mark, mark, mark, mark))
    t.ok(wait_for(mark .. "/started") and wait_for(mark .. "/pid"), "SIG" .. case[1] .. ": the report reaches its first figure")
    os.execute("kill -" .. case[1] .. " " .. (t.slurp(mark .. "/pid") or ""):gsub("%s", ""))
    t.spit(mark .. "/go", "")
    wait_for(mark .. "/rc")
    local rc = tonumber(t.slurp(mark .. "/rc"))
    local log = t.slurp(mark .. "/log") or ""
    t.is(rc, 128 + case[2], "SIG" .. case[1] .. ": exit status " .. (128 + case[2]))
    t.like(log, "lpact: report: stopped by signal " .. case[2] .. "; nothing written\n$", "one line says so")
    t.is(listing(out), "", "no report, no figure, no temporary file left in the output folder")
  end
end

-- 2. Ctrl-C in a script: one line, status 130
do
  local mark = d .. "/loop"
  os.execute("mkdir -p " .. mark)
  os.execute(string.format("(%s -e 'io.open(\"%s/started\", \"w\"):close() while true do end' >%s/log 2>&1 & "
    .. "echo $! >%s/p; mv %s/p %s/pid; wait $!; echo $? >%s/r; mv %s/r %s/rc) &", LP, mark, mark, mark, mark, mark, mark, mark, mark))
  wait_for(mark .. "/started")
  wait_for(mark .. "/pid")
  os.execute("kill -INT " .. (t.slurp(mark .. "/pid") or ""):gsub("%s", ""))
  wait_for(mark .. "/rc")
  t.is(tonumber(t.slurp(mark .. "/rc")), 130, "Ctrl-C stops a script with status 130")
  t.is(t.slurp(mark .. "/log"), "lpact: interrupted\n", "and one line, no traceback")
end

-- 3. histograms of another shape are not drawn; the report goes on
do
  -- a gnuplot that keeps a copy of each script, then runs gnuplot
  local keep = d .. "/gnuplot-keep"
  t.spit(keep, "#!/bin/sh\ncp \"$1\" \"$CAP/$(basename \"$1\")\"\nexec gnuplot \"$1\"\n")
  os.execute("chmod +x " .. keep)
  for i, h in ipairs {
    { edges = { "a", "b", "c" }, counts = { 1, 2 } },        -- gnuplot failed on these: no figure at all
    { edges = { -1, 0, 1 }, counts = { 1 } },                -- bins against the wrong edges
    { edges = { 1, 0, -1 }, counts = { 1, 2 } },             -- descending
    { edges = { -1, 0, 1 }, counts = { 1, json.null } },
  } do
    local r2, cap = d .. "/res-h" .. i, d .. "/cap-" .. i
    os.execute("mkdir -p " .. r2 .. " " .. cap .. " && cp " .. res .. "/a.json " .. r2)
    t.spit(r2 .. "/c.json", json.encode(rec("c", "sigmoid", "fp4", 1, 0.7, h)))
    local out, code = t.run(string.format("CAP=%s LPACT_GNUPLOT=%s %s report %s", cap, keep, LP, r2))
    local p = io.popen("grep -l -F 'err-builtin-mlp' " .. cap .. "/* 2>/dev/null")
    local name = p:read("l")
    p:close()
    local script = name and t.slurp(name) or ""
    t.ok(code == 0 and script:find("set title 'relu fp4'", 1, true) ~= nil and not script:find("sigmoid", 1, true),
      "histogram " .. i .. ": the error figure is made, relu's histogram drawn, sigmoid's left out ["
      .. tostring(code) .. "] " .. (out:match("lpact:[^\n]*") or ""))
  end
end

-- 4. a folder named like a record
do
  os.execute("mkdir -p " .. res .. "/x.json")
  local out = t.run(LP .. " report " .. res .. " --no-figures")
  t.like(out, "rejected [^\n]*/x%.json: cannot read: Is a directory", "a folder named x.json is named so")
end

t.done()
