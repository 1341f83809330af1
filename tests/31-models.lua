-- The model zoo: shapes, parameter counts worked out by hand, printing,
-- activation specs (name, module, factory), swapping, shape errors,
-- modes, buffers, seeded initialisation and hand-computed forwards.
local t = require "lpact.tap"
local nn = require "lpact.nn"
local models = require "lpact.models"
local ag = require "lpact.autograd"

local function shape(v) return table.concat((v.data or v):shape(), "x") end
local function count(m) return m:num_parameters() end

-- mlp 784-256-128-10: 784*256+256 + 256*128+128 + 128*10+10 = 235146
local mlp = models.mlp { 784, 256, 128, 10 }
t.is(count(mlp), 235146, "mlp{784,256,128,10} has 235,146 parameters")
t.is(shape(mlp:forward(lpact.zeros { 3, 1, 28, 28 })), "3x10", "mlp: (3,1,28,28) -> (3,10)")
local names = {}
for i, p in ipairs(mlp:parameters()) do names[i] = p.name end
t.is(table.concat(names, " "), "2.weight 2.bias 4.weight 4.bias 6.weight 6.bias", "parameter names are stable")

-- cnn_small: 16*1*9+16 = 160; 32*16*9+32 = 4640; 1568*128+128 = 200832; 128*10+10 = 1290
local cnn = models.cnn_small {}
t.is(count(cnn), 160 + 4640 + 200832 + 1290, "cnn_small has 206,922 parameters")
t.is(shape(cnn:forward(lpact.zeros { 2, 1, 28, 28 })), "2x10", "cnn_small: (2,1,28,28) -> (2,10)")

-- lenet5 on 28x28 (pad 2): 6*25+6 = 156; 16*6*25+16 = 2416; 400*120+120 = 48120;
-- 120*84+84 = 10164; 84*10+10 = 850
local lenet = models.lenet5 {}
t.is(count(lenet), 156 + 2416 + 48120 + 10164 + 850, "lenet5 has 61,706 parameters")
t.is(shape(lenet:forward(lpact.zeros { 2, 1, 28, 28 })), "2x10", "lenet5: 28x28 -> 10")
t.is(shape(models.lenet5 { in_channels = 3, size = 32 }:forward(lpact.zeros { 1, 3, 32, 32 })), "1x10", "lenet5 on 32x32x3")

local vgg = models.vgg_cifar { widths = { 8, 16 } }
t.is(shape(vgg:forward(lpact.zeros { 2, 3, 32, 32 })), "2x10", "vgg_cifar: (2,3,32,32) -> (2,10)")

-- resnet8: stem 3*16*9 + bn 32; stage 1: 2*(16*16*9 + 32); stage 2: 16*32*9 + 32*32*9 + 2*64
-- + shortcut 16*32 + 64; stage 3: 32*64*9 + 64*64*9 + 256 + 32*64 + 128; fc 64*10 + 10
local r8 = models.resnet { depth = 8 }
local want = 432 + 32 + 2 * (2304 + 32) + (4608 + 9216 + 128 + 512 + 64)
  + (18432 + 36864 + 256 + 2048 + 128) + 650
t.is(count(r8), want, "resnet8 parameter count (78,042) by hand")
t.is(shape(r8:forward(lpact.zeros { 2, 3, 32, 32 })), "2x10", "resnet8: (2,3,32,32) -> (2,10)")
local r20 = models.resnet { depth = 20 }
t.is(count(r20), 272474, "resnet20 has the paper's ~0.27M parameters (272,474)")
t.raises(function() models.resnet { depth = 9 } end, "6n%+2", "a bad resnet depth is refused")
t.is(#r8:buffers(), 2 * 9, "resnet8 has running mean and var for 9 BatchNorms")

-- Printing: layers, parameter counts, activation descriptions.
local s = tostring(models.mlp { 784, 256, 128, 10, act = "gelu" })
t.like(s, "^Sequential: mlp 784%-256%-128%-10", "print: header names the model")
t.like(s, "%(2%) Linear%(784 %-> 256%)%s+200,960 params", "print: a layer with its parameter count")
t.like(s, "%(3%) gelu fp32", "print: the activation and its format")
t.like(s, "235,146 parameters$", "print: the total")
t.like(tostring(r8), "%(body%) Sequential", "print: nested containers are shown")

-- Activation specs: a name, {name, alpha}, a module (copied), a factory (called per site).
local leaky = models.mlp { 4, 3, 2, act = { "leaky_relu", 0.2 } }
t.is(leaky:get(3):describe(), "leaky_relu(0.2) fp32", "{name, alpha} spec")
local proto = nn.Activation "tanh"
local m2 = models.mlp { 4, 3, 3, 2, act = proto }
t.ok(m2:get(3) ~= proto and m2:get(3) ~= m2:get(5) and m2:get(5).name == "tanh", "a module spec is copied per site")
local calls = 0
local m3 = models.mlp { 4, 3, 3, 2, act = function() calls = calls + 1; return nn.Activation "silu" end }
t.is(calls, 2, "a factory is called once per activation site")
t.is(m3:get(5).name, "silu", "the factory's module is used")
t.raises(function() models.mlp { 4, 3, 2, act = "nosuch" } end, "unknown activation 'nosuch'", "unknown activation named")
t.raises(function() nn.act(function() return 1 end) end, "not a module", "a factory must return a module")

-- A custom activation module (as a quantized activation would be) plugs in.
local Twice = nn.class("Twice")
Twice.is_activation = true
function Twice:describe() return "twice (custom)" end
function Twice:forward(x) return ag.scale(x, 2) end
local m4 = models.mlp { 2, 2, 2, act = Twice }
t.like(tostring(m4), "twice %(custom%)", "a custom activation is described in the listing")

-- swap_activations replaces every activation site, FP32 or custom.
local sw = models.cnn_small {}
t.is(nn.swap_activations(sw, "tanh"), 3, "cnn_small has 3 activation sites")
t.like(tostring(sw), "tanh fp32", "swapped to tanh")
t.ok(not tostring(sw):find("relu"), "no relu left")
t.is(nn.swap_activations(sw, Twice), 3, "swap to a custom module factory")
t.is(nn.swap_activations(sw, "relu"), 3, "and back: custom sites count as activations")
local rs = models.resnet { depth = 8 }
t.is(nn.swap_activations(rs, "gelu"), 1 + 3 * 2, "resnet8: stem + two per block, inside Residuals too")

-- Shape errors name the layer, the expected and the actual shape.
t.raises(function() mlp:forward(lpact.zeros { 2, 100 }) end,
  "layer 2 %(Linear%(784 %-> 256%)%): expected input of shape %(N, 784%), got %(2, 100%)", "Linear shape error")
t.raises(function() cnn:forward(lpact.zeros { 2, 3, 28, 28 }) end,
  "layer 1 %(Conv2d%(1 %-> 16, 3x3, pad 1%)%): expected input of shape %(N, 1, H, W%)", "Conv2d channel error")
t.raises(function() nn.BatchNorm(4):forward(lpact.zeros { 2, 3 }) end, "BatchNorm%(4%)", "BatchNorm shape error")
t.raises(function() nn.Residual(nn.Linear(3, 4)):forward(lpact.zeros { 2, 3 }) end,
  "body gives %(2, 4%) but the shortcut gives %(2, 3%)", "Residual mismatch")
t.raises(function() nn.Sequential { nn.Linear(2, 2), 5 } end, "not a module", "a non-module child is refused")

-- Modes.
local d = models.mlp { 4, 4, 2, dropout = 0.5 }
d:eval()
t.ok(not d.training and not d:get(4).training, "eval() reaches every child")
d:train()
t.ok(d:get(4).training, "train() reaches every child")

-- Seeded initialisation: same seed same weights, another seed others; torch-style bounds.
local a, b, c = nn.Linear(50, 40, { seed = 7 }), nn.Linear(50, 40, { seed = 7 }), nn.Linear(50, 40, { seed = 8 })
t.is(shape(a.weight), "40x50", "Linear weight is (out, in)")
local wa, wb, wc = a.weight.data, b.weight.data, c.weight.data
t.ok(wa:get(3, 7) == wb:get(3, 7) and wa:get(40, 50) == wb:get(40, 50), "same seed, same weights")
t.ok(wa:get(3, 7) ~= wc:get(3, 7), "another seed, other weights")
local bound = 1 / math.sqrt(50)
t.ok(wa:max() <= bound and wa:min() >= -bound and wa:max() > 0.9 * bound, "default init is U(-1/sqrt(in), 1/sqrt(in))")
local k = nn.Linear(200, 100, { seed = 1, init = "kaiming" })
local sd = math.sqrt((k.weight.data * k.weight.data):mean())
t.near(sd, math.sqrt(2 / 200), 0.01, "kaiming: std sqrt(2/fan_in)")
t.is(k.bias.data:max(), 0, "kaiming: bias 0")
local xv = nn.Linear(30, 70, { seed = 1, init = "xavier" })
t.ok(xv.weight.data:max() <= math.sqrt(6 / 100), "xavier: within sqrt(6/(in+out))")
nn.manual_seed(5); local u1 = nn.Linear(3, 3)
nn.manual_seed(5); local u2 = nn.Linear(3, 3)
t.is(u1.weight.data:get(2, 2), u2.weight.data:get(2, 2), "manual_seed makes unseeded layers repeat")
t.is(models.mlp { 4, 3, 2, seed = 3 }:get(2).weight.data:get(1, 1), models.mlp { 4, 3, 2, seed = 3 }:get(2).weight.data:get(1, 1), "model seed repeats")

-- A forward by hand: W = [[1, 2], [3, 4], [-1, 0]], b = (0.5, -1, 2), x = (1, -1)
local lin = nn.Linear(2, 3)
lin.weight.data:copy(lpact.tensor { { 1, 2 }, { 3, 4 }, { -1, 0 } })
lin.bias.data:copy(lpact.tensor { 0.5, -1, 2 })
local y = lin:forward(lpact.tensor { { 1, -1 } }).data
t.same(y:totable(), { { -0.5, -2, 1 } }, "Linear forward by hand")
local seq = nn.Sequential { lin, nn.Activation "relu" }
t.same(seq:forward(lpact.tensor { { 1, -1 } }).data:totable(), { { 0, 0, 1 } }, "Sequential + relu by hand")
-- Conv2d by hand: a 2x2 all-ones kernel, bias 1, over [[1,2,3],[4,5,6],[7,8,9]] -> [[13,17],[25,29]]
local cv = nn.Conv2d(1, 1, 2)
cv.weight.data:fill(1)
cv.bias.data:fill(1)
local img = lpact.tensor { { { { 1, 2, 3 }, { 4, 5, 6 }, { 7, 8, 9 } } } }
t.same(cv:forward(img).data:totable(), { { { { 13, 17 }, { 25, 29 } } } }, "Conv2d forward by hand")
t.same(nn.MaxPool2d(2, 1):forward(img).data:totable(), { { { { 5, 6 }, { 8, 9 } } } }, "MaxPool2d(2, stride 1) by hand")
t.same(nn.GlobalAvgPool():forward(img).data:totable(), { { 5 } }, "GlobalAvgPool by hand")

-- Every zoo model trains: two SGD steps on one fixed batch lower its loss.
for _, case in ipairs {
  { "mlp", models.mlp { 784, 32, 10 }, { 4, 1, 28, 28 } },
  { "cnn_small", models.cnn_small {}, { 4, 1, 28, 28 } },
  { "lenet5", models.lenet5 {}, { 4, 1, 28, 28 } },
  { "vgg_cifar", models.vgg_cifar { widths = { 4, 8 } }, { 4, 3, 32, 32 } },
  { "resnet8", models.resnet { depth = 8, width = 4 }, { 4, 3, 32, 32 } },
} do
  local name, model, shp = case[1], case[2], case[3]
  local x, y = lpact.rand(shp, 5), lpact.tensor { 0, 1, 2, 3 }
  local opt = require("lpact.optim").SGD(model:parameters(), { lr = 0.01 })
  local losses = {}
  for i = 1, 3 do
    opt:zero_grad()
    local l = ag.cross_entropy(model:forward(x), y)
    losses[i] = l.data:item()
    if i < 3 then l:backward(); opt:step() end
  end
  t.ok(losses[3] < losses[1], string.format("%s: loss %.4f -> %.4f after two steps", name, losses[1], losses[3]))
end

-- summary: the output shape of every layer, for one input shape.
local sum = models.cnn_small {}:summary { 1, 28, 28 }
t.like(sum, "%(3%) MaxPool2d%(2, stride 2%)%s+%(N, 16, 14, 14%)", "summary: shape after the first pool")
t.like(sum, "%(7%) Flatten%s+%(N, 1568%)", "summary: flattened features")
t.like(sum, "^Sequential: cnn_small%s+%(N, 10%)", "summary: the model's output")
local r8s = models.resnet { depth = 8 }
local rsum = r8s:summary { 3, 32, 32 }
t.like(rsum, "%(shortcut%) Sequential%s+%(N, 32, 16, 16%)", "summary: nested shortcut shapes")
t.ok(r8s.training and rawget(r8s:get(1), "forward") == nil, "summary restores the mode and the methods")
do
  local lin = nn.Linear(3, 3)
  local sh = nn.Sequential { lin, nn.Activation "tanh", lin }
  sh:summary { 3 }
  t.ok(rawget(lin, "forward") == nil, "summary unwraps a shared layer")
end
t.raises(function() models.mlp { 784, 10 }:summary { 3, 3 } end, "expected input of shape", "summary of a wrong shape names the layer")

-- clone: an independent copy.
local cl = lin:clone()
cl.weight.data:fill(0)
t.is(lin.weight.data:get(1, 1), 1, "clone copies parameters")
t.done()
