-- Batching: every example once per epoch, seeded counter-based shuffling,
-- CIFAR augmentation (crop with zero padding, flip), normalisation.
local t = require "lpact.tap"
local io_, data = lpact.io, lpact.data

local N = 103
local ids = {}
for i = 0, N - 1 do ids[#ids + 1] = i end
-- x row i holds (i, 1000 + i); y holds i % 7.
local xl, yl = {}, {}
for i = 0, N - 1 do xl[#xl + 1] = i xl[#xl + 1] = 1000 + i yl[#yl + 1] = i % 7 end
local set = { x = io_.from_list(xl, { N, 2 }), y = io_.from_list(yl, { N }), n = N }

local function order(opts, batch)
  local out, sizes, aligned = {}, {}, true
  for x, y in data.batches(set, batch or 10, opts) do
    sizes[#sizes + 1] = x:shape()[1]
    for i, r in ipairs(x:totable()) do
      out[#out + 1] = r[1]
      if r[2] ~= 1000 + r[1] or y:get(i) ~= r[1] % 7 then aligned = false end
    end
  end
  return out, sizes, aligned
end

local o1, sizes, aligned = order { seed = 5, epoch = 1 }
t.same(sizes, { 10, 10, 10, 10, 10, 10, 10, 10, 10, 10, 3 }, "103 examples in batches of 10: ten full, one of 3")
t.ok(aligned, "rows stay whole and labels follow their examples")
local sorted = { table.unpack(o1) }
table.sort(sorted)
t.same(sorted, ids, "every example exactly once in the epoch")
t.ok(table.concat(o1, ",") ~= table.concat(ids, ","), "shuffled")
t.same(order { seed = 5, epoch = 1 }, o1, "same seed and epoch: same order")
t.same(order({ seed = 5, epoch = 1 }, 7), o1, "the order does not depend on the batch size")
local o2 = order { seed = 5, epoch = 2 }
t.ok(table.concat(o2, ",") ~= table.concat(o1, ","), "another epoch: another order")
local s2 = { table.unpack(o2) }
table.sort(s2)
t.same(s2, ids, "epoch 2 also covers every example once")
t.ok(table.concat(order { seed = 6, epoch = 1 }, ",") ~= table.concat(o1, ","), "another seed: another order")
t.same(order { shuffle = false }, ids, "shuffle = false keeps the stored order")
local _, dsz = order({ seed = 5, epoch = 1, drop_last = true })
t.is(#dsz, 10, "drop_last skips the partial batch")
t.is(data.nbatches(set, 10), 11, "nbatches")
t.is(data.nbatches(set, 10, { drop_last = true }), 10, "nbatches with drop_last")
-- Counter-based: the permutation of epoch e is a function of (seed, e) only.
t.same(io_.permutation(50, 9, 3):totable(), io_.permutation(50, 9, 3):totable(), "permutation(seed, epoch) is pure")
-- The shuffle is not biased: over 2000 epochs, example 0 lands in each of
-- 4 positions about equally often.
local pos = { 0, 0, 0, 0 }
for e = 1, 2000 do
  local p = io_.permutation(4, 1, e):totable()
  for k = 1, 4 do if p[k] == 0 then pos[k] = pos[k] + 1 end end
end
local chi = 0
for k = 1, 4 do chi = chi + (pos[k] - 500) ^ 2 / 500 end
t.ok(chi < 16.3, string.format("uniform positions (chi-square %.2f < 16.3, p = 0.001 with 3 d.o.f.)", chi))
t.raises(function() data.batches(set, 0) end, "batch size must be an integer >= 1", "batch 0 refused")
t.raises(io_.gather, "index 103%.0 out of range 0%.%.102", "gather: an index past the end refused", set.x,
  io_.from_list({ 0, 103 }, { 2 }), 0, 2)
t.raises(io_.gather, "index 1%.5 out of range", "gather: a fractional index refused", set.x, io_.from_list({ 1.5 }, { 1 }), 0, 1)
t.raises(io_.fill_bytes, "24 bytes needed at position 1, only 3 left", "fill_bytes: short string refused",
  io_.from_list({ 1, 2, 3, 4, 5, 6 }, { 6 }), "abc")

-- Augmentation. Images (n, 2, 6, 5) with distinct positive pixel values.
local n, C, H, W = 40, 2, 6, 5
local vals = {}
for i = 0, n * C * H * W - 1 do vals[#vals + 1] = i + 1 end
local img = { x = io_.from_list(vals, { n, C, H, W }), n = n }
img.y = io_.from_list({ table.unpack(ids, 1, n) }, { n })
local function px(e, c, i, j) return e * C * H * W + c * H * W + i * W + j + 1 end
-- Finds (dy, dx, flip) in -pad..pad that explain an augmented image of example e.
local function explain(out, e, pad)
  for flip = 0, 1 do
    for dy = -pad, pad do
      for dx = -pad, pad do
        local okk = true
        for c = 0, C - 1 do for i = 0, H - 1 do for j = 0, W - 1 do
          local jj = flip == 1 and (W - 1 - j) or j
          local si, sj = i + dy, jj + dx
          local want = (si >= 0 and si < H and sj >= 0 and sj < W) and px(e, c, si, sj) or 0
          if out[c + 1][i + 1][j + 1] ~= want then okk = false end
        end end end
        if okk then return dy, dx, flip end
      end
    end
  end
end
local explained, flips, shifts, perex = true, { [0] = 0, [1] = 0 }, {}, {}
for x, y in data.batches(img, 8, { seed = 3, epoch = 2, augment = { pad = 2 } }) do
  local tx = x:totable()
  for i = 1, #tx do
    local e = math.tointeger(y:get(i))
    local dy, dx, fl = explain(tx[i], e, 2)
    if dy == nil then explained = false else
      flips[fl] = flips[fl] + 1
      shifts[dy .. "," .. dx] = true
      perex[e] = dy .. "," .. dx .. "," .. fl
    end
  end
end
t.ok(explained, "every augmented image is its example shifted by at most 2 pixels (zeros shifted in), maybe mirrored")
t.ok(flips[0] > 5 and flips[1] > 5, "both flipped and unflipped images occur")
local nshift = 0
for _ in pairs(shifts) do nshift = nshift + 1 end
t.ok(nshift >= 10, "many of the 25 offsets occur (" .. nshift .. ")")
-- The same example gets the same augmentation for the same (seed, epoch),
-- whatever the batch size.
local same = true
for x, y in data.batches(img, 13, { seed = 3, epoch = 2, augment = { pad = 2 } }) do
  local tx = x:totable()
  for i = 1, #tx do
    local e = math.tointeger(y:get(i))
    local dy, dx, fl = explain(tx[i], e, 2)
    if perex[e] ~= (dy .. "," .. dx .. "," .. fl) then same = false end
  end
end
t.ok(same, "augmentation depends on (seed, epoch, example), not on the batch size")
local xb = io_.gather(img.x, nil, 0, n)
io_.augment(xb, nil, 0, { pad = 0, flip = false, seed = 1, epoch = 1 })
t.is(io_.crc32(io_.tensor_bytes(xb)), io_.crc32(io_.tensor_bytes(img.x)), "pad = 0 without flip is the identity")
t.is(io_.crc32(io_.tensor_bytes(img.x)), io_.crc32(io_.tensor_bytes(io_.from_list(vals, { n, C, H, W }))),
  "augmenting batches leaves the data set untouched")

-- Normalisation: per-channel mean and population std.
local nx = io_.from_list({ 1, 3, 10, 10, 5, 7, 30, 50 }, { 2, 2, 2 })
local m, s = io_.channel_stats(nx)
t.same(m, { 4, 25 }, "channel means: (1+3+5+7)/4, (10+10+30+50)/4")
t.near(s[1], math.sqrt(5), 1e-12, "channel 1 std sqrt(5)")
t.near(s[2], math.sqrt(275), 1e-12, "channel 2 std sqrt(275)")
local ds = { train = { x = nx }, test = { x = io_.from_list({ 4, 4, 25, 25 }, { 1, 2, 2 }) } }
data.normalize(ds)
t.same(ds.test.x:totable(), { { { 0, 0 }, { 0, 0 } } }, "test set normalised with the training statistics")
t.is(ds.train.x:get(1, 1, 1), (string.unpack("f", string.pack("f", -3 / string.unpack("f", string.pack("f", math.sqrt(5)))))),
  "(1 - 4) / float(sqrt 5) in float arithmetic")
local bx = data.batches({ x = io_.from_list({ 2, 4 }, { 2, 1 }), n = 2 }, 2, { shuffle = false, mean = { 1 }, std = { 2 } })()
t.same(bx:totable(), { { 0.5 }, { 1.5 } }, "batches normalise with mean and std")
t.done()
