--- lpact.json — a small JSON encoder and decoder with a deterministic
-- output (object keys sorted), for result files and manifests.
--
--     local json = require "lpact.json"
--     json.encode{b = 1, a = {1, 2.5, "x"}}   --> {"a":[1,2.5,"x"],"b":1}
--     json.encode(v, {indent = 2})           -- pretty, one key per line
--     json.decode('{"a": [1, 2.5]}')         --> {a = {1, 2.5}}
--
-- Decoding goes through Debian's lua-cjson (C) wherever its result is
-- the Lua decoder's value for value, else through the Lua decoder
-- (json.decode_lua); encoding is lpact's own: cjson writes numbers with
-- 14 significant digits, which would not read back exactly.
--
-- Numbers keep their Lua subtype both ways: integers are written without a
-- point, floats always with one (or an exponent), and floats are written
-- with the fewest digits that read back to the same double ("%.17g" at
-- most). A Lua table is an array when its keys are exactly 1..n (n >= 1);
-- an empty table is written `[]` unless marked with json.object({}).
-- NaN and infinities have no JSON spelling: encode raises, unless
-- opts.nonfinite = "null" writes them as null.

local json = {}

local object_mt = { __name = "json.object" }
local null_mt = { __name = "json.null", __tostring = function() return "null" end,
  __newindex = function() error("json.null is read-only (a JSON text that is null where an object was expected?)", 2) end }

--- The value that stands for JSON null inside arrays and objects.
json.null = setmetatable({}, null_mt)

--- Marks t to be written as an object even when empty; returns t.
function json.object(t)
  return setmetatable(t or {}, object_mt)
end

local escapes = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
}

local function quote(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    return escapes[c] or string.format("\\u%04x", c:byte())
  end) .. '"'
end

--- The shortest decimal spelling of the double x that reads back exactly.
function json.number(x)
  if math.type(x) == "integer" then return string.format("%d", x) end
  if x ~= x or x == math.huge or x == -math.huge then return nil end
  local s
  for digits = 15, 17 do
    s = string.format("%." .. digits .. "g", x)
    if tonumber(s) == x then break end
  end
  if not s:find("[%.eEn]") then s = s .. ".0" end   -- keep it a float
  return s
end

local function is_array(t)
  if getmetatable(t) == object_mt then return false end
  local n = #t
  if n == 0 then return next(t) == nil end
  local count = 0
  for k in pairs(t) do
    if math.type(k) ~= "integer" or k < 1 or k > n then return false end
    count = count + 1
  end
  return count == n
end

local function key_order(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta < tb end
  return a < b
end

local function encode(v, opts, indent, depth, seen, out)
  local tv = type(v)
  if v == nil or v == json.null then
    out[#out + 1] = "null"
  elseif tv == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif tv == "number" then
    local s = json.number(v)
    if not s then
      if opts.nonfinite == "null" then s = "null"
      else error(string.format("json.encode: %s has no JSON spelling (use nonfinite = \"null\")", tostring(v)), 0) end
    end
    out[#out + 1] = s
  elseif tv == "string" then
    out[#out + 1] = quote(v)
  elseif tv == "table" then
    if seen[v] then error("json.encode: a table contains itself", 0) end
    if depth > 200 then error("json.encode: nested deeper than 200", 0) end
    seen[v] = true
    local nl = indent and ("\n" .. string.rep(indent, depth + 1)) or ""
    local close = indent and ("\n" .. string.rep(indent, depth)) or ""
    local colon = indent and ": " or ":"
    if is_array(v) then
      if #v == 0 then out[#out + 1] = "[]" else
        out[#out + 1] = "["
        for i = 1, #v do
          if i > 1 then out[#out + 1] = "," end
          out[#out + 1] = nl
          encode(v[i], opts, indent, depth + 1, seen, out)
        end
        out[#out + 1] = close .. "]"
      end
    else
      local keys = {}
      for k in pairs(v) do
        local tk = type(k)
        if tk ~= "string" and tk ~= "number" then
          error("json.encode: object keys must be strings or numbers, got " .. tk, 0)
        end
        keys[#keys + 1] = k
      end
      table.sort(keys, key_order)
      if #keys == 0 then out[#out + 1] = "{}" else
        out[#out + 1] = "{"
        for i, k in ipairs(keys) do
          if i > 1 then out[#out + 1] = "," end
          out[#out + 1] = nl .. quote(type(k) == "string" and k or json.number(k) or tostring(k)) .. colon
          encode(v[k], opts, indent, depth + 1, seen, out)
        end
        out[#out + 1] = close .. "}"
      end
    end
    seen[v] = nil
  else
    error("json.encode: cannot encode a " .. tv, 0)
  end
end

--- Encodes v as JSON text. opts.indent (a number of spaces) pretty-prints;
-- opts.nonfinite = "null" writes NaN and infinities as null.
function json.encode(v, opts)
  opts = opts or {}
  local indent = opts.indent and string.rep(" ", opts.indent) or nil
  local out = {}
  encode(v, opts, indent, 0, {}, out)
  return table.concat(out)
end

-- ---- decoding ----------------------------------------------------------

local function decode_error(s, i, what)
  local line, col = 1, 1
  for p = 1, math.min(i - 1, #s) do
    if s:byte(p) == 10 then line, col = line + 1, 1 else col = col + 1 end
  end
  error(string.format("json.decode: %s at line %d column %d", what, line, col), 0)
end

local function skip(s, i)
  return s:find("[^ \t\r\n]", i) or #s + 1
end

local decode_value

local function decode_string(s, i)
  -- s:sub(i, i) == '"'
  local buf, j = {}, i + 1
  while true do
    local k = s:find('["\\%c]', j)
    if not k then decode_error(s, i, "unterminated string") end
    buf[#buf + 1] = s:sub(j, k - 1)
    local c = s:sub(k, k)
    if c == '"' then return table.concat(buf), k + 1 end
    if c ~= "\\" then decode_error(s, k, "control character in string") end
    local e = s:sub(k + 1, k + 1)
    local simple = ({ ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" })[e]
    if simple then
      buf[#buf + 1] = simple
      j = k + 2
    elseif e == "u" then
      local hex = s:match("^%x%x%x%x", k + 2)
      if not hex then decode_error(s, k, "bad \\u escape") end
      local cp = tonumber(hex, 16)
      j = k + 6
      if cp >= 0xD800 and cp <= 0xDBFF then
        local lo = s:match("^\\u(%x%x%x%x)", j)
        local lv = lo and tonumber(lo, 16)
        if not lv or lv < 0xDC00 or lv > 0xDFFF then decode_error(s, k, "unpaired surrogate") end
        cp = 0x10000 + (cp - 0xD800) * 0x400 + (lv - 0xDC00)
        j = j + 6
      elseif cp >= 0xDC00 and cp <= 0xDFFF then
        decode_error(s, k, "unpaired surrogate")
      end
      buf[#buf + 1] = utf8.char(cp)
    else
      decode_error(s, k, "bad escape")
    end
  end
end

local function decode_number(s, i)
  -- -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][-+]?[0-9]+)?
  local j = i
  if s:sub(j, j) == "-" then j = j + 1 end
  if s:sub(j, j) == "0" then j = j + 1 else
    local d = s:match("^[1-9]%d*", j)
    if not d then decode_error(s, i, "bad number") end
    j = j + #d
  end
  local frac = s:match("^%.%d+", j)
  if frac then j = j + #frac elseif s:sub(j, j) == "." then decode_error(s, i, "bad number") end
  local exp = s:match("^[eE][-+]?%d+", j)
  if exp then j = j + #exp elseif s:match("^[eE]", j) then decode_error(s, i, "bad number") end
  local num = s:sub(i, j - 1)
  local v = tonumber(num)
  if frac or exp then v = v + 0.0 end
  return v, j
end

decode_value = function(s, i, depth)
  if depth > 200 then decode_error(s, i, "nested deeper than 200") end
  i = skip(s, i)
  local c = s:sub(i, i)
  if c == "{" then
    local obj = json.object({})
    i = skip(s, i + 1)
    if s:sub(i, i) == "}" then return obj, i + 1 end
    while true do
      i = skip(s, i)
      if s:sub(i, i) ~= '"' then decode_error(s, i, "object key expected") end
      local k
      k, i = decode_string(s, i)
      i = skip(s, i)
      if s:sub(i, i) ~= ":" then decode_error(s, i, "':' expected") end
      local v
      v, i = decode_value(s, i + 1, depth + 1)
      obj[k] = v
      i = skip(s, i)
      local d = s:sub(i, i)
      if d == "}" then return obj, i + 1 end
      if d ~= "," then decode_error(s, i, "',' or '}' expected") end
      i = i + 1
    end
  elseif c == "[" then
    local arr, n = {}, 0
    i = skip(s, i + 1)
    if s:sub(i, i) == "]" then return arr, i + 1 end
    while true do
      local v
      v, i = decode_value(s, i, depth + 1)
      n = n + 1
      arr[n] = v
      i = skip(s, i)
      local d = s:sub(i, i)
      if d == "]" then return arr, i + 1 end
      if d ~= "," then decode_error(s, i, "',' or ']' expected") end
      i = i + 1
    end
  elseif c == '"' then
    return decode_string(s, i)
  elseif c == "-" or c:match("%d") then
    return decode_number(s, i)
  elseif s:sub(i, i + 3) == "true" then return true, i + 4
  elseif s:sub(i, i + 4) == "false" then return false, i + 5
  elseif s:sub(i, i + 3) == "null" then return json.null, i + 4
  elseif c == "" then decode_error(s, i, "unexpected end of text")
  end
  decode_error(s, i, "unexpected character '" .. c .. "'")
end

--- Decodes JSON text in Lua (the reference decoder, and json.decode's
-- fallback). Objects become tables marked with json.object (so they
-- encode back as objects), null becomes json.null. Raises
-- "json.decode: <problem> at line L column C" on bad input.
function json.decode_lua(s)
  if type(s) ~= "string" then error("json.decode: string expected, got " .. type(s), 2) end
  local v, i = decode_value(s, 1, 0)
  i = skip(s, i)
  if i <= #s then decode_error(s, i, "text after the value") end
  return v
end

-- ---- the fast path: lua-cjson ------------------------------------------------
--
-- Debian's lua-cjson (2.1.0) parses in C, about ten times faster than the
-- decoder above, but it reads every number as a double (5 and 5.0 alike),
-- decodes `{}` and `[]` alike and lets through a few spellings JSON
-- forbids (01, +1, a raw tab in a string). json.decode therefore gives
-- cjson only the structure and the strings, and keeps the Lua decoder's
-- values, number subtypes included: one C pass (lpact.json_mark,
-- interp/bind/jsonmark.c) turns every number with a point or an exponent
-- into a string marked with byte 1, read back here by tonumber as the Lua
-- decoder reads it; the numbers left are integers of at most 15 digits,
-- exact in cjson's doubles. A text the pass cannot hand over so (an empty
-- object, an integer of 16 digits or more, a spelling JSON forbids, an
-- escaped \u0001), and a text cjson refuses, goes to the Lua decoder,
-- which has the last word and its error messages. tests/87-json-cjson.lua
-- checks that both decoders agree on records, on every such spelling and
-- on random documents.

local ok_cjson, cjson = pcall(require, "cjson")
local cj, mark
if ok_cjson then
  cj = cjson.new()                  -- a private instance: its settings are ours
  cj.decode_invalid_numbers(false)  -- NaN, Infinity, hex: refused
  cj.decode_max_depth(100)          -- deeper: the Lua decoder (its limit is 200)
  local okm, m = pcall(require, "lpact.c.jsonmark")
  if okm then mark = m.json_mark else cj = nil end
end

local null, tointeger, byte, sub, tonumber_ = nil, math.tointeger, string.byte, string.sub, tonumber
if ok_cjson then null = cjson.null end
json.decode_counts = { cjson = 0, lua = 0 }

-- cjson's value in the Lua decoder's conventions: json.null for null,
-- objects marked with json.object, the marked numbers read back as
-- floats, the other numbers as integers.
local function convert(v)
  local tv = type(v)
  if tv == "number" then
    return tointeger(v)
  elseif tv == "string" then
    if byte(v) == 1 then return tonumber_(sub(v, 2)) + 0.0 end
    return v
  elseif tv == "table" then
    local k1 = next(v)
    for k, x in pairs(v) do v[k] = convert(x) end
    if type(k1) == "string" then setmetatable(v, object_mt) end
    return v
  elseif v == null then
    return json.null
  end
  return v
end

-- cjson's reading of s in the Lua decoder's conventions, or nil.
local function via_cjson(s)
  if not cj then return nil end
  local marked = mark(s)
  if not marked then return nil end
  local ok, v = pcall(cj.decode, marked)
  if not ok then return nil end
  return convert(v)
end

--- True when json.decode reads the text s through lua-cjson.
function json.via_cjson(s)
  return via_cjson(s) ~= nil
end

--- Decodes JSON text, as json.decode_lua does (the same values, number
-- subtypes, json.null and object marks), through lua-cjson where it can.
function json.decode(s)
  if type(s) ~= "string" then error("json.decode: string expected, got " .. type(s), 2) end
  local v = via_cjson(s)
  if v ~= nil then
    json.decode_counts.cjson = json.decode_counts.cjson + 1
    return v
  end
  json.decode_counts.lua = json.decode_counts.lua + 1
  return json.decode_lua(s)
end

return json
