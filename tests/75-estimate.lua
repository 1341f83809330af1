-- lpact.estimate: a grid's wall time from per-epoch costs, worked out by
-- hand, and the line scripts/paper.lua --dry prints with it.
local t = require "lpact.tap"
local estimate = require "lpact.estimate"

local costs = { machine = "test box", mlp = { train = 1e-3, qact = 2, eval = 1e-4 },
  cnn_small = { train = 1e-2, qact = 1.5, eval = 1e-3 } }
local configs = { { model = "mlp", fmt = "fp32" }, { model = "cnn_small", fmt = "fp4" } }
-- mlp fp32: 3 * (100 * 1e-3 + 60 * 1e-4) = 0.318; cnn fp4: 3 * (100 * 1.5e-2 + 60 * 1e-3) = 4.68
t.near(estimate.epoch(configs[1], 100, 60, costs), 0.106, 1e-12, "an FP32 MLP epoch: train + eval examples")
t.near(estimate.epoch(configs[2], 100, 60, costs), 1.56, 1e-12, "a quantized CNN epoch carries the qact factor")
local s, by = estimate.wall(configs, { epochs = 3, train = 100, test = 60, costs = costs })
t.near(s, 4.998, 1e-12, "the grid: the sum over configurations and epochs")
t.near(by.mlp, 0.318, 1e-12, "by model: mlp")
t.near(by.cnn_small, 4.68, 1e-12, "by model: cnn_small")
t.near(estimate.wall(configs, { epochs = 3, train = 100, test = 60, costs = costs, workers = 2 }), 2.499, 1e-12,
  "two workers halve it")
t.is(estimate.duration(3725), "1:02:05", "duration over an hour")
t.is(estimate.duration(65), "1:05", "duration under an hour")
t.raises(function() estimate.epoch({ model = "resnet" }, 1, 1, costs) end, "no measured cost for model 'resnet'",
  "a model without a cost is one clear error")
t.raises(function() estimate.wall(configs, { epoch = 2 }) end, "epoch", "an unknown option is refused")
t.like(estimate.line(configs, { epochs = 3, train = 100, test = 60, costs = costs }),
  "^estimated wall time: 0:05 %(mlp 0:00, cnn_small 0:05; per%-epoch costs measured on test box%)$", "the line")

-- the hook in paper.lua --dry
local exe = (os.getenv("LPACT_BUILD") or "build") .. "/lpact"
local out, code = t.run(exe .. " scripts/paper.lua --dry --models mlp,cnn_small --formats fp32,fp4 --acts relu"
  .. " --levels fixed --seeds 1,2 --epochs 2 --data builtin")
t.is(code, 0, "paper.lua --dry exits 0")
local grid = {}
for _, m in ipairs { "mlp", "cnn_small" } do
  for _, f in ipairs { "fp32", "fp4" } do
    for _ = 1, 2 do grid[#grid + 1] = { model = m, fmt = f } end
  end
end
local want = estimate.line(grid, { epochs = 2, train = 6000, test = 1000 })
t.ok(out:find("\n" .. want .. "\n", 1, true) ~= nil, "paper.lua --dry prints the estimate of its grid: " .. want)
t.done()
