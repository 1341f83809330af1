-- Checkpoints: bit-exact round trip of parameters, buffers and optimizer
-- state; truncated, corrupted and mismatched files refused with the
-- reason; never a half-written file.
local t = require "lpact.tap"
local ck, io_, json = lpact.checkpoint, lpact.io, require "lpact.json"

local dir = t.tmpdir()
local errmsg = t.errmsg
local slurp = t.slurp
local spit = t.spit
local function listdir(d)
  local out = {}
  for n in require("lfs").dir(d) do
    if n ~= "." and n ~= ".." then out[#out + 1] = n end
  end
  table.sort(out)
  return out
end

-- A model after the nn contract (parameters() with Vars, buffers()), with
-- values that only a bit-exact format keeps: -0, inf, NaN, subnormals.
local function model_of(shapes, seed)
  local params, buffers = {}, {}
  for i, s in ipairs(shapes) do
    local tn = lpact.randn(s.shape, seed + i)
    if s.buffer then buffers[#buffers + 1] = { name = s.name, tensor = tn }
    else params[#params + 1] = { name = s.name, var = { data = tn, grad = lpact.randn(s.shape, seed + 100 + i) } } end
  end
  return { parameters = function() return params end, buffers = function() return buffers end,
    params = params, bufs = buffers }
end
local shapes = {
  { name = "fc1.weight", shape = { 6, 4 } }, { name = "fc1.bias", shape = { 6 } },
  { name = "bn.running_mean", shape = { 6 }, buffer = true }, { name = "fc2.weight", shape = { 3, 6 } },
}
local m = model_of(shapes, 1)
m.params[2].var.data:narrow(1, 1, 6):copy(io_.from_list({ -0.0, math.huge, -math.huge, 0 / 0, 1e-45, -3e-39 }, { 6 }))
local function fingerprint(model)
  local parts = {}
  for _, p in ipairs(model.params) do parts[#parts + 1] = p.name .. "=" .. io_.crc32(io_.tensor_bytes(p.var.data)) end
  for _, b in ipairs(model.bufs) do parts[#parts + 1] = b.name .. "=" .. io_.crc32(io_.tensor_bytes(b.tensor)) end
  return table.concat(parts, " ")
end
t.is(io_.tensor_bytes(m.params[2].var.data):sub(1, 4), string.pack("<f", -0.0), "the model holds -0 (sanity)")

local opt = lpact.optim.Adam(m:parameters(), { lr = 0.01 })
opt:step()
opt:step()
local path = dir .. "/m.ckpt"
ck.save(path, m, opt, { epoch = 3, loss = 0.25, note = "hi", best = math.huge })
t.same(listdir(dir), { "m.ckpt" }, "only the checkpoint in the folder (temporary file renamed)")
local blob = slurp(path)
t.is(blob:sub(1, 8), "LPACTCKP", "magic")
t.is(string.unpack("<I4", blob, 9), 1, "version 1")
t.is(string.unpack("<I8", blob, 17), #blob, "size field = file size")
t.is(string.unpack("<I4", blob, #blob - 3), io_.crc32(blob:sub(1, -5)), "trailing CRC-32 of everything before")
ck.save(dir .. "/again.ckpt", m, opt, { epoch = 3, loss = 0.25, note = "hi", best = math.huge })
t.is(slurp(dir .. "/again.ckpt"), blob, "the same state gives the same bytes")
os.remove(dir .. "/again.ckpt")

local info = ck.inspect(path)
local names = {}
for _, e in ipairs(info.tensors) do names[#names + 1] = e.kind .. " " .. e.name .. " " .. table.concat(e.shape, "x") end
t.same({ table.unpack(names, 1, 4) }, { "parameter fc1.weight 6x4", "parameter fc1.bias 6", "parameter fc2.weight 3x6",
  "buffer bn.running_mean 6" }, "inspect: names, kinds and shapes in model order")
t.is(#info.tensors, 4 + 6, "plus two Adam slots per parameter")
t.is(info.engine, lpact.version, "engine version recorded")

-- Load into a different model of the same shapes: every byte comes back.
local m2 = model_of(shapes, 50)
local opt2 = lpact.optim.Adam(m2:parameters(), { lr = 0.5 })
t.ok(fingerprint(m2) ~= fingerprint(m), "a fresh model differs (sanity)")
local meta = ck.load(path, m2, opt2)
t.is(fingerprint(m2), fingerprint(m), "parameters and buffers bit-exact (-0, inf, NaN, subnormals kept)")
t.same({ meta.epoch, math.type(meta.epoch), meta.loss, meta.note, meta.best }, { 3, "integer", 0.25, "hi", json.null },
  "meta back, integer stays integer; inf stored as null")
local s1, s2 = opt:state(), opt2:state()
t.is(s2.step, 2, "optimizer step count restored")
t.is(opt2.lr, 0.01, "optimizer hyper-parameters restored")
local same = true
for k, v in pairs(s1.tensors) do
  if not s2.tensors[k] or io_.tensor_bytes(s2.tensors[k]) ~= io_.tensor_bytes(v) then same = false end
end
t.ok(same, "optimizer moments bit-exact")
-- The next step of the restored pair equals the next step of the original
-- (given the same gradients).
for i, p in ipairs(m2.params) do p.var.grad:copy(m.params[i].var.grad) end
opt:step()
opt2:step()
t.is(fingerprint(m2), fingerprint(m), "one more step after loading: identical parameters")
-- Without an optimizer.
local m3 = model_of(shapes, 70)
ck.load(path, m3)
t.ok(fingerprint(m3) ~= fingerprint(m) and io_.tensor_bytes(m3.params[1].var.data) ~= nil, "model only loads (m has moved on)")
ck.save(dir .. "/plain.ckpt", { model = m3 })
t.is(ck.inspect(dir .. "/plain.ckpt").optimizer, json.null, "table form, no optimizer: none stored")
t.like(errmsg(ck.load, dir .. "/plain.ckpt", m3, opt), "plain%.ckpt: has no optimizer state", "asking for a missing optimizer state")

-- Bad files, each with its reason; the model is left untouched.
local before = fingerprint(m2)
local function refused(name, bytes, pat, what)
  local p = dir .. "/" .. name
  spit(p, bytes)
  t.like(errmsg(ck.load, p, m2, opt2), pat, what)
end
refused("t1.ckpt", blob:sub(1, #blob // 2), "t1%.ckpt: truncated: " .. #blob // 2 .. " of " .. #blob .. " bytes", "cut in half")
refused("t2.ckpt", blob:sub(1, #blob - 1), "t2%.ckpt: truncated: " .. #blob - 1 .. " of " .. #blob .. " bytes", "last byte missing")
refused("t3.ckpt", blob:sub(1, 20), "t3%.ckpt: truncated: 20 bytes, the header has 32", "cut inside the header")
refused("t4.ckpt", blob:sub(1, 5), "t4%.ckpt: truncated: 5 bytes, not even a header", "cut inside the magic")
refused("e.ckpt", "", "e%.ckpt: truncated: 0 bytes", "empty file")
refused("long.ckpt", blob .. "x", "long%.ckpt: wrong size: " .. #blob + 1 .. " bytes, the header declares " .. #blob,
  "trailing byte")
local pos = #blob - 40
refused("flip.ckpt", blob:sub(1, pos - 1) .. string.char(blob:byte(pos) ~ 1) .. blob:sub(pos + 1),
  "flip%.ckpt: corrupted: checksum mismatch %(stored 0x%x+, computed 0x%x+%)", "one flipped bit in the data")
refused("meta.ckpt", blob:sub(1, 40) .. "X" .. blob:sub(42), "meta%.ckpt: corrupted: checksum mismatch", "damaged metadata")
refused("magic.ckpt", "PK\3\4" .. blob:sub(5), "magic%.ckpt: not an lpact checkpoint %(wrong magic number%)", "wrong magic")
refused("v2.ckpt", blob:sub(1, 8) .. string.pack("<I4", 2) .. blob:sub(13),
  "v2%.ckpt: checkpoint format version 2, this engine reads version 1", "newer version")
t.like(errmsg(ck.load, dir .. "/none.ckpt", m2), "none%.ckpt: cannot open the checkpoint: No such file", "missing file")
t.is(fingerprint(m2), before, "refused files leave the model untouched")

local function mism(model, pat, what, o)
  local fp = fingerprint(model)
  t.like(errmsg(ck.load, path, model, o), pat, what)
  t.is(fingerprint(model), fp, what .. ": model untouched")
end
local wrong = {
  { name = "fc1.weight", shape = { 6, 5 } }, { name = "fc1.bias", shape = { 6 } },
  { name = "bn.running_mean", shape = { 6 }, buffer = true }, { name = "fc2.weight", shape = { 3, 6 } } }
mism(model_of(wrong, 9), "m%.ckpt: does not match the model: parameter 'fc1%.weight' has shape 6x4 in the file, 6x5 in the model",
  "shape mismatch")
local fewer = { shapes[1], shapes[3], shapes[4] }
mism(model_of(fewer, 9), "does not match the model: the file has parameter 'fc1%.bias' that the model lacks", "extra tensor in the file")
local more = { shapes[1], shapes[2], shapes[3], shapes[4], { name = "fc2.bias", shape = { 3 } } }
mism(model_of(more, 9), "does not match the model: parameter 'fc2%.bias' is missing from the file", "tensor missing from the file")
local nobuf = { shapes[1], shapes[2], shapes[4] }
mism(model_of(nobuf, 9), "the file has buffer 'bn%.running_mean' that the model lacks", "buffer mismatch")
local m4 = model_of(shapes, 9)
mism(m4, "m%.ckpt: optimizer state does not match: optimizer state is for Adam, not SGD", "optimizer kind mismatch",
  lpact.optim.SGD(m4:parameters(), { lr = 0.1 }))

-- Never half-written: a failing save leaves the old file and no temporary.
local good = slurp(path)
local broken = { parameters = function() return { { name = "w", var = { data = "not a tensor" } } } end }
t.ok(not pcall(ck.save, path, broken), "saving a broken model raises")
t.is(slurp(path), good, "the previous checkpoint is intact")
os.execute("chmod 500 " .. dir)
local ro = io.open(dir .. "/probe", "wb")
if ro then
  ro:close()
  os.remove(dir .. "/probe")
  t.ok(true, "# skip: running as root, directory permissions are not enforced")
else
  t.like(errmsg(ck.save, dir .. "/ro.ckpt", m, opt), "ro%.ckpt: cannot write the checkpoint", "unwritable folder: clear error")
end
os.execute("chmod 700 " .. dir)
local left = {}
for _, f in ipairs(listdir(dir)) do if f:find("%.tmp%-") then left[#left + 1] = f end end
t.same(left, {}, "no temporary files left behind")
t.like(errmsg(ck.save, dir .. "/no/such/dir/x.ckpt", m), "x%.ckpt: cannot write the checkpoint", "missing folder: clear error")

os.execute("rm -rf " .. dir)
t.done()
