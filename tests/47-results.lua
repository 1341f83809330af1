-- lpact.results: records from a training history, atomic files, the
-- manifest of a run, reading a folder back.
local t = require "lpact.tap"
local results, json, io_ = lpact.results, require "lpact.json", lpact.io

local dir = os.tmpname()
os.remove(dir)
local slurp = t.slurp

local hist = { epochs = {
  { epoch = 1, train_loss = 0.75, train_acc = 0.7, test_acc = 0.8, test_loss = 0.6, seconds = 2.0 },
  { epoch = 2, train_loss = 0.5, train_acc = 0.8, test_acc = 0.85, test_loss = 0.45, seconds = 3.0 } },
  test_acc = 0.85, seconds = 5.25 }
local cfg = { model = "mlp", dataset = "fashion-mnist", activation = "relu", formats = { input = "fp8", output = "fp4" },
  modes = { mode = "lut", levels = "learnable" }, seed = 7, epochs = 5, batch = 128, optimizer = "adam", lr = 1e-3,
  note = "extra field" }
local rec = results.record(cfg, hist)
t.is(rec.schema, "lpact-result/1", "schema")
t.is(rec.format, "fp8>fp4", "format label: input>output when they differ")
t.same(rec.accuracy, { 0.8, 0.85 }, "accuracy per epoch")
t.same(rec.loss, { 0.75, 0.5 }, "training loss per epoch")
t.same(rec.seconds_per_epoch, { 2.0, 3.0 }, "seconds per epoch")
t.is(rec.test_acc, 0.85, "final test accuracy")
t.is(rec.final_loss, 0.5, "final loss")
t.is(rec.epochs, 2, "epochs run")
t.is(rec.epochs_planned, 5, "epochs planned")
t.is(rec.seconds, 5.25, "total seconds from the history")
t.is(rec.id, "mlp-fashion-mnist-relu-fp8-fp4-learnable-lut-s7", "id from the configuration")
t.same(rec.extra, { note = "extra field" }, "unknown fields kept under extra")
t.is(rec.engine.version, lpact.version, "engine version")
t.ok(math.type(rec.engine.threads) == "integer" and rec.engine.threads >= 1, "thread count")
t.ok(math.type(rec.peak_memory_kb) == "integer" and rec.peak_memory_kb > 1000, "peak memory in kB (VmHWM): " .. tostring(rec.peak_memory_kb))
t.like(rec.created, "^%d%d%d%d%-%d%d%-%d%dT%d%d:%d%d:%d%dZ$", "creation time, ISO 8601 UTC")
t.is(results.record({ model = "m", format = "fp4" }, {}).format, "fp4", "format given directly")
t.is(results.record({ model = "m", name = "Custom Name" }, {}).id, "Custom Name", "name gives the id")

-- Peak memory grows when memory is touched.
local before = results.peak_memory_kb()
local big = lpact.full({4000, 4000}, 1.5)   -- 16M floats written: 64 MB
t.ok(results.peak_memory_kb() >= before + 50000, "VmHWM follows a 64 MB allocation")
big = nil

-- A run: manifest + one file per configuration, all atomic.
local run = results.open(dir, { name = "unit" })
local m0 = json.decode(slurp(dir .. "/manifest.json"))
t.is(m0.schema, "lpact-manifest/1", "manifest written at open")
t.is(m0.finished, json.null, "not finished yet")
local r1, p1 = run:add(cfg, hist)
t.is(p1, dir .. "/mlp-fashion-mnist-relu-fp8-fp4-learnable-lut-s7.json", "result path")
local back = json.decode(slurp(p1))
t.is(json.encode(back), json.encode(r1), "the file holds the record (JSON round trip)")
run:add({ model = "mlp", dataset = "fashion-mnist", activation = "gelu", format = "fp4", seed = 7 }, hist)
local m1 = json.decode(slurp(dir .. "/manifest.json"))
t.is(#m1.results, 2, "manifest lists both results after each add")
t.is(m1.results[2].file, "mlp-fashion-mnist-gelu-fp4-s7.json", "manifest entry names the file")
run:finish()
local m2 = json.decode(slurp(dir .. "/manifest.json"))
t.like(m2.finished, "Z$", "finish stamps the time")
t.is(m2.status, "complete", "status")
t.ok(m2.peak_memory_kb > 0, "manifest has the run's peak memory")

-- Reading the folder back: results only, in file-name order.
local f = io.open(dir .. "/other.json", "w") f:write('{"schema": "something-else"}') f:close()
local recs = results.read_dir(dir)
t.is(#recs, 2, "read_dir: two results (manifest and foreign JSON skipped)")
t.same({ recs[1].activation, recs[2].activation }, { "gelu", "relu" }, "in file-name order")
local names = io_.listdir(dir)
local tmp = 0
for _, n in ipairs(names) do if n:find("tmp") then tmp = tmp + 1 end end
t.is(tmp, 0, "no temporary files left")

-- write_file replaces atomically and refuses an impossible path clearly.
results.write_file(dir .. "/x.txt", "one")
results.write_file(dir .. "/x.txt", "two")
t.is(slurp(dir .. "/x.txt"), "two", "write_file replaces")
local ok, e = pcall(results.write_file, dir .. "/no/such/x.txt", "z")
t.ok(not ok and lpact.is_failure(e) and e.msg:find("no/such/x%.txt: cannot write: No such file") ~= nil,
  "write_file into a missing folder: one-line failure naming the path")
f = io.open(dir .. "/bad.json", "w") f:write('{"schema": "lpact-result/1", ') f:close()
local good, rejected = results.read_dir(dir)
t.ok(#good == 2 and #rejected == 2 and rejected[1].file == "bad.json" and rejected[1].why:find("^json%.decode: ") ~= nil,
  "a broken result file is rejected by name, with the parser's reason; the others are read")
t.ok(rejected[2].file == "other.json" and rejected[2].why == "unknown schema 'something-else'",
  "a JSON file that is not a record is rejected by name: " .. tostring(rejected[2] and rejected[2].why))

-- A run's folder is created with its missing parents (results/demo on a
-- fresh clone), and a path through a file is refused in one line.
local run = results.open(dir .. "/deep/er/run", { name = "nested" })
t.ok(io_.isdir(dir .. "/deep/er/run"), "results.open creates missing parent folders")
t.ok(io.open(dir .. "/deep/er/run/manifest.json") ~= nil, "and writes the manifest there")
local okm, em = io_.mkdir(dir .. "/x.txt/sub")
t.ok(okm == nil and em:find("x%.txt/sub: Not a directory") ~= nil, "mkdir through a file: " .. tostring(em))
_ = run

os.execute("rm -rf " .. dir)
t.done()
