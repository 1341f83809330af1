-- lpact report trusts no record: each file is checked against the results
-- schema (known version, types, finite numbers, accuracies in 0..1) and a
-- file that fails is named with its reason, on stderr and in the report;
-- interrupted records are never paired into comparisons; the report knows
-- the sweep's grid (missing, failed, interrupted cells, unfinished
-- workers; --require-complete) and writes its outputs all or nothing.
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
local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

-- a valid record, then one field made wrong at a time
local function rec(over)
  local r = { schema = "lpact-result/1", id = "r", model = "mlp", dataset = "builtin", activation = "relu",
    format = "fp4", modes = { mode = "emulate", levels = "fixed" }, seed = 1, epochs = 2, epochs_planned = 2,
    batch = 64, lr = 0.001, accuracy = { 0.5, 0.75 }, loss = { 1.5, 0.5 }, test_acc = 0.75, seconds = 1.0 }
  for k, v in pairs(over or {}) do r[k] = v end
  return r
end
t.is(results.validate(rec()), nil, "a well-formed record passes")
for _, case in ipairs {
  { { test_acc = 1.75 }, "test_acc is 1.75, outside 0..1" },
  { { test_acc = -0.25 }, "test_acc is -0.25, outside 0..1" },
  { { schema = "lpact-result/9" }, "unknown schema 'lpact-result/9'" },
  { { epochs = 2.5 }, "epochs is 2.5, not a whole number" },
  { { lr = "fast" }, "lr is a string, not a finite number" },
  { { accuracy = { 0.5, 2 } }, "accuracy[2] is 2, outside 0..1" },
  { { loss = { 1.5, 1 / 0 } }, "loss[2] is inf, not a finite number" },
  { { batch = 0 }, "batch is 0, below 1" },
  { { model = 7 }, "model is a number, not a string" },
  { { modes = "fast" }, "modes is a string, not an object" },
  { { interrupted = "yes" }, "interrupted is not true or false" },
} do
  local k = next(case[1])
  t.is(results.validate(rec(case[1])), case[2], "rejected: " .. k .. " (" .. case[2] .. ")")
end
t.like(results.validate({ note = "hello" }) or "", "not a result record", "a JSON object that is not a record")

-- the report names each rejected file, on stderr and in report.md
do
  local d = tmpdir()
  spit(d .. "/good.json", json.encode(rec { id = "good" }))
  spit(d .. "/toohigh.json", json.encode(rec { id = "toohigh", test_acc = 1.5 }))
  spit(d .. "/future.json", json.encode(rec { id = "future", schema = "lpact-result/9" }))
  spit(d .. "/garbage.json", "{ not json")
  local out, code = t.run("(" .. LP .. " report " .. d .. " --no-figures 2>" .. d .. "/err.txt)")
  local f = io.open(d .. "/err.txt")
  local err = f:read("a")
  f:close()
  t.is(code, 0, "a folder with rejected files still makes a report from the good ones")
  for _, c in ipairs { { "toohigh.json", "test_acc is 1.5, outside 0..1" }, { "future.json", "unknown schema 'lpact-result/9'" },
      { "garbage.json", "json.decode: " } } do
    t.ok(err:find("rejected " .. d .. "/" .. c[1] .. ": " .. c[2], 1, true) ~= nil, c[1] .. " is named on stderr with its reason")
    t.ok(out:find("- `" .. c[1] .. "`: " .. c[2], 1, true) ~= nil, c[1] .. " is listed under Rejected files")
  end
  t.ok(out:match("| relu | 75%.00 |") and not out:match("150%.00"), "the tables hold the good record only")
  os.execute("rm -rf '" .. d .. "'")
end

-- records of different lpact revisions in one table: a warning
do
  local d = tmpdir()
  spit(d .. "/a.json", json.encode(rec { id = "a", run = { revision = "aaaaaaaaaaaa" } }))
  spit(d .. "/b.json", json.encode(rec { id = "b", seed = 2, run = { revision = "bbbbbbbbbbbb" } }))
  local out = t.run(LP .. " report " .. d .. " --no-figures")
  t.ok(out:find("Warning: the table builtin, mlp mixes records of different lpact revisions: aaaaaaaaaaaa, bbbbbbbbbbbb.", 1, true),
    "a table mixing two lpact revisions is warned about, naming both")
  spit(d .. "/b.json", json.encode(rec { id = "b", seed = 2, run = { revision = "aaaaaaaaaaaa" } }))
  out = t.run(LP .. " report " .. d .. " --no-figures")
  t.ok(not out:find("mixes records", 1, true), "one revision: no warning")
  os.execute("rm -rf '" .. d .. "'")
end

-- an interrupted record is never paired into a comparison
do
  local a = rec { id = "a", modes = { mode = "emulate", levels = "fixed" }, test_acc = 0.5 }
  local b = rec { id = "b", modes = { mode = "emulate", levels = "learnable" }, test_acc = 0.75 }
  t.is(#results.comparisons { a, b }, 1, "two complete runs differing in levels make one comparison")
  local bi = rec { id = "b", modes = { mode = "emulate", levels = "learnable" }, test_acc = 0.75, interrupted = true }
  t.is(#results.comparisons { a, bi }, 0, "with the learnable run interrupted, there is none")
  t.ok(not results.comparisons_markdown({ a, bi }):match("against"), "and the Markdown shows none")
end

-- the grid: missing, failed and interrupted cells; --require-complete
do
  local d = tmpdir()
  local grid = " --data builtin --models mlp --acts relu --formats fp32,fp2 --levels fixed --seeds 1 --epochs 1 --limit 200 --out " .. d
  local out, code = t.run(LP .. " scripts/paper.lua" .. grid)
  t.is(code, 0, "a two-configuration sweep")
  out, code = t.run(LP .. " report " .. d .. " --no-figures --require-complete")
  t.ok(code == 0 and out:match("2 of the grid's 2 configurations are done%."), "complete: --require-complete exits 0")
  local p = io.popen("ls " .. d .. "/mlp-relu-fp2-*.json")
  local fp2 = p:read("l")
  p:close()
  os.remove(fp2)
  local id = fp2:match("([^/]+)%.json$")
  out, code = t.run(LP .. " report " .. d .. " --no-figures")
  t.is(code, 0, "a missing record: the report is still written")
  t.ok(out:find("1 of the grid's 2 configurations are done: 1 missing, 0 failed, 0 interrupted.", 1, true)
    and out:find("- missing: `" .. id .. "`", 1, true), "and lists the missing configuration by id")
  out, code = t.run(LP .. " report " .. d .. " --no-figures --require-complete")
  t.is(code, 1, "--require-complete: a missing configuration is an error (exit 1)")
  t.like(out, "lpact: report: the sweep is not complete: 1 of 2 configurations done %(1 missing", "in one line")
  -- a failed training: its error is in the report
  spit(d .. "/" .. id .. ".failed.json", json.encode { schema = "lpact-failure/1", id = id, error = "loss is nan at epoch 1, batch 2" })
  out = t.run(LP .. " report " .. d .. " --no-figures")
  t.ok(out:find("- failed: `" .. id .. "`: loss is nan at epoch 1, batch 2", 1, true), "a failed configuration is listed with its error")
  os.remove(d .. "/" .. id .. ".failed.json")
  -- a worker that stopped without finishing
  spit(d .. "/manifest-w9.json", json.encode { schema = "lpact-manifest/1", host = lpact.sys.hostname(), pid = 999999999,
    finished = json.null, grid = {}, results = {} })
  out = t.run(LP .. " report " .. d .. " --no-figures")
  t.ok(out:find("- `manifest-w9.json`: " .. lpact.sys.hostname() .. ":999999999, stopped without finishing", 1, true),
    "a worker whose manifest never finished is listed, its process gone")
  -- all or nothing: a failing gnuplot leaves no output and no temporary file
  local o2 = tmpdir()
  spit(o2 .. "/gp.sh", "#!/bin/sh\nexit 3\n")
  os.execute("chmod +x " .. o2 .. "/gp.sh")
  out, code = t.run("LPACT_GNUPLOT=" .. o2 .. "/gp.sh " .. LP .. " report " .. d .. " --out " .. o2 .. "/rep")
  local left = lpact.io.listdir(o2 .. "/rep") or {}
  t.ok(code == 1 and #left == 0, "gnuplot fails: exit 1 and the output folder holds nothing (" .. table.concat(left, " ") .. ")")
  os.execute("rm -rf '" .. d .. "' '" .. o2 .. "'")
end

t.done()
