-- The engine: scripts see `arg`, lpact is preloaded, subcommands and
-- errors follow the command-line contract (README, docs/architecture.md).
local t = require "lpact.tap"
local B = os.getenv("LPACT_BUILD") or "build"
local exe = B .. "/lpact"

local run = t.run

t.ok(type(lpact) == "table", "lpact is a global")
t.like(lpact.version, "^%d+%.%d+%.%d+$", "lpact.version")
t.is(arg[0], "tests/00-engine.lua", "arg[0] is the script")

local out, code = run(exe .. " -e 'print(1 + 1, arg[1])' x")
t.is(out, "2\tx\n", "-e runs code and sees arg")
t.is(code, 0, "-e exits 0")

out, code = run(exe .. " -e 'error(\"boom\")'")
t.like(out, "^lpact: %(command line%):1: boom\nstack traceback:", "an error prints a traceback")
t.is(code, 1, "an uncaught error exits 1")

out, code = run(exe .. " -e 'lpact.fail(\"bad thing\")'")
t.is(out, "lpact: bad thing\n", "lpact.fail prints one line")
t.is(code, 2, "lpact.fail exits 2 by default")

out, code = run(exe .. " nosuchcommand")
t.is(out, "lpact: 'nosuchcommand' is neither a file nor a command (try 'lpact help')\n", "unknown word")
t.is(code, 2, "unknown word exits 2")

out, code = run(exe .. " no/such/file.lua")
t.like(out, "^lpact: cannot open no/such/file.lua", "missing script named")
t.is(code, 1, "missing script exits 1")

out, code = run("echo 'print(arg[0], 6 * 7)' | " .. exe .. " -")
t.is(out, "-\t42\n", "'-' reads the script from stdin")

out, code = run(exe .. " --bogus")
t.is(code, 2, "unknown option exits 2")

t.done()
