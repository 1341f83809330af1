-- The layering rules of docs/architecture.md, checked on the sources: the
-- core includes no Lua header, the quantized layer needs neither models
-- nor train, no Lua code recovers from an error by matching its text, and
-- no Lua file keeps its own list of the engine's activations or modes.
local t = require "lpact.tap"

local function files(dir, ext, out)
  out = out or {}
  for _, name in ipairs(lpact.io.listdir(dir)) do
    local p = dir .. "/" .. name
    if lpact.io.isdir(p) then files(p, ext, out)
    elseif name:sub(-#ext) == ext then out[#out + 1] = p end
  end
  table.sort(out)
  return out
end
local function read(p)
  local f = assert(io.open(p))
  local s = f:read("a")
  f:close()
  return s
end

-- the numeric core knows no Lua (the Makefile also compiles it without
-- Lua's include path and links the C tests against it alone)
local core = files("interp/core", ".c")
for _, h in ipairs(files("interp/core", ".h")) do core[#core + 1] = h end
t.ok(#core >= 10, #core .. " core sources")
local lua_in_core = {}
for _, p in ipairs(core) do
  if read(p):find("#include%s*[<\"]l[ua][au]") then lua_in_core[#lua_in_core + 1] = p end
end
t.same(lua_in_core, {}, "no core source includes a Lua header")

-- the quantized layer and its options need nn and autograd only
for _, p in ipairs { "stdlib/lpact/qact/layer.lua", "stdlib/lpact/qact/options.lua", "stdlib/lpact/qact/errors.lua" } do
  local s = read(p)
  t.ok(not s:find('require%s*%(?%s*"lpact%.models"') and not s:find('require%s*%(?%s*"lpact%.train"'),
    p .. " requires neither lpact.models nor lpact.train")
end

-- no matching of error text: a failure is recognised by lpact.is_failure
local lua = files("stdlib", ".lua")
for _, p in ipairs(files("scripts", ".lua")) do lua[#lua + 1] = p end
local matched = {}
for _, p in ipairs(lua) do
  local n = 0
  for line in read(p):gmatch("[^\n]+") do
    n = n + 1
    if not line:match("^%s*%-%-") and line:find("bad argument", 1, true)
        and (line:find(":match(", 1, true) or line:find(":gsub(", 1, true) or line:find(":find(", 1, true)) then
      matched[#matched + 1] = p .. ":" .. n
    end
  end
end
t.same(matched, {}, "no Lua code matches the text of a binding's error")

-- the engine's lists are not retyped in Lua: no file names three
-- registry activations or three rounding modes as string literals
local acts, modes = {}, {}
for _, a in ipairs(lpact.activations()) do acts[#acts + 1] = a.name end
for _, m in ipairs(lpact.format_names().modes) do modes[#modes + 1] = m end
local copies = {}
for _, p in ipairs(lua) do
  local s = read(p)
  local function count(list)
    local c = 0
    for _, w in ipairs(list) do
      if w ~= "identity" and w ~= "sr" and s:find('"' .. w .. '"', 1, true) then c = c + 1 end
    end
    return c
  end
  if count(acts) >= 4 or count(modes) >= 4 then copies[#copies + 1] = p end
end
t.same(copies, {}, "no Lua file keeps its own list of activations or rounding modes")
t.done()
