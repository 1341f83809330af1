-- CSV loader and the synthetic sets (spirals, blobs, the built-in stand-in).
local t = require "lpact.tap"
local io_, data = lpact.io, lpact.data

local dir = t.tmpdir()
local function write(name, s) local p = dir .. "/" .. name local f = assert(io.open(p, "wb")) f:write(s) f:close() return p end
local errmsg = t.errmsg
local function flat(tn) local out = {} for _, r in ipairs(tn:totable()) do for _, v in ipairs(r) do out[#out + 1] = v end end return out end

local p = write("iris.csv", 'sepal,petal,"kind, of"\r\n1.5,2,setosa\n\n3,-4e-1,"vir""ginica"\n0.25,8,setosa\n')
local c = data.csv(p)
t.same(c.x:shape(), { 3, 2 }, "3 rows, 2 feature columns (blank line skipped)")
t.same(flat(c.x), { 1.5, 2, 3, (string.unpack("f", string.pack("f", -0.4))), 0.25, 8 }, "features")
t.same(c.columns, { "sepal", "petal" }, "header names")
t.same(c.label_names, { "setosa", 'vir"ginica' }, "text labels: classes in sorted order; quotes unescaped")
t.same(c.y:totable(), { 0, 1, 0 }, "label indices")
t.is(c.classes, 2, "classes")
t.is(c.label, "kind, of", "quoted header field with the separator")

p = write("num.csv", "1,0\n2,2\n3,1\n")
c = data.csv(p)
t.same(c.y:totable(), { 0, 2, 1 }, "numeric labels, no header")
t.is(c.classes, 3, "classes = max label + 1")
c = data.csv(p, { label = "first" })
t.same(c.y:totable(), { 1, 2, 3 }, "label = 'first'")
c = data.csv(p, { label = false, limit = 2 })
t.same(c.x:shape(), { 2, 2 }, "label = false keeps every column; limit = 2")
t.is(c.y, nil, "no labels")
c = data.csv(write("semi.csv", "a;b\n1;2\n"), { sep = ";", label = "a" })
t.same(c.y:totable(), { 1 }, "sep and label by name")

t.like(errmsg(data.csv, write("bad1.csv", "a,b\n1,2\n3\n")), "bad1%.csv:3: 1 fields, the first row has 2", "ragged row")
t.like(errmsg(data.csv, write("bad2.csv", "a,b,y\n1,x,0\n")), "bad2%.csv:2: column 'b' is not a number: 'x'", "text feature")
t.like(errmsg(data.csv, write("bad3.csv", "1,2.5\n")), "bad3%.csv:1: label '2%.5' is not a class number", "fractional label")
t.like(errmsg(data.csv, write("bad4.csv", '1,"2\n')), 'bad4%.csv:1: unterminated quoted field', "open quote")
t.like(errmsg(data.csv, dir .. "/none.csv"), "none%.csv: cannot open", "missing file")
t.like(errmsg(data.csv, write("bad5.csv", "a,b\n")), "bad5%.csv: no data rows", "header only")

-- data.split: a seeded partition.
local s = data.split(data.csv(write("ten.csv", "0,0\n1,1\n2,0\n3,1\n4,0\n5,1\n6,0\n7,1\n8,0\n9,1\n")), 0.3, 7)
t.ok(s.train.n == 7 and s.test.n == 3, "split 0.3 of 10: 7 + 3")
local seen = {}
for _, part in ipairs { s.train, s.test } do
  for i, r in ipairs(part.x:totable()) do
    seen[#seen + 1] = r[1]
    if part.y:get(i) ~= r[1] % 2 then seen.bad = true end
  end
end
table.sort(seen)
t.same(seen, { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9 }, "split: every row in exactly one part")
t.ok(not seen.bad, "split keeps x and y together")

-- Spirals and blobs: shapes, labels, determinism.
local sp = data.spirals { n = 90, classes = 3, seed = 1 }
t.same(sp.train.x:shape(), { 90, 2 }, "spirals: (90, 2)")
t.same(sp.test.x:shape(), { 22, 2 }, "spirals: test n/4")
local cnt = {}
for _, v in ipairs(sp.train.y:totable()) do cnt[v] = (cnt[v] or 0) + 1 end
t.same(cnt, { [0] = 30, [1] = 30, [2] = 30 }, "spirals: balanced classes")
local rmax = 0
for _, r in ipairs(sp.train.x:totable()) do rmax = math.max(rmax, math.sqrt(r[1] ^ 2 + r[2] ^ 2)) end
t.ok(rmax <= 1.0001, "spiral radius within 1")
t.same(data.spirals { n = 90, seed = 1 }.train.x:totable(), sp.train.x:totable(), "spirals: same seed, same points")
t.ok(data.spirals { n = 90, seed = 2 }.train.x:get(5, 1) ~= sp.train.x:get(5, 1), "spirals: other seed, other points")
local bl = data.blobs { n = 400, classes = 4, dim = 3, spread = 0.5, seed = 3 }
t.same(bl.train.x:shape(), { 400, 3 }, "blobs: (400, 3)")
-- Points lie near their own centre: mean distance to it about spread * sqrt(3).
local sum, near = 0, 0
for i, r in ipairs(bl.train.x:totable()) do
  local k = bl.train.y:get(i) + 1
  local d = 0
  for j = 1, 3 do d = d + (r[j] - bl.centers[k][j]) ^ 2 end
  sum = sum + math.sqrt(d)
end
t.near(sum / 400, 0.5 * 1.596, 0.08, "blobs: mean distance to the centre = spread * E|N(0, I3)| = 0.5 * 1.596")

-- The built-in stand-in.
local b = data.builtin { n = 200, test = 50, seed = 4 }
t.same(b.train.x:shape(), { 200, 1, 28, 28 }, "builtin: Fashion-MNIST shape")
t.same(b.test.x:shape(), { 50, 1, 28, 28 }, "builtin: test")
local lo, hi = io_.range(b.train.x)
t.ok(lo >= 0 and hi <= 1, "builtin: pixels in [0, 1]")
local ylo, yhi = io_.range(b.train.y)
t.ok(ylo == 0 and yhi == 9, "builtin: labels 0..9")
t.is(io_.crc32(io_.tensor_bytes(data.builtin { n = 200, test = 50, seed = 4 }.train.x)), io_.crc32(io_.tensor_bytes(b.train.x)),
  "builtin: deterministic")
t.ok(io_.crc32(io_.tensor_bytes(b.test.x)) ~= io_.crc32(io_.tensor_bytes(data.builtin { n = 50, test = 50, seed = 4 }.train.x)),
  "builtin: test split differs from train")
-- Learnable: a nearest-class-mean classifier from the training set does
-- far better than chance (10%) on the test set.
local means, counts = {}, {}
local tx = io_.tensor_bytes(b.train.x)
for i = 0, 199 do
  local k = b.train.y:get(i + 1)
  means[k] = means[k] or {}
  counts[k] = (counts[k] or 0) + 1
  for p = 1, 784 do means[k][p] = (means[k][p] or 0) + string.unpack("<f", tx, 1 + 4 * (i * 784 + p - 1)) end
end
local ex, right = io_.tensor_bytes(b.test.x), 0
for i = 0, 49 do
  local best, bk = math.huge, nil
  for k, m in pairs(means) do
    local d = 0
    for p = 1, 784 do d = d + (string.unpack("<f", ex, 1 + 4 * (i * 784 + p - 1)) - m[p] / counts[k]) ^ 2 end
    if d < best then best, bk = d, k end
  end
  if bk == b.test.y:get(i + 1) then right = right + 1 end
end
t.ok(right >= 25, "builtin: nearest class mean gets " .. right .. "/50 right (chance: 5)")

os.execute("rm -rf " .. dir)
t.done()
