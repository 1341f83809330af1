-- Autograd over whole graphs: gradients worked out by hand for residual
-- adds, a layer used twice and a custom loss; accumulation, zeroing,
-- no_grad, custom ops, release of the graph and its buffers.
local t = require "lpact.tap"
local ag = require "lpact.autograd"
local T = lpact.tensor

-- y = x*x + 3x at x = 2: dy/dx = 2x + 3 = 7
local x = ag.param(T { 2 })
local y = ag.sum(x * x + x * 3)
y:backward()
t.is(y:item(), 10.0, "forward x^2 + 3x at 2")
t.same(x.grad:totable(), { 7 }, "d/dx (x^2 + 3x) = 7")

-- residual: y = x + W x, L = sum(y): dL/dx = 1 + column sums of W; dL/dW = ones * x^T
local xv = ag.param(T { { 1, 2 } })
local W = ag.param(T { { 1, 2 }, { 3, 4 } })
ag.sum(ag.add(xv, ag.linear(xv, W))):backward()
t.same(xv.grad:totable(), { { 5, 7 } }, "residual: dL/dx = 1 + W^T 1")
t.same(W.grad:totable(), { { 1, 2 }, { 1, 2 } }, "residual: dL/dW")

-- a layer used twice: z = W (W x); dL/dW = 1 h^T + (W^T 1) x^T
local x2 = T { { 1, 1 } }
local W2 = ag.param(T { { 1, 0 }, { 0, 2 } })
local z = ag.linear(ag.linear(x2, W2), W2)
t.same(z.data:totable(), { { 1, 4 } }, "shared layer forward")
ag.sum(z):backward()
t.same(W2.grad:totable(), { { 2, 3 }, { 3, 4 } }, "shared layer: both uses contribute to dL/dW")

-- the same Var feeding an op twice
local s = ag.param(T { 3 })
ag.sum(ag.mul(s, s)):backward()
t.same(s.grad:totable(), { 6 }, "x * x: both operands are x")

-- a custom loss written from small ops: mean((p - q)^2), dL/dp = 2 (p - q) / n
local p = ag.param(T { 1, 2, 3, 4 })
local q = T { 0, 2, 5, 4 }
local loss = ag.mean(ag.pow(p - q, 2))
t.is(loss:item(), 1.25, "mse forward: (1 + 0 + 4 + 0) / 4")
loss:backward()
t.same(p.grad:totable(), { 0.5, 0, -1, 0 }, "mse gradient 2 (p - q) / n")

-- gradients accumulate into leaves until zeroed
local a = ag.param(T { 1, 2 })
ag.sum(a * 2):backward()
ag.sum(a * 3):backward()
t.same(a.grad:totable(), { 5, 5 }, "two backward passes accumulate (2 + 3)")
local g = a.grad
a:zero_grad()
t.same(a.grad:totable(), { 0, 0 }, "zero_grad zeroes in place")
t.ok(rawequal(g, a.grad), "zero_grad keeps the buffer")
ag.zero_grad { { name = "a", var = a } }
t.same(a.grad:totable(), { 0, 0 }, "ag.zero_grad over a parameter list")

-- backward releases the graph
local b = ag.param(T { 1 })
local c = ag.sum(ag.act("tanh", b))
c:backward()
t.raises(function() c:backward() end, "already released", "a second backward over the same graph is an error")

-- non-scalar outputs need an explicit gradient
local v = ag.param(T { 1, 2 })
local w = v * 2
t.raises(function() w:backward() end, "grad must be given for a Var of shape %(2,%)", "non-scalar backward without grad")
w:backward(T { 1, 10 })
t.same(v.grad:totable(), { 2, 20 }, "backward with an explicit gradient")

-- no_grad: nothing is recorded
local r = ag.no_grad(function() return ag.sum(v * v) end)
t.ok(not r.requires_grad, "results under no_grad do not require grad")
t.raises(function() r:backward() end, "does not require a gradient", "backward of a no_grad result raises")
t.ok(ag.is_grad_enabled(), "recording is back on after no_grad")
t.raises(function() ag.no_grad(error, "boom") end, "boom", "no_grad passes errors on")
t.ok(ag.is_grad_enabled(), "recording is back on after an error in no_grad")
local k = ag.var(T { 1 })
t.ok(not ag.sum(k * k).requires_grad, "constants make constants")

-- detach cuts the graph
local d = ag.param(T { 2 })
local dd = ag.sum(d * ag.var(T { 1 }) + (d * d):detach())
dd:backward()
t.same(d.grad:totable(), { 1 }, "detach: no gradient flows through the detached branch")

-- custom ops: the extension point
local square = ag.custom {
  name = "square",
  forward = function(ctx, xt, scale)
    ctx.x, ctx.scale = xt, scale
    return xt * xt * scale
  end,
  backward = function(ctx, gout) return gout * ctx.x * (2 * ctx.scale), nil end,
}
local cx = ag.param(T { 1, -2, 3 })
local cy = square(cx, 0.5)
t.same(cy.data:totable(), { 0.5, 2, 4.5 }, "custom forward")
ag.sum(cy):backward()
t.same(cx.grad:totable(), { 1, -2, 3 }, "custom backward: d/dx (0.5 x^2) = x")
local ok = ag.gradcheck(function(u) return square(u, 1.5) end, { ag.param(lpact.randn({ 6 }, 3)) })
t.ok(ok, "custom op passes gradcheck")
local two = ag.custom {
  forward = function(_, u, w2) return u * w2 end,
  backward = function(_, gout) return nil, gout end,   -- no grad for the first input
}
local u1, u2 = ag.param(T { 1, 2 }), ag.param(T { 3, 4 })
ag.sum(two(u1, u2)):backward()
t.ok(u1.grad == nil, "nil from a custom backward: no gradient for that input")
t.same(u2.grad:totable(), { 1, 1 }, "custom op with two inputs")
local wrong = ag.custom {
  name = "badshape",
  forward = function(_, u) return u * 1 end,
  backward = function() return lpact.zeros { 5 } end,
}
t.raises(function() ag.sum(wrong(ag.param(T { 1, 2 }))):backward() end,
  "backward of 'badshape': gradient #1 has shape %(5,%), input has shape %(2,%)", "a wrong-shape custom gradient is named")
-- gradcheck notices a wrong backward
local bogus = ag.custom {
  forward = function(_, u) return u:exp() end,
  backward = function(_, gout) return gout end,    -- wrong: should be gout * exp(u)
}
t.ok(not ag.gradcheck(bogus, { ag.param(lpact.randn({ 4 }, 1)) }), "gradcheck fails a wrong backward")

-- Var operators and tostring
local o1, o2 = ag.param(T { 4 }), ag.param(T { 2 })
local expr = (o1 + o2) * 2 - o1 / o2 + (-o2)
t.is(expr:item(), 8.0, "(4 + 2) * 2 - 4 / 2 - 2 = 8")
ag.sum(expr):backward()
t.same(o1.grad:totable(), { 1.5 }, "d/do1 = 2 - 1/o2")
t.same(o2.grad:totable(), { 2 }, "d/do2 = 2 + o1/o2^2 - 1")
t.like(tostring(o1), "^Var %(requires grad, leaf%)\nTensor %(1,%)", "tostring of a Var")

-- a long chain (no recursion limit in backward)
local chain = ag.param(T { 1 })
local h = chain
for _ = 1, 5000 do h = h * 1 end
ag.sum(h):backward()
t.same(chain.grad:totable(), { 1 }, "backward through 5000 ops")

-- backward frees the intermediate gradients and saved buffers
collectgarbage("collect")
collectgarbage("stop")
local X = lpact.randn({ 512, 256 }, 1)
local W1, W3 = ag.param(lpact.randn({ 256, 256 }, 2)), ag.param(lpact.randn({ 10, 256 }, 3))
local out = ag.cross_entropy(ag.linear(ag.act("relu", ag.linear(X, W1)), W3), lpact.zeros { 512 })
local before = lpact.tensor_memory()
out:backward()
local after = lpact.tensor_memory()
local grads = (256 * 256 + 10 * 256) * 4
t.ok(after - before <= grads, string.format("backward keeps only the leaf gradients (grew %d bytes, leaf grads %d)", after - before, grads))
collectgarbage("restart")

-- argument errors
t.raises(function() ag.var("x") end, "bad argument #1 to 'var' %(tensor expected, got string%)", "var of a string")
t.raises(function() ag.add({}, 1) end, "bad argument #1 to 'add' %(Var or tensor expected, got table%)", "add of a table")
t.raises(function() ag.linear(T { { 1, 2 } }, T { { 1, 2, 3 } }) end, "linear: input of shape %(1, 2%) does not fit weight of shape %(1, 3%)", "linear shape error")
t.raises(function() ag.cross_entropy(T { { 1, 2 } }, "cat") end, "bad argument #2 to 'cross_entropy'", "labels must be a tensor")
t.raises(function() ag.custom { forward = 1 } end, "bad argument #1 to 'custom'", "custom needs two functions")

t.done()
