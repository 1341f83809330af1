--- lpact.study — one configuration of the study's grid and its identity,
-- shared by the scripts that train it (scripts/paper.lua, scripts/demo.lua),
-- so that one configuration has one record id and one record, whichever
-- script trained it: `make demo` and `scripts/paper.lua` with the same
-- settings and --out find each other's records done.
--
--     local study = require "lpact.study"
--     local s = { epochs = 2, batch = 128, lr = 1e-3, data_id = sweep.data_identity(data, {...}) }
--     local cell = study.cell({ model = "mlp", act = "relu", fmt = "fp2", levels = "learnable",
--       ste = "fprime", seed = 1 }, s)        --> cell.id "mlp-relu-fp2-learnable-s1-e2-<hash>"
--
-- A configuration c: model, act, fmt, levels ("fixed" for an FP32
-- baseline), ste (nil for a baseline), seed. The sweep's settings s:
-- epochs, batch, lr (Adam), data_id (lpact.sweep.data_identity) and the
-- optional mode ("emulate"), scale, scale_at ("both"), in_fmt, out_fmt,
-- level_lr, level_warmup, level_init, grad_fmt, grad_scale, weights
-- ({fmt =, scale =}), tag.

local lpact = require "lpact"
local sweep = require "lpact.sweep"

local study = {}

--- The quantized activation's options of configuration c under the
-- settings s, as lpact.qact takes them; nil for an FP32 baseline.
function study.qopts(c, s)
  if c.fmt == "fp32" and not s.in_fmt and not s.out_fmt then return nil end
  return { levels = c.levels, mode = s.mode or "emulate", ste = c.ste, scale = s.scale, scale_at = s.scale_at or "both",
    in_fmt = s.in_fmt, out_fmt = s.out_fmt, level_lr = c.levels == "learnable" and s.level_lr or nil,
    level_init = (c.levels == "learnable" and s.level_init ~= "format") and s.level_init or nil,
    grad_fmt = s.grad_fmt, grad_scale = s.grad_fmt and s.grad_scale or nil }
end

-- A format spec in full, after the name it was given ("fp4:
-- e2m1:bias=1:fin:sat:rne"): the resolved spec is in the identity, and so
-- is the spelling (fp4 and e2m1 are two configurations of equal numbers).
local function spec(f) return f and (tostring(lpact.format(f)):match("^Format%((.*)%)$") or tostring(f)) or nil end

--- The sweep cell (lpact.sweep.cell) of configuration c under the
-- settings s: its id is the readable prefix and the hash of every setting
-- that can change a number. `name` is the manifest's long name (optional).
function study.cell(c, s, name)
  local q = study.qopts(c, s)
  local adam = lpact.optim.Adam({}, { lr = s.lr })
  local weights = s.weights
  local cfg = {
    model = c.model == "mlp" and { name = "mlp", sizes = { 784, 256, 128, 10 } } or { name = c.model },
    activation = c.act, seed = c.seed, epochs = s.epochs, batch = s.batch, data = s.data_id,
    optimizer = { name = "adam", lr = s.lr, beta1 = adam.beta1, beta2 = adam.beta2, eps = adam.eps,
      weight_decay = adam.weight_decay },
    schedule = "none", tag = s.tag,
    weights = weights and { fmt = spec(weights.fmt), scale = weights.scale or "amax" } or nil,
  }
  if q then
    cfg.qact = { format = spec(c.fmt), in_fmt = spec(q.in_fmt), out_fmt = spec(q.out_fmt), levels = q.levels,
      mode = q.mode, ste = q.ste, scale = tostring(q.scale or "none"), scale_at = q.scale and q.scale_at or nil,
      level_lr = q.level_lr, level_init = q.level_init,
      level_warmup = c.levels == "learnable" and s.level_warmup or nil,
      grad_fmt = spec(q.grad_fmt), grad_scale = q.grad_fmt and q.grad_scale or nil }
  else
    cfg.qact = { format = "fp32" }
  end
  local prefix = { c.model, c.act, q and q.in_fmt or c.fmt }
  if q and q.out_fmt and q.out_fmt ~= q.in_fmt then prefix[#prefix + 1] = q.out_fmt end
  if q then prefix[#prefix + 1] = c.levels end
  if q and c.ste ~= "fprime" then prefix[#prefix + 1] = c.ste end
  prefix[#prefix + 1] = "s" .. c.seed
  prefix[#prefix + 1] = "e" .. s.epochs
  local cell = sweep.cell(prefix, cfg, { cost = (c.model == "mlp" and 1 or 20) * s.epochs, name = name })
  cell.c = c
  return cell
end

return study
