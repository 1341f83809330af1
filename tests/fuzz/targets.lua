-- tests/fuzz/targets.lua — the Lua-level fuzz targets run by fuzz_lua.c:
-- one function per reader, called with the fuzzer's bytes. A refusal must
-- be the reader's own one-line error; a function returns nil when all is
-- well and "FUZZ BUG: ..." when an assertion fails (the harness aborts so
-- libFuzzer keeps the input).
local lpact = lpact
local json = require "lpact.json"
local numtext = require "lpact.numtext"
local T = {}

local TMP = string.format("/tmp/lpact-fuzz-%s", tostring(lpact.io.crc32(tostring({}) .. os.time())))

local function spit(p, s) local f = assert(io.open(p, "wb")) f:write(s) f:close() end

-- nil for a clean refusal (an lpact.fail with one line, or a reader's own
-- message), else what is wrong.
local function count(s, w)
  local n, i = 0, 1
  while true do
    local j = s:find(w, i, true)
    if not j then return n end
    n, i = n + 1, j + 1
  end
end

local function refusal(ok, e, own, input)
  if ok then return nil end
  local m = lpact.is_failure(e) and e.msg or (type(e) == "string" and own and e:match(own) and e) or nil
  if type(m) ~= "string" then return "FUZZ BUG: raw error: " .. tostring(e) end
  if m == "" or m:find("\n") then return "FUZZ BUG: refusal is not one line: " .. m end
  -- a Lua runtime error's words, more often in the message than in the
  -- input (a refusal may echo the input, which may hold those words)
  for _, w in ipairs { "attempt to ", "bad argument #", "stack overflow" } do
    if count(m, w) > count(input or "", w) then
      return "FUZZ BUG: a raw Lua error inside the refusal: " .. m
    end
  end
  return nil
end

-- deep equality of decoded JSON (json.null and empty tables included)
local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then return a == b or (a ~= a and b ~= b) end
  if getmetatable(a) ~= getmetatable(b) then return false end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

--- CSV: data.csv on the bytes as a file; an accepted file has consistent shapes.
function T.csv(s)
  local p = TMP .. ".csv"
  spit(p, s)
  local ok, c = pcall(lpact.data.csv, p)
  os.remove(p)   -- no file left behind in /tmp
  if not ok then return refusal(ok, c, nil, s) end
  if c.x:size(1) ~= c.n then return "FUZZ BUG: x has " .. c.x:size(1) .. " rows, n = " .. c.n end
  if c.y then
    if c.y:size(1) ~= c.n then return "FUZZ BUG: y has " .. c.y:size(1) .. " rows" end
    local lo, hi = lpact.io.range(c.y)
    if lo and (lo < 0 or hi > c.classes - 1 or hi > lpact.data.MAX_LABEL) then
      return "FUZZ BUG: labels " .. lo .. ".." .. hi .. " for " .. c.classes .. " classes"
    end
  end
  local lo, hi = lpact.io.range(c.x)
  if lo and (lo ~= lo or lo == -math.huge or hi == math.huge) then return "FUZZ BUG: a non-finite feature was loaded" end
  return nil
end

--- JSON: decode; an accepted text encodes and decodes back to the same value.
function T.json(s)
  local ok, v = pcall(json.decode, s)
  if not ok then return refusal(ok, v, "^json%.decode: [^\n]*$", s) end
  -- a number beyond the double range decodes to an infinity, which JSON
  -- cannot spell: encode refuses it (by design), so there is no round trip
  local ok2, text = pcall(json.encode, v)
  if not ok2 and tostring(text):find("has no JSON spelling", 1, true) then return nil end
  if not ok2 then return "FUZZ BUG: a decoded value does not encode: " .. tostring(text) end
  local ok3, w = pcall(json.decode, text)
  if not ok3 then return "FUZZ BUG: encoded text does not decode: " .. tostring(w) end
  if not same(v, w) then return "FUZZ BUG: decode(encode(v)) differs from v for " .. text:sub(1, 80) end
  return nil
end

-- a fixed model and optimizer for the checkpoint target, with a known state
local nn, optim = require "lpact.nn", require "lpact.optim"
local model = nn.Sequential { nn.Linear(3, 2, { seed = 1 }), nn.BatchNorm(2) }
local opt = optim.Adam(model:parameters(), { lr = 0.01 })
local function fingerprint()
  local parts = {}
  for _, p in ipairs(model:parameters()) do parts[#parts + 1] = lpact.io.crc32(lpact.io.tensor_bytes(p.var.data)) end
  for _, b in ipairs(model:buffers()) do parts[#parts + 1] = lpact.io.crc32(lpact.io.tensor_bytes(b.tensor)) end
  parts[#parts + 1] = tostring(opt.t) .. tostring(opt.lr) .. tostring(opt.beta1)
  return table.concat(parts, ",")
end

--- Checkpoint: inspect and load into the fixed model; a refusal changes
-- nothing, and the optimizer keeps its methods.
function T.checkpoint(s)
  local p = TMP .. ".ckpt"
  spit(p, s)
  local before = fingerprint()
  local ok, e = pcall(lpact.checkpoint.load, p, model, opt)
  os.remove(p)
  if type(opt.step) ~= "function" or type(opt.load_state) ~= "function" then return "FUZZ BUG: optimizer methods replaced" end
  if type(opt.lr) ~= "number" or type(opt.t) ~= "number" then return "FUZZ BUG: optimizer fields of the wrong type" end
  if not ok then
    if fingerprint() ~= before then return "FUZZ BUG: a refused checkpoint changed the model or optimizer" end
    return refusal(ok, e, nil, s)
  end
  return nil
end

--- The round command's line parser: numtext.trim and numtext.number (dec)
-- and the bit-pattern reader; an accepted number reads back from its %a
-- spelling to the same bits, and rounds without error.
local fp4 = lpact.format "e2m1"
function T.round(s)
  for line in (s .. "\n"):gmatch("([^\n]*)\n") do
    local w = numtext.trim(line)
    local x, why = numtext.number(w, true)
    if x == nil then
      if type(why) ~= "string" or why == "" then return "FUZZ BUG: refusal without a reason for " .. w:sub(1, 40) end
    else
      if math.type(x) ~= "float" then return "FUZZ BUG: " .. w:sub(1, 40) .. " read as a " .. tostring(math.type(x)) end
      if x == x and string.format("%a", x) ~= string.format("%a", numtext.number(string.format("%a", x), true) or 0 / 0) then
        return "FUZZ BUG: " .. string.format("%a", x) .. " does not read back"
      end
      local h = w:match("^[+-]?0[xX](%x+)$")
      if h and #h <= 13 and x ~= (w:sub(1, 1) == "-" and -1 or 1) * tonumber(h, 16) then
        return "FUZZ BUG: hex integer " .. w .. " read as " .. string.format("%.17g", x)
      end
      local okr, r = pcall(fp4.round, fp4, x)
      if not okr or type(r) ~= "number" then return "FUZZ BUG: round failed on " .. tostring(x) end
      if x ~= x and r == r then return "FUZZ BUG: NaN rounded to a number" end
    end
    local b, bwhy = numtext.bits32(w)
    if b == nil and (type(bwhy) ~= "string" or bwhy == "") then return "FUZZ BUG: bits refusal without a reason" end
  end
  return nil
end

return T
