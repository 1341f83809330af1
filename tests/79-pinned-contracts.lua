-- Contracts the mutation run (tests/mutation) found unguarded: each check
-- here kills one mutant that survived the rest of the suite. Values by
-- hand from docs/formats.md and PyTorch's documented behaviour.
local t = require "lpact.tap"
local T = lpact.tensor

-- encode refuses a value one code above max (the code there is NaN in
-- e4m3fn, the sign bit in e2m1): a bound off by one would hand it out
local v, e = lpact.format("e4m3"):encode(480)
t.ok(v == nil and e:match("480 is not a value of e4m3"), "e4m3 (max 448): 480 has no code")
v = lpact.format("e2m1"):encode(8)
t.is(v, nil, "e2m1 (max 6): 8 has no code (code 8 is -0)")
t.is(lpact.format("e2m1"):encode(6), 7, "e2m1: 6 is code 7, the largest")

-- without subnormals the smallest positive value is the smallest normal
t.is(lpact.format("e2m1:nosub"):info().min_subnormal, 1.0, "e2m1:nosub: smallest positive value 1 (not the subnormal 0.5)")
t.is(lpact.format("e2m1"):info().min_subnormal, 0.5, "e2m1: smallest positive value 0.5")
t.is(lpact.format("e3m2:nosub"):info().binades, math.log(28 / 0.25, 2), "e3m2:nosub: binades log2(max / min normal)")

-- sign keeps -0 and NaN (torch.sign(-0.) is -0., torch.sign(nan) is nan)
local s = T { -0.0, 0 / 0, 0.0, -3, 2 }:sign():totable()
t.ok(s[1] == 0 and 1 / s[1] < 0, "sign(-0) is -0")
t.ok(s[2] ~= s[2], "sign(NaN) is NaN")
t.ok(s[3] == 0 and 1 / s[3] > 0 and s[4] == -1 and s[5] == 1, "sign(0) = +0, sign(-3) = -1, sign(2) = 1")

-- argmax / argmin: the first of equal extremes (as torch.argmax)
t.is(T { 1, 3, 3 }:argmax(), 2, "argmax of {1, 3, 3} is the first 3 (index 2)")
t.is(T { 2, 1, 1 }:argmin(), 2, "argmin of {2, 1, 1} is the first 1 (index 2)")
t.same(T { { 1, 3, 3 }, { 5, 5, 0 } }:argmax(2):totable(), { 2, 1 }, "argmax(dim) ties: the first")
t.same(T { { 1, 0, 0 }, { 5, 5, 9 } }:argmin(2):totable(), { 2, 1 }, "argmin(dim) ties: the first")

-- addcmul_ / addcdiv_ need one shape (no broadcasting): (3,) into (1, 3) is refused
t.raises(function() lpact.zeros { 1, 3 }:addcmul_(lpact.ones { 3 }, lpact.ones { 1, 3 }) end,
  "addcmul_: shapes %(1, 3%) and %(3,%)", "addcmul_ refuses a source of another rank")
t.raises(function() lpact.zeros { 3 }:addcdiv_(lpact.ones { 3 }, lpact.ones { 3, 1 }) end,
  "addcdiv_: shapes %(3,%) and %(3, 1%)", "addcdiv_ too")

-- Adam's bias correction divides by 1 - beta^step: step 0 is refused
do
  local K = lpact.kernels
  local p, g, m, v = lpact.ones { 2 }, lpact.ones { 2 }, lpact.zeros { 2 }, lpact.zeros { 2 }
  t.raises(function() K.adam_step(p, g, m, v, 0.1, 0.9, 0.999, 1e-8, 0, 0, false) end, "step counts from 1",
    "adam_step refuses step 0")
  t.same(p:totable(), { 1, 1 }, "and leaves the parameter alone")
end

-- an IDX magic number must start 00 00: 00 01 is refused
do
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(string.pack(">I1I1I1I1I4", 0, 1, 8, 1, 2) .. "\1\2")
  f:close()
  local ok, e = pcall(lpact.data.idx, path)
  t.ok(not ok and tostring(type(e) == "table" and e.msg or e):match("wrong magic number 0x00010801"), "IDX magic 00 01 08 01 is refused")
  os.remove(path)
end

local errmsg = t.errmsg
local dir = t.tmpdir()
local function write(name, s) local p = dir .. "/" .. name local f = assert(io.open(p, "wb")) f:write(s) f:close() return p end

-- IDX: a dimension above 2^31 is refused at the header; div and limit checked
local huge = write("huge.idx", string.pack(">I1I1I1I1I4", 0, 0, 8, 1, 0xFFFFFFFF))
t.like(errmsg(lpact.data.idx, huge), "dimension 1 is 4294967295, more data than an IDX file can plausibly hold", "IDX dimension 2^32 - 1 refused at the header")
local small = write("small.idx", string.pack(">I1I1I1I1I4", 0, 0, 8, 1, 2) .. "\1\2")
t.like(errmsg(lpact.data.idx, small, { div = 0 }), "div must be a positive number", "IDX div = 0 refused")
t.like(errmsg(lpact.data.idx, small, { limit = -1 }), "limit must be >= 0", "IDX limit = -1 refused")
t.same(lpact.data.idx(small, { limit = 1 }):totable(), { 1 }, "limit = 1 keeps the first item")

-- CSV: a cell of spaces is empty; a row longer than the first is refused
t.like(errmsg(lpact.data.csv, write("sp.csv", "1, ,0\n")), "sp%.csv:1: column 'c2' is empty", "a cell of spaces is empty")
t.like(errmsg(lpact.data.csv, write("long.csv", "1,2\n1,2,3\n")), "long%.csv:2: 3 fields, the first row has 2", "a longer row is refused")
-- data.split rounds the test share to the nearest row: 5 rows x 0.3 = 1.5 -> 2
do
  local set = { x = lpact.arange(5):reshape { 5, 1 } + 0, y = lpact.zeros { 5 }, n = 5 }
  local sp = lpact.data.split(set, 0.3, 1)
  t.ok(sp.test.n == 2 and sp.train.n == 3, "split(5 rows, 0.3): 2 test rows, 3 training rows")
end

-- JSON: nesting deeper than depth 200 is refused
local json = require "lpact.json"
t.is(errmsg(json.decode, string.rep("[", 201) .. string.rep("]", 201)), "no error", "201 nested arrays decode (depths 0..200)")
t.like(errmsg(json.decode, string.rep("[", 202) .. string.rep("]", 202)), "nested deeper than 200", "202 are refused")

-- figures: whole and cut files told apart
local figure = require "lpact.figure"
local png_end = "\0\0\0\0IEND\174\66\96\130"
t.is(figure.incomplete("png", "\137PNG\r\n\26\n" .. "xxxx" .. png_end), nil, "a PNG with its IEND chunk is whole")
t.like(figure.incomplete("png", "\137PNG\r\n\26\n" .. "xxxx"), "cut short", "a PNG without IEND is cut")
t.is(figure.incomplete("svg", "<?xml?>\n<svg width='1'>\n</svg>\n"), nil, "an SVG with </svg> is whole")
t.like(figure.incomplete("svg", "<?xml?>\n<svg width='1'>\n<g>"), "cut short", "an SVG without </svg> is cut")
t.like(figure.incomplete("pdf", "%PDF-1.5\nxx"), "cut short", "a PDF without %%EOF is cut")
t.is(figure.incomplete("pdf", "%PDF-1.5\nxx\n%%EOF\n"), nil, "a PDF with %%EOF is whole")

-- training: an infinite loss stops at once (not only NaN); a NaN gradient
-- behind a finite loss stops at the gradient check; max_batches is exact
do
  local train, models, data = require "lpact.train", require "lpact.models", require "lpact.data"
  local ag = require "lpact.autograd"
  local blobs = data.blobs { n = 64, classes = 2, seed = 3 }
  local e = errmsg(function()
    train.fit { model = models.mlp { 2, 2 }, data = blobs, verbose = false, batch = 16,
      loss = function(logits, y) return ag.add(ag.cross_entropy(logits, y), 1 / 0) end }
  end)
  t.like(e, "^loss is inf at epoch 1, batch 1", "an infinite loss stops training: " .. e)
  -- identity forward, NaN backward: the loss stays finite
  local nan_back = ag.custom { forward = function(_, x) return x:clone() end,
    backward = function(_, g) return g * (0 / 0) end }
  e = errmsg(function()
    train.fit { model = models.mlp { 2, 4, 2 }, data = blobs, verbose = false, batch = 16,
      loss = function(logits, y) return ag.cross_entropy(nan_back(logits), y) end }
  end)
  t.like(e, "^gradient of 2%.weight is not finite %(NaN or inf%) at epoch 1, batch 1", "a NaN gradient behind a finite loss: " .. e)
  local h = train.fit { model = models.mlp { 2, 2 }, data = blobs, verbose = false, batch = 8, epochs = 2, max_batches = 3 }
  t.is(#h.losses, 6, "max_batches = 3 over 2 epochs: 6 batches (64 rows would make 8 an epoch)")
  t.is(h.epochs[1].batches, 3, "the epoch record says 3 batches")
end
os.execute("rm -rf " .. dir)
t.done()
