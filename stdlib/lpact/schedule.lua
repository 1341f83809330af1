--- lpact.schedule — learning-rate (or any hyper-parameter) schedules as
-- plain Lua objects. Every schedule has `s:at(t) -> value`, where t counts
-- from 0 in the schedule's unit (`s.per`: "epoch" by default, or "step"
-- for one value per batch); train.fit asks it before each epoch or batch.
--
--     local S = lpact.schedule
--     S.cosine{lr = 0.1, total = 30}                     -- per epoch
--     S.warmup{steps = 500, after = S.cosine{lr = 1e-3, total = 20000}, per = "step"}
--     S.onecycle{max = 0.01, total = 4690, per = "step"}
--     S.chain({S.constant(0.1), 10}, {S.constant(0.01), 5}, S.constant(0.001))
--     S.step{lr = 0.1, every = 10, gamma = 0.5} * 2       -- scaled by 2
--
-- Schedules compose: `after=` and `chain` shift time so the next part
-- starts at its own 0; `a * b` multiplies values (numbers or schedules);
-- `S.fn(f)` wraps any function of t.

local schedule = {}

local Schedule = {}
Schedule.__index = Schedule

local function new(at, per, desc)
  return setmetatable({ _at = at, per = per or "epoch", desc = desc }, Schedule)
end

--- The value at time t (t >= 0; in units of `self.per`).
function Schedule:at(t)
  return self._at(t)
end

Schedule.__call = function(self, t) return self._at(t) end
Schedule.__tostring = function(self)
  return string.format("schedule %s (per %s)", self.desc or "fn", self.per)
end

local function as_schedule(v)
  if getmetatable(v) == Schedule then return v end
  if type(v) == "number" then return schedule.constant(v) end
  if type(v) == "function" then return schedule.fn(v) end
  error("schedule expected (a schedule, a number or a function), got " .. type(v), 3)
end

Schedule.__mul = function(a, b)
  local sa, sb = as_schedule(a), as_schedule(b)
  local per = getmetatable(a) == Schedule and a.per or sb.per
  return new(function(t) return sa:at(t) * sb:at(t) end, per,
    string.format("%s * %s", sa.desc, sb.desc))
end

local function need(o, k, what)
  local v = o[k]
  if type(v) ~= "number" then
    error(string.format("schedule.%s: '%s' must be a number, got %s", what, k, type(v)), 3)
  end
  return v
end

--- A constant value.
function schedule.constant(v, per)
  return new(function() return v end, per, string.format("constant %g", v))
end

--- Wraps a function of t as a schedule: schedule.fn(function(t) ... end, "step").
function schedule.fn(f, per)
  return new(f, per, "fn")
end

--- Step decay: lr * gamma^floor(t / every), or with `milestones = {30, 60}`
-- lr * gamma^(number of milestones <= t). Options: lr, every|milestones, gamma (0.1), per.
function schedule.step(o)
  lpact.check_options(o, { "lr", "gamma", "milestones", "every", "per" }, "schedule.step")
  local lr, gamma = need(o, "lr", "step"), o.gamma or 0.1
  if o.milestones then
    local ms = o.milestones
    return new(function(t)
      local k = 0
      for _, m in ipairs(ms) do if t >= m then k = k + 1 end end
      return lr * gamma ^ k
    end, o.per, string.format("step lr=%g gamma=%g milestones", lr, gamma))
  end
  local every = need(o, "every", "step")
  return new(function(t) return lr * gamma ^ (t // every) end, o.per,
    string.format("step lr=%g every=%g gamma=%g", lr, every, gamma))
end

--- Cosine annealing from lr to min (default 0) over `total` units, then min:
-- min + (lr - min) * (1 + cos(pi * t / total)) / 2.
function schedule.cosine(o)
  lpact.check_options(o, { "lr", "total", "min", "per" }, "schedule.cosine")
  local lr, total, min = need(o, "lr", "cosine"), need(o, "total", "cosine"), o.min or 0
  return new(function(t)
    if t >= total then return min end
    return min + (lr - min) * (1 + math.cos(math.pi * t / total)) / 2
  end, o.per, string.format("cosine lr=%g total=%g min=%g", lr, total, min))
end

--- A straight line from `from` to `to` over `steps` units, then `to`.
function schedule.linear(o)
  lpact.check_options(o, { "from", "to", "steps", "per" }, "schedule.linear")
  local a, b, n = need(o, "from", "linear"), need(o, "to", "linear"), need(o, "steps", "linear")
  return new(function(t)
    if t >= n then return b end
    return a + (b - a) * t / n
  end, o.per, string.format("linear %g -> %g over %g", a, b, n))
end

--- Linear warm-up: over `steps` units the value rises linearly from
-- start_factor * v0 (start_factor default 0) to v0 = after:at(0), reaching
-- v0 at t = steps; from then on after:at(t - steps). `after` is a schedule
-- or a number.
function schedule.warmup(o)
  lpact.check_options(o, { "steps", "after", "lr", "start_factor", "per" }, "schedule.warmup")
  local n = need(o, "steps", "warmup")
  local after = as_schedule(o.after or o.lr)
  local f0 = o.start_factor or 0
  return new(function(t)
    if t < n then return after:at(0) * (f0 + (1 - f0) * t / n) end
    return after:at(t - n)
  end, o.per or after.per, string.format("warmup %g then %s", n, after.desc))
end

--- One-cycle (PyTorch's OneCycleLR with cosine annealing): from max/div up
-- to max over the first pct of `total` units, then down to
-- max/(div*final_div) at t = total - 1. Options: max, total, pct (0.3),
-- div (25), final_div (1e4), per.
function schedule.onecycle(o)
  lpact.check_options(o, { "max", "total", "pct", "div", "final_div", "per" }, "schedule.onecycle")
  local max, total = need(o, "max", "onecycle"), need(o, "total", "onecycle")
  local pct, div, fdiv = o.pct or 0.3, o.div or 25, o.final_div or 1e4
  local initial = max / div
  local final = initial / fdiv
  local up_end = pct * total - 1
  local down_end = total - 1
  local function cos(a, b, p) return b + (a - b) / 2 * (math.cos(math.pi * p) + 1) end
  return new(function(t)
    if t <= up_end then return cos(initial, max, up_end > 0 and t / up_end or 1) end
    if t >= down_end then return final end
    return cos(max, final, (t - up_end) / (down_end - up_end))
  end, o.per, string.format("onecycle max=%g total=%g", max, total))
end

--- Runs schedules one after the other: chain({s1, n1}, {s2, n2}, ..., last)
-- uses s1 for n1 units, then s2 (from its own t = 0) for n2 units, ...,
-- then `last` (a schedule or number; optional: the last pair goes on).
function schedule.chain(...)
  local parts, last = {}, nil
  local args = table.pack(...)
  for i = 1, args.n do
    local p = args[i]
    if type(p) == "table" and getmetatable(p) ~= Schedule then
      parts[#parts + 1] = { s = as_schedule(p[1]), n = p[2] }
    else
      last = as_schedule(p)
    end
  end
  local per = (parts[1] and parts[1].s.per) or (last and last.per)
  return new(function(t)
    local t0 = 0
    for _, p in ipairs(parts) do
      if t < t0 + p.n then return p.s:at(t - t0) end
      t0 = t0 + p.n
    end
    if last then return last:at(t - t0) end
    local p = parts[#parts]
    return p.s:at(t - (t0 - p.n))
  end, per, "chain")
end

--- True when v is a schedule object.
function schedule.is(v) return getmetatable(v) == Schedule end

return schedule
