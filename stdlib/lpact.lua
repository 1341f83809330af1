--- lpact — the module every script sees as the global `lpact`.
--
-- It gathers the functions of the C modules (lpact.c.format,
-- lpact.c.tensor, …) into one table, and loads the Lua submodules of the
-- stdlib (lpact.nn, lpact.optim, lpact.data, …) the first time a script
-- names them, so that starting the engine stays fast.

local engine = require "lpact.c.engine"

local lpact = {
  version = engine.version,
  engine = engine,
}

-- Every C module returns a table of functions; their names must not clash.
local owner = {}
for _, name in ipairs(require "lpact.c") do
  local mod = require("lpact.c." .. name)
  for k, v in pairs(mod) do
    if owner[k] then
      error(string.format("C modules '%s' and '%s' both define lpact.%s", owner[k], name, k))
    end
    owner[k], lpact[k] = name, v
  end
end

-- lpact.fail(msg [, status]) and lpact.is_failure(e) come from the C
-- module lpact.c.fail (interp/bind/fail.c): the bindings raise the same
-- object for a user's mistake, one line and exit status 2 at top level.

-- The name in `known` (a set) nearest to `word` by edit distance, if at
-- most two edits away (ties: the alphabetically first); else nil.
local function nearest_name(word, known)
  local best, bd = nil, 3
  for k in pairs(known) do
    if type(k) == "string" then
      local prev = {}
      for j = 0, #k do prev[j] = j end
      for i = 1, #word do
        local cur = { [0] = i }
        for j = 1, #k do
          cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (word:byte(i) == k:byte(j) and 0 or 1))
        end
        prev = cur
      end
      if prev[#k] < bd or (best and prev[#k] == bd and k < best) then best, bd = k, prev[#k] end
    end
  end
  return best
end
lpact.nearest_name = nearest_name

--- The first (alphabetically) string key of the options table `o` that is
-- not in `known` (a set, or a list of names), and the known name nearest
-- to it (nil if none is within two edits); nil when every key is known.
-- Integer keys (positional values) pass. `aliases` maps names people
-- often try to the right one.
function lpact.unknown_option(o, known, aliases)
  if type(o) ~= "table" then return nil end
  if known[1] then
    local set = {}
    for _, k in ipairs(known) do set[k] = true end
    known = set
  end
  local bad = {}
  for k in pairs(o) do
    if math.type(k) ~= "integer" and not known[k] then bad[#bad + 1] = tostring(k) end
  end
  if #bad == 0 then return nil end
  table.sort(bad)
  local alias = aliases and aliases[bad[1]]
  return bad[1], (alias and known[alias]) and alias or nearest_name(bad[1], known)
end

--- Fails (one line, exit status 2) when the options table `o` has a key
-- that is not in `known`: `what: unknown option 'epoch' (did you mean
-- 'epochs'?)`. Returns o.
function lpact.check_options(o, known, what, aliases)
  local name, guess = lpact.unknown_option(o, known, aliases)
  if name then
    lpact.fail(string.format("%s: unknown option '%s'%s", what, name, guess and (" (did you mean '" .. guess .. "'?)") or ""))
  end
  return o
end

--- For scripts that document their options in their opening comment
-- block: when `args` holds --help or -h, prints that block (without the
-- comment marks) to stdout and exits 0. `args[0]` is the script's path.
function lpact.script_help(args)
  local asked = false
  for _, a in ipairs(args) do asked = asked or a == "--help" or a == "-h" end
  if not asked then return end
  local f = args[0] and io.open(args[0])
  if not f then lpact.fail("no help: cannot read the script " .. tostring(args[0])) end
  for line in f:lines() do
    if not line:match("^%-%-") then break end
    io.write((line:gsub("^%-%- ?", "")), "\n")
  end
  f:close()
  os.exit(0)
end

--- Runs the subcommand `args[0]` with `args[1..]`: the stdlib module
-- `cmd.<word>` returns a function(args) that returns an exit status.
function lpact.command(args)
  local word = args[0]
  if not word:match("^[%w_-]+$") or not package.searchpath("cmd." .. word:gsub("-", "_"), package.path) then
    lpact.fail(string.format("'%s' is neither a file nor a command (try 'lpact help')", word))
  end
  local run = require("cmd." .. word:gsub("-", "_"))
  return run(args) or 0
end

-- Array and model files NumPy and PyTorch users exchange (lpact.interop).
for _, name in ipairs { "save_npy", "load_npy", "save_npz", "load_npz", "load_safetensors", "save_tensors", "load_model" } do
  lpact[name] = function(...) return require("lpact.interop")[name](...) end
end

-- Lua submodules load on first use: lpact.nn is require "lpact.nn".
return setmetatable(lpact, {
  __index = function(t, k)
    if type(k) ~= "string" or not k:match("^[%w_]+$") then return nil end
    local name = "lpact." .. k
    if not package.searchpath(name, package.path) then return nil end
    local mod = require(name)
    rawset(t, k, mod)
    return mod
  end,
})
