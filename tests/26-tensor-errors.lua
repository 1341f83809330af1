-- Wrong arguments to every Tensor method and kernel raise lauxlib-style
-- errors and never crash the engine: each method is called with a sweep
-- of wrong values (a crash would kill this test, not just fail a check).
local t = require "lpact.tap"
local T = lpact.tensor

-- lauxlib-style messages for the common mistakes
t.raises(function() return lpact.zeros("x") end, "bad argument #1 to 'zeros' %(number expected, got string%)", "zeros of a string")
t.raises(function() return lpact.zeros { 2, -1 } end, "bad argument #1 to 'zeros' %(shape must hold non%-negative integers%)", "negative size")
t.raises(function() return lpact.zeros { 1.5 } end, "shape must hold non%-negative integers", "fractional size")
t.raises(function() return lpact.full({ 2 }, "a") end, "bad argument #2 to 'full' %(number expected, got string%)", "full with a string value")
t.raises(function() return T { 1, "a" } end, "number expected in tensor data, got string", "tensor with a string element")
t.raises(function() return T { { 1, 2 }, { 3 } } end, "ragged nested table", "ragged rows")
t.raises(function() return T({ 1, 2, 3 }, { 2, 2 }) end, "tensor: data has 3 numbers but shape needs 4", "data/shape mismatch")
t.raises(function() return lpact.zeros { 1, 1, 1, 1, 1, 1, 1, 1, 1 } end, "too many dimensions", "more than 8 dims")
t.raises(function() return lpact.zeros { 1 << 30, 1 << 30 } end, "tensor too large", "absurd size")
t.raises(function() return T { 1 }:get("a") end, "bad argument #1 to 'get' %(number expected, got string%)", "get with a string index (method arguments count from 1, as lauxlib does)")
t.raises(function() return T { 1 } + "x" end, "bad argument #2 to 'add' %(number expected, got string%)", "tensor + string")
t.raises(function() return lpact.matmul(T { 1 }, 3) end, "bad argument #2 to 'matmul' %(lpact.Tensor expected, got number%)", "matmul with a number")
t.raises(function() return T { 1 }.sum(5) end, "bad argument #1 to 'sum' %(lpact.Tensor expected, got number%)", "method called on a non-tensor")
t.raises(function() return T { 1, 2 }:sum(3) end, "bad argument #1 to 'sum' %(dimension out of range%)", "sum over a missing dim")
t.raises(function() return lpact.kernels.linear(T { { 1 } }:t():expand_missing()) end, nil, "unknown method")
t.raises(function() return lpact.kernels.conv2d(lpact.zeros { 1, 1, 4, 4 }:permute { 1, 2, 4, 3 }, lpact.zeros { 1, 1, 2, 2 }) end,
  "bad argument #1 to 'conv2d' %(contiguous tensor expected%)", "kernels want contiguous tensors")
t.raises(function() return lpact.kernels.dropout(lpact.zeros { 2 }, 1.5, 1) end, "bad argument #2 to 'dropout' %(probability must be in %[0, 1%]%)", "dropout p > 1")
t.raises(function() return lpact.kernels.adam_step(lpact.zeros { 2 }, lpact.zeros { 3 }, lpact.zeros { 2 }, lpact.zeros { 2 }, 1, 0.9, 0.9, 1e-8, 0, 1) end,
  "adam_step: grad of shape %(3,%) does not match param of shape %(2,%)", "adam_step shape check")

-- a sweep: every method and kernel with many wrong arguments must raise or return, never crash
local methods = {}
for k, v in pairs(getmetatable(T { 1 }).__index) do methods[#methods + 1] = { k, v } end
for k, v in pairs(lpact.kernels) do methods[#methods + 1] = { "kernels." .. k, v } end
for _, k in ipairs { "tensor", "zeros", "ones", "full", "rand", "randn", "arange", "matmul" } do methods[#methods + 1] = { k, lpact[k] } end
table.sort(methods, function(a, b) return a[1] < b[1] end)
local freed = T { 1, 2 }
freed:free()
local values = { nil, 0, -1, 2, 1e300, 0 / 0, "relu", {}, { 2, 2 }, { -1 }, true, print,
  T { 1, 2, 3 }, lpact.zeros { 2, 2 }, lpact.zeros { 1, 1, 3, 3 }, T(1), lpact.zeros { 0 }, freed,
  lpact.zeros { 3, 4 }:t() }
local calls, raised = 0, 0
for _, m in ipairs(methods) do
  local f = m[2]
  for i = 1, #values + 1 do
    for j = 1, #values + 1, 3 do
      calls = calls + 1
      local ok = pcall(f, values[i], values[j], values[(i + j) % #values + 1], 2, 1)
      if not ok then raised = raised + 1 end
    end
  end
end
t.ok(calls > 1000 and raised > 0, string.format("%d calls with wrong arguments over %d functions, %d raised, none crashed", calls, #methods, raised))

-- freed tensors raise everywhere
t.raises(function() return freed + 1 end, "tensor has been freed", "arithmetic on a freed tensor")
t.raises(function() return freed:shape() end, "tensor has been freed", "shape of a freed tensor")
t.lives(function() freed:free() end, "freeing twice is harmless")

t.done()
