-- lpact report never averages records that were trained differently:
-- records of one dataset and model that differ in a setting besides their
-- activation, format, modes and seed (lr, batch, a data limit, a language
-- model's steps) get tables, baselines and paired comparisons of their
-- own; a second file of one record id is counted once; a record whose
-- final accuracy is not its last epoch's is rejected.
local t = require "lpact.tap"
local json = lpact.json
local results = lpact.results
local B = os.getenv("LPACT_BUILD") or "build"
local LP = B .. "/lpact"

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  os.execute("mkdir -p " .. d)
  return d
end
local function spit(path, s)
  local f = assert(io.open(path, "w"))
  f:write(s)
  f:close()
end
local function slurp(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- A sweep's record as lpact.sweep writes it: config holds every setting.
local function rec(act, fmt, levels, seed, acc, lr, limit)
  local id = table.concat({ "mlp", act, fmt, levels or "", "s" .. seed, "lr" .. lr, "n" .. limit }, "-")
  return { schema = "lpact-result/1", id = id, model = "mlp", dataset = "builtin", activation = act,
    format = fmt, modes = fmt == "fp32" and { mode = "fp32" } or { mode = "emulate", levels = levels },
    seed = seed, epochs = 2, epochs_planned = 2, batch = 128, lr = lr, optimizer = "adam",
    accuracy = { acc / 2, acc }, test_acc = acc,
    config = { activation = act, seed = seed, epochs = 2, batch = 128, numerics = 2,
      data = { name = "builtin", limit = limit, hash = "h" .. limit, shape = { limit, 1, 28, 28 } },
      optimizer = { name = "adam", lr = lr, beta1 = 0.9 },
      qact = fmt == "fp32" and { format = "fp32" } or { format = fmt, levels = levels } } }
end

local recs = {
  -- lr 1e-3, limit 500: the sweep of the report
  rec("relu", "fp32", nil, 1, 0.50, 0.001, 500), rec("relu", "fp32", nil, 2, 0.52, 0.001, 500),
  rec("relu", "fp4", "fixed", 1, 0.40, 0.001, 500), rec("relu", "fp4", "fixed", 2, 0.44, 0.001, 500),
  rec("relu", "fp4", "learnable", 1, 0.46, 0.001, 500), rec("relu", "fp4", "learnable", 2, 0.48, 0.001, 500),
  -- the same grid again with lr 5e-3 (another id: trained anew, the old kept)
  rec("relu", "fp32", nil, 1, 0.70, 0.005, 500), rec("relu", "fp32", nil, 2, 0.72, 0.005, 500),
  rec("relu", "fp4", "fixed", 1, 0.60, 0.005, 500), rec("relu", "fp4", "fixed", 2, 0.62, 0.005, 500),
  rec("relu", "fp4", "learnable", 1, 0.30, 0.005, 500), rec("relu", "fp4", "learnable", 2, 0.34, 0.005, 500),
  -- and one cell with a data limit of 400
  rec("relu", "fp32", nil, 1, 0.10, 0.001, 400), rec("relu", "fp4", "fixed", 1, 0.20, 0.001, 400),
}

-- the tables: one per (variant, settings), each with its own baseline
do
  local by = {}
  for _, tb in ipairs(results.tables(recs)) do
    if tb.kind == "matrix" then by[tb.variant] = tb end
  end
  local function cell(var, fmt)
    local tb = by[var]
    return tb and tb.cells.relu[fmt]
  end
  local c = cell("levels=fixed mode=emulate data.limit=500 lr=0.001", "fp4")
  t.ok(c and math.abs(c.mean - 42) < 1e-9 and c.n == 2, "fp4 fixed at lr 1e-3: the mean of 40 and 44, two runs")
  c = cell("levels=fixed mode=emulate data.limit=500 lr=0.001", "fp32")
  t.ok(c and math.abs(c.mean - 51) < 1e-9 and c.n == 2, "its baseline: fp32 at lr 1e-3 only (50, 52)")
  c = cell("levels=fixed mode=emulate data.limit=500 lr=0.005", "fp4")
  t.ok(c and math.abs(c.mean - 61) < 1e-9 and c.n == 2, "fp4 fixed at lr 5e-3 in a table of its own (60, 62)")
  c = cell("levels=fixed mode=emulate data.limit=500 lr=0.005", "fp32")
  t.ok(c and math.abs(c.mean - 71) < 1e-9 and c.n == 2, "with the fp32 baseline of lr 5e-3 (70, 72)")
  c = cell("levels=fixed mode=emulate data.limit=400 lr=0.001", "fp4")
  t.ok(c and math.abs(c.mean - 20) < 1e-9 and c.n == 1, "the limit-400 cell apart (20)")
  t.ok(cell("levels=fixed mode=emulate data.limit=400 lr=0.001", "fp32").mean == 10,
    "with the limit-400 baseline (10); the label leaves out the data hash and shape that follow from the limit")
  local n = 0
  for _ in pairs(by) do n = n + 1 end
  t.is(n, 5, "five tables: fixed and learnable at two rates, fixed at limit 400")
end

-- a record of an older script (no config) beside a sweep's records of the
-- same settings: kept apart as config=none, not by every config setting
-- it lacks (which gave titles, and figure names, of hundreds of characters)
do
  local old = {}
  for k, v in pairs(recs[3]) do old[k] = v end
  old.config, old.id, old.test_acc, old.accuracy = nil, "old", 0.9, { 0.45, 0.9 }
  local by = {}
  for _, tb in ipairs(results.tables { recs[1], recs[3], old }) do by[tb.variant] = tb end
  local a, b = by["levels=fixed mode=emulate config=full"], by["levels=fixed mode=emulate config=none"]
  t.ok(a and b and a.cells.relu.fp4.mean == 40 and b.cells.relu.fp4.mean == 90,
    "the older record in a table of its own, labelled config=none (40 and 90 not averaged)")
end

-- records that agree on every setting keep the plain variant
do
  local same = { recs[1], recs[3], recs[5] }
  local names = {}
  for _, tb in ipairs(results.tables(same)) do names[#names + 1] = tb.variant end
  table.sort(names)
  t.is(table.concat(names, " | "), "levels=fixed mode=emulate | levels=learnable mode=emulate",
    "one setting everywhere: no setting in the variant")
end

-- paired comparisons pair runs of the same settings only
do
  local cps = results.comparisons(recs)
  local got = {}
  for _, cp in ipairs(cps) do got[#got + 1] = { cp.context, cp.cells.relu.fp4.mean, cp.cells.relu.fp4.wins } end
  table.sort(got, function(a, b) return a[1] < b[1] end)
  t.is(#got, 2, "two comparisons of learnable against fixed: one per learning rate")
  t.ok(got[1] and got[1][1] == "data.limit=500 lr=0.001" and math.abs(got[1][2] - 5) < 1e-9 and got[1][3] == 2,
    "lr 1e-3: +5 points (46-40, 48-44), higher on 2 seeds")
  t.ok(got[2] and got[2][1] == "data.limit=500 lr=0.005" and math.abs(got[2][2] + 29) < 1e-9 and got[2][3] == 0,
    "lr 5e-3: -29 points (30-60, 34-62), higher on no seed")
end

-- language-model records: another number of steps is another line set
do
  local function lm(fmt, steps, bits)
    return { schema = "lpact-result/1", id = "gpt-" .. fmt .. "-" .. steps, model = "gpt", dataset = "fortunes",
      activation = "gelu", format = fmt, modes = { attn = "fp32", levels = "fixed" }, seed = 1, epochs = 1,
      batch = 32, lr = 0.003, accuracy = { 0.5 }, test_acc = 0.5,
      extra = { steps = steps, val_bits_per_char = bits } }
  end
  local gs = results.lm_sites { lm("fp32", 300, 3.0), lm("fp4", 300, 3.5), lm("fp32", 2000, 2.0), lm("fp4", 2000, 2.25) }
  table.sort(gs, function(a, b) return a.length < b.length end)
  t.is(#gs, 2, "two language-model figures: 300 and 2000 steps")
  local p = gs[1] and gs[1].lines[1].points
  t.ok(gs[1].length == "steps=2000" and p[1].bits == 32 and p[1].mean == 2.0 and p[2].mean == 2.25,
    "2000 steps: fp32 2.0, fp4 2.25, nothing of the 300-step runs")
end

-- through lpact report: one folder, the tables kept apart; a copy of a
-- record counted once; a record whose test_acc is not its last epoch's rejected
do
  local d = tmpdir()
  for _, r in ipairs(recs) do spit(d .. "/" .. r.id .. ".json", json.encode(r)) end
  spit(d .. "/copy of a record.json", json.encode(recs[3]))
  local bad = rec("relu", "fp4", "fixed", 3, 0.41, 0.001, 500)
  bad.test_acc = 0.99
  spit(d .. "/" .. bad.id .. ".json", json.encode(bad))
  local ok = os.execute(LP .. " report " .. d .. " --no-figures >" .. d .. "/out.txt 2>" .. d .. "/err.txt")
  t.ok(ok, "lpact report succeeds")
  local md, err = slurp(d .. "/report.md") or "", slurp(d .. "/err.txt") or ""
  t.like(md, "## builtin, mlp, levels=fixed mode=emulate data.limit=500 lr=0.001\n", "a table per setting, named by it")
  t.like(md, "| relu | 51.00 ± 1.41 | 42.00 ± 2.83 %(%-9.00%) |", "lr 1e-3: fp32 51 ± 1.41, fp4 42 ± 2.83 (-9)")
  t.like(md, "| relu | 71.00 ± 1.41 | 61.00 ± 1.41 %(%-10.00%) |", "lr 5e-3: fp32 71, fp4 61 (-10)")
  t.like(err, "rejected [^\n]*/copy of a record%.json: a second record of " .. recs[3].id:gsub("%p", "%%%0")
    .. " %(kept " .. recs[3].id:gsub("%p", "%%%0") .. "%.json%)", "the copy is rejected, naming the file kept")
  t.like(err, "test_acc is 0.99 but the last epoch's accuracy is 0.41", "an edited test_acc is rejected")
  os.execute("rm -rf " .. d)
end

-- a record file of the grid that does not parse: missing, and the report
-- says why a sweep does not train it again; names with '|' or a newline
-- stay in their Markdown cell
do
  local d = tmpdir()
  local a = rec("re|lu", "fp32", nil, 1, 0.5, 0.001, 500)
  a.activation = "re|lu"
  local b = rec("tan\nh", "fp4", "fixed", 1, 0.4, 0.001, 500)
  b.activation = "tan\nh"
  b.id = "b"
  a.id = "a"
  spit(d .. "/a.json", json.encode(a))
  spit(d .. "/b.json", json.encode(b))
  spit(d .. "/cut.json", '{"schema": "lpact-result/1", "id": "cut", "test_a')
  spit(d .. "/manifest.json", json.encode { schema = "lpact-manifest/1", name = "g", finished = "2026-01-01T00:00:00Z",
    grid = { { id = "a" }, { id = "b" }, { id = "cut" } } })
  local ok = os.execute(LP .. " report " .. d .. " --no-figures >/dev/null 2>&1")
  local md = slurp(d .. "/report.md") or ""
  t.ok(ok and md:find("\n| re\\|lu | 50.00 | - |\n", 1, true) ~= nil and md:find("\n| tan h | - | 40.00 |\n", 1, true) ~= nil,
    "'|' escaped and a newline a space: each name in its own cell")
  t.like(md, "%- missing: `cut` %(its record `cut%.json` is rejected, above; a sweep takes the file for done: "
    .. "delete it and run the sweep again to train it%)", "a cut-short record of the grid: missing, with what to do")
  os.execute("rm -rf " .. d)
end

-- a title longer than a file name may be (settings of long values): the
-- figures are written under names cut to 150 characters and a hash; the
-- records hold no losses, so the curves have no loss row (its range was
-- [inf:-inf] and gnuplot failed, losing the whole report)
do
  local d = tmpdir()
  for i, ch in ipairs { "x", "y" } do
    for _, fmt in ipairs { "fp32", "fp4" } do
      local r = rec("relu", fmt, fmt == "fp4" and "fixed" or nil, 1, 0.5 + i / 10, 0.001, 500)
      r.config.tag = string.rep(ch, 300)
      r.id = ch .. fmt
      spit(d .. "/" .. r.id .. ".json", json.encode(r))
    end
  end
  local p = io.popen(LP .. " report " .. d .. " 2>&1; echo \"exit=$?\"")
  local out = p:read("a")
  p:close()
  local longest = 0
  for name in out:gmatch("figure: [^\n]*/([^/\n]+)%.png") do longest = math.max(longest, #name + 4) end
  t.ok(out:match("exit=0") and longest > 0 and longest <= 170,
    "the report is written; its longest figure name has " .. longest .. " characters")
  os.execute("rm -rf " .. d)
end

t.done()
