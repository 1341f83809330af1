-- IDX reader: plain and gzip files written here, every element type,
-- limit, and each kind of bad file refused with a message naming the
-- file and the problem.
local t = require "lpact.tap"
local io_, data = lpact.io, lpact.data

local dir = t.tmpdir()
local function path(name) return dir .. "/" .. name end
local function write(name, s)
  local f = assert(io.open(path(name), "wb"))
  f:write(s)
  f:close()
  return path(name)
end
local function header(type, dims)
  local h = string.pack(">BBBB", 0, 0, type, #dims)
  for _, d in ipairs(dims) do h = h .. string.pack(">I4", d) end
  return h
end
local function float32(v) return (string.unpack("<f", string.pack("<f", v))) end
local errmsg = t.errmsg

-- A 3 x 2 x 4 unsigned-byte file: element k (0-based) holds 10 * k + 3.
local bytes = {}
for k = 0, 23 do bytes[#bytes + 1] = string.char(10 * k + 3) end
local body = header(0x08, { 3, 2, 4 }) .. table.concat(bytes)
local plain = write("u8.idx", body)
io_.write_gz(path("u8.idx.gz"), body)

for _, p in ipairs { plain, path("u8.idx.gz") } do
  local x = data.idx(p)
  t.same(x:shape(), { 3, 2, 4 }, p:match("[^/]*$") .. ": shape from the header")
  local okv = true
  for i = 1, 3 do for j = 1, 2 do for k = 1, 4 do
    local lin = (i - 1) * 8 + (j - 1) * 4 + (k - 1)
    if x:get(i, j, k) ~= 10 * lin + 3 then okv = false end
  end end end
  t.ok(okv, p:match("[^/]*$") .. ": every element in row-major order")
end

-- The gzip file really is compressed (magic 1f 8b) and decompresses to body.
local gz = assert(io.open(path("u8.idx.gz"), "rb")):read("a")
t.is(gz:sub(1, 2), "\x1f\x8b", "write_gz writes gzip")
t.is(io_.read_gz(path("u8.idx.gz")), body, "read_gz round-trips")

-- limit keeps the first items; channel inserts a dimension of 1.
local x = data.idx(plain, { limit = 2, channel = true })
t.same(x:shape(), { 2, 1, 2, 4 }, "limit = 2 and channel = true: (2, 1, 2, 4)")
t.is(x:get(2, 1, 2, 4), 10 * 15 + 3.0, "last element of the second item")
t.same(data.idx(plain, { limit = 99 }):shape(), { 3, 2, 4 }, "limit above N keeps N")

-- div = 255: every byte value becomes (float)v / 255, as PyTorch's ToTensor.
local all = {}
for v = 0, 255 do all[#all + 1] = string.char(v) end
local p256 = write("all.idx", header(0x08, { 256 }) .. table.concat(all))
local px = data.idx(p256, { div = 255 })
local good = true
for v = 0, 255 do if px:get(v + 1) ~= float32(v / 255) then good = false end end
t.ok(good, "div = 255 gives float32(v / 255) for all 256 byte values")
t.is(px:get(256), 1.0, "255 -> 1")

-- The other IDX element types (big-endian).
t.same(data.idx(write("i8.idx", header(0x09, { 3 }) .. string.pack(">i1i1i1", -128, -1, 127))):totable(),
  { -128, -1, 127 }, "type 0x09: signed bytes")
t.same(data.idx(write("i16.idx", header(0x0B, { 2 }) .. string.pack(">i2i2", -300, 32767))):totable(),
  { -300, 32767 }, "type 0x0B: big-endian int16")
t.same(data.idx(write("i32.idx", header(0x0C, { 2 }) .. string.pack(">i4i4", -70000, 16777216))):totable(),
  { -70000, 16777216 }, "type 0x0C: big-endian int32")
t.same(data.idx(write("f32.idx", header(0x0D, { 2 }) .. string.pack(">ff", 1.5, -0.25))):totable(),
  { 1.5, -0.25 }, "type 0x0D: big-endian float32")
t.same(data.idx(write("f64.idx", header(0x0E, { 2 }) .. string.pack(">dd", 0.1, -3))):totable(),
  { float32(0.1), -3 }, "type 0x0E: float64, rounded to float32")

-- Bad files: each refused with the path and the problem.
local p
p = write("magic.idx", string.pack(">I4I4", 0x08030000, 1) .. "x")
t.like(errmsg(data.idx, p), "magic%.idx: wrong magic number 0x08030000", "bytes swapped: wrong magic")
p = write("type.idx", string.pack(">I4I4", 0x00000701, 1) .. "x")
t.like(errmsg(data.idx, p), "type%.idx: wrong magic number 0x00000701", "unknown type code: wrong magic")
p = write("ndim0.idx", string.pack(">I4", 0x00000800))
t.like(errmsg(data.idx, p), "ndim0%.idx: wrong magic number 0x00000800", "zero dimensions: wrong magic")
p = write("ndim9.idx", string.pack(">I4", 0x00000809))
t.like(errmsg(data.idx, p), "ndim9%.idx: wrong magic number", "nine dimensions: wrong magic")
p = write("empty.idx", "")
t.like(errmsg(data.idx, p), "empty%.idx: truncated: an IDX header needs 4 bytes of magic number, the file has 0",
  "empty file: truncated")
p = write("hdr.idx", header(0x08, { 3, 2, 4 }):sub(1, 10))
t.like(errmsg(data.idx, p), "hdr%.idx: truncated: the header ends after 1 of 3 dimension sizes", "cut header")
p = write("short.idx", body:sub(1, #body - 5))
t.like(errmsg(data.idx, p),
  "short%.idx: truncated: the header declares 3x2x4 = 24 bytes of data, the file holds 19", "cut data")
io_.write_gz(path("short.idx.gz"), body:sub(1, #body - 5))
t.like(errmsg(data.idx, path("short.idx.gz")),
  "short%.idx%.gz: truncated: the header declares 3x2x4 = 24 bytes of data, the file holds 19", "cut data, gzip")
p = write("long.idx", body .. "abc")
t.like(errmsg(data.idx, p), "long%.idx: wrong size: 3 bytes follow the 3x2x4 = 24 bytes of data", "trailing bytes")
p = write("i16short.idx", header(0x0B, { 2 }) .. string.pack(">i2", 5) .. "\1")
t.like(errmsg(data.idx, p), "declares 2 = 4 bytes of data, the file holds 3", "half an element is truncation")
-- A header that declares far more than the file can hold is refused before
-- anything is allocated (plain: exactly; gzip: by deflate's best ratio).
p = write("huge.idx", header(0x08, { 60000, 280, 2800 }) .. "abc")
t.like(errmsg(data.idx, p), "huge%.idx: truncated: the header declares 60000x280x2800 = 47040000000 bytes of data, the file holds 3",
  "huge declared size, plain")
io_.write_gz(path("huge.idx.gz"), header(0x08, { 60000, 280, 2800 }) .. "abc")
t.like(errmsg(data.idx, path("huge.idx.gz")), "huge%.idx%.gz: truncated: the header declares 60000x280x2800 = 47040000000 bytes of data, more than %d+ compressed bytes can hold",
  "huge declared size, gzip")
-- A gzip stream cut in the middle.
p = write("cut.idx.gz", gz:sub(1, #gz // 2))
t.like(errmsg(data.idx, p), "cut%.idx%.gz: truncated", "gzip stream cut short")
-- A gzip stream with its compressed data damaged.
local big = {}
for k = 1, 4000 do big[k] = string.char((k * 7919) % 251) end
io_.write_gz(path("big.idx.gz"), header(0x08, { 4000 }) .. table.concat(big))
local g = io.open(path("big.idx.gz"), "rb"):read("a")
local bad = g:sub(1, 20) .. string.rep("\xff", 40) .. g:sub(61)
p = write("bad.idx.gz", bad)
t.like(errmsg(data.idx, p), "bad%.idx%.gz: corrupt gzip data %([^/]+%)$", "damaged gzip data refused, file named once")
t.like(errmsg(data.idx, path("nope.idx")), "nope%.idx: cannot open: No such file", "missing file")
t.like(errmsg(data.idx, dir), ": is a directory", "a directory")
local ok, e = pcall(data.idx, p)
t.ok(not ok and lpact.is_failure(e) and e.exit == 1, "bad files raise lpact.fail with status 1")

-- lpact.data.fashion_mnist on a tiny directory of IDX files.
local mn = dir .. "/fm"
os.execute("mkdir -p " .. mn)
local function images(n, base)
  local s = {}
  for i = 0, n * 784 - 1 do s[#s + 1] = string.char((i + base) % 256) end
  return header(0x08, { n, 28, 28 }) .. table.concat(s)
end
local function labels(list)
  local s = {}
  for i, v in ipairs(list) do s[i] = string.char(v) end
  return header(0x08, { #list }) .. table.concat(s)
end
io_.write_gz(mn .. "/train-images-idx3-ubyte.gz", images(5, 0))
io_.write_gz(mn .. "/train-labels-idx1-ubyte.gz", labels { 9, 0, 0, 3, 7 })
write("fm/t10k-images-idx3-ubyte", images(3, 17))
write("fm/t10k-labels-idx1-ubyte", labels { 1, 2, 3 })
local ds = data.fashion_mnist { dir = mn }
t.same(ds.train.x:shape(), { 5, 1, 28, 28 }, "train x (5, 1, 28, 28) from .gz files")
t.same(ds.test.x:shape(), { 3, 1, 28, 28 }, "test x (3, 1, 28, 28) from plain files")
t.same(ds.train.y:totable(), { 9, 0, 0, 3, 7 }, "train labels")
t.is(ds.test.x:get(1, 1, 1, 1), float32(17 / 255), "test pixel scaled to [0, 1]")
t.is(ds.classes, 10, "10 classes")
t.is(ds.name, "fashion-mnist", "name")
t.same(data.fashion_mnist { dir = mn, limit = 2 }.train.y:totable(), { 9, 0 }, "limit")

write("fm/t10k-labels-idx1-ubyte", labels { 1, 2 })
t.like(errmsg(data.fashion_mnist, { dir = mn }), "t10k%-labels%-idx1%-ubyte: wrong size: 2 labels for the 3 images",
  "label count differs from image count")
write("fm/t10k-labels-idx1-ubyte", labels { 1, 2, 10 })
t.like(errmsg(data.fashion_mnist, { dir = mn }), "t10k%-labels%-idx1%-ubyte: labels outside 0%.%.9", "label 10 refused")
write("fm/t10k-labels-idx1-ubyte", labels { 1, 2, 3 })
write("fm/t10k-images-idx3-ubyte", header(0x08, { 3, 28 }) .. string.rep("\0", 84))
t.like(errmsg(data.fashion_mnist, { dir = mn }), "t10k%-images%-idx3%-ubyte: wrong dimensions", "2-D images refused")
os.remove(mn .. "/t10k-images-idx3-ubyte")
t.like(errmsg(data.fashion_mnist, { dir = mn }), "fm/t10k%-images%-idx3%-ubyte%(%.gz%): no such file", "missing file named")

local missing = dir .. "/no-such-dir"
t.is(errmsg(data.fashion_mnist, { dir = missing }),
  "fashion-mnist not found: no directory " .. missing ..
  " (install the Debian package dataset-fashion-mnist, or set LPACT_DATA or pass dir=)",
  "missing directory: path and Debian package named")
-- LPACT_DATA points elsewhere; the program reports the failure on one line, exit 1.
local B = os.getenv("LPACT_BUILD") or "build"
local pr = io.popen("LPACT_DATA=" .. missing .. " " .. B .. "/lpact -e 'lpact.data.fashion_mnist()' 2>&1; echo \"exit=$?\"")
local out = pr:read("a")
pr:close()
t.is(out, "lpact: fashion-mnist not found: no directory " .. missing ..
  " (install the Debian package dataset-fashion-mnist, or set LPACT_DATA or pass dir=)\nexit=1\n",
  "LPACT_DATA is used; one line on stderr, exit status 1")
local fb = data.fashion_mnist { dir = missing, fallback = true, limit = 50 }
t.ok(fb.synthetic and fb.note:find("no directory", 1, true), "fallback = true gives the built-in stand-in")

os.execute("rm -rf " .. dir)
t.done()
