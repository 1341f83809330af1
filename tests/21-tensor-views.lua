-- Views: reshape, view, narrow, select, transpose, permute, (un)squeeze
-- share storage with their base; writes through one are seen by the other.
local t = require "lpact.tap"

local a = lpact.tensor { { 1, 2, 3 }, { 4, 5, 6 } }
local r = a:reshape { 3, 2 }
t.same(r:totable(), { { 1, 2 }, { 3, 4 }, { 5, 6 } }, "reshape keeps row-major order")
t.ok(r:shares(a), "reshape of a contiguous tensor is a view")
r:set(1, 1, 10)
t.is(a:get(1, 1), 10.0, "a write through the view is seen by the base")
t.same(a:reshape { -1 }:shape(), { 6 }, "reshape infers -1")
t.same(a:view { 3, -1 }:shape(), { 3, 2 }, "view infers -1")

local tr = a:t()
t.same(tr:shape(), { 3, 2 }, "t() transposes")
t.ok(tr:shares(a) and not tr:is_contiguous(), "t() is a non-contiguous view")
t.same(tr:totable(), { { 10, 4 }, { 2, 5 }, { 3, 6 } }, "values of the transpose")
tr:set(3, 2, -6)
t.is(a:get(2, 3), -6.0, "write through the transpose")
local rc = tr:reshape { 6 }
t.ok(not rc:shares(a), "reshape of a non-contiguous view copies")
t.same(rc:totable(), { 10, 4, 2, 5, 3, -6 }, "... in the view's logical order")
t.raises(function() return tr:view { 6 } end, "view: tensor of shape %(3, 2%) is not contiguous", "view refuses non-contiguous")
local cc = tr:contiguous()
t.ok(cc:is_contiguous() and not cc:shares(a), "contiguous() copies a view")
t.ok(a:contiguous():shares(a), "contiguous() of a contiguous tensor is itself")

local b = lpact.arange(12):reshape { 3, 4 }
local nr = b:narrow(2, 2, 2)
t.same(nr:totable(), { { 1, 2 }, { 5, 6 }, { 9, 10 } }, "narrow(2, 2, 2) takes columns 2..3")
nr:fill(0)
t.same(b:totable(), { { 0, 0, 0, 3 }, { 4, 0, 0, 7 }, { 8, 0, 0, 11 } }, "fill through a narrow view")
local rows = b:narrow(1, 2, 2)
t.ok(rows:is_contiguous(), "narrowing the first dim stays contiguous")
t.same(rows:totable(), { { 4, 0, 0, 7 }, { 8, 0, 0, 11 } }, "narrow rows")
t.same(b:select(1, 3):totable(), { 8, 0, 0, 11 }, "select a row")
t.same(b:select(2, 4):totable(), { 3, 7, 11 }, "select a column")

local p = lpact.arange(24):reshape { 2, 3, 4 }
local pp = p:permute { 3, 1, 2 }
t.same(pp:shape(), { 4, 2, 3 }, "permute shape")
t.is(pp:get(4, 2, 3), p:get(2, 3, 4), "permute element")
t.same(p:transpose(1, 3):shape(), { 4, 3, 2 }, "transpose(1, 3)")
t.same(p:unsqueeze(1):shape(), { 1, 2, 3, 4 }, "unsqueeze(1)")
t.same(p:unsqueeze(4):shape(), { 2, 3, 4, 1 }, "unsqueeze at the end")
t.same(lpact.zeros { 1, 3, 1 }:squeeze():shape(), { 3 }, "squeeze all size-1 dims")
t.same(lpact.zeros { 1, 3, 1 }:squeeze(3):shape(), { 1, 3 }, "squeeze one dim")

-- arithmetic and reductions work on views
local v = lpact.tensor { { 1, 2 }, { 3, 4 } }:t()
t.same((v + 1):totable(), { { 2, 4 }, { 3, 5 } }, "add on a transposed view")
t.same(v:sum(2):totable(), { 4, 6 }, "sum along a dim of a view")
t.same(lpact.matmul(v, lpact.tensor { { 1 }, { 1 } }):totable(), { { 4 }, { 6 } }, "matmul of a transposed view")

-- the storage lives as long as any view: freeing the base keeps views valid
local base = lpact.arange(6)
local view = base:reshape { 2, 3 }
base:free()
t.raises(function() return base:sum() end, "tensor has been freed", "using a freed tensor raises")
t.same(view:totable(), { { 0, 1, 2 }, { 3, 4, 5 } }, "a view keeps the storage alive after the base is freed")

-- errors name the op and the shapes
t.raises(function() return a:reshape { 4, 2 } end, "reshape: cannot reshape tensor of shape %(2, 3%) %(6 elements%) to %(4, 2%)", "reshape size mismatch")
t.raises(function() return b:narrow(2, 3, 5) end, "narrow: slice 3..7 out of range 1..4 in dimension 2", "narrow out of range")
t.raises(function() return a:permute { 1, 1 } end, "permute: not a permutation", "bad permutation")
t.raises(function() return a:get(3, 1) end, "get: index 3 out of range 1..2 in dimension 1", "get out of range")
t.raises(function() return a:get(1) end, "get: 1 indices given for a 2%-D tensor", "wrong number of indices")

t.done()
