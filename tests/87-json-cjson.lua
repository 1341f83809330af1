-- lpact.json's two decoders agree: json.decode (lua-cjson where it is
-- safe) gives the Lua decoder's (json.decode_lua) values, number subtypes,
-- json.null and object marks included, on the records a sweep writes, on
-- every spelling that must go to the Lua decoder, on random documents, and
-- refuses what the Lua decoder refuses with the same message.
local t = require "lpact.tap"
local json = require "lpact.json"
local B = os.getenv("LPACT_BUILD") or "build"

if not pcall(require, "cjson") then
  t.skip(1, "lua-cjson is not installed (apt-get install lua-cjson)")
  t.done()
  return
end

-- deep equality with number subtypes and metatables
local function same(a, b, path)
  path = path or "$"
  if type(a) ~= type(b) then return false, path .. ": " .. type(a) .. " vs " .. type(b) end
  if type(a) == "number" then
    if math.type(a) ~= math.type(b) then return false, path .. ": " .. math.type(a) .. " vs " .. math.type(b) end
    if a ~= b and not (a ~= a and b ~= b) then return false, path .. ": " .. a .. " vs " .. b end
    if a == 0 and 1 / a ~= 1 / b then return false, path .. ": signed zero" end
    return true
  end
  if type(a) ~= "table" then return a == b, path end
  if getmetatable(a) ~= getmetatable(b) then return false, path .. ": metatable" end
  for k, v in pairs(a) do
    local ok, where = same(v, b[k], path .. "." .. tostring(k))
    if not ok then return false, where end
  end
  for k in pairs(b) do if a[k] == nil then return false, path .. "." .. tostring(k) .. ": missing" end end
  return true
end

local function slurp(p)
  local f = assert(io.open(p, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

-- 1. the records of a small sweep (each written by lpact.sweep, with its
-- configuration, histories and error histograms) and its manifest
local dir = os.tmpname()
os.remove(dir)
local cmd = string.format("%s/lpact scripts/paper.lua --data builtin --limit 200 --epochs 2 --act relu,tanh "
  .. "--format fp32,fp4,fp2 --model mlp --seed 1 --levels fixed,learnable --out %s >/dev/null 2>&1", B, dir)
t.ok(os.execute(cmd), "a small sweep writes its records")
local names = lpact.io.listdir(dir) or {}
local files, fast, agree, where = 0, 0, true, nil
for _, n in ipairs(names) do
  if n:match("%.json$") then
    local s = slurp(dir .. "/" .. n)
    files = files + 1
    if json.via_cjson(s) then fast = fast + 1 end
    local ok, w = same(json.decode(s), json.decode_lua(s), n)
    if not ok then agree, where = false, w end
  end
end
t.ok(files >= 9, "records and manifest to read: " .. files)
t.is(fast, files, "lua-cjson reads all of them")
t.ok(agree, "both decoders give the same values for every record", where)
os.execute("rm -rf " .. dir)

-- 2. numbers whose double cjson would read alike (5 and 5.0), that it
-- would round or that overflow, and empty objects: the Lua decoder's values
for _, s in ipairs {
  "[5.0]", '{"x": 128.000}', "[1e+20]", "[1E5]", "[12e-1]", "[100e-2]", "[0e-5]", "[0.5e-3]", "[1e-400]",
  "[123456789.5]", "[0.99999999999999999]", "[2.00000000000000001]", "[-0.0, -0]", "[1.5e308, 1e309]",
  '{"a": {}}', '[{"k": {  }}]', '{"t": "20:33:09", "v": 0.1}', '{"n": "lr 1e-3 and 2.0"}',
} do
  local ok, w = same(json.decode(s), json.decode_lua(s))
  t.ok(ok, "the same value: " .. s, w)
end
-- integers of 16 digits or more and empty objects go to the Lua decoder
for _, s in ipairs { "[9007199254740993]", "[-9223372036854775808]", "{}", '{"a": [{ }]}', '"\\u0001"' } do
  local ok, w = same(json.decode(s), json.decode_lua(s))
  t.ok(not json.via_cjson(s) and ok, "to the Lua decoder, the same value: " .. s, w)
end
-- the rest through cjson, with the Lua decoder's values
for _, s in ipairs {
  "[5, -3, 0, -0, 2.5, 1e-05, 9.5e-08, 123456789012345, 5.0, 1e+20]", '{"a": null, "b": [null, true, false], "c": []}',
  '"\\u00e9\\ud83d\\ude00\\/"', '{"1": 2, "k": {"x": 0.1}}', "3", "-0", "0.30000000000000004", "-2.0",
  '{"created": "2026-12-02T20:33:09Z"}', '{"s": "a\\tb\\n", "t": "1.0 0.5e3 -2"}',
} do
  local ok, w = same(json.decode(s), json.decode_lua(s))
  t.ok(json.via_cjson(s) and ok, "through cjson, the same value: " .. s, w)
end

-- 3. refusals: the same message as the Lua decoder's
for _, s in ipairs {
  "01", "[+1]", "1.", "[1,]", "NaN", "[Infinity]", "0x10", '"a\tb"', '"\\ud800"', '"\\x"', "{1:2}", "", "[1] 2",
  ("["):rep(150) .. ("]"):rep(150), ("["):rep(250) .. ("]"):rep(250),
} do
  local ok1, e1 = pcall(json.decode, s)
  local ok2, e2 = pcall(json.decode_lua, s)
  t.ok(ok1 == ok2 and (ok1 or e1 == e2), "the same answer for " .. (#s > 20 and s:sub(1, 20) .. "..." or s),
    tostring(e1) .. " | " .. tostring(e2))
end

-- 4. random documents written by lpact's encoder (seeded: the same each run)
local rng = lpact.io.random
local ctr = 0
local function r() ctr = ctr + 1; return rng(14, 1, ctr) end
local function rand_number()
  local k = math.floor(r() * 8)
  if k == 0 then return math.floor((r() - 0.5) * 2 ^ 20) end                    -- small integer
  if k == 1 then return math.floor((r() - 0.5) * 2 ^ 62) end                    -- large integer
  if k == 2 then return math.floor((r() - 0.5) * 1000) + 0.0 end                -- integral float
  if k == 3 then return (r() - 0.5) * 10 ^ math.floor(r() * 40 - 20) end       -- any magnitude
  if k == 4 then return r() * 1e-300 end                                        -- tiny
  if k == 5 then return (r() - 0.5) * 2 ^ 70 end                                -- huge
  return r()
end
local function rand_string()
  local t2 = {}
  for _ = 1, math.floor(r() * 6) do
    local c = ({ "a", "é", "\n", '"', "\\", "\1", "😀", "7", "{}", "1.0" })[math.floor(r() * 10) + 1]
    t2[#t2 + 1] = c
  end
  return table.concat(t2)
end
local function rand_value(depth)
  local k = math.floor(r() * (depth > 3 and 4 or 7))
  if k == 0 then return rand_number() end
  if k == 1 then return rand_string() end
  if k == 2 then return ({ true, false, json.null })[math.floor(r() * 3) + 1] end
  if k == 3 then return rand_number() end
  if k == 4 then
    local a = {}
    for i = 1, math.floor(r() * 5) do a[i] = rand_value(depth + 1) end
    return a
  end
  local o = json.object {}
  for _ = 1, math.floor(r() * 5) do o[rand_string() .. "k"] = rand_value(depth + 1) end
  return o
end
local docs, mism, via, first = 3000, 0, 0, nil
for i = 1, docs do
  local text = json.encode(rand_value(0), { indent = (i % 2 == 0) and 2 or nil })
  if json.via_cjson(text) then via = via + 1 end
  local ok, w = same(json.decode(text), json.decode_lua(text))
  if not ok then mism = mism + 1; first = first or (text:sub(1, 80) .. " at " .. w) end
end
t.is(mism, 0, docs .. " random documents: the same values", first)
t.ok(via > docs // 4, "a good share of them through cjson: " .. via)

t.done()
