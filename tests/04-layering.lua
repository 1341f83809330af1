-- The layering rules of docs/architecture.md, checked on the sources: the
-- core includes no Lua header, the quantized layer needs neither models
-- nor train, no Lua code recovers from an error by matching its text, no
-- file keeps its own list of the engine's activations or modes, and no
-- default: hides an enum value from the compiler.
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

-- nor does C outside the registry (core/act.{h,c}) and the name lists
-- (core/format.c): tensor.c's methods relu, tanh, sigmoid are three
local csrc = files("interp", ".c")
for _, h in ipairs(files("interp", ".h")) do csrc[#csrc + 1] = h end
local ccopies = {}
for _, p in ipairs(csrc) do
  if p ~= "interp/core/act.c" and p ~= "interp/core/act.h" and p ~= "interp/core/format.c" then
    local s = read(p)
    local na, nm = 0, 0
    for _, w in ipairs(acts) do if w ~= "identity" and s:find('"' .. w .. '"', 1, true) then na = na + 1 end end
    for _, w in ipairs(modes) do if w ~= "sr" and s:find('"' .. w .. '"', 1, true) then nm = nm + 1 end end
    if na >= 4 or nm >= 4 then ccopies[#ccopies + 1] = p end
  end
end
t.is(table.concat(ccopies, ", "), "", "no C file outside the registry and format.c lists activations or rounding modes")

-- no default: label hides an enum value from -Wswitch (which names a
-- missing case only in a switch without default). The two left switch
-- over bytes read from a file, where anything else is bad input:
local allowed = {
  ["interp/core/dataset.c"] = 1,       -- idx_elsize: an IDX type byte
  ["interp/core/safetensors.c"] = 1,   -- a JSON escape character
}
local defaults = {}
for _, p in ipairs(csrc) do
  local n = 0
  for line in read(p):gmatch("[^\n]+") do
    local code = line:gsub("/%*.-%*/", ""):gsub("//.*", "")
    if code:find("^%s*default%s*:") or code:find("[;{}]%s*default%s*:") then n = n + 1 end
  end
  if n ~= (allowed[p] or 0) then defaults[#defaults + 1] = p .. ": " .. n end
end
t.is(table.concat(defaults, ", "), "", "default: labels only where a switch reads file bytes")

-- a source file past ~700 lines (750 here) is named, with its reason, in
-- docs/architecture.md's "Files over 700 lines"
local arch = read("docs/architecture.md")
local long = {}
local all = {}
for _, d in ipairs { "interp", "stdlib", "scripts", "tests" } do
  for _, ext in ipairs { ".c", ".h", ".lua" } do files(d, ext, all) end
end
for _, p in ipairs(all) do
  local _, n = read(p):gsub("\n", "")
  if n > 750 and not arch:find("`" .. p .. "`", 1, true) then long[#long + 1] = p .. " (" .. n .. " lines)" end
end
t.is(table.concat(long, ", "), "", "every source file over ~700 lines is explained in docs/architecture.md")
t.done()
