-- The lessons: every shipped lesson passes `lpact lesson check` (each
-- check accepts the step's reference answer and rejects its wrong one);
-- the checker refuses malformed lessons naming the step; the check
-- helpers judge values as worked out by hand; progress is written
-- atomically and a lesson resumes at its step; the handout writes
-- Markdown and real PNG/SVG figures.
local t = require "lpact.tap"
local lesson = require "lpact.lesson"
local B = os.getenv("LPACT_BUILD") or "build"
local LPACT, REPL = B .. "/lpact", B .. "/lpact-repl"

-- a folder of its own under the build folder (which no one else cleans)
local cwd = io.popen("pwd"):read("l")
local tmp = string.format("%s/lessons-test-%d", B:match("^/") and B or (cwd .. "/" .. B),
  lpact.io.crc32(tostring({}) .. os.clock()))
os.execute("rm -rf '" .. tmp .. "'")
assert(lpact.io.mkdir(tmp))
local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
local function write(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end
local function read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- The shipped lessons ----------------------------------------------------------
local NAMES = { "minifloat", "rounding", "subnormals", "overflow", "stochastic", "activations", "learnable" }
local list = lesson.list()
t.is(#list, #NAMES, "seven lessons are shipped")
for i, name in ipairs(NAMES) do
  t.is(list[i] and list[i].name, name, "lesson " .. i .. " is " .. name)
end
for _, name in ipairs(NAMES) do
  local out, code = t.run(LPACT .. " lesson check " .. name)
  t.is(code, 0, "lpact lesson check " .. name)
  t.like(out, "^lesson " .. name .. ": %d+ steps; every check accepts its answer, (%d+) reject", name .. ": summary")
  local l = lesson.load(name)
  t.ok(#l.steps >= 7 and #l.steps <= 12, name .. ": 7 to 12 steps")
  local wrong = 0
  for _, s in ipairs(l.steps) do if s.wrong then wrong = wrong + 1 end end
  t.is(wrong, #l.steps, name .. ": every step has a wrong answer its check rejects")
end

-- The checker refuses malformed lessons ----------------------------------------------
local function lesson_file(name, steps_src)
  local path = tmp .. "/" .. name .. ".lua"
  write(path, 'local L = require "lpact.lesson"\nreturn { title = "A test lesson", steps = {\n'
    .. steps_src .. "\n} }\n")
  return path
end
local GOOD = [[{ text = "One plus one.", ask = "Type 1 + 1.", hint = "Two.", answer = "1 + 1",
  wrong = "3", check = L.number(2) },]]

local path = lesson_file("good", GOOD)
local out, code = t.run(LPACT .. " lesson check " .. q(path))
t.is(code, 0, "a well-formed lesson passes")

path = lesson_file("nocheck", GOOD .. [[
{ text = "Two plus two.", ask = "Type 2 + 2, please.", hint = "Four.", answer = "2 + 2" },]])
out, code = t.run(LPACT .. " lesson check " .. q(path))
t.is(code, 1, "a step without a check: refused")
t.like(out, 'step 2 %("Type 2 %+ 2, please%."%) has no check', "the step is named", out)

path = lesson_file("lax", GOOD .. [[
{ text = "x", ask = "Type 4.", hint = "h", answer = "4", wrong = "5", check = function() return true end },]])
out, code = t.run(LPACT .. " lesson check " .. q(path))
t.is(code, 1, "a check that accepts a wrong answer: refused")
t.like(out, 'step 2 %("Type 4%."%): its check does not reject the wrong answer 5', "... saying which", out)

path = lesson_file("strict", GOOD .. [[
{ text = "x", ask = "Type 4.", hint = "h", answer = "4", check = L.number(5) },]])
out, code = t.run(LPACT .. " lesson check " .. q(path))
t.is(code, 1, "a check that rejects its own answer: refused")
t.like(out, "its check does not accept the answer 4", "... saying which", out)

path = lesson_file("wide", GOOD .. '{ text = "' .. string.rep("w", 81) .. [[", ask = "Type 4.", hint = "h",
  answer = "4", check = L.number(4) },]])
out, code = t.run(LPACT .. " lesson check " .. q(path))
t.is(code, 1, "a line wider than 80 columns: refused")
t.like(out, "its text has a line wider than 80 columns", "... naming the field", out)

path = lesson_file("nohint", [[{ text = "x", ask = "Type 4.", answer = "4", check = L.number(4), hints = "h" },]])
out, code = t.run(LPACT .. " lesson check " .. q(path))
t.like(out, "has no hint", "a step without a hint: refused", out)
t.like(out, "unknown field 'hints' %(did you mean 'hint'%?%)", "a misspelt field is named", out)

out, code = t.run(LPACT .. " lesson check nosuchlesson")
t.is(code, 2, "an unknown lesson: exit status 2")
t.like(out, "^lpact: lesson: no lesson 'nosuchlesson' %(lessons: minifloat, rounding", "... one line listing them", out)
t.ok(not out:find("\n.", 1), "... and only one line")

-- The check helpers, against values worked out by hand ---------------------------
local L = lesson
local function judge(check, v) return check { value = v, values = { v, n = 1 }, n = 1, env = _G } end
t.is(judge(L.number(3), 3.0), true, "number: 3.0 is 3")
t.is(judge(L.number(3), 2.5), false, "number: 2.5 is not 3")
t.is(judge(L.number(3), "3"), nil, "number: a string is no answer")
t.is(judge(L.number(0.06, { tol = 1e-12 }), 0.6 * 0.4 * 0.25), true, "number: within the tolerance")
t.is(judge(L.number(0 / 0), 0 / 0), true, "number: NaN is NaN")
t.is(judge(L.number(0 / 0), 448), false, "number: 448 is not NaN")
t.is(judge(L.number(0, { sign = true }), -0.0), false, "number{sign}: -0 is not +0")
t.is(judge(L.number(0), -0.0), true, "number: -0 equals 0 without sign")
local _, why = judge(L.number(3, { why = { [6] = "subtract the bias" } }), 6)
t.is(why, "subtract the bias", "number: the reason for a known wrong value")
t.is(judge(L.choice(2), 2), true, "choice: 2")
t.is(judge(L.choice(2), 1), false, "choice: 1 is not 2")
t.is(judge(L.boolean(true), false), false, "boolean: false is not true")
rawset(_G, "f_test", lpact.format "fp6")
t.is(judge(L.format("f_test", "e3m2")), true, "format: fp6 is e3m2")
rawset(_G, "f_test", lpact.format "e2m3")
t.is(judge(L.format("f_test", "e3m2")), false, "format: e2m3 is not e3m2")
rawset(_G, "f_test", nil)
t.is(judge(L.format("f_test", "e3m2")), nil, "format: unset is no answer")

-- Progress and resume (batch mode through lpact-repl) ---------------------------
local state = tmp .. "/state"
local env = "XDG_STATE_HOME=" .. q(state) .. " COLUMNS=80 "
local function session(name, input)
  write(tmp .. "/input", input)
  return t.run(env .. REPL .. " --lesson " .. name .. " < " .. q(tmp .. "/input"))
end
out, code = session("minifloat", "3\n1 + 2 + 1\n:hint\n2^(2 - 1) * (1 + 1/2)\n:skip\n:quit\n")
t.is(code, 0, "a lesson session in batch mode")
t.like(out, "✗ Not quite: that counts exponent and mantissa; the sign has a bit too%.", "a wrong answer is explained")
t.like(out, "Hint: ee = 10 is 2 in binary", ":hint gives the step's hint")
t.like(out, "Skipped%. One answer: 15", ":skip moves on, showing an answer")
t.like(out, "Lesson 'minifloat' left at step 4 of 8", ":quit says where it stopped")
local okp, p = pcall(require("lpact.json").decode, read(state .. "/lpact/lessons.json") or "null")
p = okp and p or nil
t.same(p and p.minifloat, { step = 4, steps = 8, done = false, results = "rrs-----" }, "the progress file")
local leftovers = lpact.io.listdir(state .. "/lpact")
t.is(#leftovers, 1, "no temporary file is left next to it")

out = t.run(env .. REPL .. " --lesson")
t.like(out, "minifloat    at step 4 of 8", "the list shows the progress")
out = session("minifloat", 'f = lpact.format "e3m2"\n')
t.like(out, "Resuming at step 4 of 8%.", "the lesson resumes")
t.like(out, "minifloat · step 4 of 8.-✓ Right%..-minifloat · step 5 of 8", "... at step 4, then goes on")
out, code = t.run(env .. REPL .. " --lesson nosuch < /dev/null")
t.is(code, 2, "lpact-repl --lesson with an unknown name: status 2")
t.like(out, "^lpact: lesson: no lesson 'nosuch'", "... in one line")
out = t.run("echo ':hint' | " .. REPL)
t.like(out, "no lesson is running: :hint is a lesson command", "a lesson command outside a lesson")
out = t.run("HOME= XDG_STATE_HOME= " .. REPL .. " --lesson rounding < /dev/null")
t.like(out, "rounding · step 1 of 8", "without HOME a lesson still runs")
t.is(read(tmp .. "/state/lpact/lessons.json"):find('"rounding"'), nil, "... and writes no progress")

-- The handout --------------------------------------------------------------------------
local dir = tmp .. "/handout"
out, code = t.run(LPACT .. " lesson handout activations " .. q(dir))
if not require("lpact.figure").available() then
  t.skip(8, "gnuplot is not installed")
else
  t.is(code, 0, "lpact lesson handout activations", out)
  local md, key = read(dir .. "/activations.md"), read(dir .. "/activations-answers.md")
  t.like(md or "", "%*%*Exercise 8%.%*%*", "the handout has the eight exercises")
  t.like(md or "", "!%[`plot%(\"sigmoid\", \"fp2\", %-6, 6%)`%]%(activations%-3%.png%)", "... and links its figures")
  t.ok(key and key:find("**6.** `0.5 * lpact.format(\"fp2\"):round(0.881 / 0.5)` → `1.0`", 1, true),
    "the answer key gives each answer and its value")
  t.ok(md and not md:find("0.5 * lpact.format(\"fp2\"):round", 1, true), "the handout itself holds no answers")
  local png, svg = read(dir .. "/activations-3.png") or "", read(dir .. "/activations-3.svg") or ""
  t.ok(png:sub(1, 8) == "\137PNG\r\n\26\n" and #png > 5000, "the PNG is a real PNG (" .. #png .. " bytes)")
  t.ok(svg:find("<svg", 1, true) and #svg > 5000, "the SVG is a real SVG (" .. #svg .. " bytes)")
  local files = lpact.io.listdir(dir)
  table.sort(files)
  t.same(files, { "activations-1.png", "activations-1.svg", "activations-3.png", "activations-3.svg",
    "activations-answers.md", "activations.md" }, "exactly these files, no temporary ones")
end
out, code = t.run(LPACT .. " lesson handout activations /proc/nonexistent/dir")
t.ok(code ~= 0 and not out:find("traceback"), "an unwritable folder: an error, no traceback", out)

os.execute("rm -rf " .. q(tmp))
t.done()
