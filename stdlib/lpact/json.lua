--- lpact.json — a small JSON encoder and decoder with a deterministic
-- output (object keys sorted), for result files and manifests.
--
--     local json = require "lpact.json"
--     json.encode{b = 1, a = {1, 2.5, "x"}}   --> {"a":[1,2.5,"x"],"b":1}
--     json.encode(v, {indent = 2})           -- pretty, one key per line
--     json.decode('{"a": [1, 2.5]}')         --> {a = {1, 2.5}}
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
local null_mt = { __name = "json.null", __tostring = function() return "null" end }

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

--- Decodes JSON text. Objects become tables marked with json.object (so
-- they encode back as objects), null becomes json.null. Raises
-- "json.decode: <problem> at line L column C" on bad input.
function json.decode(s)
  if type(s) ~= "string" then error("json.decode: string expected, got " .. type(s), 2) end
  local v, i = decode_value(s, 1, 0)
  i = skip(s, i)
  if i <= #s then decode_error(s, i, "text after the value") end
  return v
end

return json
