-- Options tables: a misspelt option name is an error that names it and
-- the nearest known name (by edit distance, worked out by hand below),
-- never a silent default — in the layers, the model zoo, train.fit and
-- the optimizers alike.
local t = require "lpact.tap"
local B = os.getenv("LPACT_BUILD") or "build"

local function unknown(o, known, aliases)
  return table.pack(lpact.unknown_option(o, known, aliases))
end

-- lpact.unknown_option: the first unknown key (alphabetically) and a guess.
t.is(lpact.unknown_option({ epochs = 1, batch = 2 }, { "epochs", "batch" }), nil, "all keys known: nothing")
t.is(lpact.unknown_option({ 784, 10, act = "relu" }, { "act" }), nil, "integer keys (positional values) pass")
t.same(unknown({ epoch = 1 }, { "epochs", "batch" }), { "epoch", "epochs", n = 2 }, "one deletion away")
-- levles -> levels: two substitutions (l<->e swapped); leves is one insertion away from both
t.same(unknown({ levles = 1 }, { "levels", "sorted" }), { "levles", "levels", n = 2 }, "a swap is two edits")
t.same(unknown({ abc = 1 }, { "abcdef" }), { "abc", nil, n = 2 }, "three edits away: no guess")
t.same(unknown({ abc = 1 }, { "abcde" }), { "abc", "abcde", n = 2 }, "two edits away: a guess")
t.same(unknown({ aa = 1 }, { "ba", "ab" }), { "aa", "ab", n = 2 }, "a tie goes to the alphabetically first")
t.same(unknown({ zz = 1, bb = 2 }, { "b" }), { "bb", "b", n = 2 }, "several unknown: the alphabetically first is named")
t.same(unknown({ wd = 1 }, { "weight_decay" }, { wd = "weight_decay" }), { "wd", "weight_decay", n = 2 },
  "an alias gives the guess")
t.same(unknown({ wd = 1 }, { "lr" }, { wd = "weight_decay" }), { "wd", "lr", n = 2 },
  "an alias to a name not known here is not offered")
t.same(unknown({ x = 1 }, { y = true }), { "x", "y", n = 2 }, "known as a set")
t.same(unknown({ [2.5] = 1 }, { "a" }), { "2.5", nil, n = 2 }, "a float key is not positional")

t.raises(function() lpact.check_options({ epoch = 1 }, { "epochs" }, "fit") end,
  "^fit: unknown option 'epoch' %(did you mean 'epochs'%?%)$", "check_options fails with one line")
t.raises(function() lpact.check_options({ colour = 1 }, { "epochs" }, "fit") end,
  "^fit: unknown option 'colour'$", "... without a guess when none is near")
local o = { epochs = 1 }
t.is(lpact.check_options(o, { "epochs" }, "fit"), o, "check_options returns the table")

-- Where users meet it.
local d = lpact.data.builtin()
t.raises(function() lpact.models.mlp { 784, 10, activation = "tanh" } end,
  "^mlp: unknown option 'activation' %(did you mean 'act'%?%)$", "models.mlp")
t.raises(function() lpact.models.cnn_small { act = "relu", classes = 10, channels = 3 } end,
  "^cnn_small: unknown option 'channels' %(did you mean 'in_channels'%?%)$", "models.cnn_small (an alias)")
t.raises(function() lpact.models.resnet { depth = 8, widths = 8 } end,
  "^resnet: unknown option 'widths' %(did you mean 'width'%?%)$", "models.resnet (widths is vgg_cifar's)")
t.lives(function() lpact.models.vgg_cifar { widths = { 8, 16, 32 }, bn = true, size = 32 } end, "vgg_cifar takes widths")
t.raises(function() lpact.train.fit { model = lpact.models.mlp { 784, 10 }, data = d, epoch = 3 } end,
  "^train.fit: unknown option 'epoch' %(did you mean 'epochs'%?%)$", "train.fit")
t.raises(function() lpact.optim.Adam({}, { lr = 1e-3, wd = 0.1 }) end,
  "^Adam: unknown option 'wd' %(did you mean 'weight_decay'%?%)$", "Adam")
t.raises(function() lpact.optim.SGD({}, { lr = 0.1, nestrov = true }) end,
  "^SGD: unknown option 'nestrov' %(did you mean 'nesterov'%?%)$", "SGD")
t.raises(function() lpact.optim.AdamW({}, { lr = 0.1, beta = { 0.9, 0.99 } }) end,
  "^AdamW: unknown option 'beta' %(did you mean 'betas'%?%)$", "AdamW")

t.raises(function() lpact.schedule.cosine { lr = 0.1, total = 10, minimum = 0 } end,
  "^schedule.cosine: unknown option 'minimum'$", "schedule.cosine")
t.raises(function() lpact.schedule.step { lr = 0.1, every = 3, gama = 0.5 } end,
  "^schedule.step: unknown option 'gama' %(did you mean 'gamma'%?%)$", "schedule.step")
t.raises(function() lpact.nn.Conv2d(1, 4, 3, { pading = 1 }) end,
  "^nn.Conv2d: unknown option 'pading' %(did you mean 'padding'%?%)$", "nn.Conv2d")
t.raises(function() lpact.nn.Linear(4, 2, { bais = false }) end,
  "^nn.Linear: unknown option 'bais' %(did you mean 'bias'%?%)$", "nn.Linear")
t.raises(function() lpact.data.spirals { n = 100, clases = 2 } end,
  "^data.spirals: unknown option 'clases' %(did you mean 'classes'%?%)$", "data.spirals")
t.raises(function() lpact.data.fashion_mnist { directory = "/nonexistent" } end,
  "^data.fashion_mnist: unknown option 'directory' %(did you mean 'dir'%?%)$", "data.fashion_mnist")

t.raises(function() lpact.train.evaluate(lpact.models.mlp { 784, 10 }, d.test, { batch_size = 100 }) end,
  "^train.evaluate: unknown option 'batch_size' %(did you mean 'batch'%?%)$", "train.evaluate")
t.raises(function() lpact.qact.scheduler(lpact.models.mlp { 784, 10 }, { formats = lpact.qact.schedule { { 1, "fp4" } } }) end,
  "^qact.scheduler: unknown option 'formats' %(did you mean 'precision'%?%)$", "qact.scheduler")

-- From a script: one line, exit status 2, no traceback.
local out, code = t.run(B .. "/lpact -e 'lpact.models.mlp{784, 10, dropuot = 0.5}'")
t.is(out, "lpact: mlp: unknown option 'dropuot' (did you mean 'dropout'?)\n", "a script: one line")
t.is(code, 2, "a script: exit status 2")

t.done()
