-- lpact-repl fed from a pipe or a file: a batch with the REPL's own
-- semantics (expressions print their values, multi-line chunks, errors
-- reported and the session going on), but no banner, prompt or escape
-- code; the exit status says whether any chunk failed. Bad input of every
-- kind is one message, never a crash.
local t = require "lpact.tap"
local B = os.getenv("LPACT_BUILD") or "build"
local exe = B .. "/lpact-repl"

local tmp = os.tmpname()
local function run(input, env)
  local f = assert(io.open(tmp, "w"))
  f:write(input)
  f:close()
  local p = io.popen(string.format("%s %s < %s 2>%s.err; echo \"exit=$?\"", env or "", exe, tmp, tmp))
  local out = p:read("a")
  p:close()
  local ef = io.open(tmp .. ".err")
  local err = ef:read("a")
  ef:close()
  local body, code = out:match("^(.-)exit=(%d+)\n$")
  return body, err, tonumber(code)
end

local out, err, code = run(table.concat({
  "x = 6 * 7",
  "x",
  "'a', nil, 2.5",
  "function f(n)",
  "  return n + 1",
  "end",
  "f(x)",
  "{1, 2, k = 'v'}",
  "lpact.format 'fp2'",
  "",
}, "\n"))
t.is(out, table.concat({
  "42",
  "a\tnil\t2.5",
  "43",
  '{1, 2, k = "v"}',
  tostring(require("lpact.show").format "fp2"),
  "",
}, "\n"), "batch: values printed, no prompts, a Format as its summary")
t.is(err, "", "batch: nothing on stderr")
t.is(code, 0, "batch: exit status 0")
t.ok(not out:find("\27", 1, true), "batch: no escape codes")

out, err, code = run("error('boom')\nprint('after')\nnosuch()\nlocal function g() error('deep') end g()\n'end'\n")
t.is(out, "after\nend\n", "batch: the session goes on after errors")
t.is(err, "stdin:1: boom\nstdin:1: attempt to call a nil value (global 'nosuch')\nstdin:1: deep\n  stdin:1: in local 'g'\n",
  "batch: one message each, a short traceback of the user's frames")
t.is(code, 1, "batch: exit status 1 after an error")

out, err, code = run("for i = 1, 2 do\n  print(i)\n")
t.is(err, "stdin:2: 'end' expected (to close 'for' at line 1) near <eof>\n", "batch: input ending inside a chunk")
t.is(code, 1, "batch: and its status")

-- Bad input of every kind: one line each, and the session reaches its end.
local bad = {
  "levels 'fp99'",
  "levels(nil)",
  "compare(1, 2)",
  "hist({})",
  "hist('x')",
  "plot(function(x) return 0/0 end, 'fp4', 0, 1)",
  "plot(print, 'fp4', 0, 1)",
  "plot('tanh', 'fp4', 1, 0)",
  "errors('tanh', 'fp4', 1, 0)",
  "errors('nosuch', 'fp4', 0, 1)",
  "lpact.format 'zz'",
  "lpact.format(3)",
  "error(setmetatable({}, {}))",
  "error()",
  "help(nil, nil)",
  "plot('tanh', 'fp4', -1, 1):save('/tmp/x.jpeg')",
}
out, err, code = run(table.concat(bad, "\n") .. "\nprint('alive')\n")
t.like(out, "alive\n$", "bad input: the session reaches its end")
local n = 0
for l in err:gmatch("[^\n]+") do n = n + 1 end
t.is(n, #bad - 2, "bad input: one line of message per mistake (hist({}) and help(nil, nil) are none)")
t.like(err, "levels: [^\n]*fp99", "bad input: unknown format named")
t.like(err, "plot: f%(0%) is NaN; nothing to draw\n", "bad input: a NaN function")
t.like(err, "plot: f%(0%) returned nil, a number expected\n", "bad input: a function returning nothing")
t.like(err, "save: cannot tell the file type of '/tmp/x.jpeg'", "bad input: figure type")
t.is(code, 1, "bad input: exit status 1")

-- A value whose __tostring fails: an error message, not a crash.
out, err, code = run("setmetatable({}, {__tostring = function() error('no text') end})\nprint('alive')\n")
t.like(err, "no text", "a failing __tostring is reported")
t.is(out, "alive\n", "and the session goes on")

-- NO_COLOR and a dumb terminal: the renderers stay plain in a batch anyway.
out = run("hist({1, 2, 2, 3})\n", "TERM=xterm")
t.ok(not out:find("\27", 1, true), "batch output has no colour even with TERM=xterm")

-- The program's own arguments.
local pv = io.popen(exe .. " --version 2>&1; echo \"exit=$?\"")
t.like(pv:read("a"), "^lpact%-repl %d+%.%d+%.%d+ %(Lua 5%.4[.%d]*%)\nexit=0\n$", "--version")
pv:close()
-- A script named first runs, then the prompt sees its globals (lua -i).
local script = tmp .. ".script.lua"
local sf = assert(io.open(script, "w"))
sf:write("x = 40 + select('#', ...)\nprint('script ran with ' .. tostring(arg[1]))\n")
sf:close()
local pu = io.popen("printf 'x + 1\\n' | " .. exe .. " " .. script .. " a1 2>&1; echo \"exit=$?\"")
t.is(pu:read("a"), "script ran with a1\n42\nexit=0\n", "lpact-repl script.lua args: the script, then the prompt with its globals")
pu:close()
for _, cmd in ipairs { exe .. " " .. script, B .. "/lpact -i " .. script } do
  pu = io.popen("printf 'x * 2\\n' | " .. cmd .. " 2>&1; echo \"exit=$?\"")
  t.is(pu:read("a"), "script ran with nil\n80\nexit=0\n", cmd:match("lpact%S*") .. (cmd:find(" -i ") and " -i" or "") .. " script.lua")
  pu:close()
end
os.remove(script)
pu = io.popen(exe .. " /nonexistent/script.lua 2>&1 </dev/null; echo \"exit=$?\"")
t.like(pu:read("a"), "^lpact%-repl: cannot open /nonexistent/script.lua[^\n]*\nexit=1\n$", "a missing script: one line, status 1")
pu:close()
pu = io.popen(exe .. " --frobnicate 2>&1 >/dev/null; echo \"exit=$?\"")
t.like(pu:read("a"), "^lpact%-repl: unknown option '%-%-frobnicate'\n.*exit=2\n$", "an unknown option: status 2")
pu:close()

os.remove(tmp)
os.remove(tmp .. ".err")
-- A hist made at the prompt names its figure after the line typed (the
-- C loop hands the chunk's text to repl.chunk while it runs, then clears it)
out, err, code = run(table.concat({
  "w = {1, 2, 2, 3}",
  "h = hist(w, {bins = 3})",
  "print(h.figure.title)",
  "print(hist(w, {title = 'mine'}).figure.title)",
  "print(require('lpact.repl').chunk)",
  "",
}, "\n"))
t.is(out, "hist(w, {bins = 3})\nmine\nprint(require('lpact.repl').chunk)\n", "hist at the prompt: titled after the call; an explicit title wins")
t.is(code, 0, "and the batch exits 0")

t.done()
