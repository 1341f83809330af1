--- lpact.help — help() for the REPL: what there is, and the doc comment of
-- any function, module or object.
--
-- Docs are not kept apart: they are the `---` comments written above each
-- function in the stdlib sources, read from the file that defines the
-- function (debug.getinfo gives the file and the line). C functions are
-- documented by the comment above them in interp/bind/*.c when the source
-- tree is at hand.

local help = {}

local fmt_str = string.format

local file_cache = {}

-- The lines of a file (cached), or nil.
local function lines_of(path)
  if file_cache[path] ~= nil then return file_cache[path] or nil end
  local f = io.open(path, "r")
  if not f then file_cache[path] = false; return nil end
  local t = {}
  for l in f:lines() do t[#t + 1] = l end
  f:close()
  file_cache[path] = t
  return t
end

-- The comment block that ends right above line `n` (a `---` doc comment
-- and the `--` lines that follow it), without the dashes; or nil.
local function comment_above(lines, n)
  local i = n - 1
  local block = {}
  while i >= 1 and lines[i]:match("^%s*%-%-") and not lines[i]:match("^%s*%-%-%-%-") do
    table.insert(block, 1, lines[i])
    if lines[i]:match("^%s*%-%-%-[^%-]") or lines[i]:match("^%s*%-%-%-$") then break end
    i = i - 1
  end
  if #block == 0 or not block[1]:match("^%s*%-%-%-") then return nil end
  for k, l in ipairs(block) do block[k] = l:gsub("^%s*%-%-%-?%s?", "") end
  return table.concat(block, "\n")
end

-- The leading comment of a module file (its purpose), or nil.
local function file_doc(path)
  local lines = lines_of(path)
  if not lines then return nil end
  local block = {}
  for _, l in ipairs(lines) do
    if not l:match("^%-%-") then break end
    block[#block + 1] = (l:gsub("^%-%-%-?%s?", ""))
  end
  return #block > 0 and table.concat(block, "\n") or nil
end

local lfs = require "lfs"

local function stdlib_dir() return lpact.engine.stdlib_dir or "." end

-- Where docs/ and examples/ are: next to the stdlib when installed
-- (share/lpact), one folder up in the source tree.
local function docs_root()
  local dir = stdlib_dir()
  if not lpact.io.isdir(dir .. "/docs") then dir = dir .. "/.." end
  local n
  repeat dir, n = dir:gsub("/[^/]+/%.%./", "/", 1) until n == 0   -- bin/../share -> share
  repeat dir, n = dir:gsub("/[^/]+/%.%.$", "", 1) until n == 0
  return dir
end
-- The names in folder dir, sorted (lua-filesystem); none when it cannot be read.
local function files_in(dir)
  local names = {}
  local ok, iter, state = pcall(lfs.dir, dir)
  if not ok then return names end
  for n in iter, state do
    if n ~= "." and n ~= ".." then names[#names + 1] = n end
  end
  table.sort(names)
  return names
end

--- The doc comment of a Lua function (from its source file), with its
-- definition line; nil when there is none.
function help.doc_of_function(f)
  local info = debug.getinfo(f, "S")
  if not info or info.what == "C" or info.source:sub(1, 1) ~= "@" then return nil end
  local lines = lines_of(info.source:sub(2))
  if not lines or not lines[info.linedefined] then return nil end
  local doc = comment_above(lines, info.linedefined)
  local def = lines[info.linedefined]:gsub("^%s*local%s+", ""):gsub("^%s*", "")
  return doc, def, info.short_src .. ":" .. info.linedefined
end

-- C functions: the contract comment above `static int name(` in the binding
-- sources, matched by the Lua-facing name written at the comment's start
-- ("/* f:round(x [, ctr]): ..." or "/* lpact.format(spec) -> Format. */").
local c_docs
local function load_c_docs()
  if c_docs then return c_docs end
  c_docs = {}
  local dir = stdlib_dir() .. "/../interp/bind"
  local paths = {}
  for _, n in ipairs(files_in(dir)) do
    if n:match("%.c$") then paths[#paths + 1] = dir .. "/" .. n end
  end
  local engine_c = stdlib_dir() .. "/../interp/engine.c"
  if lfs.attributes(engine_c, "mode") == "file" then paths[#paths + 1] = engine_c end
  for _, path in ipairs(paths) do
    local lines = lines_of(path) or {}
    local i = 1
    while i <= #lines do
      local l = lines[i]
      local start = l:match("^/%*%s?(.*)")
      if start then
        local block, j = { start }, i
        while not lines[j]:find("%*/") and j < #lines do
          j = j + 1
          block[#block + 1] = (lines[j]:gsub("^%s*%*%s?", ""))
        end
        local text = table.concat(block, "\n"):gsub("%s*%*/%s*$", "")
        local nextl = lines[j + 1] or ""
        if nextl:match("^static int") then
          local name = text:match("^[%w_]*[.:]([%w_]+)%(") or text:match("^([%w_]+)%(")
          if name then
            c_docs[name] = c_docs[name] or {}
            table.insert(c_docs[name], { text = text, file = path:match("[^/]+$") })
          end
        end
        i = j + 1
      else
        i = i + 1
      end
    end
  end
  return c_docs
end

-- The method tables behind a metatable's __index: a class and its
-- parents (classes chain through __index tables), or the tables a C
-- __index closure holds as upvalues.
local function index_tables(mt)
  local idx = mt and rawget(mt, "__index")
  local tables = {}
  if type(idx) == "table" then
    local seen = {}
    while type(idx) == "table" and not seen[idx] and #tables < 8 do
      seen[idx] = true
      tables[#tables + 1] = idx
      local pmt = debug.getmetatable(idx)
      idx = pmt and rawget(pmt, "__index")
    end
  elseif type(idx) == "function" and debug.getinfo(idx, "S").what == "C" then
    for i = 1, 8 do
      local n, v = debug.getupvalue(idx, i)
      if not n then break end
      if type(v) == "table" then tables[#tables + 1] = v end
    end
  end
  return tables
end

-- Where a value lives: "lpact.format", "levels", "Format:round"...
local function find_name(x)
  for k, v in pairs(_G) do if rawequal(v, x) then return k end end
  for k, v in pairs(lpact) do
    if rawequal(v, x) then return "lpact." .. k end
  end
  for k, v in pairs(lpact) do
    if type(v) == "table" and k ~= "engine" then
      for k2, v2 in pairs(v) do if rawequal(v2, x) then return "lpact." .. k .. "." .. k2 end end
    end
  end
  for k, v in pairs(lpact.engine) do if rawequal(v, x) then return "lpact.engine." .. k end end
  local reg = debug.getregistry()
  for _, mtname in ipairs({ "lpact.Format", "lpact.Tensor" }) do
    for _, t in ipairs(index_tables(reg[mtname])) do
      for k, v in pairs(t) do
        if rawequal(v, x) then return mtname:gsub("^lpact%.", "") .. ":" .. k end
      end
    end
  end
  return nil
end

local function c_doc(x)
  local name = find_name(x)
  if not name then return nil end
  local short = name:match("[%w_]+$")
  local docs = load_c_docs()[short]
  if not docs then return nil, name end
  -- prefer the binding file of the object's type
  local want = name:match("^Format:") and "format.c" or name:match("^Tensor:") and "tensor.c" or
    name:match("^lpact%.engine%.") and "engine.c" or nil
  for _, d in ipairs(docs) do
    if d.file == want then return d.text, name end
  end
  if want then return nil, name end
  return docs[1].text, name
end

local function method_tables(obj)
  local mt = debug.getmetatable(obj)
  return index_tables(mt), mt
end

local function sorted_keys(t, pred)
  local ks = {}
  for k, v in pairs(t) do
    if type(k) == "string" and (not pred or pred(k, v)) then ks[#ks + 1] = k end
  end
  table.sort(ks)
  return ks
end

-- Names in columns fitted to the width.
local function columns(names, indent, width)
  local w = 0
  for _, n in ipairs(names) do w = math.max(w, #n) end
  w = w + 2
  local per = math.max(1, (width - indent) // w)
  local out, line = {}, {}
  for i, n in ipairs(names) do
    line[#line + 1] = n .. string.rep(" ", w - #n)
    if #line == per or i == #names then
      out[#out + 1] = string.rep(" ", indent) .. table.concat(line):gsub("%s+$", "")
      line = {}
    end
  end
  return table.concat(out, "\n")
end

-- First sentence of a doc, without the leading "name(args) —".
local function summary(doc, maxlen)
  if not doc then return "" end
  local s = doc:gsub("\n", " "):gsub("^[^—]-—%s*", "")
  s = s:match("^(.-[%.;])%s+%u") or s:match("^(.-%.)$") or s
  if #s > maxlen then s = s:sub(1, maxlen - 1):gsub("[\128-\191]*$", ""):gsub("[\192-\255]$", "") .. "…" end
  return s
end

local LAB = { "levels", "compare", "hist", "plot", "errors", "usage", "help" }

local function overview()
  local width = require("lpact.show").width()
  local out = {}
  out[#out + 1] = fmt_str("lpact %s — a lab for minifloat arithmetic in neural networks (%s)", lpact.version, _VERSION)
  out[#out + 1] = ""
  out[#out + 1] = "In the lab (help(name) for more):"
  local rows, cw = {}, 0
  for _, name in ipairs(LAB) do
    local f = rawget(_G, name)
    if type(f) == "function" then
      local doc = help.doc_of_function(f)
      local call = doc and doc:match("^([%w_]+%b())") or (name .. "(…)")
      rows[#rows + 1] = { call, doc }
      cw = math.max(cw, #call)
    end
  end
  for _, r in ipairs(rows) do
    out[#out + 1] = fmt_str("  %-" .. cw .. "s  %s", r[1], summary(r[2], width - cw - 5))
  end
  out[#out + 1] = ""
  local presets = rawget(lpact, "formats")
  if type(presets) == "table" then
    out[#out + 1] = "Formats: lpact.format \"fp4\", or a spec like \"e3m2:nosub:rtz\". Presets:"
    out[#out + 1] = "  " .. table.concat(presets, " ")
    out[#out + 1] = ""
  end
  local fns = sorted_keys(lpact, function(k, v) return type(v) == "function" and not k:match("^bench_") end)
  out[#out + 1] = "lpact functions:"
  out[#out + 1] = columns(fns, 2, width)
  local mods = {}
  for _, f in ipairs(files_in(stdlib_dir() .. "/lpact")) do
    local n = f:match("^([%w_]+)%.lua$")
    if n and n ~= "tap" and n ~= "repl" and n ~= "help" then mods[#mods + 1] = "lpact." .. n end
  end
  if #mods > 0 then
    out[#out + 1] = "Modules (loaded on first use):"
    out[#out + 1] = columns(mods, 2, width)
  end
  out[#out + 1] = ""
  out[#out + 1] = "Tab completes names and methods; Ctrl-C stops a computation; Ctrl-D quits."
  local root = docs_root()
  out[#out + 1] = "Lessons: lesson() lists the guided lessons. Examples: " .. root .. "/examples/;"
  out[#out + 1] = "the guides: " .. root .. "/docs/repl.md, " .. root .. "/docs/teaching.md."
  return table.concat(out, "\n")
end

local function describe_function(f)
  local doc, def, where = help.doc_of_function(f)
  if doc then
    return fmt_str("%s\n  (%s)\n\n%s", def, where, doc)
  end
  if debug.getinfo(f, "S").what == "C" then
    local text, name = c_doc(f)
    if text then return fmt_str("%s  (C function)\n\n%s", name, text) end
    return fmt_str("%s: a C function without a doc comment at hand", name or tostring(f))
  end
  return fmt_str("%s: no doc comment (%s)", tostring(f), where or debug.getinfo(f, "S").short_src)
end

local function describe_table(t, name)
  local out = {}
  local path = name and package.searchpath(name, package.path)
  local doc = path and file_doc(path)
  out[#out + 1] = doc or (name or tostring(t))
  local fns = sorted_keys(t, function(_, v) return type(v) == "function" end)
  if #fns > 0 then
    out[#out + 1] = ""
    out[#out + 1] = "Functions:"
    local width = require("lpact.show").width()
    for _, k in ipairs(fns) do
      local d = help.doc_of_function(t[k])
      out[#out + 1] = fmt_str("  %-22s %s", k, summary(d, width - 26))
    end
  end
  local others = sorted_keys(t, function(_, v) return type(v) ~= "function" end)
  if #others > 0 then
    out[#out + 1] = ""
    out[#out + 1] = "Fields: " .. table.concat(others, " ")
  end
  return table.concat(out, "\n")
end

local function describe_object(x)
  local tables, mt = method_tables(x)
  local tname = mt and (rawget(mt, "__name") or "object") or type(x)
  local s = tostring(x)
  local out = { s:find("\n") and tostring(tname) or fmt_str("%s  (%s)", tostring(tname), s) }
  local width = require("lpact.show").width()
  local bare, done = {}, {}
  out[#out + 1] = "Methods (obj:name(...); help(obj.name) shows one):"
  for _, t in ipairs(tables) do
    local ks = sorted_keys(t, function(k, v) return type(v) == "function" and not done[k] and not k:match("^_") end)
    if #ks > 0 then
      for _, k in ipairs(ks) do
        done[k] = true
        local d
        if debug.getinfo(t[k], "S").what == "C" then d = c_doc(t[k]) else d = help.doc_of_function(t[k]) end
        if d then
          out[#out + 1] = fmt_str("  %-14s %s", k, summary(d:gsub("^%S+%b()%s*[-:>]*%s*", ""), width - 18))
        else
          bare[#bare + 1] = k
        end
      end
    end
  end
  if #bare > 0 then
    out[#out + 1] = "  and:"
    out[#out + 1] = columns(bare, 4, width)
  end
  return table.concat(out, "\n")
end

-- Resolves "levels", "lpact.format", "lpact.nn.Linear" to a value.
local function resolve(name)
  local v = _G
  for part in name:gmatch("[^.:]+") do
    if type(v) ~= "table" and type(v) ~= "userdata" then return nil end
    local ok, r = pcall(function() return v[part] end)
    if not ok then return nil end
    v = r
  end
  return v
end

--- help() lists what there is; help(x) shows the doc comment of a
-- function, the functions of a module or table, the methods of an
-- object; help "name" looks up a dotted name first ("lpact.nn.Linear").
-- Returns the text as a view (the REPL prints it).
function help.text(x, ...)
  if select("#", ...) == 0 and x == nil then return overview() end
  if type(x) == "string" then
    local v = resolve(x)
    if v == nil then
      local ok, mod = pcall(require, x)
      if ok and type(mod) == "table" then return describe_table(mod, x) end
      local ok2, mod2 = pcall(require, "lpact." .. x)
      if ok2 and type(mod2) == "table" then return describe_table(mod2, "lpact." .. x) end
      return fmt_str("help: nothing is called '%s'", x)
    end
    if type(v) == "table" then
      local modname = x:match("^lpact%.") and x or ("lpact." .. x)
      if package.loaded[modname] ~= v then modname = (package.loaded[x] == v) and x or nil end
      return describe_table(v, modname)
    end
    x = v
  end
  if type(x) == "function" then return describe_function(x) end
  if type(x) == "table" then
    local name
    for k, v in pairs(package.loaded) do if rawequal(v, x) then name = k end end
    if debug.getmetatable(x) and tostring(x):find("\n") and x.parameters then
      return tostring(x) .. "\n\n" .. describe_object(x)
    end
    return describe_table(x, name)
  end
  if type(x) == "userdata" then return describe_object(x) end
  return fmt_str("help: %s is a %s value", tostring(x), type(x))
end

local Text = { __tostring = function(t) return t.text end, __name = "lpact.HelpText" }

--- The REPL's help: prints nothing itself, returns the text to print.
function help.help(x, ...)
  return setmetatable({ text = help.text(x, ...) }, Text)
end

return help
