--- lpact.estimate — how long a grid of trainings will take, from measured
-- per-epoch costs.
--
--     local estimate = require "lpact.estimate"
--     local s = estimate.wall(configs, { epochs = 5, train = 60000, test = 10000 })
--     print(estimate.duration(s))                    --> "3:12:40"
--
-- A configuration is a table with `model` ("mlp" or "cnn_small") and
-- `fmt` ("fp32" trains without quantized activations; any other format
-- with them). The cost of an epoch is the training examples times the
-- measured seconds per training example of that model (quantized or not)
-- plus the test examples times the seconds per evaluated example (a
-- forward pass only). estimate.COSTS holds those seconds, measured with
-- `lpact bench train` and `lpact bench qact` on the machine and thread
-- count named in it (docs/performance.md has the runs); pass your own
-- `costs` (same shape) for another machine.

local estimate = {}

--- Seconds per example, by model: `train` for a training example (forward,
-- backward, optimizer step) with FP32 activations, `qact` the factor a
-- quantized activation layer multiplies that by, `eval` for an evaluated
-- example. Measured on a 2-core AMD EPYC (Zen 5, AVX-512), 2 threads,
-- batch 128, Fashion-MNIST (the slower of two runs; at load 7 the same
-- machine took about twice as long): the MLP with the measured grains at
-- load 1.5, cnn_small with Winograd's convolutions at load 1.8 (its
-- quantized runs keep the unfused activation and pooling: a larger
-- factor);
-- docs/performance.md, "End to end".
estimate.COSTS = {
  machine = "2-core AMD EPYC (Zen 5), 2 threads, batch 128",
  mlp = { train = 21e-6, qact = 1.05, eval = 7e-6 },
  cnn_small = { train = 69e-6, qact = 1.58, eval = 16e-6 },
}

--- Seconds of one epoch of configuration c over `train` training and `test`
-- test examples (costs: estimate.COSTS by default). Errors with one line
-- for a model the costs do not know.
function estimate.epoch(c, train, test, costs)
  costs = costs or estimate.COSTS
  local k = costs[c.model]
  if type(k) ~= "table" then lpact.fail("estimate: no measured cost for model '" .. tostring(c.model) .. "'") end
  local per = k.train * ((c.fmt ~= nil and c.fmt ~= "fp32") and k.qact or 1)
  return train * per + (test or 0) * k.eval
end

--- Wall seconds of every configuration in the list, one after another
-- (divided among `workers` that each have their own cores): o = {epochs=,
-- train=, test=, workers=, costs=}. Returns seconds and a table of seconds
-- by model.
function estimate.wall(configs, o)
  o = lpact.check_options(o or {}, { "epochs", "train", "test", "workers", "costs" }, "estimate.wall")
  local epochs, train, test = o.epochs or 1, o.train or 60000, o.test or 10000
  local total, by = 0, {}
  for _, c in ipairs(configs) do
    local s = epochs * estimate.epoch(c, train, test, o.costs)
    total = total + s
    by[c.model] = (by[c.model] or 0) + s
  end
  local w = math.max(1, o.workers or 1)
  for m, s in pairs(by) do by[m] = s / w end
  return total / w, by
end

--- "H:MM:SS" (or "M:SS" under an hour) for a number of seconds.
function estimate.duration(s)
  s = math.floor(s + 0.5)
  if s >= 3600 then return string.format("%d:%02d:%02d", s // 3600, s % 3600 // 60, s % 60) end
  return string.format("%d:%02d", s // 60, s % 60)
end

--- The line `paper.lua --dry` prints: the estimate and what it rests on.
function estimate.line(configs, o)
  local s, by = estimate.wall(configs, o)
  local parts = {}
  for _, m in ipairs { "mlp", "cnn_small" } do
    if by[m] then parts[#parts + 1] = string.format("%s %s", m, estimate.duration(by[m])) end
  end
  return string.format("estimated wall time: %s (%s; per-epoch costs measured on %s)", estimate.duration(s),
    table.concat(parts, ", "), (o and o.costs or estimate.COSTS).machine or "this machine")
end

return estimate
