--- lpact.cli — the command lines of lpact's scripts and subcommands, on
-- Debian's lua-argparse.
--
--     local cli = require "lpact.cli"
--     local p = cli.parser("lpact scripts/train.lua", "Train a model of the zoo.")
--     p:option("--epochs", "training epochs"):argname("N"):default("5"):convert(cli.int(1))
--     p:option("--act", "activation"):argname("NAME"):default("relu")
--     p:flag("--quiet", "no per-epoch lines")
--     local o = cli.parse(p, arg)          -- o.epochs == 5 (an integer), o.act, o.quiet
--
-- What every lpact command line gets from here:
--   * `--opt value` and `--opt=value`; a negative number is a value
--     (`--lr -1` reaches the check of --lr, not "unknown option '-1'");
--   * `--help` (and -h), generated from the options, exit status 0;
--   * option names with '-' or '_' alike (`--level-lr`, `--level_lr`);
--     the parser's `aliases` (older spellings) map to the name in use;
--   * every value converted and checked while parsing, before any work;
--   * a mistake is ONE line and exit status 2 (lpact.fail):
--     `train.lua: unknown option '--epoch' (did you mean '--epochs'?)`.

local argparse = require "argparse"
local lpact = require "lpact"

local cli = {}

-- The name in `names` (a list) nearest to `word` by edit distance, if at
-- most two edits away (ties: the alphabetically first); else nil.
local function nearest(word, names)
  local set = {}
  for _, k in ipairs(names) do set[k] = true end
  return lpact.nearest_name(word, set)
end
cli.nearest = nearest

--- A parser for the command `prog` (as a user types it: "lpact report",
-- "lpact scripts/demo.lua"), with `description` above the options and
-- `epilog` below them in --help. `aliases` maps older option names
-- (without dashes) to the names in use: { acts = "act" }.
function cli.parser(prog, description, epilog, aliases)
  local p = argparse(prog, description, epilog)
  p:add_help(true)
  p:help_max_width(100)
  p:usage_max_width(100)
  p._lpact = { prog = prog, aliases = aliases or {} }
  return p
end

-- ---- value checks (argparse converters) -----------------------------------

local function fmt_num(s) return "'" .. tostring(s) .. "'" end

--- A whole number >= min (and <= max when given).
function cli.int(min, max)
  return function(s)
    local n = math.tointeger(tonumber(s))
    if not n or (min and n < min) or (max and n > max) then
      local range = max and string.format("from %d to %d", min, max) or string.format(">= %d", min or math.mininteger)
      return nil, "a whole number " .. range .. " expected, got " .. fmt_num(s)
    end
    return n
  end
end

--- A finite number; o.min / o.max bound it (inclusive), o.above / o.below
-- strictly: cli.number{above = 0} is a positive number. With o.text the
-- value stays the text as typed (checked), for names built from it.
function cli.number(o)
  o = o or {}
  return function(s)
    local x = tonumber(s)
    local ok = x and x == x and x > -math.huge and x < math.huge
      and (o.min == nil or x >= o.min) and (o.max == nil or x <= o.max)
      and (o.above == nil or x > o.above) and (o.below == nil or x < o.below)
    if not ok then
      local what = {}
      if o.min then what[#what + 1] = ">= " .. o.min end
      if o.above then what[#what + 1] = "> " .. o.above end
      if o.max then what[#what + 1] = "<= " .. o.max end
      if o.below then what[#what + 1] = "< " .. o.below end
      return nil, "a number" .. (#what > 0 and (" " .. table.concat(what, " and ")) or "") .. " expected, got " .. fmt_num(s)
    end
    if o.text then return s end
    return x
  end
end

--- One of the words of `list` (a list, or a set such as {relu = true}:
-- its keys in sorted order).
function cli.choice(list)
  if list[1] == nil then
    local keys = {}
    for k in pairs(list) do keys[#keys + 1] = k end
    table.sort(keys)
    list = keys
  end
  local set = {}
  for _, w in ipairs(list) do set[w] = true end
  return function(s)
    if set[s] then return s end
    local guess = nearest(s, list)
    return nil, string.format("expected %s, got '%s'%s", table.concat(list, ", "), s,
      guess and (" (did you mean '" .. guess .. "'?)") or "")
  end
end

--- A comma-separated list of at least one item, each passed through
-- `each` (a converter from this module, a list of words, or nil for any
-- word); returns the list of converted items.
function cli.list(each)
  if type(each) == "table" then each = cli.choice(each) end
  return function(s)
    local t = {}
    for w in s:gmatch("[^,]+") do
      local v, err = w, nil
      if each then v, err = each(w) end
      if v == nil then return nil, err end
      t[#t + 1] = v
    end
    if #t == 0 then return nil, "at least one value expected, got '" .. s .. "'" end
    return t
  end
end

-- ---- parsing ------------------------------------------------------------------

local function is_negative_number(s)
  return s:match("^%-%.?%d") ~= nil or s:lower() == "-inf"
end

-- Wraps the converters of p's options and arguments, and of its
-- subcommands' (lpact lesson handout NAME DIR): a file or folder value
-- refuses the empty word; a message gets the option's name.
local function wrap_converters(p)
  for _, list in ipairs { p._options, p._arguments } do
    for _, el in ipairs(list) do
      -- a file or folder (its argname says DIR, FILE, PATH or a file
      -- extension) is never the empty word: '' would mean the current
      -- folder to some calls and nothing to others
      local an = type(el._argname) == "string" and el._argname or ""
      if (an:match("DIR") or an:match("FILE") or an:match("PATH") or an:match("%.%a+$"))
          and (el._convert == nil or type(el._convert) == "function") then
        local inner = el._convert
        el._convert = function(s)
          if s == "" then return nil, "a file or folder name expected, got ''" end
          if type(inner) == "function" then return inner(s) end
          return s
        end
      end
      local conv = el._convert
      if type(conv) == "function" then
        el._convert = function(s)
          local v, err = conv(s)
          if v == nil then return nil, el._name .. ": " .. (err or ("bad value '" .. tostring(s) .. "'")) end
          return v
        end
      end
    end
  end
  for _, c in ipairs(p._commands or {}) do wrap_converters(c) end
end

-- Every option of p: name -> takes a value (boolean); its converters get
-- the option's name into their messages (once per parser).
local function options_of(p)
  local takes, names = {}, {}
  for _, opt in ipairs(p._options) do
    for _, a in ipairs(opt._aliases) do
      takes[a] = opt._maxargs > 0
      if a:sub(1, 2) == "--" then names[#names + 1] = a end
    end
  end
  if not p._lpact.named then
    p._lpact.named = true
    wrap_converters(p)
  end
  table.sort(names)
  return takes, names
end

-- The arguments as argparse should see them: option names spelled the
-- way the parser has them, the value of an option joined to it (so that
-- "--lr -1" reaches the check of --lr, not "unknown option '-1'"), and
-- the positional words after "--" (so that a word may be "-1.5").
local function normalize(p, args, takes)
  local aliases = p._lpact.aliases
  -- a word is taken as the value of the option before it unless it is
  -- an option of this parser ("--sbatch --mem=4G" passes "--mem=4G")
  local function is_option(w)
    if w:sub(1, 2) == "--" then
      local name = w:match("^%-%-([^=]*)"):gsub("_", "-")
      name = aliases[name] or aliases[name:gsub("-", "_")] or name
      return takes["--" .. name] ~= nil
    end
    return takes[w] ~= nil
  end
  local opts, words = {}, {}
  local i, n = 1, #args
  while i <= n do
    local a = args[i]
    if a == "--" then
      for j = i + 1, n do words[#words + 1] = args[j] end
      break
    elseif a:sub(1, 2) == "--" then
      local name, rest = a:match("^%-%-([^=]*)(.*)$")
      name = name:gsub("_", "-")
      name = aliases[name] or aliases[name:gsub("-", "_")] or name
      a = "--" .. name .. rest
      opts[#opts + 1] = a
      local v = args[i + 1]
      if rest == "" and takes[a] and v ~= nil and not is_option(v) then
        opts[#opts] = a .. "=" .. args[i + 1]
        i = i + 1
      end
    elseif a:sub(1, 1) == "-" and #a > 1 and not is_negative_number(a) then
      opts[#opts + 1] = a
      local v = args[i + 1]
      if takes[a] and v ~= nil and not is_option(v) then
        opts[#opts + 1] = args[i + 1]
        i = i + 1
      end
    else
      words[#words + 1] = a
    end
    i = i + 1
  end
  if #words > 0 then
    opts[#opts + 1] = "--"
    for _, w in ipairs(words) do opts[#opts + 1] = w end
  end
  return opts
end

-- argparse's message made one line in lpact's words.
local function one_line(p, msg, names)
  msg = msg:gsub("\nDid you mean.*$", "")
  local bad = msg:match("^unknown option '(%-%-[^']*)'$")
  if bad then
    local guess = nearest(bad, names)
    if guess then msg = msg .. " (did you mean '" .. guess .. "'?)" end
    msg = msg .. "; " .. p._lpact.prog .. " --help lists the options"
  elseif msg:match("^unknown command '([^']*)'$") then
    local cmds = {}
    for _, c in ipairs(p._commands) do cmds[#cmds + 1] = c._name end
    local guess = nearest(msg:match("^unknown command '([^']*)'$"), cmds)
    msg = msg .. (guess and (" (did you mean '" .. guess .. "'?)") or "") .. "; expected " .. table.concat(cmds, ", ")
  elseif msg:match("^unknown option") then
    msg = msg .. "; " .. p._lpact.prog .. " --help lists the options"
  elseif msg:match("^missing argument") or msg:match("^too many arguments") then
    msg = msg .. "; " .. (p:get_usage():gsub("^Usage:", "usage:"):gsub("%s+", " "))
  end
  return (msg:gsub("\n", " "))
end

--- Parses `args` (a list; args[0] and below are ignored) with the parser
-- p; returns argparse's table of results (option names with '_' for '-').
-- --help prints the help and exits 0; a mistake fails with one line
-- naming the command (exit status 2).
function cli.parse(p, args)
  local list = {}
  for i = 1, #args do
    if args[i] == "--" then break end
    if args[i] == "--help" or args[i] == "-h" then list = { "--help" } break end   -- help wins over any mistake
    list[i] = args[i]
  end
  if list[1] ~= "--help" then
    for i = 1, #args do list[i] = args[i] end
  end
  local takes, names = options_of(p)
  local ok, res = p:pparse(normalize(p, list, takes))
  if not ok then
    -- "report", "bench train", "train.lua" (a script by its file name)
    local who = p._lpact.prog:gsub("^lpact%s+", "")
    if who:find("/", 1, true) then who = who:match("([^%s/]+)$") end
    lpact.fail(who .. ": " .. one_line(p, res, names))
  end
  -- argparse leaves an optional positional word that is not given nil:
  -- its default, converted, as for an option
  for _, el in ipairs(p._arguments) do
    local key = el._target or el._name
    if res[key] == nil and el._default ~= nil then
      local v = el._default
      if type(el._convert) == "function" then v = el._convert(v) end
      res[key] = v
    end
  end
  return res
end

return cli
