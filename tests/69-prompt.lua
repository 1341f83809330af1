-- Conveniences at the prompt: model:summary() without a shape, hist() of
-- a table that is not a list, train.fit's result printed as a summary.
local t = require "lpact.tap"
local B = os.getenv("LPACT_BUILD") or "build"
require "lpact.repl"

-- summary(): an MLP takes its input size from its first Linear layer; the
-- shapes below follow from the layer sizes 2-16-3.
local m = lpact.models.mlp { 2, 16, 3, seed = 1 }
local text = m:summary()
t.is(text, m:summary { 2 }, "summary() is summary{2} for an MLP 2-16-3")
local shapes = {}
for s in text:gmatch("%(N, %d+%)") do shapes[#shapes + 1] = s end
t.same(shapes, { "(N, 3)", "(N, 2)", "(N, 16)", "(N, 16)", "(N, 3)" }, "... with the shapes worked out by hand")
t.like(text, "\n99 parameters$", "... and 2*16+16 + 16*3+3 = 99 parameters")
local conv = lpact.nn.Sequential { lpact.nn.Conv2d(1, 2, 3) }
t.raises(function() conv:summary() end, "^summary: give the input shape without the batch dimension",
  "a model that does not say its input shape: one line asking for it")

-- hist() of a table that is not a list says what it expected
t.raises(function() hist { a = 1, b = 2 } end, "^hist: a tensor or a list of numbers expected, got a table with no list part",
  "hist of a table of named fields")
t.raises(function() hist(m) end, "an object: a model, a layer%?", "hist of a model")
t.like(tostring(hist { 1, 2, 3 }), "^3 values", "hist of a list still works")

-- train.fit's result prints as a short summary at the prompt
local script = os.tmpname()
local f = assert(io.open(script, "w"))
f:write([[
data = lpact.data.spirals{n = 300, classes = 3, seed = 1}
h = lpact.train.fit{model = lpact.models.mlp{2, 16, 3, seed = 1}, data = data, epochs = 2, batch = 32, seed = 1, verbose = false, progress = false}
h
h.epochs[2].test_acc == h.test_acc, #h.losses
string.format("%.4f %.2f %.2f", h.epochs[2].train_loss, 100 * h.epochs[2].train_acc, 100 * h.test_acc)
]])
f:close()
local out, code = t.run(B .. "/lpact-repl < " .. script)
os.remove(script)
t.is(code, 0, "a training at the prompt (batch)")
local loss, tr, te = out:match("^fit: 2 epochs in [%d.]+ s; last epoch: loss ([%d.]+), train ([%d.]+)%%, test ([%d.]+)%%\n"
  .. "%(fields: epochs, losses, test_acc, seconds, interrupted%)\n")
t.ok(loss ~= nil, "the result prints as one summary line and the field names", out)
t.like(out, "\ntrue\t%d+\n", "the fields are still there", out)
t.is(out:match("\n([%d.]+ [%d.]+ [%d.]+)\n$"), string.format("%s %s %s", loss, tr, te),
  "the summary's numbers are the last epoch's loss and accuracies")
t.done()
