--- lpact bench [NAME [args...]] — run the micro-benchmarks: all, or stdlib/bench/NAME.lua.
-- Without NAME runs every stdlib/bench/*.lua in name order; with NAME runs
-- stdlib/bench/NAME.lua. A bench module is a plain Lua file returning
-- function(args) -> exit status (args[1..] are the words after NAME).

local lpact = require "lpact"

local cli = require "lpact.cli"

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
    local guess = cli.nearest(name, names())
    lpact.fail(string.format("no benchmark '%s'%s (have: %s)", name, guess and (" (did you mean '" .. guess .. "'?)") or "",
      table.concat(names(), ", ")))
  end
  local fn = dofile(path)
  if type(fn) ~= "function" then error(path .. " does not return a function") end
  return fn(args) or 0
end

return function(args)
  -- the words from NAME on are the benchmark's own
  local own, name, rest = {}, nil, {}
  for i = 1, #args do
    if name then rest[#rest + 1] = args[i]
    elseif args[i]:sub(1, 1) == "-" then own[#own + 1] = args[i]
    else name = args[i] end
  end
  local p = cli.parser("lpact bench", "Run the micro-benchmarks: all of stdlib/bench in name order, or NAME " ..
    "with the words after it.")
  p:flag("--list", "list the benchmarks' names")
  local o = cli.parse(p, own)
  if o.list then
    for _, n in ipairs(names()) do print(n) end
    return 0
  end
  if name then
    if not name:match("^[%w_%-]+$") then lpact.fail("bench: bad benchmark name '" .. name .. "'") end
    return run(name, rest)
  end
  local status = 0
  for _, n in ipairs(names()) do
    print(string.format("== bench %s ==", n))
    local s = run(n, {})
    if s ~= 0 then status = s end
  end
  return status
end
