-- Lesson 7: learnable levels — train a small network with learnable FP2
-- levels, look at the learned levels and the level usage, compare with
-- fixed levels; why example 08 and `make demo` disagree about tanh.
local L = require "lpact.lesson"

local DATA = "data = data or lpact.data.spirals{n = 600, classes = 3, seed = 1}"
local ACT = 'act = act or lpact.qact{"tanh", fmt = "fp2", levels = "learnable"}'
local TRAIN = "m = lpact.models.mlp{2, 32, 32, 3, act = act, seed = 1}; "
  .. "h = lpact.train.fit{model = m, data = data, epochs = 10, batch = 32, lr = 1e-2, "
  .. "seed = 1, verbose = false, progress = false}"
-- a resumed lesson needs the trained model of step 3 again
local TRAINED = DATA .. "; " .. ACT .. "; if not (m and h) then " .. TRAIN .. " end"

-- The first quantized activation layer of the global model m.
local function first_layer(env)
  local ok, layers = pcall(lpact.qact.layers, rawget(env, "m"))
  return ok and layers and layers[1] or nil
end

local function pct(x) return string.format("%.1f%%", 100 * x) end

return {
  name = "learnable",
  order = 7,
  minutes = 15,
  title = "Learnable levels: tanh at FP2 comes back",
  intro = [[
Lesson 6 found tanh dead at FP2 with the format's own levels, and alive in
principle with learnable ones. Here you train both and look inside.]],
  steps = {
    {
      text = [[
The data: three interleaved spirals in the plane, 600 points, 3 classes
(chance is 33.3%).]],
      ask = "Load them: data = lpact.data.spirals{n = 600, classes = 3, seed = 1}",
      hint = "Type the line as it stands.",
      answer = "data = lpact.data.spirals{n = 600, classes = 3, seed = 1}",
      wrong = "data = 600",
      check = L.global("data", function(v)
        if type(v) == "table" and type(v.train) == "table" and type(v.test) == "table" then return true end
        return false, "data should be a data set (with train and test), from lpact.data.spirals"
      end),
    },
    {
      text = [[
lpact.qact{...} describes a quantized activation: f, the format, and
whether the levels are fixed (the format's values) or learnable (one
trainable level per code).]],
      ask = 'Make act tanh at FP2 with learnable levels: act = lpact.qact{"tanh",'
        .. '\n  fmt = "fp2", levels = "learnable"}',
      hint = 'act = lpact.qact{"tanh", fmt = "fp2", levels = "learnable"}',
      answer = 'act = lpact.qact{"tanh", fmt = "fp2", levels = "learnable"}',
      wrong = 'act = lpact.qact{"tanh", fmt = "fp2"}',
      setup = DATA,
      check = L.global("act", function(v)
        if type(v) ~= "function" then return false, "act should come from lpact.qact{...}" end
        local ok, layer = pcall(v)
        if not ok or type(layer) ~= "table" then return false, "act should come from lpact.qact{...}" end
        if layer.name ~= "tanh" then return false, "act computes " .. tostring(layer.name) .. ", not tanh" end
        if layer.fout.spec ~= lpact.format("fp2").spec then return false, "act's format is not fp2" end
        if not layer.learnable then return false, 'its levels are fixed; add levels = "learnable"' end
        return true
      end),
    },
    {
      text = [[
Train a small MLP (2-32-32-3, both activations act) for 10 epochs:
  m = lpact.models.mlp{2, 32, 32, 3, act = act, seed = 1}
  h = lpact.train.fit{model = m, data = data, epochs = 10, batch = 32,
        lr = 1e-2, seed = 1, verbose = false, progress = false}]],
      ask = "Type both lines (the second on one line); then look at h.test_acc.",
      hint = "m first, then h = lpact.train.fit{...} with the options above.",
      answer = TRAIN,
      wrong = 'h = lpact.train.fit{model = lpact.models.mlp{2, 32, 32, 3, act = lpact.qact{"tanh", '
        .. 'fmt = "fp2"}, seed = 1}, data = data, epochs = 10, batch = 32, lr = 1e-2, seed = 1, '
        .. "verbose = false, progress = false}",
      setup = DATA .. "; " .. ACT,
      check = L.global("h", function(v)
        if type(v) ~= "table" or type(v.test_acc) ~= "number" then return nil end
        if v.test_acc >= 0.6 then return true, "Test accuracy " .. pct(v.test_acc) .. "." end
        return false, "the test accuracy is " .. pct(v.test_acc) .. ": were the levels learnable?"
      end),
      explain = "Far above chance, with every activation in FP2.",
    },
    {
      text = [[
levels(layer) shows a layer's learned levels next to the format's values.
The first activation layer of m is lpact.qact.layers(m)[1].]],
      show = "levels(lpact.qact.layers(m)[1])",
      ask = "How many of its 4 levels moved away from the format's values?",
      hint = "Compare the 'value' and 'learned' columns, code by code.",
      answer = "2",
      wrong = "4",
      setup = TRAINED,
      check = function(a)
        if math.type(a.value) == nil then return nil end
        local layer = first_layer(a.env)
        if not layer then return false, "m is not a model with quantized activations (step 3 makes it)" end
        local orig, learned, moved = layer.original:totable(), layer:levels(), 0
        for i = 1, #orig do if orig[i] ~= learned[i] then moved = moved + 1 end end
        if a.value == moved then return true end
        return false, string.format("%s levels moved, not %s: look at the two columns", moved, a.value)
      end,
      explain = "+0 and -0 moved apart; +-2 stayed, since tanh never outputs them.",
    },
    {
      text = [[
Which input levels carry the activations? With telemetry on, a layer
counts the code of every input it rounds. (Set up: telemetry on, and the
test set sent through m.)]],
      setup = TRAINED .. "; lpact.qact.layers(m)[1]:telemetry(true); m:eval(); m:forward(data.test.x)",
      show = "usage(lpact.qact.layers(m)[1])",
      ask = "Where do most inputs land? 1) on +-2  2) on +-0",
      hint = "Read the share column.",
      answer = "2",
      wrong = "1",
      check = L.choice(2, { [1] = "look at the shares: most inputs round to a zero" }),
      explain = "About nine in ten: the network works through the two learned zeros.",
    },
    {
      text = [[
Now the same network with fixed levels (the format's own values):
  h2 = lpact.train.fit{model = lpact.models.mlp{2, 32, 32, 3, act =
    lpact.qact{"tanh", fmt = "fp2"}, seed = 1}, data = data, epochs = 10,
    batch = 32, lr = 1e-2, seed = 1, verbose = false, progress = false}]],
      ask = "Train it (on one line) and look at h2.test_acc.",
      hint = "The same call as before, with lpact.qact{\"tanh\", fmt = \"fp2\"} as act.",
      answer = 'h2 = lpact.train.fit{model = lpact.models.mlp{2, 32, 32, 3, act = lpact.qact{"tanh", '
        .. 'fmt = "fp2"}, seed = 1}, data = data, epochs = 10, batch = 32, lr = 1e-2, seed = 1, '
        .. "verbose = false, progress = false}",
      wrong = "h2 = h",
      setup = TRAINED,
      check = L.global("h2", function(v)
        if type(v) ~= "table" or type(v.test_acc) ~= "number" then return nil end
        if v.test_acc < 0.45 then return true, "Test accuracy " .. pct(v.test_acc) .. ": chance." end
        return false, "h2 reached " .. pct(v.test_acc) .. "; were its levels fixed?"
      end),
      explain = "Every output is 0 with fixed levels, so no signal reaches the last layer.",
    },
    {
      text = [[
examples/08-relu-fp2.lua trains relu and tanh at FP2 with FIXED levels:
relu survives (94.7%), tanh falls to chance (33.3%). make demo trains
with LEARNABLE levels, on Fashion-MNIST: there tanh at FP2 reaches 83.9%,
above relu's 76.3%. Both are right.]],
      ask = "Why does tanh survive in the demo? 1) more epochs 2) its +0 and -0"
        .. "\n  levels learn apart 3) Fashion-MNIST is easier than spirals",
      hint = "You just trained the same model both ways on the same data.",
      answer = "2",
      wrong = "1",
      check = L.choice(2, { [1] = "two epochs is not many; your fixed-level run had ten and stayed at chance",
        [3] = "on the same spirals, fixed levels gave chance and learnable ones did not" }),
      explain = "With fixed levels tanh at FP2 has one output value; learned, two.",
    },
  },
}
