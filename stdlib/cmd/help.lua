--- lpact help [COMMAND] — list the commands, or show one command's usage.
-- first line of each command's doc comment).

local lpact = require "lpact"
local cli = require "lpact.cli"

local function cmd_dir()
  local path = package.searchpath("cmd.help", package.path)
  return path and path:gsub("help%.lua$", "")
end

-- A one-line description of a command file: the words after " — " on
-- its first doc line, else the first line of the paragraph below it.
local function summary(path)
  local fh = io.open(path)
  if not fh then return "" end
  local text = fh:read("a")
  fh:close()
  local first = text:match("^%-%-%-%s*([^\n]*)") or ""
  local desc = first:match("%s+—%s+(.*)$")
  if not desc then
    -- the first sentence of the paragraph below the first line
    local words = {}
    local n = 0
    for line in text:gmatch("[^\n]*") do
      n = n + 1
      if n > 1 then
        if not line:match("^%-%-") then break end
        local body = line:match("^%-%-%-?%s*(.-)%s*$")
        if body == "" then
          if #words > 0 then break end
        else
          words[#words + 1] = body
        end
      end
    end
    desc = table.concat(words, " "):match("^(.-%.)%s") or table.concat(words, " ")
  end
  desc = desc or ""
  if #desc > 72 then desc = desc:sub(1, 69) .. "..." end
  return desc
end

return function(args)
  local dir = cmd_dir()
  local entries = dir and lpact.io and lpact.io.listdir and lpact.io.listdir(dir) or {}
  local rows = {}
  for _, e in ipairs(entries) do
    local n = e:match("^([%w_%-]+)%.lua$")
    if n then rows[#rows + 1] = { n, summary(dir .. e) } end
  end
  table.sort(rows, function(a, b) return a[1] < b[1] end)
  local p = cli.parser("lpact help", "List the commands, or show one command's usage.")
  p:argument("command", "a command"):argname("COMMAND"):args("?")
  local want = cli.parse(p, args or {}).command
  if want then
    for _, r in ipairs(rows) do
      if r[1] == want then
        local fh = io.open(dir .. r[1] .. ".lua")
        local text = fh and fh:read("a") or ""
        if fh then fh:close() end
        for line in text:gmatch("[^\n]+") do
          if not line:match("^%-%-") then break end
          print((line:gsub("^%-%-%-?%s?", "")))
        end
        return 0
      end
    end
    local names = {}
    for _, r in ipairs(rows) do names[#names + 1] = r[1] end
    local guess = cli.nearest(want, names)
    lpact.fail("no command '" .. want .. "'" .. (guess and (" (did you mean '" .. guess .. "'?)") or "") .. "; 'lpact help' lists them")
  end
  print("usage: lpact [script.lua [args...]] | lpact -e CODE | lpact COMMAND [args...]")
  print("commands:")
  for _, r in ipairs(rows) do print(string.format("  %-10s %s", r[1], r[2])) end
  print("'lpact help COMMAND' shows a command's usage.")
  print("lpact-repl starts the interactive lab; docs/ has the manuals.")
  return 0
end
