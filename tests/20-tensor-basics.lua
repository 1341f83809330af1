-- Tensors: constructors, shape, element access, conversion, printing,
-- seeded random numbers. Expected values are worked out by hand.
local t = require "lpact.tap"

-- constructors
local a = lpact.tensor { { 1, 2, 3 }, { 4, 5, 6 } }
t.same(a:shape(), { 2, 3 }, "nested table -> shape (2, 3)")
t.is(a:dim(), 2, "dim")
t.is(a:numel(), 6, "numel")
t.is(a:size(1), 2, "size(1)")
t.is(a:size(-1), 3, "size(-1) counts from the end")
t.is(#a, 2, "#t is the first dimension")
t.is(a:get(2, 3), 6.0, "get(2, 3)")
t.same(a:totable(), { { 1, 2, 3 }, { 4, 5, 6 } }, "totable round-trips")
a:set(1, 2, -7.5)
t.is(a:get(1, 2), -7.5, "set then get")
t.is(lpact.tensor { 0.1 }:get(1), 0.10000000149011612, "values are float32 (0.1 rounds to binary32)")

local s = lpact.tensor(2.5)
t.is(s:dim(), 0, "a number makes a 0-D tensor")
t.is(s:item(), 2.5, "item of a 0-D tensor")
t.is(s:totable(), 2.5, "totable of 0-D is a number")

local f = lpact.tensor({ 1, 2, 3, 4, 5, 6 }, { 3, 2 })
t.same(f:totable(), { { 1, 2 }, { 3, 4 }, { 5, 6 } }, "flat data with a shape")

t.same(lpact.zeros { 2, 2 }:totable(), { { 0, 0 }, { 0, 0 } }, "zeros")
t.same(lpact.ones(3):totable(), { 1, 1, 1 }, "ones with varargs shape")
t.same(lpact.full({ 2 }, 7):totable(), { 7, 7 }, "full")
t.same(lpact.arange(4):totable(), { 0, 1, 2, 3 }, "arange is 0..n-1")
t.same(lpact.zeros { 0, 3 }:shape(), { 0, 3 }, "empty tensors are allowed")
t.is(lpact.zeros { 0, 3 }:sum(), 0.0, "sum of an empty tensor is 0")
t.ok(lpact.is_tensor(a) and not lpact.is_tensor({}), "is_tensor")

local c = a:clone()
c:set(1, 1, 100)
t.is(a:get(1, 1), 1.0, "clone does not share storage")
t.same(lpact.zeros { 3 }:fill(2):totable(), { 2, 2, 2 }, "fill")
t.same(lpact.ones { 3 }:zero():totable(), { 0, 0, 0 }, "zero")
t.same(lpact.zeros { 2, 2 }:copy(lpact.tensor { 1, 2 }):totable(), { { 1, 2 }, { 1, 2 } }, "copy broadcasts")
t.same(lpact.zeros { 4 }:copy(lpact.tensor { { 1, 2 }, { 3, 4 } }):totable(), { 1, 2, 3, 4 }, "copy by numel")

-- printing: shape line, then NumPy-like values; "..." for big tensors
t.is(tostring(lpact.tensor { { 1, 2 }, { 3, 4 } }), "Tensor (2, 2)\n[[1, 2],\n [3, 4]]", "tostring of a small integer matrix")
t.is(tostring(lpact.tensor { 0.5, -1.25 }), "Tensor (2,)\n[  0.5, -1.25]", "tostring pads to a common width")
t.is(tostring(lpact.tensor(3)), "Tensor ()\n3", "tostring of 0-D")
t.is(tostring(lpact.arange(2000)), "Tensor (2000,)\n[   0,    1,    2, ..., 1997, 1998, 1999]", "big tensors are abbreviated")
t.like(tostring(lpact.zeros { 40, 40 }), "^Tensor %(40, 40%)\n%[%[0, 0, 0, %.%.%., 0, 0, 0%],\n %[0, 0, 0, %.%.%., 0, 0, 0%],\n %[0, 0, 0, %.%.%., 0, 0, 0%],\n %.%.%.,\n", "2-D abbreviation")
t.like(tostring(lpact.tensor { 0 / 0, 1 / 0, -1 / 0 }), "nan.*inf.*%-inf", "nan and infinities print")

-- seeded random numbers: same seed, same bits; different seeds differ
local r1, r2, r3 = lpact.rand({ 1000 }, 42), lpact.rand({ 1000 }, 42), lpact.rand({ 1000 }, 43)
t.same(r1:totable(), r2:totable(), "rand: same seed, same values")
t.ok((r1 - r3):abs():max() > 0, "rand: another seed, other values")
t.ok(r1:min() >= 0 and r1:max() < 1, "rand is in [0, 1)")
t.near(r1:mean(), 0.5, 0.05, "rand mean ~ 0.5 (1000 samples: sd 0.009, tolerance 5 sd)")
local u = lpact.rand({ 1000 }, 1, -2, 2)
t.ok(u:min() >= -2 and u:max() < 2, "rand with bounds")
local n = lpact.randn({ 20000 }, 5)
t.near(n:mean(), 0, 0.05, "randn mean ~ 0 (sd of the mean 0.007)")
t.near((n * n):mean(), 1, 0.05, "randn variance ~ 1 (sd of the estimate 0.01)")
t.same(lpact.randn({ 7 }, 9):totable(), lpact.randn({ 7 }, 9):totable(), "randn: same seed, same values")
t.same(lpact.rand({ 3 }, 42):totable(), { r1:get(1), r1:get(2), r1:get(3) }, "element i does not depend on the size (counter-based)")
local m = lpact.randn({ 5000 }, 3, 10, 2)
t.near(m:mean(), 10, 0.2, "randn with mean 10, sd 2")

-- memory accounting (the collector is stopped so only our tensors count)
collectgarbage("collect")
collectgarbage("stop")
local live0 = lpact.tensor_memory()
local big = lpact.zeros { 1024, 1024 }
local live1 = lpact.tensor_memory()
t.ok(live1 - live0 >= 4 * 1024 * 1024, "tensor_memory counts live storage")
big:free()
t.is(lpact.tensor_memory(), live0, "free returns the storage at once")
t.is(tostring(big), "Tensor (freed)", "a freed tensor prints as such")

do
  local live = lpact.tensor_memory()
  do
    local tmp <close> = lpact.zeros { 1000 }
    t.ok(lpact.tensor_memory() > live, "a to-be-closed tensor holds storage")
  end
  t.is(lpact.tensor_memory(), live, "__close releases the storage at the end of the block")
end
collectgarbage("restart")

t.done()
