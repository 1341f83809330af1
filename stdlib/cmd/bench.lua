--- lpact bench [NAME [args...]] — run the micro-benchmarks: all, or stdlib/bench/NAME.lua.
-- Without NAME runs every stdlib/bench/*.lua in name order; with NAME runs
-- stdlib/bench/NAME.lua. A bench module is a plain Lua file returning
-- function(args) -> exit status (args[1..] are the words after NAME).

local lpact = require "lpact"

local USAGE = "usage: lpact bench [NAME [args...]]   (lpact bench --list shows the names)"

local function bench_dir()
  local path = package.searchpath("cmd.bench", package.path)
  return path and path:gsub("cmd/bench%.lua$", "bench")
end

local function names()
  local dir = bench_dir()
  local list = {}
  local entries = dir and lpact.io and lpact.io.listdir and lpact.io.listdir(dir) or {}
  for _, e in ipairs(entries) do
    local n = e:match("^([%w_%-]+)%.lua$")
    if n then list[#list + 1] = n end
  end
  table.sort(list)
  return list
end

local function run(name, args)
  local path = package.searchpath("bench." .. name, package.path)
  if not path then
    lpact.fail(string.format("no benchmark '%s' (have: %s)", name, table.concat(names(), ", ")))
  end
  local fn = dofile(path)
  if type(fn) ~= "function" then error(path .. " does not return a function") end
  return fn(args) or 0
end

return function(args)
  local first = args[1]
  if first == "-h" or first == "--help" then print(USAGE) return 0 end
  if first == "--list" then
    for _, n in ipairs(names()) do print(n) end
    return 0
  end
  if first then
    if not first:match("^[%w_%-]+$") then lpact.fail("bad benchmark name '" .. first .. "'; " .. USAGE) end
    local rest = {}
    for i = 2, #args do rest[#rest + 1] = args[i] end
    return run(first, rest)
  end
  local status = 0
  for _, n in ipairs(names()) do
    print(string.format("== bench %s ==", n))
    local s = run(n, {})
    if s ~= 0 then status = s end
  end
  return status
end
