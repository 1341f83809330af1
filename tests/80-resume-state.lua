-- A training whose state a checkpoint does not hold (stochastic-rounding
-- counters, delayed-amax histories) is never resumed from a checkpoint:
-- stopped after epoch 1 and run again, it gives the bits of a run that was
-- never stopped. A model without such state resumes as before.
local t = require "lpact.tap"
local models = require "lpact.models"
local optim = require "lpact.optim"
local train = require "lpact.train"
local data = require "lpact.data"

local set = data.blobs { n = 240, classes = 3, seed = 4, spread = 0.8 }

local function run(act, epochs, ck)
  local m = models.mlp { 2, 16, 3, act = act(), seed = 7 }
  local h = train.fit { model = m, data = set, epochs = epochs, batch = 32, seed = 7, verbose = false,
    checkpoint = ck, optimizer = optim.Adam(m:parameters(), { lr = 0.02 }) }
  local bits = {}
  for _, p in ipairs(m:parameters()) do
    for _, v in ipairs(p.var.data:reshape { p.var.data:numel() }:totable()) do bits[#bits + 1] = string.format("%a", v) end
  end
  return table.concat(bits, " "), h
end

local cases = {
  { "input stochastic rounding", function() return lpact.qact { "relu", fmt = "fp4", sr = true } end, true },
  { "output stochastic rounding", function() return lpact.qact { "tanh", in_fmt = "fp8", out_fmt = "e2m1:sr" } end, true },
  { "gradient stochastic rounding", function() return lpact.qact { "relu", fmt = "fp4", grad_fmt = "e5m2:sr" } end, true },
  { "round to nearest (resumable)", function() return lpact.qact { "relu", fmt = "fp4" } end, false },
}
for _, c in ipairs(cases) do
  local name, act, blocked = c[1], c[2], c[3]
  local ckpath = os.tmpname()
  os.remove(ckpath)
  local whole = run(act, 2)
  local _, h1 = run(act, 1, { path = ckpath, key = "k" })
  local f = io.open(ckpath, "rb")
  t.is(f ~= nil, not blocked, name .. ": a checkpoint is written only when it holds the whole state")
  if f then f:close() end
  local again, h2 = run(act, 2, { path = ckpath, key = "k" })
  t.is(#h1.epochs, 1, name .. ": the first run trained one epoch")
  t.is(h2.resumed_from, (not blocked) and 1 or nil, name .. (blocked and ": not resumed" or ": resumed after epoch 1"))
  t.ok(again == whole, name .. ": stopped after epoch 1 and run again, the weights are the uninterrupted run's bits")
  os.remove(ckpath)
end

t.is(train.unresumable(models.mlp { 2, 4, 3, act = lpact.qact { "relu", fmt = "fp4", scale = { "amax", history = 2, init = 1 } } }) ~= nil,
  true, "a delayed-amax history blocks resuming")
t.done()
