-- `make install` into a scratch DESTDIR: the programs, the stdlib with
-- its lessons, docs/, examples/ and scripts/ under share/lpact, and the
-- man pages; the installed programs find their stdlib on their own.
local t = require "lpact.tap"
local B = os.getenv("LPACT_BUILD") or "build"

local cwd = io.popen("pwd"):read("l")
local dest = string.format("%s/install-test-%d", B:match("^/") and B or (cwd .. "/" .. B),
  lpact.io.crc32(tostring({}) .. os.clock()))
local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- a make of its own, not the one running the suite (its jobserver)
local out, code = t.run("env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory install BUILD="
  .. q(B) .. " DESTDIR=" .. q(dest) .. " PREFIX=/usr")
t.is(code, 0, "make install", out)
local share = dest .. "/usr/share/lpact"
for _, f in ipairs { "/usr/bin/lpact", "/usr/bin/lpact-repl", "/usr/share/lpact/lpact.lua",
  "/usr/share/lpact/lessons/minifloat.lua", "/usr/share/lpact/docs/teaching.md",
  "/usr/share/lpact/docs/repl.md", "/usr/share/lpact/examples/02-ties.lua",
  "/usr/share/lpact/scripts/demo.lua", "/usr/share/man/man1/lpact.1", "/usr/share/man/man1/lpact-repl.1" } do
  local fh = io.open(dest .. f)
  t.ok(fh ~= nil, "installed: " .. f)
  if fh then fh:close() end
end

-- the installed programs, without LPACT_PATH, use the installed stdlib
local env = "env -u LPACT_PATH "
out, code = t.run(env .. q(dest .. "/usr/bin/lpact") .. " " .. q(share .. "/examples/02-ties.lua"))
t.is(code, 0, "an installed example runs")
t.like(out, "tie 2%.5   rne %-> 2", "... and prints what it promises")
out, code = t.run(env .. q(dest .. "/usr/bin/lpact") .. " lesson check minifloat")
t.is(code, 0, "the installed lessons pass their check", out)
out = t.run(env .. "XDG_STATE_HOME=" .. q(dest .. "/state") .. " " .. q(dest .. "/usr/bin/lpact-repl") .. " --lesson")
t.like(out, "minifloat +not started", "the installed lpact-repl lists the lessons")
out = t.run("echo 'help()' | " .. env .. q(dest .. "/usr/bin/lpact-repl"))
t.ok(out:find(share .. "/docs/repl.md", 1, true) ~= nil, "help() points at the installed docs", out)

-- the man pages render, with their name sections
for _, page in ipairs { "lpact", "lpact-repl" } do
  out, code = t.run("MANWIDTH=80 man -l " .. q(dest .. "/usr/share/man/man1/" .. page .. ".1") .. " 2>&1 | col -b")
  if code ~= 0 and out:find("not found") then
    t.skip(1, "man is not installed")
  else
    t.like(out, "NAME%s+" .. page:gsub("%-", "%%-") .. "%s+%- ", "man " .. page .. " renders")
  end
end

out, code = t.run("env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory uninstall BUILD="
  .. q(B) .. " DESTDIR=" .. q(dest) .. " PREFIX=/usr")
t.is(code, 0, "make uninstall")
t.is(io.open(dest .. "/usr/bin/lpact"), nil, "... removes the programs")
t.is(io.open(dest .. "/usr/share/man/man1/lpact.1"), nil, "... and the man pages")
os.execute("rm -rf " .. q(dest))
t.done()
