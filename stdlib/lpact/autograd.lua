--- lpact.autograd — reverse-mode automatic differentiation over Tensors.
--
--     local ag = require "lpact.autograd"
--     local w = ag.param(lpact.randn({3, 2}, 1))
--     local x = lpact.tensor{{1, 2, 3}}
--     local loss = ag.sum(ag.act("tanh", ag.matmul(x, w)))
--     loss:backward()          -- w.grad now holds d loss / d w
--
-- A Var wraps a Tensor (v.data). Ops on Vars record, for each result, its
-- inputs and a function that maps the result's gradient to the inputs'
-- gradients; v:backward() walks that graph (any DAG: residual adds, a layer
-- used twice, a loss written from small ops) in reverse topological order.
-- Gradients ACCUMULATE into the leaves' .grad; zeroing is explicit.
-- Backward releases the graph as it goes: the buffers only it needed
-- (saved masks, indices, probabilities, intermediate gradients) are freed
-- at once, so a second backward over the same graph is an error.
--
-- The heavy lifting is done by the C kernels of lpact.kernels.

local K = lpact.kernels
local tensor, zeros = lpact.tensor, lpact.zeros
local is_tensor = lpact.is_tensor

local ag = {}

local Var = {}
Var.__index = Var
ag.Var = Var

local grad_enabled = true

--- Returns true when v is a Var.
function ag.is_var(v) return getmetatable(v) == Var end

--- Wraps a Tensor as a Var (a leaf); requires_grad defaults to false.
function ag.var(t, requires_grad)
  if getmetatable(t) == Var then return t end
  if type(t) == "number" then t = tensor(t) end
  if not is_tensor(t) then
    error(string.format("bad argument #1 to 'var' (tensor expected, got %s)", type(t)), 2)
  end
  return setmetatable({ data = t, requires_grad = requires_grad and true or false, is_leaf = true }, Var)
end

--- A leaf Var that requires a gradient (a trainable parameter).
function ag.param(t) return ag.var(t, true) end

--- Runs fn(...) without recording a graph; returns what fn returns.
function ag.no_grad(fn, ...)
  local prev = grad_enabled
  grad_enabled = false
  local res = table.pack(pcall(fn, ...))
  grad_enabled = prev
  if not res[1] then error(res[2], 0) end
  return table.unpack(res, 2, res.n)
end

--- Turns recording on or off globally (returns the previous setting).
function ag.set_grad_enabled(on)
  local prev = grad_enabled
  grad_enabled = on and true or false
  return prev
end

--- True when operations are being recorded.
function ag.is_grad_enabled() return grad_enabled end

-- Stands for an absent optional input (a bias of nil): never needs a grad.
local NONE = setmetatable({ requires_grad = false, is_leaf = true }, Var)

-- Argument as a Var (Tensors and numbers become constants).
local function V(x, i, fn)
  if getmetatable(x) == Var then return x end
  if is_tensor(x) then return setmetatable({ data = x, requires_grad = false, is_leaf = true }, Var) end
  if type(x) == "number" then return setmetatable({ data = tensor(x), requires_grad = false, is_leaf = true }, Var) end
  error(string.format("bad argument #%d to '%s' (Var or tensor expected, got %s)", i, fn, type(x)), 3)
end

local function contig(t) return t:is_contiguous() and t or t:contiguous() end

-- g with the shape of ref (the same numel): g itself when the shapes
-- already agree, so no view keeps g's storage alive after g is freed.
local function like(g, ref)
  local a, b = g:shape(), ref:shape()
  if #a == #b then
    local same = true
    for i = 1, #a do if a[i] ~= b[i] then same = false break end end
    if same then return g end
  end
  return g:reshape(b)
end

local function shape_str(t)
  local s = t:shape()
  return "(" .. table.concat(s, ", ") .. (#s == 1 and ",)" or ")")
end

-- The result of an op: records inputs and the backward function when any
-- input requires a gradient and recording is on.
local function result(data, inputs, backward, name)
  local v = setmetatable({ data = data, requires_grad = false, is_leaf = true }, Var)
  if grad_enabled then
    for i = 1, #inputs do
      if inputs[i].requires_grad then
        v.requires_grad, v.is_leaf = true, false
        v._inputs, v._backward, v._name = inputs, backward, name
        break
      end
    end
  end
  return v
end

-- ---------------------------------------------------------------------------
-- Var methods

--- The shape of v's data as a table.
function Var:shape() return self.data:shape() end
--- The number of elements of v's data.
function Var:numel() return self.data:numel() end
--- The single value of a one-element Var.
function Var:item() return self.data:item() end
--- A new leaf Var sharing v's data, cut from the graph.
function Var:detach() return ag.var(self.data, false) end
--- Zeroes v's gradient in place (keeps its buffer).
function Var:zero_grad() if self.grad then self.grad:zero() end end

--- "Var (requires grad, leaf)" or the op's name, then the tensor.
function Var:__tostring()
  return string.format("Var%s%s\n%s", self.requires_grad and " (requires grad" or "",
    self.requires_grad and (self.is_leaf and ", leaf)" or (", " .. (self._name or "op") .. ")")) or "",
    tostring(self.data))
end

--- Back-propagates from v: grad (a Tensor of v's shape) defaults to 1 for
-- a one-element v. Gradients accumulate into the .grad of every leaf that
-- requires one.
function Var:backward(grad)
  if not self.requires_grad then
    error("backward: this Var does not require a gradient (no input of its graph requires one)", 2)
  end
  if not self.is_leaf and not self._backward then
    error("backward: the graph was already released by an earlier backward", 2)
  end
  local foreign = {}   -- tensors autograd must not free (the seed, custom grads)
  if grad == nil then
    if self.data:numel() ~= 1 then
      error("backward: grad must be given for a Var of shape " .. shape_str(self.data), 2)
    end
    grad = lpact.ones(self.data:shape())
  else
    if getmetatable(grad) == Var then grad = grad.data end
    if not is_tensor(grad) then error("bad argument #1 to 'backward' (tensor expected)", 2) end
    if grad:numel() ~= self.data:numel() then
      error(string.format("backward: grad of shape %s for a Var of shape %s", shape_str(grad), shape_str(self.data)), 2)
    end
    foreign[grad] = true
  end

  -- Reverse topological order by an iterative depth-first search.
  local order, state = {}, {}
  local stack, istack = { self }, { 1 }
  state[self] = 1
  while #stack > 0 do
    local n, top = stack[#stack], #stack
    local ins = n._inputs
    local i = istack[top]
    if ins and i <= #ins then
      istack[top] = i + 1
      local c = ins[i]
      if c.requires_grad and not state[c] then
        if not c.is_leaf and not c._backward then
          error("backward: part of the graph was already released by an earlier backward", 2)
        end
        state[c] = 1
        stack[#stack + 1], istack[#istack + 1] = c, 1
      end
    else
      stack[top], istack[top] = nil, nil
      order[#order + 1] = n
    end
  end

  local grads, holds = { [self] = grad }, { [grad] = 1 }
  local function release(t)
    local h = holds[t] - 1
    if h == 0 then
      holds[t] = nil
      if not foreign[t] then t:free() end
    else
      holds[t] = h
    end
  end
  for k = #order, 1, -1 do
    local n = order[k]
    local g = grads[n]
    grads[n] = nil
    if g ~= nil then
      if n.is_leaf then
        if n.grad == nil then n.grad = like(g, n.data):clone()
        else K.add_into(n.grad, like(g, n.data)) end
      else
        local ins = n._inputs
        local gi = table.pack(n._backward(g))
        for i = 1, #ins do
          local c, gc = ins[i], gi[i]
          if gc ~= nil and c.requires_grad then
            if getmetatable(gc) == Var then gc = gc.data end
            if not is_tensor(gc) then
              error(string.format("backward of '%s': gradient #%d is a %s, not a tensor", n._name or "op", i, type(gc)), 2)
            end
            if n._custom then foreign[gc] = true end
            if gc:numel() ~= c.data:numel() then
              error(string.format("backward of '%s': gradient #%d has shape %s, input has shape %s",
                n._name or "op", i, shape_str(gc), shape_str(c.data)), 2)
            end
            local old = grads[c]
            if old == nil then
              grads[c] = gc
              holds[gc] = (holds[gc] or 0) + 1
            else
              local sum = old + like(gc, old)
              grads[c] = sum
              holds[sum] = 1
              release(old)
            end
          end
        end
        n._inputs, n._backward = nil, nil
      end
      release(g)
    end
  end
end

--- Zeroes (in place) the .grad of every Var in the list (or of {name=, var=} entries).
function ag.zero_grad(list)
  for _, p in ipairs(list) do
    local v = p.var or p
    if v.grad then v.grad:zero() end
  end
end

-- ---------------------------------------------------------------------------
-- Elementwise arithmetic with broadcasting

local function unbroadcast(g, t)
  return K.sum_to(g, t:shape())
end

--- a + b (broadcasting; a or b may be a number or Tensor).
function ag.add(a, b)
  a, b = V(a, 1, "add"), V(b, 2, "add")
  local A, B = a.data, b.data
  return result(A + B, { a, b }, function(g)
    return a.requires_grad and unbroadcast(g, A) or nil, b.requires_grad and unbroadcast(g, B) or nil
  end, "add")
end

--- a - b (broadcasting).
function ag.sub(a, b)
  a, b = V(a, 1, "sub"), V(b, 2, "sub")
  local A, B = a.data, b.data
  return result(A - B, { a, b }, function(g)
    return a.requires_grad and unbroadcast(g, A) or nil, b.requires_grad and unbroadcast(-g, B) or nil
  end, "sub")
end

--- a * b elementwise (broadcasting).
function ag.mul(a, b)
  a, b = V(a, 1, "mul"), V(b, 2, "mul")
  local A, B = a.data, b.data
  return result(A * B, { a, b }, function(g)
    return a.requires_grad and unbroadcast(g * B, A) or nil, b.requires_grad and unbroadcast(g * A, B) or nil
  end, "mul")
end

--- a / b elementwise (broadcasting).
function ag.div(a, b)
  a, b = V(a, 1, "div"), V(b, 2, "div")
  local A, B = a.data, b.data
  return result(A / B, { a, b }, function(g)
    local ga = a.requires_grad and unbroadcast(g / B, A) or nil
    local gb = b.requires_grad and unbroadcast(-(g * A) / (B * B), B) or nil
    return ga, gb
  end, "div")
end

--- -a
function ag.neg(a)
  a = V(a, 1, "neg")
  return result(-a.data, { a }, function(g) return -g end, "neg")
end

--- c * a for a number c.
function ag.scale(a, c)
  a = V(a, 1, "scale")
  if type(c) ~= "number" then error("bad argument #2 to 'scale' (number expected, got " .. type(c) .. ")", 2) end
  return result(a.data * c, { a }, function(g) return g * c end, "scale")
end

--- a ^ c for a number c (elementwise).
function ag.pow(a, c)
  a = V(a, 1, "pow")
  if type(c) ~= "number" then error("bad argument #2 to 'pow' (number expected, got " .. type(c) .. ")", 2) end
  local A = a.data
  return result(A:pow(c), { a }, function(g) return g * A:pow(c - 1) * c end, "pow")
end

--- exp(a) elementwise.
function ag.exp(a)
  a = V(a, 1, "exp")
  local Y = a.data:exp()
  return result(Y, { a }, function(g) return g * Y end, "exp")
end

--- log(a) elementwise.
function ag.log(a)
  a = V(a, 1, "log")
  local A = a.data
  return result(A:log(), { a }, function(g) return g / A end, "log")
end

--- sqrt(a) elementwise.
function ag.sqrt(a)
  a = V(a, 1, "sqrt")
  local Y = a.data:sqrt()
  return result(Y, { a }, function(g) return g / (Y * 2) end, "sqrt")
end

--- |a| elementwise (gradient sign(a), 0 at 0).
function ag.abs(a)
  a = V(a, 1, "abs")
  local A = a.data
  return result(A:abs(), { a }, function(g) return g * A:sign() end, "abs")
end

-- ---------------------------------------------------------------------------
-- Reductions and shapes

--- Sum of all elements (a 0-D Var), or along dim (removed unless keepdim).
function ag.sum(a, dim, keepdim)
  a = V(a, 1, "sum")
  local A = a.data
  local shape = A:shape()
  if dim == nil then
    return result(tensor(A:sum()), { a }, function(g)
      return lpact.full(shape, g:item())
    end, "sum")
  end
  if dim < 0 then dim = #shape + 1 + dim end
  return result(A:sum(dim, keepdim), { a }, function(g)
    local gk = keepdim and g or g:unsqueeze(dim)
    return zeros(shape):add_(gk)
  end, "sum")
end

--- Mean of all elements (0-D Var), or along dim.
function ag.mean(a, dim, keepdim)
  a = V(a, 1, "mean")
  local A = a.data
  local shape = A:shape()
  if dim == nil then
    local n = A:numel()
    return result(tensor(A:mean()), { a }, function(g)
      return lpact.full(shape, g:item() / n)
    end, "mean")
  end
  if dim < 0 then dim = #shape + 1 + dim end
  local n = shape[dim]
  return result(A:mean(dim, keepdim), { a }, function(g)
    local gk = keepdim and g or g:unsqueeze(dim)
    return zeros(shape):add_(gk):mul_(1 / n)
  end, "mean")
end

--- a reshaped to shape (a view when a is contiguous; one -1 is inferred).
function ag.reshape(a, shape)
  a = V(a, 1, "reshape")
  local from = a.data:shape()
  return result(a.data:reshape(shape), { a }, function(g) return g:reshape(from) end, "reshape")
end

--- (N, ...) -> (N, rest): flattens all but the first dimension.
function ag.flatten(a)
  a = V(a, 1, "flatten")
  local s = a.data:shape()
  local rest = 1
  for i = 2, #s do rest = rest * s[i] end
  return ag.reshape(a, { s[1], rest })
end

--- The 2-D transpose of a.
function ag.transpose(a)
  a = V(a, 1, "transpose")
  return result(a.data:t(), { a }, function(g) return g:t() end, "transpose")
end

-- ---------------------------------------------------------------------------
-- Products and layers

--- Matrix product of 2-D a (m, k) and b (k, n) (sgemm).
function ag.matmul(a, b)
  a, b = V(a, 1, "matmul"), V(b, 2, "matmul")
  local A, B = a.data, b.data
  if A:dim() ~= 2 or B:dim() ~= 2 then
    error(string.format("matmul: expects 2-D operands, got shapes %s and %s", shape_str(A), shape_str(B)), 2)
  end
  return result(lpact.matmul(A, B), { a, b }, function(g)
    return a.requires_grad and lpact.matmul(g, B:t()) or nil, b.requires_grad and lpact.matmul(A:t(), g) or nil
  end, "matmul")
end

--- x (N, in) W^T + b: w (out, in), b (out) or nil -> (N, out).
function ag.linear(x, w, b)
  x, w = V(x, 1, "linear"), V(w, 2, "linear")
  if b ~= nil then b = V(b, 3, "linear") end
  local X, W = contig(x.data), contig(w.data)
  if X:dim() ~= 2 or W:dim() ~= 2 or X:size(2) ~= W:size(2) then
    error(string.format("linear: input of shape %s does not fit weight of shape %s (expected (N, %s))",
      shape_str(X), shape_str(W), W:dim() == 2 and W:size(2) or "?"), 2)
  end
  local out = K.linear(X, W, b and contig(b.data))
  return result(out, { x, w, b or NONE }, function(g)
    return K.linear_backward(contig(g), X, W, x.requires_grad, w.requires_grad, b ~= nil and b.requires_grad)
  end, "linear")
end

--- 2-D convolution: x (N, C, H, W), w (O, C, kh, kw), b (O) or nil.
function ag.conv2d(x, w, b, stride, pad)
  x, w = V(x, 1, "conv2d"), V(w, 2, "conv2d")
  if b ~= nil then b = V(b, 3, "conv2d") end
  stride, pad = stride or 1, pad or 0
  local X, W = contig(x.data), contig(w.data)
  local keep = grad_enabled and (x.requires_grad or w.requires_grad or (b ~= nil and b.requires_grad))
  -- with a graph, keep the forward's im2col for the backward (one copy of x
  -- per kernel tap; freed by the backward)
  local out, work = K.conv2d(X, W, b and contig(b.data), stride, pad, keep)
  return result(out, { x, w, b or NONE }, function(g)
    local dx, dw, db = K.conv2d_backward(contig(g), X, W, stride, pad, x.requires_grad, w.requires_grad,
      b ~= nil and b.requires_grad, work)
    work:free()
    return dx, dw, db
  end, "conv2d")
end

--- maxpool2d(act(name, conv2d(x, w, b, stride, pad), alpha), k, pstride)
-- as one operation: the same values and gradients, bit for bit, each
-- sample's convolution pooled while it is in cache; the convolution's
-- output is kept only for the backward (nn.Sequential uses it for a
-- Conv2d, an FP32 activation and a MaxPool2d in a row).
function ag.conv2d_act_maxpool2d(x, w, b, stride, pad, name, alpha, k, pstride)
  x, w = V(x, 1, "conv2d"), V(w, 2, "conv2d")
  if b ~= nil then b = V(b, 3, "conv2d") end
  stride, pad, pstride = stride or 1, pad or 0, pstride or k
  if not (grad_enabled and (x.requires_grad or w.requires_grad or (b ~= nil and b.requires_grad))) then
    -- no backward (evaluation): the one pass where the convolution's output
    -- need not be made at all, else the convolution as conv2d makes it
    -- (in chunks of samples for big batches) and the fused pooling
    local X, W = contig(x.data), contig(w.data)
    if name == "relu" and k == 2 and pstride == 2 and K.conv2d_implicit(X, W, stride, pad) then
      local Y, work, out, idx = K.conv2d_act_maxpool2d(X, W, b and contig(b.data), stride, pad, name, alpha, k,
        pstride, 0, true)
      if Y then Y:free() end
      work:free(); idx:free()
      return result(out, {}, nil, "conv2d+relu+maxpool2d")
    end
    return ag.act_maxpool2d(name, ag.conv2d(x, w, b, stride, pad), alpha, k, pstride)
  end
  local X, W = contig(x.data), contig(w.data)
  -- ReLU's backward over 2x2 windows reads the pooled output, so the
  -- convolution's output need not be kept (false) where the kernels can
  -- pool without it
  local Y, work, out, idx = K.conv2d_act_maxpool2d(X, W, b and contig(b.data), stride, pad, name, alpha, k,
    pstride, 0, name == "relu" and k == 2 and pstride == 2)
  return result(out, { x, w, b or NONE }, function(g)
    g = contig(g)
    local with_db = b ~= nil and b.requires_grad
    -- the bias gradient summed while each plane of dy is in cache
    local dy, db
    if Y then
      dy, db = K.act_maxpool2d_backward(g, idx, Y, name, alpha, out, with_db, k, pstride)
    else
      local N, O, H, Wd = X:size(1), W:size(1), X:size(3), X:size(4)
      local shape = { N, O, (H + 2 * pad - W:size(3)) // stride + 1, (Wd + 2 * pad - W:size(4)) // stride + 1 }
      dy, db = K.act_maxpool2d_backward(g, idx, shape, name, alpha, out, with_db, k, pstride)
      if dy == nil then -- a window needs the convolution's output (a NaN): made again, the same bits
        Y = K.conv2d(X, W, b and contig(b.data), stride, pad)
        dy, db = K.act_maxpool2d_backward(g, idx, Y, name, alpha, out, with_db, k, pstride)
      end
    end
    idx:free()
    local dx, dw = K.conv2d_backward(dy, X, W, stride, pad, x.requires_grad, w.requires_grad, false, work)
    work:free(); dy:free()
    if Y then Y:free() end
    return dx, dw, db
  end, "conv2d+" .. name .. "+maxpool2d")
end

--- Max pooling over k x k windows (stride defaults to k, pad to 0).
function ag.maxpool2d(x, k, stride, pad)
  x = V(x, 1, "maxpool2d")
  local X = contig(x.data)
  local out, idx = K.maxpool2d(X, k, stride or k, pad or 0)
  if not (grad_enabled and x.requires_grad) then idx:free() end
  return result(out, { x }, function(g)
    local dx = K.maxpool2d_backward(contig(g), idx, X)
    idx:free()
    return dx
  end, "maxpool2d")
end

--- maxpool2d(act(name, x, alpha), k, stride, pad) as one operation: the
-- same values and gradients, bit for bit, without the activation's output
-- written out (nn.Sequential uses it for an FP32 activation followed by
-- max pooling).
function ag.act_maxpool2d(name, x, alpha, k, stride, pad)
  if type(name) ~= "string" then
    error("bad argument #1 to 'act_maxpool2d' (string expected, got " .. type(name) .. ")", 2)
  end
  x = V(x, 2, "act_maxpool2d")
  local X = contig(x.data)
  stride, pad = stride or k, pad or 0
  local out, idx = K.act_maxpool2d(X, k, stride, pad, name, alpha)
  if not (grad_enabled and x.requires_grad) then idx:free() end
  return result(out, { x }, function(g)
    local dx = K.act_maxpool2d_backward(contig(g), idx, X, name, alpha, out, false, k, stride, pad)
    idx:free()
    return dx
  end, name .. "+maxpool2d")
end

--- Average pooling over k x k windows (stride defaults to k).
function ag.avgpool2d(x, k, stride, pad)
  x = V(x, 1, "avgpool2d")
  local X = contig(x.data)
  stride, pad = stride or k, pad or 0
  return result(K.avgpool2d(X, k, stride, pad), { x }, function(g)
    return K.avgpool2d_backward(contig(g), k, stride, pad, X)
  end, "avgpool2d")
end

--- (N, C, H, W) -> (N, C): the mean over each plane.
function ag.global_avgpool(x)
  x = V(x, 1, "global_avgpool")
  local X = x.data
  local s = X:shape()
  if #s ~= 4 then error("global_avgpool: expects (N, C, H, W), got shape " .. shape_str(X), 2) end
  local n = s[3] * s[4]
  local out = contig(X):reshape { s[1], s[2], n }:mean(3)
  return result(out, { x }, function(g)
    return zeros(s):add_(g:reshape { s[1], s[2], 1, 1 }):mul_(1 / n)
  end, "global_avgpool")
end

--- Batch normalisation of x (N, C) or (N, C, H, W) per channel. gamma and
-- beta are Vars (or nil); running_mean / running_var Tensors (or nil),
-- updated in place when training (momentum default 0.1, eps 1e-5).
function ag.batchnorm(x, gamma, beta, running_mean, running_var, training, momentum, eps)
  x = V(x, 1, "batchnorm")
  if gamma ~= nil then gamma = V(gamma, 2, "batchnorm") end
  if beta ~= nil then beta = V(beta, 3, "batchnorm") end
  local X = contig(x.data)
  local G = gamma and contig(gamma.data)
  local out, mean, invstd = K.batchnorm(X, G, beta and contig(beta.data), running_mean, running_var,
    training and true or false, momentum or 0.1, eps or 1e-5)
  return result(out, { x, gamma or NONE, beta or NONE }, function(g)
    local dx, dg, db = K.batchnorm_backward(contig(g), X, mean, invstd, G, training and true or false,
      x.requires_grad, gamma ~= nil and gamma.requires_grad, beta ~= nil and beta.requires_grad)
    mean:free(); invstd:free()
    return dx, dg, db
  end, "batchnorm")
end

--- Dropout: in training, zeroes each element with probability p (seeded
-- by key and counter: element i uses lp_rand64(key, ctr + i)) and scales
-- the rest by 1/(1-p); otherwise returns x unchanged.
function ag.dropout(x, p, training, key, ctr)
  x = V(x, 1, "dropout")
  if not training or p == 0 then return x end
  local out, mask = K.dropout(contig(x.data), p, key or 0, ctr or 0)
  return result(out, { x }, function(g)
    local dx = g * mask
    mask:free()
    return dx
  end, "dropout")
end

--- FP32 activation by name: relu, leaky_relu (alpha 0.01), relu6, elu
-- (alpha 1), gelu, silu, softplus, mish, sigmoid, tanh, hardtanh, hardsigmoid.
function ag.act(name, x, alpha)
  if type(name) ~= "string" then error("bad argument #1 to 'act' (string expected, got " .. type(name) .. ")", 2) end
  x = V(x, 2, "act")
  local X = contig(x.data)
  return result(K.act(name, X, alpha), { x }, function(g)
    return K.act_backward(name, contig(g), X, alpha)
  end, name)
end

--- Softmax along the last dim of x (N, K).
function ag.softmax(x)
  x = V(x, 1, "softmax")
  local Y = K.softmax(contig(x.data), false)
  return result(Y, { x }, function(g) return K.softmax_backward(contig(g), Y, false) end, "softmax")
end

--- Log-softmax along the last dim of x (N, K).
function ag.log_softmax(x)
  x = V(x, 1, "log_softmax")
  local Y = K.softmax(contig(x.data), true)
  return result(Y, { x }, function(g) return K.softmax_backward(contig(g), Y, true) end, "log_softmax")
end

--- Mean cross-entropy of logits (N, K) against labels (a Tensor (N) of
-- class indices 0..K-1 stored as floats): a 0-D Var. Fused and stable.
function ag.cross_entropy(logits, labels)
  logits = V(logits, 1, "cross_entropy")
  if getmetatable(labels) == Var then labels = labels.data end
  if not is_tensor(labels) then
    error("bad argument #2 to 'cross_entropy' (tensor of labels expected, got " .. type(labels) .. ")", 2)
  end
  labels = contig(labels)
  local loss, probs = K.cross_entropy(contig(logits.data), labels)
  if not (grad_enabled and logits.requires_grad) then probs:free() end
  return result(tensor(loss), { logits }, function(g)
    local d = K.cross_entropy_backward(g:item(), probs, labels)
    probs:free()
    return d
  end, "cross_entropy")
end

-- ---------------------------------------------------------------------------
-- The extension point

--- Makes an op from two Lua functions over Tensors:
--   forward(ctx, ...) -> out Tensor, backward(ctx, grad_out) -> grads
-- (one per input, nil for no gradient). ctx is a fresh table per call for
-- saving what backward needs. Vars among the arguments are passed to
-- forward as their Tensors; other arguments (numbers, tables) as they are.
-- Returns a function(...) -> Var.
function ag.custom(spec)
  if type(spec) ~= "table" or type(spec.forward) ~= "function" or type(spec.backward) ~= "function" then
    error("bad argument #1 to 'custom' (table with forward and backward functions expected)", 2)
  end
  local name = spec.name or "custom"
  return function(...)
    local n = select("#", ...)
    local args, inputs = { ... }, {}
    local targs = {}
    for i = 1, n do
      local a = args[i]
      if getmetatable(a) == Var then
        inputs[i], targs[i] = a, a.data
      elseif is_tensor(a) then
        inputs[i], targs[i] = V(a, i, name), a
      else
        inputs[i], targs[i] = NONE, a
      end
    end
    local ctx = {}
    local out = spec.forward(ctx, table.unpack(targs, 1, n))
    if getmetatable(out) == Var then out = out.data end
    if not is_tensor(out) then
      error(string.format("%s: forward must return a tensor, got %s", name, type(out)), 2)
    end
    local v = result(out, inputs, function(g) return spec.backward(ctx, g) end, name)
    v._custom = true
    return v
  end
end

-- ---------------------------------------------------------------------------
-- Checking gradients

--- Compares the gradients backward computes for f(...) with central finite
-- differences computed in double from the float32 forward. inputs is a list
-- of Vars (those with requires_grad are checked). The scalar checked is
-- sum(f(...) * R) for a fixed random R, so every output element counts.
-- opts: h (step, default 1e-2), atol (1e-3), rtol (1e-2), seed (7), max
-- (elements checked per input, default 64, spread over the tensor).
-- Returns ok, worst = {input=, index=, analytic=, numeric=, err=}.
function ag.gradcheck(f, inputs, opts)
  opts = opts or {}
  local h, atol, rtol = opts.h or 1e-2, opts.atol or 1e-3, opts.rtol or 1e-2
  local maxn = opts.max or 64
  local out = f(table.unpack(inputs))
  local R = lpact.randn(out.data:shape(), opts.seed or 7)
  for _, v in ipairs(inputs) do if v.grad then v.grad:zero() end end
  ag.sum(ag.mul(out, R)):backward()
  local function loss()
    return ag.no_grad(function() return (f(table.unpack(inputs)).data * R):sum() end)
  end
  local ok, worst = true, { err = -1 }
  for k, v in ipairs(inputs) do
    if v.requires_grad then
      local t = v.data
      local flat = t:view { t:numel() }
      local gflat = v.grad and v.grad:reshape { t:numel() }
      local n = t:numel()
      local step = n > maxn and n / maxn or 1
      local j = 1.0
      while j <= n do
        local i = math.floor(j)
        local x0 = flat:get(i)
        flat:set(i, x0 + h)
        local xp = flat:get(i)
        local lp = loss()
        flat:set(i, x0 - h)
        local xm = flat:get(i)
        local lm = loss()
        flat:set(i, x0)
        local num = (lp - lm) / (xp - xm)
        local ana = gflat and gflat:get(i) or 0
        local err = math.abs(ana - num)
        local bad = err > atol + rtol * math.abs(num)
        if bad then ok = false end
        if (bad and worst.err >= 0 and not worst.bad) or err > worst.err and (bad or not worst.bad) then
          worst = { input = k, index = i, analytic = ana, numeric = num, err = err, bad = bad }
        end
        j = j + step
      end
    end
  end
  return ok, worst
end

-- ---------------------------------------------------------------------------
-- Operators on Vars

Var.__add = ag.add
Var.__sub = ag.sub
Var.__mul = function(a, b)
  if type(a) == "number" then return ag.scale(b, a) end
  if type(b) == "number" then return ag.scale(a, b) end
  return ag.mul(a, b)
end
Var.__div = function(a, b)
  if type(b) == "number" then return ag.scale(a, 1 / b) end
  return ag.div(a, b)
end
Var.__unm = ag.neg
Var.__pow = function(a, c) return ag.pow(a, c) end

--- v:sum([dim, keepdim]): ag.sum as a method.
function Var:sum(dim, keepdim) return ag.sum(self, dim, keepdim) end
--- v:mean([dim, keepdim]): ag.mean as a method.
function Var:mean(dim, keepdim) return ag.mean(self, dim, keepdim) end
--- v:reshape(shape): ag.reshape as a method.
function Var:reshape(shape) return ag.reshape(self, shape) end
--- v:act(name [, alpha]): ag.act as a method.
function Var:act(name, alpha) return ag.act(name, self, alpha) end

return ag
