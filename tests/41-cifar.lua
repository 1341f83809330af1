-- CIFAR-10 reader on small files in the real binary layout (1 label byte,
-- then 1024 red, 1024 green, 1024 blue bytes per record) written here.
local t = require "lpact.tap"
local io_, data = lpact.io, lpact.data

local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir .. "/cifar-10-batches-bin")
local bin = dir .. "/cifar-10-batches-bin"
local function float32(v) return (string.unpack("<f", string.pack("<f", v))) end
local errmsg = t.errmsg
-- Record r of file b: label (b + r) % 10; pixel (c, i, j) = (b*31 + r*7 + c*5 + i*3 + j) % 256.
local function record(b, r)
  local px = {}
  for c = 0, 2 do for i = 0, 31 do for j = 0, 31 do
    px[#px + 1] = string.char((b * 31 + r * 7 + c * 5 + i * 3 + j) % 256)
  end end end
  return string.char((b + r) % 10) .. table.concat(px)
end
local function write(p, s) local f = assert(io.open(p, "wb")) f:write(s) f:close() return p end
local function batch(b, n)
  local recs = {}
  for r = 0, n - 1 do recs[#recs + 1] = record(b, r) end
  return table.concat(recs)
end
for b = 1, 5 do write(bin .. "/data_batch_" .. b .. ".bin", batch(b, 2)) end
write(bin .. "/test_batch.bin", batch(0, 3))

local x, y = io_.read_cifar(bin .. "/test_batch.bin")
t.same(x:shape(), { 3, 3, 32, 32 }, "one file: x (3, 3, 32, 32)")
t.same(y:totable(), { 0, 1, 2 }, "labels")
t.is(x:get(2, 3, 5, 7), (0 + 7 + 10 + 12 + 6) % 256 + 0.0, "pixel (record 2, blue, row 5, col 7) in planar layout")

local ds = data.cifar10 { dir = dir }
t.same(ds.train.x:shape(), { 10, 3, 32, 32 }, "five batches concatenated: 10 records")
t.same(ds.train.y:totable(), { 1, 2, 2, 3, 3, 4, 4, 5, 5, 6 }, "train labels in file order")
local good = true
for k = 1, 10 do
  local b, r = (k + 1) // 2, (k - 1) % 2
  for _, pos in ipairs { { 1, 1, 1 }, { 2, 17, 30 }, { 3, 32, 32 } } do
    local c, i, j = pos[1] - 1, pos[2] - 1, pos[3] - 1
    local want = float32(((b * 31 + r * 7 + c * 5 + i * 3 + j) % 256) / 255)
    if ds.train.x:get(k, pos[1], pos[2], pos[3]) ~= want then good = false end
  end
end
t.ok(good, "pixels of every record, scaled to [0, 1]")
t.same(ds.test.y:totable(), { 0, 1, 2 }, "test labels")
t.is(ds.name, "cifar-10", "name")
t.same(data.cifar10 { dir = bin, limit = 3 }.train.y:totable(), { 1, 2, 2 }, "limit across files; dir may be the batches folder")

-- Bad files.
write(bin .. "/test_batch.bin", batch(0, 3):sub(1, 3073 * 2 + 100))
t.like(errmsg(data.cifar10, { dir = dir }),
  "test_batch%.bin: wrong size: 6246 bytes is not a whole number of 3073%-byte records", "truncated file")
local bad = batch(0, 2)
bad = bad:sub(1, 3073) .. "\37" .. bad:sub(3075)
write(bin .. "/test_batch.bin", bad)
t.like(errmsg(data.cifar10, { dir = dir }), "test_batch%.bin: record 2 has label 37 %(CIFAR%-10 labels are 0%.%.9%)",
  "label out of range")
write(bin .. "/test_batch.bin", "")
t.like(errmsg(data.cifar10, { dir = dir }), "test_batch%.bin: wrong size: the file is empty", "empty file")
os.remove(bin .. "/data_batch_3.bin")
t.like(errmsg(data.cifar10, { dir = dir }), "data_batch_3%.bin: no such file", "missing batch named")
t.like(errmsg(data.cifar10, { dir = dir .. "/none" }), "CIFAR%-10 not found: no directory .*/none", "missing directory")

os.execute("rm -rf " .. dir)
t.done()
