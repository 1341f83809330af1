--- lpact.models — the model zoo. Every constructor takes a table of
-- options with `act=` (an activation spec: a name, a Module or a factory;
-- see lpact.nn.act) and `seed=` (the initialisation seed; default 1), and
-- returns an nn.Sequential.
--
--     local m = lpact.models.mlp{784, 256, 128, 10, act = "relu", seed = 1}
--     local c = lpact.models.cnn_small{act = lpact.qact{fn = "relu", fmt = "fp4"}}
--     local r = lpact.models.resnet{depth = 20, act = "relu"}

local nn = require "lpact.nn"

local models = {}

-- The options each constructor reads; any other name is an error.
local KNOWN = {
  mlp = { "act", "seed", "dropout", "init" },
  cnn_small = { "act", "seed", "init", "in_channels", "size", "classes" },
  lenet5 = { "act", "seed", "init", "in_channels", "size", "classes" },
  vgg_cifar = { "act", "seed", "init", "in_channels", "size", "classes", "widths", "bn", "dropout" },
  resnet = { "act", "seed", "init", "in_channels", "classes", "depth", "width" },
}

local function opts(o, name)
  if o ~= nil and type(o) ~= "table" then
    lpact.fail("model options expected (a table), got " .. type(o))
  end
  return lpact.check_options(o or {}, KNOWN[name], name, { activation = "act", channels = "in_channels" })
end

--- mlp{784, 256, 128, 10, act = "relu", seed = 1, dropout = 0, init = "torch"}:
-- Flatten, then Linear layers of these widths with an activation between
-- each pair (none after the last). Accepts (N, ...) inputs.
function models.mlp(o)
  o = opts(o, "mlp")
  local sizes = {}
  for i, v in ipairs(o) do sizes[i] = v end
  if #sizes == 0 then sizes = { 784, 256, 128, 10 } end
  if #sizes < 2 then lpact.fail("mlp needs at least two sizes, e.g. mlp{784, 10}") end
  for i, v in ipairs(sizes) do
    if math.type(v) ~= "integer" or v <= 0 then
      lpact.fail(string.format("mlp: size %d must be a positive integer, got %s", i, tostring(v)))
    end
  end
  return nn.seeded(o.seed or 1, function()
    local layers = { nn.Flatten(); name = "mlp " .. table.concat(sizes, "-") }
    for i = 1, #sizes - 1 do
      layers[#layers + 1] = nn.Linear(sizes[i], sizes[i + 1], { init = o.init })
      if i < #sizes - 1 then
        layers[#layers + 1] = nn.act(o.act)
        if o.dropout and o.dropout > 0 then layers[#layers + 1] = nn.Dropout(o.dropout) end
      end
    end
    return nn.Sequential(layers)
  end)
end

--- cnn_small{act=, seed=, in_channels = 1, size = 28, classes = 10}: the
-- project's standard Fashion-MNIST CNN: conv3x3(16, pad 1) act maxpool2,
-- conv3x3(32, pad 1) act maxpool2, flatten, fc 128, act, fc 10.
function models.cnn_small(o)
  o = opts(o, "cnn_small")
  local cin, size, classes = o.in_channels or 1, o.size or 28, o.classes or 10
  local s = size // 4
  return nn.seeded(o.seed or 1, function()
    return nn.Sequential {
      nn.Conv2d(cin, 16, 3, { pad = 1, init = o.init }), nn.act(o.act), nn.MaxPool2d(2),
      nn.Conv2d(16, 32, 3, { pad = 1, init = o.init }), nn.act(o.act), nn.MaxPool2d(2),
      nn.Flatten(),
      nn.Linear(32 * s * s, 128, { init = o.init }), nn.act(o.act),
      nn.Linear(128, classes, { init = o.init }),
      name = "cnn_small",
    }
  end)
end

--- lenet5{act=, seed=, in_channels = 1, size = 28, classes = 10}: LeNet-5
-- (conv5x5 6, pool, conv5x5 16, pool, fc 120, fc 84, fc 10); 28x28 inputs
-- are padded by 2 in the first convolution so that 400 features reach fc 120.
function models.lenet5(o)
  o = opts(o, "lenet5")
  local cin, size, classes = o.in_channels or 1, o.size or 28, o.classes or 10
  local pad = size == 28 and 2 or 0
  local s = ((size + 2 * pad - 4) // 2 - 4) // 2
  return nn.seeded(o.seed or 1, function()
    return nn.Sequential {
      nn.Conv2d(cin, 6, 5, { pad = pad, init = o.init }), nn.act(o.act), nn.MaxPool2d(2),
      nn.Conv2d(6, 16, 5, { init = o.init }), nn.act(o.act), nn.MaxPool2d(2),
      nn.Flatten(),
      nn.Linear(16 * s * s, 120, { init = o.init }), nn.act(o.act),
      nn.Linear(120, 84, { init = o.init }), nn.act(o.act),
      nn.Linear(84, classes, { init = o.init }),
      name = "lenet5",
    }
  end)
end

--- vgg_cifar{act=, seed=, widths = {32, 64, 128}, bn = true, dropout = 0,
-- in_channels = 3, size = 32, classes = 10}: a small VGG-style net: per
-- width two conv3x3 (pad 1) [BatchNorm] act blocks then maxpool2; then
-- flatten, fc 128, act, [dropout], fc classes.
function models.vgg_cifar(o)
  o = opts(o, "vgg_cifar")
  local widths = o.widths or { 32, 64, 128 }
  local cin, size, classes = o.in_channels or 3, o.size or 32, o.classes or 10
  local bn = o.bn ~= false
  return nn.seeded(o.seed or 1, function()
    local layers = { name = "vgg_cifar " .. table.concat(widths, "-") }
    local c = cin
    for _, w in ipairs(widths) do
      for _ = 1, 2 do
        layers[#layers + 1] = nn.Conv2d(c, w, 3, { pad = 1, init = o.init or "kaiming", bias = not bn })
        if bn then layers[#layers + 1] = nn.BatchNorm(w) end
        layers[#layers + 1] = nn.act(o.act)
        c = w
      end
      layers[#layers + 1] = nn.MaxPool2d(2)
      size = size // 2
    end
    layers[#layers + 1] = nn.Flatten()
    layers[#layers + 1] = nn.Linear(c * size * size, 128, { init = o.init })
    layers[#layers + 1] = nn.act(o.act)
    if o.dropout and o.dropout > 0 then layers[#layers + 1] = nn.Dropout(o.dropout) end
    layers[#layers + 1] = nn.Linear(128, classes, { init = o.init })
    return nn.Sequential(layers)
  end)
end

-- A basic residual block: conv3x3-BN-act-conv3x3-BN plus the shortcut
-- (a 1x1 strided conv + BN when the shape changes), then act.
local function basic_block(cin, cout, stride, act)
  local body = nn.Sequential {
    nn.Conv2d(cin, cout, 3, { stride = stride, pad = 1, bias = false, init = "kaiming" }),
    nn.BatchNorm(cout), nn.act(act),
    nn.Conv2d(cout, cout, 3, { pad = 1, bias = false, init = "kaiming" }),
    nn.BatchNorm(cout),
  }
  local shortcut
  if stride ~= 1 or cin ~= cout then
    shortcut = nn.Sequential {
      nn.Conv2d(cin, cout, 1, { stride = stride, bias = false, init = "kaiming" }),
      nn.BatchNorm(cout),
    }
  end
  return nn.Residual(body, shortcut), nn.act(act)
end

--- resnet{depth = 20, act=, seed=, width = 16, in_channels = 3, classes = 10}:
-- the CIFAR ResNet of He et al. (2016): conv3x3 16, three stages of
-- (depth-2)/6 basic blocks at widths 16, 32, 64 (stride 2 between stages,
-- projection shortcuts), global average pool, fc. depth = 8, 14, 20, 32, ...
function models.resnet(o)
  o = opts(o, "resnet")
  local depth = o.depth or 20
  if math.type(depth) ~= "integer" or depth < 8 or (depth - 2) % 6 ~= 0 then
    lpact.fail(string.format("resnet depth must be 6n+2 (8, 14, 20, 32, ...), got %s", tostring(depth)))
  end
  local n = (depth - 2) // 6
  local w = o.width or 16
  local cin, classes = o.in_channels or 3, o.classes or 10
  return nn.seeded(o.seed or 1, function()
    local layers = {
      nn.Conv2d(cin, w, 3, { pad = 1, bias = false, init = "kaiming" }), nn.BatchNorm(w), nn.act(o.act),
      name = "resnet" .. depth,
    }
    local c = w
    for stage = 1, 3 do
      local cout = w << (stage - 1)
      for b = 1, n do
        local stride = (stage > 1 and b == 1) and 2 or 1
        local block, post = basic_block(c, cout, stride, o.act)
        layers[#layers + 1] = block
        layers[#layers + 1] = post
        c = cout
      end
    end
    layers[#layers + 1] = nn.GlobalAvgPool()
    layers[#layers + 1] = nn.Linear(c, classes, { init = o.init })
    return nn.Sequential(layers)
  end)
end

--- gpt{vocab =, ctx = 64, d = 64, heads = 4, layers = 2, act = "gelu",
-- attn = nil, norm = "layernorm", seed = 1, alphabet =}: a character-level
-- GPT with pre-LN blocks, MLP ratio 4 and the output head tied to the token
-- embedding (lpact.transformer.GPT). act as for every model; attn: the
-- format of the attention probabilities ("ue2m1" or {fmt =, mode =,
-- levels =, scale =}). Takes token ids (B, T), gives logits (B*T, vocab).
function models.gpt(o)
  return require("lpact.transformer").GPT(o)
end

-- Every model of the zoo remembers how it was built (model.built = {name=,
-- options=}), so a safetensors file can record it (lpact.interop).
for _, name in ipairs { "mlp", "lenet5", "cnn_small", "vgg_cifar", "resnet", "gpt" } do
  local build = models[name]
  models[name] = function(o)
    local m = build(o)
    m.built = { name = name, options = o }
    return m
  end
end

--- The names of the models in the zoo.
models.names = { "mlp", "lenet5", "cnn_small", "vgg_cifar", "resnet", "gpt" }

--- Builds a model by name with options: models.build("cnn_small", {act = "relu"}).
function models.build(name, o)
  local f = models[name]
  if type(f) ~= "function" or name == "build" then
    lpact.fail(string.format("unknown model '%s' (known: %s)", tostring(name), table.concat(models.names, ", ")))
  end
  return f(o)
end

return models
