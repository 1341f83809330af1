-- Checkpoints whose CRC is right but whose content is not what lpact
-- writes (crafted, or from another version): every field is checked
-- against a fixed list, types and the model before anything changes, and
-- the refusal is one line naming the field — never a raw Lua error,
-- never optimizer methods replaced, never a half-loaded model.
local t = require "lpact.tap"
local ck, io_, json = lpact.checkpoint, lpact.io, require "lpact.json"
local nn, optim = require "lpact.nn", require "lpact.optim"

local dir = t.tmpdir()
local errmsg = t.errmsg
local slurp = t.slurp
local spit = t.spit

local model = nn.Sequential { nn.Linear(3, 2, { seed = 1 }) }
local opt = optim.Adam(model:parameters(), { lr = 0.01 })
local x = lpact.randn({ 4, 3 }, 2)
local y = lpact.tensor { 0, 1, 1, 0 }
local ag = require "lpact.autograd"
local loss = ag.cross_entropy(model:forward(ag.var(x)), y)
loss:backward()
opt:step()
local good = dir .. "/good.ckpt"
ck.save(good, model, opt, { epoch = 1 })
local blob = slurp(good)

-- The parts of a checkpoint, and a writer that puts them back with a fresh
-- size and CRC (the layout of docs/results.md / checkpoint.lua's header).
local version, flags, _, count, mlen = string.unpack("<I4I4I8I4I4", blob, 9)
local meta = blob:sub(33, 32 + mlen)
local body = blob:sub(33 + mlen, #blob - 4)
local function build(o)
  local m = o.meta or meta
  local b = o.body or body
  local total = 32 + #m + #b + 4
  local head = "LPACTCKP" .. string.pack("<I4I4I8I4I4", o.version or version, flags, total, o.count or count, #m) .. m
  local s = head .. b
  return s .. string.pack("<I4", io_.crc32(s))
end
local function with_meta(fn)
  local info = json.decode(meta)
  fn(info)
  return build { meta = json.encode(info, { nonfinite = "null" }) }
end
local function fingerprint()
  local parts = {}
  for _, p in ipairs(model:parameters()) do parts[#parts + 1] = io_.crc32(io_.tensor_bytes(p.var.data:contiguous())) end
  local st = opt:state()
  parts[#parts + 1] = tostring(st.step) .. ":" .. tostring(opt.lr)
  for k, v in pairs(st.tensors) do parts[#parts + 1] = k .. io_.crc32(io_.tensor_bytes(v)) end
  table.sort(parts, function(a, b) return tostring(a) < tostring(b) end)
  return table.concat(parts, ",")
end

-- a sanity check of the rebuild: unchanged parts load
local p = dir .. "/x.ckpt"
spit(p, build {})
t.is(errmsg(ck.load, p, model, opt), "no error", "the rebuilt file (same parts) loads")

local cases = {
  { "version 0", build { version = 0 }, "format version 0, this engine reads version 1 only %(not a version lpact ever wrote%)" },
  { "version 2", build { version = 2 }, "format version 2, this engine reads version 1 only %(written by a newer lpact%)" },
  { "hyper replaces a method", with_meta(function(i) i.optimizer.hyper.step = 1 end), "field 'hyper%.step' is not a hyper%-parameter of Adam" },
  { "hyper load_state", with_meta(function(i) i.optimizer.hyper.load_state = "x" end), "field 'hyper%.load_state'" },
  { "hyper lr a string", with_meta(function(i) i.optimizer.hyper.lr = "fast" end), "field 'hyper%.lr' must be a finite number" },
  { "hyper lr negative", with_meta(function(i) i.optimizer.hyper.lr = -1 end), "field 'hyper%.lr' must be a finite number in %[0" },
  { "beta1 = 1", with_meta(function(i) i.optimizer.hyper.beta1 = 1 end), "field 'hyper%.beta1'" },
  { "step = 'x'", with_meta(function(i) i.optimizer.step = "x" end), "field 'step' must be an integer >= 0, got x" },
  { "step = -1", with_meta(function(i) i.optimizer.step = -1 end), "field 'step' must be an integer >= 0" },
  { "step = 1.5", with_meta(function(i) i.optimizer.step = 1.5 end), "field 'step' must be an integer" },
  { "step 0 with slots", with_meta(function(i) i.optimizer.step = 0 end), "field 'step' is 0 but parameter" },
  { "unknown optimizer field", with_meta(function(i) i.optimizer.extra = 1 end), "unknown field 'extra'" },
  { "half the slots", with_meta(function(i) i.optimizer.tensors["1.weight/v"] = nil end), "optimizer tensor 'tensors%.1%.weight/v' is not part of the optimizer state" },
  { "dangling tensor reference", with_meta(function(i) i.optimizer.tensors["1.weight/v"] = { ["$tensor"] = "nope" } end),
    "optimizer field 'tensors%.1%.weight/v' refers to tensor 'nope'" },
  { "bad $num", with_meta(function(i) i.optimizer.hyper.lr = { ["$num"] = "big" } end), "optimizer field 'hyper%.lr' holds the number 'big'" },
  { "unknown metadata field", with_meta(function(i) i.extra = 1 end), "metadata field 'extra' is unknown" },
  { "engine a number", with_meta(function(i) i.engine = 5 end), "metadata field 'engine' must be a string" },
  { "meta a string", with_meta(function(i) i.meta = "x" end), "metadata field 'meta' must be a table" },
  { "metadata an array", build { meta = "[1,2]" }, "metadata field '1' is unknown" },
  { "metadata a number", build { meta = "7" }, "metadata is not a JSON object" },
  { "kind mismatch", with_meta(function(i) i.optimizer.kind = "SGD" end), "optimizer state is for SGD, not Adam" },
  { "count one too many", build { count = count + 1 }, "corrupted: tensor %d+ of %d+ runs past the end" },
  { "count one too few", build { count = count - 1 }, "corrupted: %d+ unexplained bytes" },
  { "name length past the end", build { body = string.pack("<I2", 65535) .. body:sub(3) }, "corrupted: tensor 1's header runs past the end" },
  { "huge dimension", build { body = body:gsub("^(..[^\0]-)(\1\2)........", "%1%2" .. string.pack("<I8", 1 << 62), 1) }, "corrupted" },
}
for _, c in ipairs(cases) do
  spit(p, c[2])
  local before = fingerprint()
  local e = errmsg(ck.load, p, model, opt)
  t.like(e, c[3], c[1] .. ": " .. e)
  t.ok(not e:find("\n") and not e:find("bad argument") and not e:find("attempt to"), c[1] .. ": one line, no raw Lua error")
  t.is(fingerprint(), before, c[1] .. ": model and optimizer unchanged")
end
t.ok(type(opt.step) == "function" and type(opt.load_state) == "function", "the optimizer keeps its methods")

-- slots left out entirely for a parameter that has a gradient step: allowed
-- only as a whole (a parameter that never had a gradient has no slots)
spit(p, with_meta(function(i) i.optimizer.tensors["1.weight/v"] = nil; i.optimizer.tensors["1.weight/m"] = nil end))
local e = errmsg(ck.load, p, model, opt)
t.like(e, "optimizer tensor 'tensors%.1%.weight/[mv]' is not part of the optimizer state", "tensors left in the file but not in the state are refused")

-- load_state itself: a parameter with only some of its slots
local st = opt:state()
st.tensors["1.weight/v"] = nil
local before = fingerprint()
t.like(errmsg(opt.load_state, opt, st), "parameter '1%.weight' has 1 of its 2 slots %(m, v%)", "load_state refuses half a parameter's slots")
t.is(fingerprint(), before, "and changes nothing")
st = opt:state()
st.tensors["9.weight/m"] = lpact.zeros { 1 }
t.like(errmsg(opt.load_state, opt, st), "field 'tensors%.9%.weight/m' names no parameter slot", "a slot of no parameter is refused")

os.execute("rm -rf " .. dir)
t.done()
