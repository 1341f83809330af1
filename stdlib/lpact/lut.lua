--- lpact.lut — a quantized activation as the table a LUT accelerator
-- holds: for every code of the input format, the output value and (when
-- the value is one of the output format's) its output code.
--
--     local layer = lpact.qact.layers(model)[1]
--     layer:export_lut("relu_fp4.hex", {format = "hex"})   -- $readmemh ROM
--     layer:export_lut("relu_fp4.c", {format = "c"})       -- static const uint8_t
--     local t = lpact.lut.load("relu_fp4.json")            -- any of the four back
--
-- The table is the layer's own forward pass (in evaluation mode) on the
-- value of every input code times the input scale, so it holds exactly
-- what the layer computes, learned levels included. Table inference is
-- y = value[code_in(Q_in(x / s_i))]. A table needs a layer whose input
-- format has codes (at most 16 bits) and a fixed scale (none or a number):
-- amax-style scales change with every batch and are refused.
--
-- Words: "code" when every entry's output is a value of the output format
-- (then the ROM holds output codes, out_bits wide; a NaN entry takes the
-- output format's NaN code), else "value" (the ROM holds the float32 bit
-- patterns). Files:
--   json  everything: header and per code in_code, in_bits, out_code,
--         out_bits (float32 bit patterns as hex strings, so NaN and -0
--         survive)
--   c     a comment header and `static const uint8_t <name>[N]` (uint16_t
--         past 8 bits, uint32_t float32 bit patterns for value words)
--   hex   $readmemh: a // comment header, then one hex word per line, the
--         word for input code 0 first
--   npy   the words as a 1-D array: uint8 codes (int32 past 8 bits) or
--         float32 values

local lpact = require "lpact"
local json = require "lpact.json"
local files = require "lpact.files"

local lut = {}

lut.FORMATS = { "json", "c", "hex", "npy" }

local function f32bits(v) return string.unpack("<I4", string.pack("<f", v)) end
local function bitsf32(b) return (string.unpack("<f", string.pack("<I4", b))) end

--- The table of a quantized activation layer: {activation=, alpha=,
-- mode=, in_format=, out_format=, in_scale=, out_scale=, levels=, word=,
-- word_bits=, entries = {{in_code=, in_value=, out_value=, out_code=}}}.
-- Fails with one line for a layer that is not quantized or whose scale is
-- not fixed.
function lut.table(layer, what)
  what = what or "export_lut"
  if type(layer) ~= "table" or layer.__name ~= "QAct" then
    local d = type(layer) == "table" and layer.describe and layer:describe() or type(layer)
    lpact.fail(string.format("%s: %s is not a quantized activation (lpact.qact)", what, d))
  end
  local info = layer.info
  if info.in_codes == 0 then
    lpact.fail(string.format("%s: %s is not quantized at its input (%s has no codes to tabulate)", what,
      layer:describe(), layer.fin.name))
  end
  local kind = layer.scale.kind
  if kind ~= "none" and kind ~= "fixed" then
    lpact.fail(string.format("%s: %s has a '%s' scale, which changes with the data; a table needs none or a fixed scale",
      what, layer:describe(), kind))
  end
  if layer.luaf then lpact.fail(what .. ": a Lua-function activation has no name to put in the header") end
  local si, so = layer.scale.si or 1, layer.scale.so or 1
  local n = info.in_codes
  local xs = {}
  for c = 1, n do xs[c] = si * info.in_values[c] end
  -- the layer's own forward, in evaluation mode, without touching its
  -- counters or statistics
  local training, tele, ctr, gctr = layer.training, layer.telemetry_on, layer.ctr, layer.gctr
  layer.training, layer.telemetry_on = false, false
  local ok, y = pcall(lpact.autograd.no_grad, function() return layer:forward(lpact.tensor(xs)) end)
  layer.training, layer.telemetry_on, layer.ctr, layer.gctr = training, tele, ctr, gctr
  if not ok then error(y, 0) end
  y = (y.data or y):totable()
  local fout = layer.fout
  local entries, all_codes = {}, true
  for c = 1, n do
    local v = y[c]
    local oc = fout:encode(v / so)
    if v ~= v and not oc then all_codes = false end
    if v == v and (not oc or fout:decode(oc) * so ~= v) then oc, all_codes = nil, false end
    entries[c] = { in_code = c - 1, in_value = info.in_values[c], out_value = v, out_code = oc }
  end
  local word = all_codes and "code" or "value"
  return {
    activation = layer.name, alpha = layer.alpha, mode = layer.mode,
    in_format = layer.fin.spec, out_format = fout.spec, in_scale = si, out_scale = so,
    levels = layer.learnable and "learned" or "fixed",
    word = word, word_bits = word == "code" and fout.bits or 32,
    entries = entries,
  }
end

-- The ROM word of entry e.
local function word_of(t, e)
  if t.word == "code" then return e.out_code end
  return f32bits(e.out_value)
end

local function header_lines(t)
  return {
    "lpact LUT: " .. t.activation .. (t.alpha and string.format("(alpha %.17g)", t.alpha) or "") .. ", mode " .. t.mode
      .. ", levels " .. t.levels,
    "input format " .. t.in_format .. ", scale " .. string.format("%.17g", t.in_scale),
    "output format " .. t.out_format .. ", scale " .. string.format("%.17g", t.out_scale),
    string.format("%d entries, one per input code (address = input code); words: %s, %d bits", #t.entries,
      t.word == "code" and "output codes" or "float32 bit patterns of the output values", t.word_bits),
    string.format("inference: y = %s[code_in(Q_in(x / %.17g))]", t.word == "code" and
      string.format("%.17g * decode_out", t.out_scale) or "value", t.in_scale),
  }
end

local function c_name(path)
  local base = path:match("([^/]*)$"):gsub("%.[^.]*$", ""):gsub("[^%w_]", "_")
  if base == "" or base:match("^%d") then base = "lut_" .. base end
  return base
end

local writers = {}

function writers.json(t)
  local out = {}
  for k, v in pairs(t) do if k ~= "entries" then out[k] = v end end
  out.lpact_lut = 1
  out.entries = {}
  for i, e in ipairs(t.entries) do
    out.entries[i] = { in_code = e.in_code, in_bits = string.format("0x%08x", f32bits(e.in_value)),
      out_bits = string.format("0x%08x", f32bits(e.out_value)), out_code = e.out_code or json.null }
  end
  return json.encode(out, { indent = 1 }) .. "\n"
end

function writers.c(t, path)
  local name = c_name(path)
  local ctype = t.word == "value" and "uint32_t" or t.word_bits <= 8 and "uint8_t" or "uint16_t"
  local lines = { "/*" }
  for _, l in ipairs(header_lines(t)) do lines[#lines + 1] = " * " .. l end
  lines[#lines + 1] = " */"
  lines[#lines + 1] = "#include <stdint.h>"
  lines[#lines + 1] = ""
  lines[#lines + 1] = string.format("static const %s %s[%d] = {", ctype, name, #t.entries)
  local digits = t.word == "value" and 8 or (t.word_bits + 3) // 4
  local row = {}
  for i, e in ipairs(t.entries) do
    row[#row + 1] = string.format("0x%0" .. digits .. "x", word_of(t, e))
    if #row == 8 or i == #t.entries then
      lines[#lines + 1] = "  " .. table.concat(row, ", ") .. (i < #t.entries and "," or "")
      row = {}
    end
  end
  lines[#lines + 1] = "};"
  return table.concat(lines, "\n") .. "\n"
end

function writers.hex(t)
  local lines = {}
  for _, l in ipairs(header_lines(t)) do lines[#lines + 1] = "// " .. l end
  local digits = t.word == "value" and 8 or (t.word_bits + 3) // 4
  for _, e in ipairs(t.entries) do lines[#lines + 1] = string.format("%0" .. digits .. "x", word_of(t, e)) end
  return table.concat(lines, "\n") .. "\n"
end

function writers.npy(t)
  local words = {}
  for i, e in ipairs(t.entries) do words[i] = t.word == "code" and e.out_code or e.out_value end
  local dtype = t.word == "value" and "float32" or t.word_bits <= 8 and "uint8" or "int32"
  local ten = lpact.tensor(words)
  local body = assert(lpact.arrayfile.encode(ten, dtype))
  return lpact.arrayfile.npy_header(dtype, { #words }) .. body
end

--- Writes table t to path in the given format (json, c, hex, npy).
function lut.write(t, path, format)
  local w = writers[format]
  if not w then
    lpact.fail(string.format("export_lut: format '%s' is not one of %s", tostring(format), table.concat(lut.FORMATS, ", ")))
  end
  return files.write_atomic(path, w(t, path), "the " .. format .. " table")
end

--- layer:export_lut(path [, {format = "json"|"c"|"hex"|"npy"}]): writes
-- the layer's table; the format defaults to the file's extension (json
-- otherwise). Returns path.
function lut.export(layer, path, o)
  o = lpact.check_options(o or {}, { "format" }, "export_lut")
  if type(path) ~= "string" then lpact.fail("export_lut: a file name expected, got " .. type(path)) end
  local format = o.format or ({ json = "json", c = "c", h = "c", hex = "hex", mem = "hex", npy = "npy" })[path:match("%.(%w+)$") or ""] or "json"
  if not writers[format] then
    lpact.fail(string.format("export_lut: format '%s' is not one of %s", tostring(format), table.concat(lut.FORMATS, ", ")))
  end
  local t = lut.table(layer)
  return lut.write(t, path, format)
end

-- Readers: each returns {word=, word_bits=, words = {...}} (0-based
-- input code -> word at words[code + 1]) plus the header for json.
local function read_file(path)
  local f, err = io.open(path, "rb")
  if not f then lpact.fail(string.format("%s: cannot open the table: %s", path, tostring(err):gsub("^[^:]*: ", "")), 1) end
  local s, rerr = f:read("a")
  f:close()
  if not s then lpact.fail(string.format("%s: cannot read the table: %s", path, tostring(rerr):gsub("^[^:]*: ", "")), 1) end
  return s
end

--- Reads an exported table back: {format=, word=, words = {w0, w1, ...}}
-- where words[c + 1] is the ROM word of input code c (an integer code or
-- the float32 bits of a value); json also gives header = the full table.
function lut.load(path)
  local s = read_file(path)
  local function bad(msg) lpact.fail(path .. ": " .. msg, 1) end
  if path:match("%.json$") then
    local ok, t = pcall(json.decode, s)
    if not ok or type(t) ~= "table" or t.lpact_lut ~= 1 then bad("not an lpact LUT (json)") end
    if t.word ~= "code" and t.word ~= "value" then bad("'word' is not \"code\" or \"value\"") end
    if type(t.entries) ~= "table" or getmetatable(t.entries) ~= nil or #t.entries == 0 then bad("'entries' is not a list of entries") end
    local words = {}
    for i, e in ipairs(t.entries) do
      local w
      if type(e) == "table" then
        if t.word == "code" then w = math.type(e.out_code) == "integer" and e.out_code >= 0 and e.out_code or nil
        else w = type(e.out_bits) == "string" and e.out_bits:match("^0x%x+$") and tonumber(e.out_bits) or nil end
      end
      if not w or w > 0xffffffff then
        bad(string.format("entry %d has no %s", i, t.word == "code" and "out_code (a whole number >= 0)" or "out_bits (\"0x\" and 8 hex digits)"))
      end
      words[i] = w
    end
    return { format = "json", word = t.word, words = words, header = t }
  elseif path:match("%.npy$") then
    local ten, info = lpact.load_npy(path)
    local words = ten:totable()
    local word = info.dtype == "float32" and "value" or "code"
    if word == "value" then for i, v in ipairs(words) do words[i] = f32bits(v) end
    else for i, v in ipairs(words) do words[i] = math.tointeger(v) end end
    return { format = "npy", word = word, words = words }
  elseif path:match("%.c$") or path:match("%.h$") then
    local ctype, body = s:match("static const ([%w_]+) [%w_]+%[%d+%] = {(.-)};")
    if not body then bad("no table array found") end
    local words = {}
    for h in body:gmatch("0x(%x+)") do words[#words + 1] = tonumber(h, 16) end
    return { format = "c", word = ctype == "uint32_t" and "value" or "code", words = words }
  else
    local words, word = {}, "code"
    for line in s:gmatch("[^\n]+") do
      if line:match("^//") then
        if line:match("float32 bit patterns") then word = "value" end
      else
        local h = line:match("^(%x+)$")
        if not h then bad("not a $readmemh line: " .. line:sub(1, 40)) end
        words[#words + 1] = tonumber(h, 16)
      end
    end
    return { format = "hex", word = word, words = words }
  end
end

--- The output value of a loaded table's word for input code c, given
-- the output format and scale (for code words).
function lut.value(loaded, c, fout, so)
  local w = loaded.words[c + 1]
  if loaded.word == "value" then return bitsf32(w) end
  return so * fout:decode(w)
end

--- Writes the tables of every quantized activation of model into dir as
-- site<k>.{json,c,hex,npy} (k = activation site, from 1); every table is
-- made before the first file is written. Returns the list of paths.
function lut.export_model(model, dir)
  local sites, k = {}, 0
  local function walk(m)
    for _, c in ipairs(m._children or {}) do
      if c.module.is_activation then
        k = k + 1
        sites[#sites + 1] = { k = k, layer = c.module }
      else walk(c.module) end
    end
  end
  walk(model)
  local todo = {}
  for _, s in ipairs(sites) do
    if s.layer.__name == "QAct" and s.layer.info.in_codes > 0 then
      todo[#todo + 1] = { k = s.k, t = lut.table(s.layer, "site " .. s.k) }
    end
  end
  if #todo == 0 then lpact.fail("export: the model has no quantized activation to tabulate", 1) end
  if not lpact.io.isdir(dir) then lpact.io.mkdir(dir) end
  local paths = {}
  for _, d in ipairs(todo) do
    for _, fmt in ipairs(lut.FORMATS) do
      local p = string.format("%s/site%d.%s", dir, d.k, fmt)
      lut.write(d.t, p, fmt)
      paths[#paths + 1] = p
    end
  end
  return paths
end

return lut
