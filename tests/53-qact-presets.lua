-- Every preset, every code: the lut layer's table entry equals Q_out(f(value))
-- from a slow reference written here (the values enumerated from E, M and
-- the bias; nearest, ties to the even code, saturation), and a forward pass
-- over every value of the format returns exactly the table.
local t = require "lpact.tap"
local qact = lpact.qact

-- name, E, M, bias, policy ("fin", "fn", "ieee"), overflow to inf?
local presets = {
  { "fp8", 4, 3, 7, "fn", false }, { "e5m2", 5, 2, 15, "ieee", true }, { "fp6", 3, 2, 3, "fin", false },
  { "e2m3", 2, 3, 1, "fin", false }, { "fp4", 2, 1, 1, "fin", false }, { "fp3", 1, 1, 0, "fin", false },
  { "fp2", 1, 0, 0, "fin", false },
}

local function magnitudes(E, M, bias, policy)
  local mags, odd = {}, {}
  local n = 1 << (E + M)
  for c = 0, n - 1 do
    local e, m = c >> M, c & ((1 << M) - 1)
    local skip = (policy == "ieee" and e == (1 << E) - 1) or (policy == "fn" and c == n - 1)
    if not skip then
      local v = e == 0 and m * 2.0 ^ (1 - bias - M) or ((1 << M) + m) * 2.0 ^ (e - bias - M)
      mags[#mags + 1], odd[#odd + 1] = v, c & 1 == 1
    end
  end
  return mags, odd
end

local function rounder(E, M, bias, policy, inf_over)
  local mags, odd = magnitudes(E, M, bias, policy)
  local max = mags[#mags]
  local _, emax = math.frexp(max)
  local ulpmax = 2.0 ^ (emax - 1 - M)
  return function(x)
    if x ~= x then return x end
    local a = math.abs(x)
    local r
    if a >= max then
      if inf_over and a >= max + ulpmax / 2 then r = math.huge else r = max end
    else
      local lo = 1
      while mags[lo + 1] <= a do lo = lo + 1 end
      local mid = (mags[lo] + mags[lo + 1]) / 2
      if a < mid then r = mags[lo] elseif a > mid then r = mags[lo + 1]
      else r = odd[lo] and mags[lo + 1] or mags[lo] end
    end
    if x < 0 or (x == 0 and 1 / x < 0) then return -r end
    return r
  end
end

local fs = {
  relu = function(x) return x > 0 and x or (x < 0 and -0.0 or x) end,   -- relu(-2) = -0
  sigmoid = function(x) return 1 / (1 + math.exp(-x)) end,
  tanh = function(x)
    if x == 0 then return x end   -- tanh(-0) = -0
    if x > 20 then return 1.0 elseif x < -20 then return -1.0 end
    local e = math.exp(2 * x)
    return (e - 1) / (e + 1)
  end,
  silu = function(x) return x / (1 + math.exp(-x)) end,
  softplus = function(x) return x > 30 and x or math.log(1 + math.exp(x)) end,
  elu = function(x) return (x > 0 or x == 0) and x or (math.exp(x) - 1) end,   -- elu(-0) = -0
}

local function same(a, b)
  if a ~= a and b ~= b then return true end
  return a == b and (a ~= 0 or (1 / a) == (1 / b))
end

for _, p in ipairs(presets) do
  local name = p[1]
  local R = rounder(p[2], p[3], p[4], p[5], p[6])
  for _, fname in ipairs { "relu", "sigmoid", "tanh", "silu", "softplus", "elu" } do
    local l = qact.layer { fname, fmt = name, mode = "lut" }
    local T = l:levels()
    local vals = l.info.in_values
    local bad, inputs = 0, {}
    for c = 1, #vals do
      local v = vals[c]
      local want = v == v and R(fs[fname](v)) or 0 / 0
      -- the transcendental functions may differ in the last bit of a double;
      -- a tie of the small format is never that close, so rounding agrees
      if not same(T[c], want) then
        bad = bad + 1
        if bad <= 3 then t.diag(string.format("%s %s code %d (%g): %g, want %g", name, fname, c - 1, v, T[c], want)) end
      end
      if v == v and v > -math.huge and v < math.huge then inputs[#inputs + 1] = v end
    end
    t.ok(bad == 0, string.format("%s %s: all %d table entries equal Q(f(value))", name, fname, #vals))
    -- a forward pass over every finite value reproduces the table
    local y = l:forward(lpact.tensor(inputs)).data:totable()
    local ok = true
    local j = 0
    for c = 1, #vals do
      local v = vals[c]
      if v == v and v > -math.huge and v < math.huge then
        j = j + 1
        if not same(y[j], T[c]) then ok = false end
      end
    end
    t.ok(ok, string.format("%s %s: forward over every value returns its entry", name, fname))
  end
end
t.done()
