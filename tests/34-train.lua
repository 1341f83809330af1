-- The training loop: a tiny model learns synthetic sets, runs repeat bit
-- for bit, evaluate() against values worked out by hand, NaN/inf losses
-- stop with the epoch and batch named, Ctrl-C stops after the batch, the
-- schedule drives the learning rate, and the output modes.
local t = require "lpact.tap"
local nn = require "lpact.nn"
local models = require "lpact.models"
local optim = require "lpact.optim"
local train = require "lpact.train"
local data = require "lpact.data"
local S = require "lpact.schedule"
local B = os.getenv("LPACT_BUILD") or "build"

-- Blobs: 3 well-separated Gaussian clusters; a small MLP reaches >= 95%.
local blobs = data.blobs { n = 600, classes = 3, seed = 1, spread = 0.7 }
local m = models.mlp { 2, 16, 3, act = "relu", seed = 1 }
local h = train.fit { model = m, data = blobs, epochs = 8, batch = 32, seed = 1, verbose = false,
  optimizer = optim.Adam(m:parameters(), { lr = 0.02 }) }
t.ok(h.test_acc >= 0.95, string.format("blobs: test accuracy %.3f >= 0.95", h.test_acc))
t.is(#h.epochs, 8, "one history record per epoch")
t.ok(h.epochs[8].train_loss < h.epochs[1].train_loss, "the training loss falls")
t.is(#h.losses, 8 * 19, "one loss per batch (600/32 -> 19 batches)")

-- Spirals: 3 interleaved arms need a non-linear boundary; >= 90%.
local spirals = data.spirals { n = 900, classes = 3, seed = 2, noise = 0.1 }
local sm = models.mlp { 2, 64, 64, 3, act = "tanh", seed = 2 }
local sh = train.fit { model = sm, data = spirals, epochs = 60, batch = 64, seed = 2, verbose = false,
  optimizer = optim.Adam(sm:parameters(), { lr = 0.01 }) }
t.ok(sh.test_acc >= 0.9, string.format("spirals: test accuracy %.3f >= 0.90", sh.test_acc))

-- Determinism: the same seed gives the same loss curve, bit for bit.
local function curve(seed, dropout)
  local mm = models.mlp { 2, 32, 32, 3, act = "relu", seed = seed, dropout = dropout }
  local hh = train.fit { model = mm, data = spirals, epochs = 2, batch = 50, seed = seed, verbose = false,
    optimizer = optim.SGD(mm:parameters(), { lr = 0.1, momentum = 0.9, nesterov = true }) }
  return hh.losses
end
local c1, c2, c3 = curve(5, 0.2), curve(5, 0.2), curve(6, 0.2)
local same = #c1 == #c2 and #c1 > 0
for i = 1, #c1 do same = same and string.format("%a", c1[i]) == string.format("%a", c2[i]) end
t.ok(same, string.format("same seed, identical loss curve bit for bit (%d steps, with dropout)", #c1))
t.ok(c1[#c1] ~= c3[#c3], "another seed, another curve")

-- The thread count does not change the curve either (cnn_small, 3 Adam steps).
do
  local script = os.tmpname()
  local f = io.open(script, "w")
  f:write([[
local ag = require "lpact.autograd"
local m = lpact.models.cnn_small { seed = 3 }
local opt = lpact.optim.Adam(m:parameters(), { lr = 1e-3 })
local x, y = lpact.rand({ 64, 1, 28, 28 }, 1), lpact.rand({ 64 }, 2) * 10
y = y:floor()
for _ = 1, 3 do
  opt:zero_grad()
  local l = ag.cross_entropy(m:forward(x), y)
  l:backward(); opt:step()
  io.write(string.format("%a ", l.data:item()))
end
]])
  f:close()
  local function curve_with(threads)
    local p = io.popen("LPACT_THREADS=" .. threads .. " " .. B .. "/lpact " .. script .. " 2>&1")
    local o = p:read("a"); p:close()
    return o
  end
  local c1t, c2t = curve_with(1), curve_with(2)
  t.ok(c1t:match("^0x") and c1t == c2t, "1 and 2 threads give the same cnn_small loss curve bit for bit: " .. c1t)
  os.remove(script)
end

-- evaluate() by hand: identity weights, logits = x; labels all 0.
-- Rows (2,0), (0,1), (3,1): predictions 0, 1, 0 -> accuracy 2/3;
-- losses log(1+e^-2), log(1+e), log(1+e^-2).
local lin = nn.Linear(2, 2)
lin.weight.data:copy(lpact.tensor { { 1, 0 }, { 0, 1 } })
lin.bias.data:zero()
local set = { x = lpact.tensor { { 2, 0 }, { 0, 1 }, { 3, 1 } }, y = lpact.tensor { 0, 0, 0 } }
local acc, loss = train.evaluate(lin, set, { batch = 2 })
t.near(acc, 2 / 3, 1e-12, "evaluate: accuracy by hand")
t.near(loss, (2 * math.log(1 + math.exp(-2)) + math.log(1 + math.exp(1))) / 3, 1e-6, "evaluate: mean loss by hand")
t.ok(lin.training, "evaluate restores training mode")

-- A NaN/inf loss stops training, naming the epoch and the batch.
local bad = { train = { x = lpact.tensor { { 1, 2 }, { 3, 4 }, { 1 / 0, 0 }, { 1, 1 } }, y = lpact.tensor { 0, 1, 0, 1 } } }
local ok, err = pcall(train.fit, { model = models.mlp { 2, 4, 2 }, data = bad, epochs = 1, batch = 2,
  shuffle = false, verbose = false })
t.ok(not ok and lpact.is_failure(err), "an inf input stops training with lpact.fail")
t.like(ok and "" or tostring(err.msg), "^loss is %-?nan at epoch 1, batch 2", "the message names epoch 1, batch 2")
t.is(not ok and err.exit, 1, "exit status 1 (a failed run)")

-- Ctrl-C: a SIGINT during batch 3 stops training after batch 3.
local im = models.mlp { 2, 8, 3 }
local ih = train.fit { model = im, data = blobs, epochs = 3, batch = 10, verbose = false,
  on_batch = function(info)
    -- the shell's parent is this process (os.execute's system() would ignore SIGINT)
    if info.batch == 3 then local k = io.popen("kill -INT $PPID"); k:read("a"); k:close() end
  end }
t.ok(ih.interrupted, "SIGINT stops training")
t.is(#ih.losses, 3, "after the current batch")
t.is(#ih.epochs, 1, "the epoch in progress is recorded")
t.is(lpact.engine.catch_interrupt(false), false, "the previous Ctrl-C setting is restored")

t.raises(function() train.fit { model = models.mlp { 2, 3 }, data = blobs, batch = 0 } end, "'batch' must be an integer >= 1", "a bad batch size is refused")
t.raises(function() train.fit { model = models.mlp { 2, 3 }, data = {} } end, "'data' must be a data set", "missing data is refused")
t.raises(function() train.fit { data = blobs } end, "'model' %(a module%) is required", "a missing model is refused")

-- Callbacks: returning false from on_epoch stops.
local cnt = 0
train.fit { model = models.mlp { 2, 4, 3 }, data = blobs, epochs = 5, batch = 100, verbose = false,
  on_epoch = function() cnt = cnt + 1; return cnt < 2 end }
t.is(cnt, 2, "on_epoch returning false stops training")

-- Schedules set the optimizer's learning rate: per epoch and per step.
local sm2 = models.mlp { 2, 4, 3 }
local so = optim.SGD(sm2:parameters(), { lr = 1 })
local shh = train.fit { model = sm2, data = blobs, epochs = 3, batch = 200, verbose = false, optimizer = so,
  schedule = S.step { lr = 0.1, every = 1, gamma = 0.5 } }
t.near(shh.epochs[1].lr, 0.1, 1e-15, "epoch schedule: epoch 1 at t=0")
t.near(shh.epochs[3].lr, 0.025, 1e-15, "epoch schedule: epoch 3 at t=2")
local lrs = {}
train.fit { model = sm2, data = blobs, epochs = 1, batch = 200, verbose = false, optimizer = so,
  schedule = S.linear { from = 0.3, to = 0, steps = 3, per = "step" },
  on_batch = function(info) lrs[#lrs + 1] = info.optimizer.lr end }
t.same(lrs, { 0.3, 0.2, 0.1 }, "step schedule: one value per batch")

-- Gradient clipping runs inside the loop.
local cm = models.mlp { 2, 4, 3 }
local co = optim.SGD(cm:parameters(), { lr = 0.1 })
local norms = {}
train.fit { model = cm, data = blobs, epochs = 1, batch = 600, verbose = false, optimizer = co, clip = 1e-3,
  on_batch = function() norms[#norms + 1] = optim.grad_norm(cm:parameters()) end }
t.ok(norms[1] <= 1e-3 * (1 + 1e-5), "clip: the gradient norm is at most the limit when the step is taken")

-- Output: plain lines when stdout is not a terminal; a \r live line when forced.
local script = os.tmpname()
local f = io.open(script, "w")
f:write([[
local ds = lpact.data.blobs { n = 200, seed = 1 }
lpact.train.fit { model = lpact.models.mlp { 2, 8, 3 }, data = ds, epochs = 2, batch = 50,
  progress = arg[1] == "live" }
]])
f:close()
local p = io.popen(B .. "/lpact " .. script .. " 2>&1")
local out = p:read("a"); p:close()
t.like(out, "^epoch 1/2  loss %d+%.%d+  train %d+%.%d+%%  test %d+%.%d+%%  %d+%.%ds  %(%d+ ex/s%)\nepoch 2/2", "plain epoch lines")
t.ok(not out:find("\r"), "no carriage returns when not a terminal")
p = io.popen(B .. "/lpact " .. script .. " live 2>&1")
out = p:read("a"); p:close()
t.like(out, "\repoch 1/2  batch %d/4  loss %d+%.%d+  acc %d+%.%d+%%  %d+ ex/s  ETA %d+:%d%d", "live line: batch, loss, accuracy, rate, ETA")
os.remove(script)
t.done()
