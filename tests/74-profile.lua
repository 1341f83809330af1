-- lpact.profile: the shares of a training per kernel family, and the
-- functions it wraps put back afterwards. Counts are worked out from the
-- model: an MLP of L linear layers trained for B batches calls the linear
-- kernel L*B times forward and L*B times backward, Adam's kernel once per
-- parameter tensor per step, and the batch iterator B + 1 times.
local t = require "lpact.tap"
local profile = require "lpact.profile"
local K = lpact.kernels

local ds = lpact.data.builtin { n = 96, test = 32 }
local m = lpact.models.mlp { 784, 16, 10 }           -- 2 linear layers, 4 parameter tensors
local opt = lpact.optim.Adam(m:parameters(), { lr = 1e-3 })
local linear, tmt = K.linear, getmetatable(lpact.zeros { 1 })
local add, batches = tmt.__add, lpact.data.batches

local p = profile.start { optimizer = opt }
t.ok(K.linear ~= linear, "start wraps the kernels")
t.raises(function() profile.start() end, "already running", "a second profile while one runs is refused")
lpact.train.fit { model = m, data = ds, optimizer = opt, epochs = 1, batch = 32, eval = false, verbose = false }
local shares = p:stop()

local by, sum = {}, 0
for _, r in ipairs(shares) do
  by[r.family] = r
  sum = sum + r.share
  t.ok(r.seconds >= 0 and r.share >= 0 and r.share <= 1, r.family .. ": time and share in range")
end
t.is(#shares, #profile.FAMILIES, "one row per family")
t.near(sum, 1, 1e-9, "the shares add up to the whole")
t.is(by.gemm.calls, 2 * 3 * 2, "gemm: 2 layers x 3 batches, forward and backward")
t.is(by.conv.calls, 0, "conv: no convolution in an MLP")
t.is(by.data.calls, 3 + 1, "data: 3 batches and the iterator's end")
t.ok(by.optimizer.calls >= 3 * 4, "optimizer: at least one Adam kernel call per parameter tensor per step")
t.ok(by.gemm.seconds > 0, "gemm took time")
t.is(K.linear, linear, "stop puts the kernels back")
t.is(tmt.__add, add, "and the tensor arithmetic")
t.is(lpact.data.batches, batches, "and the batch iterator")
t.is(rawget(opt, "step"), nil, "and the optimizer's own step")
local text = profile.format(shares)
t.like(text, "\ngemm%s+[%d.]+%s+12%s+[%d.]+%%", "format: a line per family with seconds, calls and share")

-- every kernel belongs to a family (a new one left out would be "other")
local listed, missing = {}, {}
for _, f in ipairs(profile.FAMILIES) do for _, k in ipairs(f.kernels) do listed[k] = true end end
for k, v in pairs(K) do if type(v) == "function" and not listed[k] then missing[#missing + 1] = k end end
table.sort(missing)
t.is(table.concat(missing, " "), "", "every function of lpact.kernels is in a family")

do -- cnn_small: each Conv2d + ReLU + MaxPool2d runs as one call, counted as conv
  local cnn = lpact.models.cnn_small { seed = 1 }
  local x = lpact.autograd.var(lpact.randn({ 2, 1, 28, 28 }, 1), true)
  local q = profile.start()
  local loss = lpact.autograd.cross_entropy(cnn:forward(x), lpact.tensor { 1, 2 })
  loss:backward()
  local s = {}
  for _, r in ipairs(q:stop()) do s[r.family] = r end
  -- forward: 2 fused calls; backward: 2 conv2d_backward
  t.is(s.conv.calls, 4, "cnn_small step: 2 fused convolutions forward and 2 backward, in conv")
end

-- lpact bench train --profile prints the table for both models
local exe = (os.getenv("LPACT_BUILD") or "build") .. "/lpact"
local out, code = t.run(exe .. " bench train 4 --profile --threads 1")
t.is(code, 0, "bench train --profile exits 0")
t.like(out, "where an epoch's time goes: cnn_small %(1 threads%)\nfamily", "and prints the cnn_small profile")
t.like(out, "\nconv%s+[%d.]+%s+%d+%s+[%d.]+%%", "with a conv line")
out, code = t.run(exe .. " bench train --bogus")
t.ok(code ~= 0 and out:match("^lpact: bench train: unknown option '%-%-bogus'"), "a bad option: one error line")
t.done()
