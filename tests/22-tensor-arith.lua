-- Elementwise arithmetic with NumPy broadcasting, math functions,
-- in-place updates and reductions, against values worked out by hand.
local t = require "lpact.tap"
local T = lpact.tensor

local a = T { { 1, 2, 3 }, { 4, 5, 6 } }
local row, col = T { 10, 20, 30 }, T { { 100 }, { 200 } }
t.same((a + row):totable(), { { 11, 22, 33 }, { 14, 25, 36 } }, "(2,3) + (3,) broadcasts the row")
t.same((a + col):totable(), { { 101, 102, 103 }, { 204, 205, 206 } }, "(2,3) + (2,1) broadcasts the column")
t.same((col + row):totable(), { { 110, 120, 130 }, { 210, 220, 230 } }, "(2,1) + (3,) -> (2,3) outer sum")
t.same((a - 1):totable(), { { 0, 1, 2 }, { 3, 4, 5 } }, "tensor - number")
t.same((1 - a):totable(), { { 0, -1, -2 }, { -3, -4, -5 } }, "number - tensor")
t.same((a * 2):totable(), { { 2, 4, 6 }, { 8, 10, 12 } }, "tensor * number")
t.same((12 / a):totable(), { { 12, 6, 4 }, { 3, 2.4000000953674316, 2 } }, "number / tensor (float32 2.4)")
t.same((a / row):totable()[1], { 0.10000000149011612, 0.10000000149011612, 0.10000000149011612 }, "tensor / tensor")
t.same((a ^ 2):totable(), { { 1, 4, 9 }, { 16, 25, 36 } }, "tensor ^ number")
t.same((2 ^ T { 1, 2, 3 }):totable(), { 2, 4, 8 }, "number ^ tensor")
t.same((-a):totable(), { { -1, -2, -3 }, { -4, -5, -6 } }, "unary minus")
t.same(a:maximum(3):totable(), { { 3, 3, 3 }, { 4, 5, 6 } }, "maximum with a number")
t.same(a:minimum(row):totable(), { { 1, 2, 3 }, { 4, 5, 6 } }, "minimum broadcasts")
t.same(a:gt(3):totable(), { { 0, 0, 0 }, { 1, 1, 1 } }, "gt gives 0/1")
t.same(T { 1, 2, 3 }:eq(T { 1, 0, 3 }):totable(), { 1, 0, 1 }, "eq")
t.same(T { 1, 2, 3 }:le(2):totable(), { 1, 1, 0 }, "le")
local x3 = lpact.ones { 2, 1, 4 } + lpact.zeros { 3, 1 }
t.same(x3:shape(), { 2, 3, 4 }, "(2,1,4) + (3,1) -> (2,3,4)")
t.is((lpact.ones { 1 } + lpact.zeros { 5, 1 }):numel(), 5, "(1,) + (5,1) -> (5,1)")
t.same((T(2) * a):totable(), (a * 2):totable(), "0-D tensor broadcasts")

-- math functions against Lua's math (float32 inputs, compared within float32 rounding)
local xs = T { -2, -0.5, 0, 0.5, 2 }
local function each(tt) return tt:totable() end
local ex, th, sg, ab = each(xs:exp()), each(xs:tanh()), each(xs:sigmoid()), each(xs:abs())
for i, x in ipairs(xs:totable()) do
  t.near(ex[i], math.exp(x), 1e-6, "exp(" .. x .. ")", 1e-6)
  t.near(th[i], (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1), 1e-6, "tanh(" .. x .. ")")
  t.near(sg[i], 1 / (1 + math.exp(-x)), 1e-6, "sigmoid(" .. x .. ")")
  t.is(ab[i], math.abs(x), "abs(" .. x .. ")")
end
t.same(T { 1, 4, 9 }:sqrt():totable(), { 1, 2, 3 }, "sqrt")
t.near(T { math.exp(1) }:log():get(1), 1, 1e-6, "log(e)")
t.same(T { -1.5, 0.5, 2.5 }:floor():totable(), { -2, 0, 2 }, "floor")
t.same(T { -1.5, 0.5, 2.5 }:round():totable(), { -2, 0, 2 }, "round halves to even")
t.same(T { -3, 0, 3 }:sign():totable(), { -1, 0, 1 }, "sign")
t.same(T { -3, 0.5, 3 }:clamp(-1, 1):totable(), { -1, 0.5, 1 }, "clamp")
t.same(T { -3, 0.5 }:relu():totable(), { 0, 0.5 }, "relu")
t.same(T { 0 / 0, 1, 1 / 0 }:isnan():totable(), { 1, 0, 0 }, "isnan")
t.same(T { 0 / 0, 1, 1 / 0 }:isfinite():totable(), { 0, 1, 0 }, "isfinite")

-- in-place updates (the optimizers' helpers)
local p = T { 1, 2, 3 }
p:add_(T { 1, 1, 1 }, 0.5)
t.same(p:totable(), { 1.5, 2.5, 3.5 }, "add_(u, alpha): p += alpha u")
p:mul_(2)
t.same(p:totable(), { 3, 5, 7 }, "mul_(2)")
p:sub_(1):div_(2)
t.same(p:totable(), { 1, 2, 3 }, "sub_ and div_ chain")
p:addcmul_(T { 1, 2, 3 }, T { 2, 2, 2 }, 0.5)
t.same(p:totable(), { 2, 4, 6 }, "addcmul_: p += 0.5 * a * b")
p:addcdiv_(T { 2, 4, 6 }, T { 2, 2, 2 }, -1)
t.same(p:totable(), { 1, 2, 3 }, "addcdiv_: p += -1 * a / b")
local m = lpact.zeros { 2, 3 }
m:add_(T { 1, 2, 3 })
t.same(m:totable(), { { 1, 2, 3 }, { 1, 2, 3 } }, "add_ broadcasts u to t")
t.raises(function() return T { 1, 2 }:add_(lpact.zeros { 2, 2 }) end, "add_: shapes %(2,%) and %(2, 2%) cannot be broadcast together", "in-place op cannot grow t")

-- reductions
local r = T { { 1, 5, 3 }, { 4, 2, 6 } }
t.is(r:sum(), 21.0, "sum")
t.is(r:mean(), 3.5, "mean")
t.is(r:max(), 6.0, "max")
t.is(r:min(), 1.0, "min")
t.is(r:argmax(), 6, "argmax over all (1-based flat index)")
t.same(r:sum(1):totable(), { 5, 7, 9 }, "sum(1) over rows")
t.same(r:sum(2):totable(), { 9, 12 }, "sum(2) over columns")
t.same(r:sum(2, true):shape(), { 2, 1 }, "keepdim")
t.same(r:mean(1):totable(), { 2.5, 3.5, 4.5 }, "mean(1)")
t.same(r:max(2):totable(), { 5, 6 }, "max(2)")
t.same(r:min(1):totable(), { 1, 2, 3 }, "min(1)")
t.same(r:argmax(2):totable(), { 2, 3 }, "argmax(2) is 1-based")
t.same(r:argmin(1):totable(), { 1, 2, 1 }, "argmin(1)")
t.same(lpact.arange(24):reshape { 2, 3, 4 }:sum(2):totable(), { { 12, 15, 18, 21 }, { 48, 51, 54, 57 } }, "sum over the middle dim of a 3-D tensor")
local big = lpact.ones { 1000001 }
t.is(big:sum(), 1000001.0, "sum accumulates in double (float32 would stall at 2^24 only much later, but order is fixed)")

t.is(T { 1, 2, -2 }:sumsq(), 9.0, "sumsq = 1 + 4 + 4")
t.is(T { { 3, 4 } }:t():sumsq(), 25.0, "sumsq of a view")
do -- all_finite: no NaN and no infinity, contiguous or a view, any length
  local big = lpact.randn({ 1000 }, 3)
  t.is(big:all_finite(), true, "all_finite: 1000 normal values")
  t.is(T { 3.4028234663852886e38, -3.4028234663852886e38, 1e-45, -0.0 }:all_finite(), true,
    "all_finite: the largest float, a subnormal and -0 are finite")
  for _, v in ipairs { 0 / 0, math.huge, -math.huge } do
    for _, at in ipairs { 1, 500, 999, 1000 } do
      local c = big:clone()
      c:set(at, v)
      t.is(c:all_finite(), false, "all_finite: " .. tostring(v) .. " at " .. at .. " of 1000")
    end
  end
  local m = T { { 1, 2 }, { math.huge, 4 } }
  t.is(m:t():all_finite(), false, "all_finite of a transposed view with an infinity")
  t.is(T { { 1, 2 }, { 3, 4 } }:t():all_finite(), true, "all_finite of a finite view")
end
t.is(lpact.count_correct(T { { 1, 2 }, { 3, 0 }, { 0, 0 } }, T { 1, 1, 0 }), 2, "count_correct: argmax per row (first on ties) equals the label")
t.raises(function() return lpact.count_correct(T { 1, 2 }, T { 1 }) end, "count_correct: logits of shape %(2,%) and labels of shape %(1,%)", "count_correct shape check")

-- matmul by hand
t.same(lpact.matmul(T { { 1, 2 }, { 3, 4 } }, T { { 5, 6 }, { 7, 8 } }):totable(), { { 19, 22 }, { 43, 50 } }, "2x2 matmul")
t.same(lpact.matmul(T { { 1, 2, 3 } }, T { { 1 }, { 0 }, { -1 } }):totable(), { { -2 } }, "row times column")
t.same(lpact.matmul(T { { 1, 2 }, { 3, 4 } }, T { 1, 1 }):totable(), { 3, 7 }, "matrix-vector")
t.same(lpact.matmul(T { 1, 1 }, T { { 1, 2 }, { 3, 4 } }):totable(), { 4, 6 }, "vector-matrix")
t.is(lpact.matmul(T { 1, 2, 3 }, T { 4, 5, 6 }):item(), 32.0, "dot product")
local A, B = lpact.randn({ 7, 5 }, 1), lpact.randn({ 5, 3 }, 2)
local C = lpact.matmul(A, B)
local worst = 0
for i = 1, 7 do for j = 1, 3 do
  local s = 0
  for k = 1, 5 do s = s + A:get(i, k) * B:get(k, j) end
  worst = math.max(worst, math.abs(s - C:get(i, j)))
end end
t.ok(worst < 1e-5, "random 7x5 by 5x3 agrees with a double loop (max err " .. worst .. ")")
t.same(lpact.matmul(A:t():contiguous():t(), B:t():contiguous():t()):totable(), C:totable(), "transposed views give the same product")

-- errors name the op and both shapes
t.raises(function() return a + T { 1, 2 } end, "add: shapes %(2, 3%) and %(2,%) cannot be broadcast together", "add shape mismatch")
t.raises(function() return a * lpact.zeros { 3, 3 } end, "mul: shapes %(2, 3%) and %(3, 3%)", "mul shape mismatch")
t.raises(function() return lpact.matmul(a, a) end, "matmul: shapes %(2, 3%) and %(2, 3%) do not match", "matmul mismatch")

t.done()
