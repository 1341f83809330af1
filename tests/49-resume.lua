-- A real model (nn + autograd + Adam) trained, checkpointed and resumed:
-- the resumed run is bit-identical to the uninterrupted one; the data
-- pipeline (shuffling, batches) is part of that determinism.
local t = require "lpact.tap"
local data, ck, io_ = lpact.data, lpact.checkpoint, lpact.io
local ag = require "lpact.autograd"

local dir = t.tmpdir()

local ds = data.spirals { n = 300, classes = 3, seed = 2 }
local function make(seed)
  local m = lpact.models.mlp { 2, 32, 32, 3, seed = seed }
  return m, lpact.optim.Adam(m:parameters(), { lr = 0.01 })
end
local function epoch(m, opt, e)
  local last
  for x, y in data.batches(ds.train, 32, { seed = 11, epoch = e }) do
    local loss = ag.cross_entropy(m:forward(x), y)
    opt:zero_grad()
    loss:backward()
    opt:step()
    last = loss
  end
  return last
end
local function fingerprint(m)
  local parts = {}
  for _, p in ipairs(m:parameters()) do parts[#parts + 1] = p.name .. ":" .. io_.crc32(io_.tensor_bytes(p.var.data:contiguous())) end
  return table.concat(parts, " ")
end

-- Uninterrupted: epochs 1..3, with a checkpoint after epoch 1.
local a, oa = make(1)
epoch(a, oa, 1)
ck.save(dir .. "/e1.ckpt", a, oa, { epoch = 1 })
epoch(a, oa, 2)
epoch(a, oa, 3)

-- Resumed: a model built with another seed, loaded from the checkpoint.
local b, ob = make(99)
t.ok(fingerprint(b) ~= fingerprint(a), "a fresh model differs (sanity)")
local meta = ck.load(dir .. "/e1.ckpt", b, ob)
t.is(meta.epoch, 1, "meta says where to resume")
for e = meta.epoch + 1, 3 do epoch(b, ob, e) end
t.is(fingerprint(b), fingerprint(a), "resumed training is bit-identical to the uninterrupted run")

-- The model learned something (the data and labels line up).
local correct, total = 0, 0
ag.no_grad(function()
  for x, y in data.batches(ds.test, 100, { shuffle = false }) do
    local pred = a:forward(x).data:argmax(2)
    for i = 1, y:shape()[1] do
      total = total + 1
      if pred:get(i) - 1 == y:get(i) then correct = correct + 1 end   -- argmax is 1-based
    end
  end
end)
t.ok(correct / total > 0.6, string.format("3 epochs on spirals: test accuracy %.2f > 0.6 (chance 0.33)", correct / total))

-- A checkpoint of one architecture refused by another, naming the tensor.
local c = lpact.models.mlp { 2, 16, 3, seed = 1 }
local ok, e = pcall(ck.load, dir .. "/e1.ckpt", c)
t.ok(not ok and e.msg:find("does not match the model: parameter '.-' ", 1) ~= nil, "another architecture refused: " .. tostring(e and e.msg))

os.execute("rm -rf " .. dir)
t.done()
