-- Every activation of the engine's registry (lpact.activations()) through
-- every path: the double-precision scalar (against an oracle written here,
-- independently of the engine), f' (central differences), the FP32 kernel
-- forward and backward, the quantized layer in each mode with its STE
-- backward, and the REPL's plot and errors; NaN in gives NaN out on every
-- path. A function added to the registry without its oracle row below or
-- its docs row fails here.
local t = require "lpact.tap"
local K, T = lpact.kernels, lpact.tensor
local ag = lpact.autograd
local qact = lpact.qact
local show = require "lpact.show"
local NAN = 0 / 0

-- ---- the oracle: each function as its textbook formula -------------------

local function erf(x)   -- Taylor series up to |x| = 3.5, the asymptotic erfc beyond
  local ax = math.abs(x)
  local r
  if ax <= 3.5 then
    local sum, term, k = ax, ax, 0
    repeat
      k = k + 1
      term = term * (-ax * ax) / k
      sum = sum + term / (2 * k + 1)
    until math.abs(term) < 1e-18 or k > 300
    r = 2 / math.sqrt(math.pi) * sum
  else
    local z, s, p = 1 / (2 * ax * ax), 1, 1
    for k = 1, 6 do p = -p * (2 * k - 1) * z; s = s + p end
    r = 1 - math.exp(-ax * ax) / (ax * math.sqrt(math.pi)) * s
  end
  return x < 0 and -r or r
end
local function sigmoid(x) return 1 / (1 + math.exp(-x)) end
local function softplus(x) return x > 30 and x or math.log(1 + math.exp(x)) end
local function clamp(x, lo, hi) return math.min(math.max(x, lo), hi) end

-- name -> f (alpha), default alpha, the kinks (no derivative check there)
local oracle = {
  relu = { function(x) return math.max(x, 0) end, nil, { 0 } },
  leaky_relu = { function(x, a) return x > 0 and x or a * x end, 0.01, { 0 } },
  relu6 = { function(x) return clamp(x, 0, 6) end, nil, { 0, 6 } },
  elu = { function(x, a) return x > 0 and x or a * (math.exp(x) - 1) end, 1, { 0 } },
  gelu = { function(x) return x / 2 * (1 + erf(x / math.sqrt(2))) end, nil, {} },
  silu = { function(x) return x * sigmoid(x) end, nil, {} },
  softplus = { softplus, nil, {} },
  mish = { function(x) return x * math.tanh(softplus(x)) end, nil, {} },
  sigmoid = { sigmoid, nil, {} },
  tanh = { math.tanh, nil, {} },
  hardtanh = { function(x) return clamp(x, -1, 1) end, nil, { -1, 1 } },
  hardsigmoid = { function(x) return clamp(x / 6 + 0.5, 0, 1) end, nil, { -3, 3 } },
  hardswish = { function(x) return x * clamp(x + 3, 0, 6) / 6 end, nil, { -3, 3 } },
  softsign = { function(x) return x / (1 + math.abs(x)) end, nil, { 0 } },  -- f' has a corner at 0
  identity = { function(x) return x end, nil, {} },
}

local xs = { -6.5, -4.2, -3, -2.5, -1.5, -0.7, -0.1, 0, 0.2, 0.9, 1, 2.6, 3, 4.4, 6, 7.5 }
local function near_kink(x, kinks)
  for _, k in ipairs(kinks) do if math.abs(x - k) < 1e-3 then return true end end
  return false
end
local function isnan(v) return v ~= v end

local docs = io.open("docs/qact.md"):read("a")
local acts = lpact.activations()
t.ok(#acts >= 15, "the registry lists " .. #acts .. " functions")

for _, rec in ipairs(acts) do
  local name = rec.name
  local o = oracle[name]
  t.ok(o ~= nil, name .. ": has an oracle row in this test")
  t.ok(docs:find("| `" .. name .. "` |", 1, true) ~= nil, name .. ": has a row in docs/qact.md")
  if o then
    local f, alpha, kinks = o[1], o[2], o[3]
    t.is(rec.alpha, alpha, name .. ": default alpha " .. tostring(alpha))
    local a = alpha or 0

    -- double scalar against the oracle; f' against the oracle's central
    -- differences (fd[i], nil at a kink), which every path below is held to
    local worst, dworst, fd = 0, 0, {}
    for i, x in ipairs(xs) do
      local want = f(x, a)
      worst = math.max(worst, math.abs(K.act_value(name, x) - want) / math.max(1, math.abs(want)))
      if not near_kink(x, kinks) then
        local h = 1e-6
        fd[i] = (f(x + h, a) - f(x - h, a)) / (2 * h)
        dworst = math.max(dworst, math.abs(K.act_deriv(name, x) - fd[i]))
      end
    end
    t.ok(worst < 1e-12, name .. ": f in double matches the oracle (worst " .. worst .. ")")
    t.ok(dworst < 1e-7, name .. ": f' in double matches finite differences (worst " .. dworst .. ")")

    -- monotone as the registry says, on a fine grid
    local mono = true
    local prev = -math.huge
    for i = -800, 800 do
      local y = f(i / 100, a)
      if y < prev then mono = false end
      prev = y
    end
    t.is(rec.monotone, mono, name .. ": monotone = " .. tostring(mono))

    -- FP32 kernel forward and backward
    local y = K.act(name, T(xs)):totable()
    local dx = K.act_backward(name, T(xs) * 0 + 1.5, T(xs)):totable()
    local fw, bw = 0, 0
    for i, x in ipairs(xs) do
      local want = f(x, a)
      fw = math.max(fw, math.abs(y[i] - want) / math.max(1, math.abs(want)))
      if fd[i] then bw = math.max(bw, math.abs(dx[i] - 1.5 * fd[i]) / math.max(1, math.abs(fd[i]))) end
    end
    t.ok(fw < 1e-6, name .. ": FP32 kernel forward (worst relative " .. fw .. ")")
    t.ok(bw < 1e-5, name .. ": FP32 kernel backward = g f'(x) (worst relative " .. bw .. ")")

    -- NaN in, NaN out: scalar, kernel (a NaN in a vector lane and in the tail)
    t.ok(isnan(K.act_value(name, NAN)) and isnan(K.act_deriv(name, NAN)), name .. ": f(NaN), f'(NaN) NaN in double")
    local xn = { 1, NAN, -1, 0.5, 2, -3, 0.25, 4, 1, NAN, 3 }
    local yn = K.act(name, T(xn)):totable()
    local dn = K.act_backward(name, T(xn) * 0 + 1, T(xn)):totable()
    t.ok(isnan(yn[2]) and isnan(yn[10]) and isnan(dn[2]) and isnan(dn[10])
         and not isnan(yn[1]) and not isnan(dn[11]), name .. ": FP32 kernels give NaN at NaN only")

    -- the quantized layer, each mode, FP8 (E4M3) in and out
    local q = lpact.format "fp8"
    for _, mode in ipairs { "emulate", "lut", "ops" } do
      local L = qact.layer { name, fmt = "fp8", mode = mode }
      local xv = ag.param(T(xs))
      local out = L:forward(xv)
      local yq = out.data:totable()
      local bad = 0
      for i, x in ipairs(xs) do
        local v = q:round(x)
        local exact = q:round(f(v, a))
        if mode == "ops" and rec.ops then
          -- every operation rounded (the sequences are checked exactly in
          -- tests/c/qact_core.c): the layer gives the scalar ops result,
          -- which stays near f (cancellations cost up to a few FP8 steps)
          local want = q:round(lpact.qcore.ops(name, v, q))
          if yq[i] ~= want or not (math.abs(yq[i] - f(v, a)) <= 0.25 + 0.25 * math.abs(f(v, a))) then
            bad = bad + 1
            t.diag(string.format("%s ops at %g: %g, scalar ops %g, f = %g", name, x, yq[i], want, f(v, a)))
          end
        elseif yq[i] ~= exact then
          bad = bad + 1
          t.diag(string.format("%s %s at %g: %g, want %g", name, mode, x, yq[i], exact))
        end
      end
      t.is(bad, 0, name .. " " .. mode .. ": forward = Q(f(Q(x)))" .. (mode == "ops" and rec.ops and " with every operation rounded" or ""))
      ag.sum(ag.mul(out, T(xs) * 0 + 2)):backward()
      local g = xv.grad:totable()
      local gb = 0
      for i in ipairs(xs) do
        if fd[i] then gb = math.max(gb, math.abs(g[i] - 2 * fd[i]) / math.max(1, math.abs(fd[i]))) end
      end
      t.ok(gb < 1e-5, name .. " " .. mode .. ": STE f' backward = g f'(x) (worst " .. gb .. ")")
      -- NaN through the layer and its backward
      local xnv = ag.param(T(xn))
      local on = L:forward(xnv)
      ag.sum(on):backward()
      local ynq, gn = on.data:totable(), xnv.grad:totable()
      t.ok(isnan(ynq[2]) and isnan(ynq[10]) and isnan(gn[2]) and isnan(gn[10]) and not isnan(ynq[1]),
        name .. " " .. mode .. ": NaN in gives NaN out, forward and backward")
    end

    -- the REPL's views: plot samples f from the registry, errors measures
    -- Q(f(Q(x))) - f(x)
    local p = show.plot(name, "fp4", -4, 4, { width = 40, n = 17 })
    local pw = 0
    for i, x in ipairs(p.xs) do pw = math.max(pw, math.abs(p.ys[i] - f(x, a))) end
    t.ok(pw < 1e-12, name .. ": plot draws f (worst " .. pw .. ")")
    local e = show.errors(name, "fp4", xs)
    local q4, emax = lpact.format "fp4", 0
    for _, x in ipairs(xs) do emax = math.max(emax, math.abs(q4:round(f(q4:round(x), a)) - f(x, a))) end
    t.ok(math.abs(e.max - emax) < 1e-12, string.format("%s: errors max %.6g (want %.6g)", name, e.max, emax))
  end
end

-- the names the FP32 layer and the quantized layer accept are the registry's
local nn = require "lpact.nn"
for _, rec in ipairs(acts) do
  t.ok(pcall(nn.Activation, rec.name) and pcall(qact.layer, { rec.name, fmt = "fp4" }),
    rec.name .. ": nn.Activation and qact.layer accept it")
end
t.raises(function() nn.Activation("nope") end, "unknown activation 'nope'", "an unknown name is refused")

t.done()
