-- The real Fashion-MNIST (Debian's dataset-fashion-mnist), when installed.
local t = require "lpact.tap"
local data = lpact.data
local dir = os.getenv("LPACT_DATA") or "/usr/share/datasets/fashion-mnist"
local f = io.open(dir .. "/t10k-labels-idx1-ubyte.gz", "rb") or io.open(dir .. "/t10k-labels-idx1-ubyte", "rb")
if not f then
  print("1..0 # SKIP Fashion-MNIST not installed in " .. dir)
  os.exit(0)
end
f:close()

local ds = data.fashion_mnist { train_limit = 100 }
t.same(ds.train.x:shape(), { 100, 1, 28, 28 }, "train_limit = 100")
t.same(ds.test.x:shape(), { 10000, 1, 28, 28 }, "the whole test set: 10000 images")
-- The published first labels of both splits.
local tr, te = {}, {}
for i = 1, 10 do tr[i] = ds.train.y:get(i) te[i] = ds.test.y:get(i) end
t.same(tr, { 9, 0, 0, 3, 0, 2, 7, 2, 5, 5 }, "first ten training labels")
t.same(te, { 9, 2, 1, 1, 6, 1, 4, 6, 5, 7 }, "first ten test labels")
local lo, hi = lpact.io.range(ds.test.x)
t.is(lo, 0.0, "pixels from 0")
t.is(hi, 1.0, "to 1")
local ylo, yhi = lpact.io.range(ds.test.y)
t.ok(ylo == 0 and yhi == 9, "labels 0..9")
-- The test set is balanced: 1000 per class.
local counts = {}
for _, v in ipairs(ds.test.y:totable()) do counts[v] = (counts[v] or 0) + 1 end
local bal = true
for k = 0, 9 do if counts[k] ~= 1000 then bal = false end end
t.ok(bal, "1000 test images per class")
-- The full training set: header only (cheap), then 60000 labels.
local dims = lpact.io.idx_dims(dir .. "/train-images-idx3-ubyte.gz")
t.same(dims, { 60000, 28, 28 }, "training images header: 60000 x 28 x 28")
t.same(data.idx(dir .. "/train-labels-idx1-ubyte.gz"):shape(), { 60000 }, "60000 training labels")
t.done()
