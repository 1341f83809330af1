-- Save and reload every model of the zoo (parameters and BatchNorm running
-- statistics) through lpact.checkpoint: a model built with another seed
-- and loaded from the file gives bit-identical outputs, in training and in
-- eval mode, and the optimizer state comes back with it.
local t = require "lpact.tap"
local models = require "lpact.models"
local optim = require "lpact.optim"
local ag = require "lpact.autograd"
local ck = lpact.checkpoint

local function same(a, b)
  local x, y = a:reshape { a:numel() }:totable(), b:reshape { b:numel() }:totable()
  if #x ~= #y then return false end
  for i = 1, #x do if x[i] ~= y[i] then return false end end
  return true
end

local cases = {
  { "mlp", function(s) return models.mlp { 784, 32, 10, seed = s } end, { 4, 1, 28, 28 } },
  { "cnn_small", function(s) return models.cnn_small { seed = s } end, { 4, 1, 28, 28 } },
  { "lenet5", function(s) return models.lenet5 { seed = s } end, { 4, 1, 28, 28 } },
  { "vgg_cifar", function(s) return models.vgg_cifar { widths = { 4, 8 }, seed = s } end, { 4, 3, 32, 32 } },
  { "resnet8", function(s) return models.resnet { depth = 8, width = 4, seed = s } end, { 4, 3, 32, 32 } },
}
for _, c in ipairs(cases) do
  local name, build, shp = c[1], c[2], c[3]
  local a = build(1)
  local x, y = lpact.rand(shp, 3), lpact.tensor { 0, 1, 2, 3 }
  local opt = optim.Adam(a:parameters(), { lr = 0.01 })
  -- two steps so that the weights, the running statistics and Adam's moments all move
  for _ = 1, 2 do
    opt:zero_grad()
    ag.cross_entropy(a:forward(x), y):backward()
    opt:step()
  end
  local path = os.tmpname()
  ck.save(path, a, opt, { epoch = 2 })
  local b = build(2)
  local opt2 = optim.Adam(b:parameters(), { lr = 0.5 })
  a:eval(); b:eval() -- (a training-mode forward would move the running statistics)
  t.ok(not same(a:forward(x).data, b:forward(x).data), name .. ": another seed gives another model")
  local meta = ck.load(path, b, opt2)
  t.is(meta and meta.epoch, 2, name .. ": meta comes back")
  t.ok(same(a:forward(x).data, b:forward(x).data), name .. ": reloaded model, identical outputs in eval mode")
  a:train(); b:train()
  -- one more identical step on each: same loss, same weights afterwards
  local la, lb
  opt:zero_grad(); la = ag.cross_entropy(a:forward(x), y); la:backward(); opt:step()
  opt2:zero_grad(); lb = ag.cross_entropy(b:forward(x), y); lb:backward(); opt2:step()
  t.is(lb.data:item(), la.data:item(), name .. ": the next training step gives the same loss")
  local pa, pb = a:parameters(), b:parameters()
  local all = true
  for i = 1, #pa do all = all and same(pa[i].var.data, pb[i].var.data) end
  t.ok(all, name .. ": and the same weights after it (optimizer state restored)")
  os.remove(path)
end
t.done()
