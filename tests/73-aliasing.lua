-- In-place ops whose source is a view of their own destination
-- (transposed, shifted slices, reshaped, broadcast rows and columns) give
-- what the out-of-place op on independent copies gives, and leave the
-- rest of the storage alone. Each case is built twice from one recipe:
-- once on a shared storage (the op under test) and once on cloned,
-- independent tensors (the reference).
local t = require "lpact.tap"

local function base() return (lpact.arange(36) + 1):reshape { 6, 6 } end   -- 1..36, no zero to divide by

-- views of the 6x6 storage a (dst and src recipes)
local V = {
  full = function(a) return a end,
  t = function(a) return a:t() end,
  rows_1_5 = function(a) return a:narrow(1, 1, 5) end,
  rows_2_6 = function(a) return a:narrow(1, 2, 5) end,
  cols_1_5 = function(a) return a:narrow(2, 1, 5) end,
  cols_2_6 = function(a) return a:narrow(2, 2, 5) end,
  cols_2_6_t = function(a) return a:narrow(2, 2, 5):t() end,
  reshaped = function(a) return a:reshape { 36 }:narrow(1, 2, 30):reshape { 5, 6 } end,   -- shifted by one element
  row1 = function(a) return a:narrow(1, 1, 1) end,            -- (1, 6): broadcasts over rows
  row6 = function(a) return a:narrow(1, 6, 1) end,
  col1 = function(a) return a:narrow(2, 1, 1) end,            -- (6, 1): broadcasts over columns
  sub_t = function(a) return a:narrow(1, 2, 5):narrow(2, 1, 5):t() end,
  rows_1_3 = function(a) return a:narrow(1, 1, 3) end,        -- contiguous (3, 6)
  rows_2_4 = function(a) return a:narrow(1, 2, 3) end,
  rows_4_6 = function(a) return a:narrow(1, 4, 3) end,
  flat_3_20 = function(a) return a:reshape { 36 }:narrow(1, 3, 18) end,
}

local function same(x, y)
  return (x - y):abs():max() == 0
end

local function shape_ok(dst, src)
  local ds, ss = dst:shape(), src:shape()
  if #ss > #ds then return false end
  for i = 1, #ss do
    local d, s = ds[#ds - #ss + i], ss[i]
    if s ~= d and s ~= 1 then return false end
  end
  return true
end

local ops = {
  copy = function(d, s) d:copy(s) end,
  add_ = function(d, s) d:add_(s) end,
  sub_ = function(d, s) d:sub_(s) end,
  mul_ = function(d, s) d:mul_(s) end,
  div_ = function(d, s) d:div_(s) end,
  add_alpha = function(d, s) d:add_(s, 0.5) end,
}
local dsts = { "full", "t", "rows_1_5", "cols_1_5", "cols_2_6_t", "rows_2_6" }
local srcs = { "full", "t", "rows_1_5", "rows_2_6", "cols_1_5", "cols_2_6", "cols_2_6_t", "reshaped", "row1", "row6", "col1", "sub_t" }
local names = {}
for k in pairs(ops) do names[#names + 1] = k end
table.sort(names)
local cases, bad = 0, {}
for _, opn in ipairs(names) do
  for _, dn in ipairs(dsts) do
    for _, sn in ipairs(srcs) do
      local a = base()
      local d, s = V[dn](a), V[sn](a)
      if shape_ok(d, s) then
        cases = cases + 1
        local r = base()
        local rd, rs = V[dn](r), V[sn](base()):clone()   -- the source from an untouched storage
        ops[opn](rd, rs)
        ops[opn](d, s)
        if not same(a, r) then bad[#bad + 1] = opn .. " " .. dn .. " <- " .. sn end
      end
    end
  end
end
t.ok(cases > 150, cases .. " in-place cases over views of the destination")
t.is(#bad, 0, "every one equals the out-of-place reference" .. (#bad > 0 and (": " .. table.concat(bad, ", ", 1, math.min(#bad, 8))) or ""))

-- the two cases the bug report named, by hand
local a = lpact.tensor { { 1, 2 }, { 3, 4 } }
a:copy(a:t())
t.same(a:totable(), { { 1, 3 }, { 2, 4 } }, "a:copy(a:t()) transposes")
a = lpact.tensor { { 1, 2 }, { 3, 4 } }
a:add_(a:t())
t.same(a:totable(), { { 2, 5 }, { 5, 8 } }, "a:add_(a:t()) is a + a^T")
a = lpact.tensor { 1, 2, 3, 4 }
a:add_(a)
t.same(a:totable(), { 2, 4, 6, 8 }, "a:add_(a): the very same view needs no temporary and is right")

-- copy between shapes of the same size, overlapping
a = base()
local r = base()
V.rows_1_3(a):copy(V.flat_3_20(a))
V.rows_1_3(r):copy(V.flat_3_20(base()):clone())
t.ok(same(a, r), "copy of an overlapping reshaped source (same numel, other shape)")

-- addcmul_ / addcdiv_ with sources overlapping the destination
for _, div in ipairs { false, true } do
  for _, pair in ipairs { { "rows_1_3", "rows_2_4", "rows_4_6" }, { "rows_1_3", "rows_1_3", "rows_2_4" },
      { "rows_2_4", "rows_1_3", "rows_1_3" }, { "rows_4_6", "rows_2_4", "rows_4_6" } } do
    a, r = base(), base()
    local d, x, y = V[pair[1]](a), V[pair[2]](a), V[pair[3]](a)
    local rd, rx, ry = V[pair[1]](r), V[pair[2]](base()):clone(), V[pair[3]](base()):clone()
    if div then d:addcdiv_(x, y, 0.5) rd:addcdiv_(rx, ry, 0.5) else d:addcmul_(x, y, 0.5) rd:addcmul_(rx, ry, 0.5) end
    t.ok(same(a, r), (div and "addcdiv_" or "addcmul_") .. " into " .. pair[1] .. " from " .. pair[2] .. ", " .. pair[3])
  end
end

-- the fused optimizer kernels refuse tensors that share memory
do
  local K = lpact.kernels
  local p, g, m, v = lpact.ones { 4 }, lpact.ones { 4 }, lpact.zeros { 4 }, lpact.zeros { 4 }
  t.raises(function() K.adam_step(p, p, m, v, 0.1, 0.9, 0.999, 1e-8, 0, 1, false) end, "param and grad share memory", "adam_step(p, p, ...)")
  local big = lpact.zeros { 8 }
  t.raises(function() K.adam_step(p, g, big:narrow(1, 1, 4), big:narrow(1, 3, 4), 0.1, 0.9, 0.999, 1e-8, 0, 1, false) end,
    "m and v share memory", "adam_step with overlapping m and v")
  t.raises(function() K.sgd_step(p, g, p, 0.1, 0.9, 0, 0, false, true) end, "param and momentum buffer share memory", "sgd_step buffer = param")
  K.adam_step(p, g, big:narrow(1, 1, 4), big:narrow(1, 5, 4), 0.1, 0.9, 0.999, 1e-8, 0, 1, false)
  t.ok(math.abs(p:get(1) - 0.9) < 1e-6, "adjacent, disjoint m and v in one storage are fine (first Adam step moves by lr)")
end
t.done()
