-- NaN in gives NaN out: every kernel family other than the activations and
-- the quantizers (their rows are in docs/formats.md and tests/5x), checked
-- element by element against where IEEE 754 and PyTorch put the NaN.
-- docs/tensors.md "NaN policy" is the contract these tests hold.
local t = require "lpact.tap"
local K, T = lpact.kernels, lpact.tensor
local ag = require "lpact.autograd"
local nn = require "lpact.nn"
local optim = require "lpact.optim"
local NAN, INF = 0 / 0, math.huge

local function isnan(v) return v ~= v end
local function all_nan(x)
  for _, v in ipairs(x:contiguous():reshape { x:numel() }:totable()) do if not isnan(v) then return false end end
  return true
end
local function count_nan(x)
  local n = 0
  for _, v in ipairs(x:contiguous():reshape { x:numel() }:totable()) do if isnan(v) then n = n + 1 end end
  return n
end

-- reductions: whole tensor and along a dim
local r = T { { 1, NAN, 2 }, { 3, 4, 5 } }
for _, op in ipairs { "sum", "mean", "max", "min", "sumsq" } do
  t.ok(isnan(r[op](r)), op .. " of a tensor holding NaN is NaN")
end
t.is(T { 1, NAN, 2 }:argmax(), 2, "argmax points at the NaN (as torch.argmax)")
t.is(T { 1, NAN, 2 }:argmin(), 2, "argmin points at the NaN")
for _, op in ipairs { "sum", "mean", "max", "min" } do
  local d = r[op](r, 2)
  t.ok(isnan(d:get(1)) and d:get(2) == ({ sum = 12, mean = 4, max = 5, min = 3 })[op],
    op .. "(dim): NaN only in the row that held one")
  local c = r[op](r, 1)
  t.ok(isnan(c:get(2)) and not isnan(c:get(1)) and not isnan(c:get(3)), op .. "(dim 1): NaN only in that column")
end
t.same(r:argmax(2):totable(), { 2, 3 }, "argmax(dim) picks the NaN in its row")
t.ok(isnan(T { INF, -INF }:sum()), "inf + -inf sums to NaN")

-- elementwise binary: maximum/minimum propagate (torch.maximum), compares are false
t.ok(isnan(T { NAN }:maximum(T { 1 }):item()) and isnan(T { 1 }:maximum(T { NAN }):item()), "maximum propagates NaN from either side")
t.ok(isnan(T { NAN }:minimum(T { 1 }):item()) and isnan(T { 1 }:minimum(T { NAN }):item()), "minimum propagates NaN from either side")
t.ok(isnan(T { NAN }:clamp(0, 1):item()), "clamp(NaN) is NaN")
t.same(T { NAN }:eq(T { NAN }):totable(), { 0 }, "NaN == NaN is false")
t.same(T { NAN }:ne(T { NAN }):totable(), { 1 }, "NaN ~= NaN is true")

-- softmax / log_softmax / cross-entropy: the row with a NaN becomes NaN, the others stay finite
local L = T { { 1, NAN, 2 }, { 1, 2, 3 } }
for _, lsm in ipairs { false, true } do
  local y = K.softmax(L, lsm)
  t.ok(all_nan(y:select(1, 1)) and count_nan(y:select(1, 2)) == 0,
    (lsm and "log_softmax" or "softmax") .. ": the NaN row is all NaN, the other row finite")
  local yi = K.softmax(T { { INF, 1 } }, lsm)
  t.ok(count_nan(yi) >= 1, (lsm and "log_softmax" or "softmax") .. " of +inf is NaN (inf - inf), as torch")
end
do
  local loss, probs = K.cross_entropy(L, T { 0, 1 })
  t.ok(isnan(loss), "cross-entropy with a NaN logit is NaN")
  t.ok(all_nan(probs:select(1, 1)), "its probabilities row is NaN")
  local loss2 = K.cross_entropy(T { { NAN, 0 } }, T { 1 })
  t.ok(isnan(loss2), "cross-entropy is NaN even when the NaN is not at the label")
  t.raises(function() K.cross_entropy(T { { 1, 2 } }, T { NAN }) end, "label", "a NaN label is refused")
end

-- pooling: the window holding a NaN gives NaN (both the 2x2 fast path and the general loop)
do
  local x = lpact.arange(16):reshape { 1, 1, 4, 4 } + 0
  x:set(1, 1, 1, 2, NAN)
  local m = K.maxpool2d(x, 2, 2, 0)
  t.ok(isnan(m:get(1, 1, 1, 1)) and count_nan(m) == 1, "maxpool 2x2: NaN in exactly its window")
  local m3 = K.maxpool2d(x, 3, 1, 0)
  t.is(count_nan(m3), 2, "maxpool 3x3 stride 1: NaN in the two windows covering it")
  local a = K.avgpool2d(x, 2, 2, 0)
  t.ok(isnan(a:get(1, 1, 1, 1)) and count_nan(a) == 1, "avgpool: NaN in exactly its window")
  local big = lpact.zeros { 1, 1, 16, 16 }
  big:set(1, 1, 9, 16, NAN)
  t.is(count_nan(K.maxpool2d(big, 2, 2, 0)), 1, "maxpool 2x2 wide plane (vector lanes): one NaN window")
  t.ok(isnan(ag.global_avgpool(x).data:get(1, 1)), "global average pool of a plane with NaN is NaN")
end

-- batch normalisation: NaN in a channel makes that channel NaN (training: its
-- batch statistics), leaves the others; eval with NaN running stats is NaN
do
  local x = T { { 1, 2 }, { NAN, 4 }, { 5, 6 } }
  local rm, rv = lpact.zeros { 2 }, lpact.ones { 2 }
  local out = K.batchnorm(x, nil, nil, rm, rv, true, 0.1, 1e-5)
  t.ok(all_nan(out:select(2, 1)) and count_nan(out:select(2, 2)) == 0, "batchnorm training: the NaN channel is NaN, the other finite")
  t.ok(isnan(rm:get(1)) and isnan(rv:get(1)) and not isnan(rm:get(2)), "its running statistics take the NaN (as torch)")
  local e = K.batchnorm(T { { 1, 2 } }, nil, nil, rm, rv, false, 0.1, 1e-5)
  t.ok(isnan(e:get(1, 1)) and not isnan(e:get(1, 2)), "batchnorm eval with NaN running stats: NaN in that channel")
end

-- linear and conv: a NaN input reaches every output it feeds
do
  local y = K.linear(T { { 1, NAN } }, T { { 1, 0 }, { 0, 1 } }, T { 0, 0 })
  t.ok(isnan(y:get(1, 1)) and isnan(y:get(1, 2)), "linear: NaN * 0 weight is still NaN (IEEE)")
  local x = lpact.ones { 1, 1, 3, 3 }
  x:set(1, 1, 2, 2, NAN)
  t.is(count_nan(K.conv2d(x, lpact.zeros { 1, 1, 2, 2 }, nil, 1, 0)), 4, "conv2d: every window over the NaN is NaN")
end

-- dropout keeps a NaN NaN where it is kept, and NaN * 0 where dropped (IEEE, as torch)
do
  local out = K.dropout(T { NAN, NAN, NAN, NAN, NAN, NAN, NAN, NAN }, 0.5, 7, 0)
  t.is(count_nan(out), 8, "dropout of NaN: NaN everywhere (a dropped NaN is NaN * 0)")
end

-- optimizers: a NaN gradient makes that parameter NaN (no silent skip)
for _, mk in ipairs {
  { "SGD", function(p) return optim.SGD(p, { lr = 0.1 }) end },
  { "SGD momentum", function(p) return optim.SGD(p, { lr = 0.1, momentum = 0.9 }) end },
  { "Adam", function(p) return optim.Adam(p, { lr = 0.1 }) end },
  { "AdamW", function(p) return optim.AdamW(p, { lr = 0.1 }) end },
} do
  local w = ag.param(T { 1, 2 })
  local o = mk[2] { w }
  w.grad = T { NAN, 1 }
  o:step()
  t.ok(isnan(w.data:get(1)) and not isnan(w.data:get(2)), mk[1] .. ": NaN gradient -> NaN parameter, the other element finite")
end
do
  local w = ag.param(T { 1, 2 })
  w.grad = T { NAN, 1 }
  local n = optim.clip_grad_norm({ w }, 1)
  t.ok(isnan(n), "clip_grad_norm returns NaN for a NaN gradient")
  t.ok(isnan(w.grad:get(1)), "and leaves the NaN in place")
  w.grad = T { INF, 1 }
  t.is(optim.clip_grad_norm({ w }, 1), INF, "an infinite gradient has norm inf")
end


-- training: one NaN pixel behind a ReLU leaves the loss finite but the
-- first layer's gradient NaN; the loop stops naming epoch, batch and parameter
do
  local models, train, data = require "lpact.models", require "lpact.train", require "lpact.data"
  local function errmsg(f)
    local ok, e = pcall(f)
    if ok then return "no error" end
    return type(e) == "table" and e.msg or tostring(e)
  end
  local blobs = data.blobs { n = 64, classes = 2, seed = 3 }
  blobs.train.x:set(37, 1, 0 / 0)   -- row 37: batch 3 of 16 rows, unshuffled
  local m = models.mlp { 2, 4, 2, act = "relu", seed = 1 }
  -- the ReLU passes the NaN on (NaN in, NaN out: docs/qact.md), so the
  -- loss or the gradient check catches it: forward row 37 alone
  local probe = m:forward(blobs.train.x:narrow(1, 37, 1))
  t.diag("logits of the NaN row: " .. tostring(probe.data:get(1, 1)))
  local e = errmsg(function()
    train.fit { model = m, data = blobs, epochs = 1, batch = 16, shuffle = false, verbose = false }
  end)
  t.like(e, "at epoch 1, batch 3", "a NaN input stops training at its batch")
  t.ok(e:find("not finite", 1, true) or e:find("loss is %-?nan"), "and says what is not finite: " .. e)
  local m2 = models.mlp { 2, 4, 2, act = "relu", seed = 1 }
  local clean = data.blobs { n = 64, classes = 2, seed = 3 }
  e = errmsg(function()
    train.fit { model = m2, data = clean, epochs = 1, batch = 16, shuffle = false, verbose = false,
      optimizer = optim.SGD(m2:parameters(), { lr = 1e39 }) }
  end)
  t.like(e, "^parameter .* is not finite .* at epoch 1, batch %d", "an exploding step stops at the parameter check: " .. e)
end


-- options that make no sense are refused with one line
do
  local function errmsg(f)
    local ok, e = pcall(f)
    if ok then return "no error" end
    return type(e) == "table" and e.msg or tostring(e)
  end
  local w = ag.param(T { 1 })
  for _, c in ipairs {
    { function() nn.BatchNorm(3, { eps = -1 }) end, "eps must be a number > 0", "BatchNorm eps = -1" },
    { function() nn.BatchNorm(3, { eps = 0 / 0 }) end, "eps must be a number > 0", "BatchNorm eps = NaN" },
    { function() nn.BatchNorm(3, { momentum = 2 }) end, "momentum must be", "BatchNorm momentum = 2" },
    { function() K.batchnorm(T { { 1 } }, nil, nil, nil, nil, true, 0.1, -1) end, "eps must be > 0", "kernels.batchnorm eps < 0" },
    { function() optim.SGD({ w }, { lr = -1 }) end, "'lr' must be in", "SGD lr = -1" },
    { function() optim.Adam({ w }, { lr = -1 }) end, "'lr' must be in", "Adam lr = -1" },
    { function() optim.Adam({ w }, { lr = 1 / 0 }) end, "finite", "Adam lr = inf" },
    { function() optim.Adam({ w }, { betas = { 1, 0.999 } }) end, "'beta1' must be in", "Adam beta1 = 1" },
    { function() optim.SGD({ w }, { lr = 0.1, weight_decay = -0.1 }) end, "weight_decay", "SGD weight decay < 0" },
    { function() optim.clip_grad_norm({ w }, 0) end, "max_norm must be", "clip_grad_norm 0" },
    { function() lpact.arange(0, 1e15) end, "one count", "arange(0, 1e15)" },
    { function() lpact.arange(2 ^ 24 + 1) end, "2%^24", "arange above 2^24" },
  } do
    t.like(errmsg(c[1]), c[2], c[3] .. " is refused")
  end
  local models, train, data = require "lpact.models", require "lpact.train", require "lpact.data"
  local blobs = data.blobs { n = 32, classes = 2, seed = 3 }
  for _, clip in ipairs { 0, -1, 0 / 0 } do
    t.like(errmsg(function() train.fit { model = models.mlp { 2, 2 }, data = blobs, clip = clip, verbose = false } end),
      "'clip' must be a number > 0", "fit clip = " .. tostring(clip) .. " is refused")
  end
  local empty = { train = { x = lpact.zeros { 0, 2 }, y = lpact.zeros { 0 } }, test = blobs.test }
  t.like(errmsg(function() train.fit { model = models.mlp { 2, 2 }, data = empty, verbose = false } end),
    "training set is empty", "an empty training set is refused (not a loss of 0)")
  local notest = { train = blobs.train, test = { x = lpact.zeros { 0, 2 }, y = lpact.zeros { 0 } } }
  t.like(errmsg(function() train.fit { model = models.mlp { 2, 2 }, data = notest, verbose = false } end),
    "test set is empty", "an empty test set is refused (not a NaN accuracy)")
end

t.done()
