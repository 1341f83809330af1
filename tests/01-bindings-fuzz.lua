-- No Lua script, however wrong, can crash the engine: every function of
-- every C module (package.loaded["lpact.c.<name>"], sub-tables included)
-- and every method and metamethod of every lpact userdata type (read from
-- the registry, so a new binding is covered without editing this file) is
-- called with a fixed, seeded sweep of wrong arguments. Each call runs
-- under pcall in a child engine started in a fresh temporary folder; the
-- child prints each call before making it, so a crash (a signal, a
-- sanitizer report), a hang or a leak reported at exit names its culprit.
local t = require "lpact.tap"

local B = os.getenv("LPACT_BUILD") or "build"

-- Functions left out, with the reason. Everything else is called.
local EXCLUDED = {
  ["lpact.c.engine.exit"] = "ends the process by design",
  ["lpact.c.engine.catch_interrupt"] = "changes how the process answers Ctrl-C for the rest of the run",
}

-- ---------------------------------------------------------------- child

-- The child: `lpact fuzz.lua list` prints the targets (one a line);
-- `lpact fuzz.lua run TARGET` calls every function of TARGET with every
-- argument list and prints "done <functions> <calls> <non-string errors>".
local CHILD = [==[
local EXCLUDED = ...
local mode, only = arg[1], arg[2]
io.stdout:setvbuf("full")

local function say(s) io.stdout:write(s, "\n") io.stdout:flush() end

-- Registry names of the userdata types: the metatables of luaL_newmetatable.
local function metatables()
  local list = {}
  for k, v in pairs(debug.getregistry()) do
    if type(k) == "string" and k:match("^lpact%.") and type(v) == "table" then list[#list + 1] = k end
  end
  table.sort(list)
  return list
end

-- Every function reachable from table tbl (sub-tables too), named prefix.k.
local function collect(tbl, prefix, out, seen)
  seen = seen or {}
  if seen[tbl] then return out end
  seen[tbl] = true
  local keys = {}
  for k in pairs(tbl) do if type(k) == "string" then keys[#keys + 1] = k end end
  table.sort(keys)
  for _, k in ipairs(keys) do
    local v = rawget(tbl, k)
    if type(v) == "function" then out[#out + 1] = { name = prefix .. "." .. k, fn = v }
    elseif type(v) == "table" then collect(v, prefix .. "." .. k, out, seen) end
  end
  return out
end

-- Methods of a metatable: its own functions (metamethods), the __index
-- table, and tables an __index function closes over (its method table).
local function methods_of(mtname)
  local mt = debug.getregistry()[mtname]
  local out = collect(mt, mtname, {}, { [mt] = false })
  local ix = rawget(mt, "__index")
  if type(ix) == "function" then
    for i = 1, 255 do
      local n, v = debug.getupvalue(ix, i)
      if not n then break end
      if type(v) == "table" then collect(v, mtname .. ".__index", out) end
    end
  end
  return out
end

local function modules()
  local names = { "engine" }
  for _, n in ipairs(require "lpact.c") do names[#names + 1] = n end
  table.sort(names)
  return names
end

if mode == "list" then
  for _, n in ipairs(modules()) do say("lpact.c." .. n) end
  for _, n in ipairs(metatables()) do say(n) end
  return
end

-- A fresh pool of values (objects made anew for every function, so that
-- methods that free them do not hide the next function's calls).
local function pool()
  local P = {}
  local function add(desc, v, near) P[#P + 1] = { desc, v, near = near } end
  add("nil", nil, true) add("true", true, true) add("false", false)
  add("0", 0, true) add("-1", -1, true) add("0.5", 0.5, true) add("nan", 0 / 0, true) add("inf", math.huge)
  add("-inf", -math.huge) add("2^53", 2 ^ 53) add("-2^63", -2 ^ 63)
  add("maxinteger", math.maxinteger) add("2^40", 1 << 40)
  add("1", 1, true) add("2", 2, true) add("3", 3, true)
  add('""', "") add('"x"', "x") add("long string", ("a/"):rep(3000))
  add('"fp4"', "fp4", true) add('"relu"', "relu", true)
  for _, word in ipairs { "ceil", "staircase", "out", "lsq" } do add('"' .. word .. '"', word, true) end
  add("{}", {}) add("{1,2,3}", { 1, 2, 3 }, true) add("{{}}", { {} })
  add("{7}", { 7 }, true) add("{-1}", { -1 }) add("{2^40}", { 1 << 40 }) add("{nan}", { 0 / 0 })
  add("{2^20,2^20}", { 1 << 20, 1 << 20 }) add("{axis=1,block=2}", { axis = 1, block = 2 }, true)
  local deep = { 1 }
  for _ = 1, 40 do deep = { deep } end
  add("deep nested table", deep)
  local cyc = {}
  cyc[1], cyc.x = cyc, cyc
  add("cyclic table", cyc)
  add("table with __len -1", setmetatable({}, { __len = function() return -1 end }))
  add("table with __len 2^40", setmetatable({}, { __len = function() return 1 << 40 end }))
  add("table whose __index raises", setmetatable({}, { __index = function() error("from __index") end }))
  add("function", print)
  add("coroutine", coroutine.create(function() end))
  add("io.stdout", io.stdout)
  add("format fp4", lpact.format "fp4", true)
  add("format fp16", lpact.format "fp16", true)
  add("tensor {1,2,3}", lpact.tensor { 1, 2, 3 }, true)
  add("tensor 2x2", lpact.tensor { { 1, 2 }, { 3, 4 } }, true)
  add("tensor 0-D", lpact.tensor(5), true)
  add("tensor of 0 elements", lpact.zeros { 0 }, true)
  add("tensor 2x0", lpact.zeros { 2, 0 }, true)
  add("non-contiguous view", lpact.tensor { { 1, 2, 3 }, { 4, 5, 6 } }:t(), true)
  add("tensor 1x1x3x3", lpact.ones { 1, 1, 3, 3 }, true)
  add("tensor {nan,inf,-inf}", lpact.tensor { 0 / 0, math.huge, -math.huge }, true)
  add("tensor {1e30,-5,7}", lpact.tensor { 1e30, -5, 7 }, true)
  add("tensor {0,1}", lpact.tensor { 0, 1 }, true)
  add("tensor 1x1x2x2", lpact.rand({ 1, 1, 2, 2 }, 7, -2, 2), true)
  add("tensor 2x1x2x2", lpact.rand({ 2, 1, 2, 2 }, 8, -2, 2), true)
  -- themes: tensors sharing one shape, filled with values a kernel may
  -- take for indices, counts or labels (see `sweep`)
  for ti, shape in ipairs { { 3 }, { 2, 2 }, { 1, 1, 2, 2 }, { 2, 1, 2, 2 } } do
    local desc = "(" .. table.concat(shape, "x") .. ")"
    add("rand " .. desc, lpact.rand(shape, ti, -2, 2), ti)
    add("zeros " .. desc, lpact.zeros(shape), ti)
    add("full 1e9 " .. desc, lpact.full(shape, 1e9), ti)
    add("full -1 " .. desc, lpact.full(shape, -1), ti)
    add("full nan " .. desc, lpact.full(shape, 0 / 0), ti)
  end
  local freed = lpact.zeros { 2 }
  freed:free()
  add("freed tensor", freed, true)
  add("bench buffer", lpact.bench_buffer(4))
  add("qact core fp4", lpact.qcore.new("relu", "fp4", "fp4", "lut"), true)
  add("qact core fp32", lpact.qcore.new("relu", "fp32", "fp8", "emulate"), true)
  return P
end

-- A value of the metatable's own type, to call its methods on.
local SELF = {
  ["lpact.Tensor"] = function()
    local k = math.random(4)
    return k == 1 and lpact.tensor { 7 } or k == 2 and lpact.tensor(7)
      or k == 3 and lpact.tensor { { 1, 2, 3 }, { 4, 5, 6 } }:t() or lpact.tensor { { 1, 2 }, { 3, 4 } }
  end,
  ["lpact.Format"] = function() return lpact.format "fp4" end,
  ["lpact.QactCore"] = function() return lpact.qcore.new("relu", "fp4", "fp4", "lut") end,
  ["lpact.BenchBuffer"] = function() return lpact.bench_buffer(4) end,
}

-- LPACT_FUZZ_SEED=N draws another sweep (the suite runs the default, 0).
local EXTRA_SEED = math.tointeger(tonumber(os.getenv("LPACT_FUZZ_SEED") or "0")) or 0

local function hash(s)
  local h = 5381
  for i = 1, #s do h = (h * 33 + s:byte(i)) & 0x7fffffff end
  return h
end

local calls, nfn, bad = 0, 0, 0
local threads = lpact.threads()

local function try(name, fn, P, idx, self)
  local args, descs, n = {}, {}, 0
  if self ~= nil then n = 1 args[1] = self descs[1] = "self" end
  for _, i in ipairs(idx) do
    n = n + 1
    args[n], descs[n] = P[i][2], P[i][1]
  end
  say("call " .. name .. "(" .. table.concat(descs, ", ") .. ")")
  calls = calls + 1
  local res = table.pack(pcall(fn, table.unpack(args, 1, n)))
  -- an error is a message (a bug's) or a failure object with a message
  -- (a user's mistake: interp/bind/fail.c)
  local e = res[2]
  if not res[1] and type(e) ~= "string" and not (lpact.is_failure(e) and type(e.msg) == "string") then
    bad = bad + 1
    say("nonstring-error " .. name .. " " .. type(e))
  end
  -- what comes back must be usable: print every result, read tensors
  for i = 2, res[1] and res.n or 1 do
    local r = res[i]
    pcall(tostring, r)
    if lpact.is_tensor(r) then
      pcall(r.totable, r)
      pcall(r.sum, r)
      pcall(r.clone, r)
    end
  end
end

-- Every argument list for one function: none, each value alone, then a
-- seeded draw of 2 to 4 values; methods again with a good self first.
local function sweep(name, fn, mkself)
  nfn = nfn + 1
  math.randomseed(hash(name), EXTRA_SEED)
  local P = pool()
  local N = #P
  try(name, fn, P, {})
  for i = 1, N do try(name, fn, P, { i }) end
  for _ = 1, 120 do
    local idx = {}
    for k = 1, math.random(2, 4) do idx[k] = math.random(N) end
    try(name, fn, P, idx)
  end
  -- near-valid lists (tensors, small numbers, names) reach past the
  -- first checks into the shape logic and the kernels
  -- and themed lists draw their tensors from one shape, so that kernels
  -- taking several tensors of matching shapes see them together
  local near, theme = {}, {}
  for i, v in ipairs(P) do
    if v.near == true then near[#near + 1] = i
    elseif v.near then theme[v.near] = theme[v.near] or {} table.insert(theme[v.near], i) end
  end
  local function draw(k)
    local idx, th = {}, theme[math.random(#theme)]
    for j = 1, k do
      idx[j] = math.random() < 0.6 and th[math.random(#th)] or near[math.random(#near)]
    end
    return idx
  end
  for _ = 1, 150 do
    local idx = {}
    for k = 1, math.random(1, 6) do idx[k] = near[math.random(#near)] end
    try(name, fn, P, idx)
  end
  for _ = 1, 150 do try(name, fn, P, draw(math.random(1, 8))) end
  if mkself then
    try(name, fn, P, {}, mkself())
    for i = 1, N do try(name, fn, P, { i }, mkself()) end
    for _ = 1, 120 do
      local idx = {}
      for k = 1, math.random(1, 3) do idx[k] = math.random(N) end
      try(name, fn, P, idx, mkself())
    end
    for _ = 1, 120 do try(name, fn, P, draw(math.random(1, 5)), mkself()) end
  end
  lpact.threads(threads)
  collectgarbage()
end

local targets = {}
if only:match("^lpact%.c%.") then
  targets = collect(require(only), only, {})
else
  targets = methods_of(only)
end
for _, f in ipairs(targets) do
  if EXCLUDED[f.name] then say("excluded " .. f.name)
  else sweep(f.name, f.fn, SELF[only]) end
end
collectgarbage()
say(string.format("done %d %d %d", nfn, calls, bad))
]==]

-- ---------------------------------------------------------------- parent

local function sh_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local capture = t.run

local cwd = capture("pwd"):gsub("\n$", "")
local exe = B:sub(1, 1) == "/" and B .. "/lpact" or cwd .. "/" .. B .. "/lpact"
local dir = capture("mktemp -d"):gsub("\n$", "")
t.ok(dir:match("^/") and lpact.io.isdir(dir), "a fresh temporary folder for the child")

local excl_src = {}
for k, v in pairs(EXCLUDED) do excl_src[#excl_src + 1] = string.format("[%q] = %q", k, v) end
table.sort(excl_src)
local f = assert(io.open(dir .. "/fuzz.lua", "w"))
f:write("local EXCLUDED = {", table.concat(excl_src, ", "), "}\n")
f:write((CHILD:gsub("^local EXCLUDED = %.%.%.\n", "")))
f:close()

-- Runs the child with these arguments in the temporary folder; a hang is
-- stopped after 120 s (the slowest target takes a few seconds under ASan).
local function child(...)
  local args = {}
  for _, a in ipairs { ... } do args[#args + 1] = sh_quote(a) end
  return capture("cd " .. sh_quote(dir) .. " && timeout 120 " .. sh_quote(exe) .. " fuzz.lua " .. table.concat(args, " "))
end

local out, code = child("list")
t.is(code, 0, "the child lists its targets")
local targets = {}
for line in out:gmatch("[^\n]+") do targets[#targets + 1] = line end
t.ok(#targets >= 8, "modules and userdata types found: " .. table.concat(targets, " "))
for _, want in ipairs { "lpact.c.engine", "lpact.c.tensor", "lpact.c.format", "lpact.c.kernels", "lpact.c.qcore",
                        "lpact.c.io", "lpact.Tensor", "lpact.Format", "lpact.QactCore" } do
  local found = false
  for _, n in ipairs(targets) do found = found or n == want end
  t.ok(found, "target " .. want .. " is enumerated")
end

local total_fn, total_calls = 0, 0
local t0 = os.time()
for _, target in ipairs(targets) do
  local body, st = child("run", target)
  local nfn, ncalls, nbad = body:match("\ndone (%d+) (%d+) (%d+)\n$")
  local last = nil
  for line in body:gmatch("[^\n]+") do if line:sub(1, 5) == "call " then last = line end end
  local why = st == 124 and "hung (timeout)" or st and st >= 128 and ("killed by signal " .. (st - 128))
    or st ~= 0 and ("exit status " .. tostring(st)) or not nfn and "no summary line" or nil
  t.ok(why == nil, string.format("%s: survives every call", target))
  if why then
    t.diag(target .. ": " .. why .. "; last call: " .. tostring(last))
    local tail = body:sub(-3000)
    t.diag(tail)
  else
    t.is(tonumber(nbad), 0, target .. ": every error is a string or a failure with a message")
    total_fn, total_calls = total_fn + tonumber(nfn), total_calls + tonumber(ncalls)
  end
  for line in body:gmatch("excluded ([^\n]+)") do t.diag("excluded " .. line .. ": " .. EXCLUDED[line]) end
end
t.diag(string.format("%d functions and methods, %d calls, %d s", total_fn, total_calls, os.time() - t0))
t.ok(total_fn >= 150, "at least 150 functions and methods swept")

-- ------------------------------------------------------ specific checks

local T = lpact.tensor
t.raises(function() return lpact.format "fp4":round_(lpact.format "fp4") end,
  "bad argument #1 to 'round_' %(lpact.Tensor expected, got lpact.Format%)", "a format where a tensor is expected names both types")
t.raises(function() return T { 1 }:add_(lpact.format "fp4") end, "number expected, got lpact.Format",
  "a format as an operand names the expected type")
t.raises(function() return lpact.qcore.new("relu", T { 1 }, "fp4", "lut") end, "format or spec string expected, got Tensor",
  "a tensor where a format is expected")
t.raises(function() return lpact.zeros { 0 / 0 } end, "shape must hold non%-negative integers", "a NaN size is refused")
t.raises(function() return lpact.zeros { -1 } end, "shape must hold non%-negative integers", "a negative size is refused")
t.raises(function() return lpact.arange(-1) end, "non%-negative count expected", "a negative count is refused")
t.raises(function() return lpact.zeros(math.huge) end, "number has no integer representation", "an infinite size is refused")

-- regressions: each of these crashed the engine, wrote out of bounds,
-- overflowed or reached the allocator with an absurd size
local reg = debug.getregistry()
t.raises(function() return reg["lpact.DirReader"].__gc(nil) end, "lpact.DirReader expected, got nil",
  "a folder reader's __gc on nil raises")
t.raises(function() return reg["lpact.GzReader"].__gc(T { 1 }) end, "lpact.GzReader expected, got Tensor",
  "a gzip reader's __gc on a tensor raises")
local x = lpact.rand({ 1, 1, 4, 4 }, 1)
local _, idx = lpact.kernels.maxpool2d(x, 2)
t.ok(lpact.kernels.maxpool2d_backward(lpact.ones { 1, 1, 2, 2 }, idx, x):sum() == 4, "maxpool2d_backward with its own indices")
t.raises(function() return lpact.kernels.maxpool2d_backward(lpact.ones { 1, 1, 2, 2 }, lpact.full({ 1, 1, 2, 2 }, 1e9), x) end,
  "maxpool2d_backward: index %d+ at position 1 is outside an input plane of 16", "maxpool2d_backward refuses indices outside the input")
t.raises(function() return lpact.kernels.maxpool2d_backward(lpact.ones { 1, 1, 2, 2 }, lpact.full({ 1, 1, 2, 2 }, -1), x) end,
  "is outside an input plane", "maxpool2d_backward refuses negative indices")
t.raises(function() return lpact.zeros { 1 << 20, 1 << 20 } end, "tensor too large", "zeros{2^20, 2^20} is refused before allocating")
t.raises(function() return lpact.arange(1 << 40) end, "count above 2%^24", "arange(2^40) is refused before allocating")
t.raises(function() return lpact.io.builtin(10000000, 1, 0) end, "tensor too large", "builtin(10^7) (31 GB) is refused")
t.raises(function() return lpact.io.gather(lpact.ones { 3, 2 }, nil, math.maxinteger, 2) end,
  "range beyond the tensor's first dimension", "gather: start + count past the largest integer")
t.raises(function() return lpact.io.gather(lpact.ones { 3, 2 }, T { 0, 1 }, math.maxinteger, 2) end,
  "range beyond the permutation", "gather: start + count past the largest integer, with a permutation")
t.raises(function() return lpact.io.augment(lpact.ones { 1, 1, 2, 2 }, nil, math.maxinteger, {}) end,
  "beyond the largest integer", "augment: start past the largest integer")
t.raises(function() return lpact.ones { 3 }:narrow(1, math.maxinteger, 2) end, "narrow: slice 9223372036854775807%.%.",
  "narrow: a start near the largest integer")
t.raises(function() return lpact.ones { 3 }:narrow(1, 2, math.maxinteger) end, "out of range 1%.%.3", "narrow: a huge length")
t.raises(function() return lpact.io.from_list({}, { 1 << 32, 1 << 32 }) end, "too many elements", "from_list: a shape whose size overflows")
local lying = setmetatable({}, { __len = function() return -5 end })
t.raises(function() return T { 1 }:reshape(lying) end, "shape table of negative length",
  "reshape: a shape whose __len is negative (made a tensor of -5 dimensions)")
t.raises(function() return T({ 7 }, lying) end, "shape table of negative length", "tensor(data, shape): a lying shape")
t.raises(function() return lpact.kernels.sum_to(T(1), lying) end, "too many dimensions", "sum_to: a lying shape")
t.raises(function() return lpact.format "fp4":round(lying) end, "table length out of range", "round: a table whose __len is negative")
t.ok(lpact.is_tensor(lpact.qcore.ste(T { 1, 2 }, T { 1, 1 }, "staircase", "relu", nil, nil, nil, lying, lying)),
  "ste: staircase points are counted raw, a lying __len is ignored")
t.ok(lpact.qcore.mx_scale(-1, 6, "ceil") ~= lpact.qcore.mx_scale(-1, 6, "ceil"), "mx_scale: a negative amax gives NaN (the ceil search never ended)")
t.ok(lpact.qcore.mx_scale(1, math.huge, "ceil") ~= lpact.qcore.mx_scale(1, math.huge, "ceil"), "mx_scale: an infinite maxval gives NaN (the ceil search never ended)")
t.is(lpact.qcore.mx_scale(math.huge, 6, "ceil"), 2.0 ^ 127, "mx_scale: an infinite amax still gives 2^127")
t.raises(function() return lpact.bench_memcpy(lpact.bench_buffer(4), math.maxinteger) end, "repetitions out of range",
  "bench_memcpy: a huge repetition count is refused, not truncated")
t.raises(function() return lpact.bench_quantize(lpact.bench_buffer(4), "fp4", 1, 1 << 32) end, "repetitions out of range",
  "bench_quantize: a huge repetition count is refused, not truncated")

os.execute("rm -rf " .. sh_quote(dir))
t.done()
