-- Files edited by hand or by another program, and empty names, get one
-- line and an exit status, never a traceback: a lesson progress file of
-- the wrong shape, a model file whose configuration has fields of the
-- wrong type, a LUT of the wrong shape or a folder given as a LUT, an
-- empty file or folder name on a command line, lpact submit's report
-- options (checked before the array runs).
local t = require "lpact.tap"
local json = lpact.json
local B = os.getenv("LPACT_BUILD") or "build"
local LP = B .. "/lpact"

local d = t.tmpdir()
local function sh(s) return "'" .. s:gsub("'", "'\\''") .. "'" end
-- one line on stderr, no traceback, the exit status
local function one_line(out, code, status, pat, name)
  t.ok(code == status and out:match(pat) ~= nil and not out:find("traceback", 1, true)
    and not out:find("attempt to", 1, true) and select(2, out:gsub("\n", "")) <= 1,
    name .. " [" .. tostring(code) .. "] " .. out:sub(1, 160))
end

-- 1. json.null is one shared value: writing into it is refused
t.raises(function() json.decode("null").step = 1 end, "json.null is read%-only", "json.null cannot be written into")
t.is(json.encode({ a = json.null }), '{"a":null}', "and stays null")

-- 2. the lesson progress file: entries and fields of other types are dropped
do
  local state = d .. "/state"
  os.execute("mkdir -p " .. state .. "/lpact")
  local path = state .. "/lpact/lessons.json"
  local function progress_after(text)
    t.spit(path, text)
    return t.run("XDG_STATE_HOME=" .. state .. " " .. LP .. [[ -e '
      local lesson = require "lpact.lesson"
      lesson.save_progress("rounding", { step = 3, steps = 8, done = false, results = "rr------" })
      local p = lesson.progress()
      io.write(lpact.json.encode(p))']])
  end
  local out, code = progress_after("null")
  t.is(out, '{"rounding":{"done":false,"results":"rr------","step":3,"steps":8}}',
    "a progress file holding null: the step is kept (it was lost, written into json.null) [" .. code .. "]")
  out, code = progress_after('{"minifloat": {"step": 1e400}, "overflow": {"step": 2, "done": "yes", "results": 7}}')
  t.is(out, '{"overflow":{"step":2},"rounding":{"done":false,"results":"rr------","step":3,"steps":8}}',
    "a step of 1e400 (a traceback at every step before) and fields of other types are dropped [" .. code .. "]")
  out, code = progress_after("[1, 2]")
  t.is(out, '{"rounding":{"done":false,"results":"rr------","step":3,"steps":8}}', "a list instead of an object")
  -- the list of lessons shows no step past the lesson's end
  t.spit(path, '{"rounding": {"step": 99}}')
  out = t.run("XDG_STATE_HOME=" .. state .. " " .. B .. "/lpact-repl --lesson </dev/null")
  t.like(out, "rounding%s+not started", "a step past the lesson's end reads as not started")
end

-- 3. a model file whose lpact configuration has fields of the wrong type
do
  local m = lpact.models.mlp { 4, 3, 2, act = lpact.qact { "relu", fmt = "fp4" } }
  local good = d .. "/m.safetensors"
  m:save_safetensors(good)
  local s = t.slurp(good)
  local n = string.unpack("<I8", s)
  local head = json.decode(s:sub(9, 8 + n))
  local data = s:sub(9 + n)
  local cfg = json.decode(head.__metadata__.lpact)
  for _, case in ipairs {
    { "options", "x", "'options' is not a JSON object" },
    { "args", 5, "'args' is not a JSON list" },
    { "sites", { 5 }, "site 1 is not a JSON object" },
  } do
    local c = {}
    for k, v in pairs(cfg) do c[k] = v end
    c[case[1]] = case[2]
    head.__metadata__.lpact = json.encode(c)
    local h = json.encode(head)
    local path = d .. "/bad-" .. case[1] .. ".safetensors"
    t.spit(path, string.pack("<I8", #h) .. h .. data)
    local out, code = t.run(LP .. " -e " .. sh("lpact.load_model('" .. path .. "')"))
    one_line(out, code, 1, "bad%-" .. case[1] .. "%.safetensors: __metadata__%.lpact: " .. case[3]:gsub("%p", "%%%0"),
      "load_model: " .. case[3])
  end
end

-- 4. LUT files of the wrong shape, and a folder
do
  local function load(name, text)
    local path = d .. "/" .. name
    if text then t.spit(path, text) else os.execute("mkdir -p " .. path) end
    return t.run(LP .. " -e " .. sh("lpact.lut.load('" .. path .. "')"))
  end
  local out, code = load("dir.json")
  one_line(out, code, 1, "dir%.json: cannot read the table: Is a directory", "lut.load of a folder")
  out, code = load("a.json", '{"lpact_lut": 1, "word": "code"}')
  one_line(out, code, 1, "'entries' is not a list of entries", "a LUT without entries")
  out, code = load("b.json", '{"lpact_lut": 1, "word": "code", "entries": [5]}')
  one_line(out, code, 1, "entry 1 has no out_code", "an entry that is a number")
  out, code = load("c.json", '{"lpact_lut": 1, "word": "code", "entries": [{"out_code": 1.5}]}')
  one_line(out, code, 1, "entry 1 has no out_code", "an output code of 1.5 (was read as the word 1.5)")
  out, code = load("e.json", '{"lpact_lut": 1, "word": "value", "entries": [{"out_bits": "zz"}]}')
  one_line(out, code, 1, "entry 1 has no out_bits", "an output bit pattern that is not hex")
end

-- 4b. a float64 array with a finite value beyond float32's range: refused
-- (it became an infinity); the midpoint above FLT_MAX rounds up, just
-- below it rounds to FLT_MAX; NaN and infinities stay
do
  local path = d .. "/f64.npy"
  local function with(values)
    lpact.save_npy(lpact.tensor { 0, 0, 0 }, path, { dtype = "float64" })
    local s = t.slurp(path)
    t.spit(path, s:sub(1, #s - 24) .. string.pack("<ddd", table.unpack(values)))
    return t.run(LP .. " -e " .. sh("local x = lpact.load_npy('" .. path .. "') io.write(x:get(1), ' ', x:get(2), ' ', x:get(3))"))
  end
  local out, code = with { 1, 1e300, 2 }
  one_line(out, code, 1, "float64 element 1 is 1%.0000000000000001e%+300, beyond float32's range", "1e300 refused (was inf)")
  out, code = with { 0x1.ffffffp127, 0, 0 }
  one_line(out, code, 1, "float64 element 0 is 3%.4028235677973366e%+38, beyond", "the midpoint above FLT_MAX refused")
  out, code = with { 0x1.fffffefffffffp127, -1 / 0, 0 / 0 }
  t.ok(code == 0 and out:match("^3%.4028234663853e%+38 %-inf %-?nan$") ~= nil,
    "just below the midpoint: FLT_MAX; -inf and NaN stay (" .. out .. ")")
end

-- 5. an empty file or folder name on a command line: refused before any work
for _, case in ipairs {
  { "scripts/paper.lua --out '' --dry", "paper.lua: %-%-out: a file or folder name expected, got ''" },
  { "lesson handout rounding ''", "lesson: dir: a file or folder name expected, got ''" },
  { "report ''", "report: dir: a file or folder name expected, got ''" },
  { "scripts/train.lua --json ''", "train.lua: %-%-json: a file or folder name expected, got ''" },
} do
  local out, code = t.run(LP .. " " .. case[1])
  one_line(out, code, 2, case[2], "lpact " .. case[1])
end

-- 6. lpact submit checks the report job's options now, and quotes them
do
  local sub = LP .. " submit --dry --report "
  local tail_ = " -- scripts/paper.lua --model mlp --out " .. d .. "/grid"
  local out, code = t.run(sub .. "'--nope'" .. tail_)
  one_line(out, code, 2, "submit: %-%-report: report: unknown option '%-%-nope'", "--report '--nope' refused before the array")
  out, code = t.run(sub .. "'-o'" .. tail_)
  one_line(out, code, 2, "submit: %-%-report: report: option '%-o' requires an argument", "--report '-o' without its folder")
  out, code = t.run(sub .. sh("--no-figures -o " .. d .. "/my report") .. tail_)
  t.is(code, 2, "--report with a stray word refused (" .. out:sub(1, 100) .. ")")
  out, code = t.run(sub .. sh("--no-figures --log-counts") .. tail_)
  local job = t.slurp(d .. "/grid/slurm/report.sbatch") or ""
  t.ok(code == 0 and job:find(" report " .. d .. "/grid --no-figures --log-counts\n", 1, true) ~= nil,
    "good report options reach the job")
  out, code = t.run(LP .. " submit --dry --partition 'a b'" .. tail_)
  one_line(out, code, 2, "submit: %-%-partition must be a Slurm name", "a partition with a space")
end

-- 7. scripts/train.lua --resume under other settings is refused: the
-- record would claim one training made of two
do
  local tr = LP .. " scripts/train.lua --dataset blobs --quiet "
  local ck = d .. "/blobs.ckpt"
  local _, code = t.run(tr .. "--limit 200 --batch 50 --epochs 1 --save " .. ck)
  t.is(code, 0, "one epoch saved")
  for _, case in ipairs {
    { "--limit 200 --batch 50 --lr 0.01", "saved with %-%-lr 0.001 %(this run: 0.01%)" },
    { "--limit 200 --batch 50 --act tanh", "saved with %-%-act relu %(this run: tanh%)" },
    { "--limit 200 --batch 50 --seed 7", "saved with %-%-seed 1 %(this run: 7%)" },
    { "--limit 100 --batch 50", "saved with %-%-limit 200 %(this run: 100%)" },
    { "--limit 200 --batch 20", "saved with %-%-batch 50 %(this run: 20%)" },
  } do
    local out, c = t.run(tr .. case[1] .. " --epochs 2 --resume " .. ck)
    one_line(out, c, 2, case[2], "--resume with " .. case[1])
  end
  local out, c = t.run(tr .. "--limit 200 --batch 50 --epochs 2 --lr 1e-3 --wd 0.0 --resume " .. ck)
  t.ok(c == 0 and out:match("final test accuracy"), "the same settings, spelt otherwise (1e-3, 0.0), resume")
  -- a checkpoint of an earlier version kept the model and the seed only: those are checked
  local m = lpact.models.mlp { 2, 64, 64, 3, act = "relu", seed = 1 }   -- blobs: 2 features, 3 classes
  local opt = lpact.optim.Adam(m:parameters(), { lr = 1e-3 })
  lpact.checkpoint.load(ck, m, opt)
  lpact.checkpoint.save(d .. "/old.ckpt", m, opt, { epoch = 1, model = "mlp", seed = 3 })
  out, c = t.run(tr .. "--limit 200 --epochs 2 --resume " .. d .. "/old.ckpt")
  one_line(out, c, 2, "saved with %-%-seed 3 %(this run: 1%)", "an older checkpoint's seed is checked")
end

-- 8. sweeps: LPACT_CLAIM_TIMEOUT that is not a number of seconds above the
-- heartbeat is refused when the worker starts (5 s took live workers'
-- claims from them at every heartbeat); --workers beyond the grid's size
-- starts one worker per configuration (--workers 100000 forked 100000)
do
  local base = LP .. " scripts/paper.lua --data builtin --limit 60 --epochs 1 --model mlp --act relu --format fp4 "
    .. "--levels fixed --seed 1 --batch 30 --out " .. d .. "/sweep"
  for _, v in ipairs { "5", "0", "-1", "abc", "nan" } do
    local out, code = t.run("LPACT_CLAIM_TIMEOUT=" .. v .. " " .. base)
    one_line(out:gsub("^[^\n]*configurations?[^\n]*\n", ""), code, 2,
      "LPACT_CLAIM_TIMEOUT must be a number of seconds above the 20%-s heartbeat, got '" .. v:gsub("%p", "%%%0") .. "'",
      "LPACT_CLAIM_TIMEOUT=" .. v .. " refused")
  end
  -- (3, not 100000: a test run without the fix must not fork that many)
  local out, code = t.run("LPACT_CLAIM_TIMEOUT=60 " .. base .. " --workers 3")
  t.ok(code == 0 and out:match("%-%-workers 3: 1 configuration, so 1 worker") ~= nil,
    "--workers 3 on one configuration starts one worker [" .. tostring(code) .. "] " .. out:sub(1, 120))
  t.ok(t.slurp(d .. "/sweep/manifest-w1.json") ~= nil and t.slurp(d .. "/sweep/manifest-w2.json") == nil,
    "one worker's manifest, not two")
end

-- 9. a claim file that does not read (empty: its writer was killed between
-- the create and the write), older than two heartbeats, is taken over at
-- once instead of after LPACT_CLAIM_TIMEOUT (600 s)
do
  local dir = d .. "/claims"
  local cmd = LP .. " scripts/paper.lua --data builtin --limit 60 --epochs 1 --model mlp --act relu --format fp4 "
    .. "--levels fixed --seed 2 --batch 30 --out " .. dir
  t.run(cmd)
  local p = io.popen("ls " .. dir .. " | grep -v manifest")
  local rec = p:read("l")
  p:close()
  local id = rec and rec:match("^(.*)%.json$")
  t.ok(id ~= nil, "a record to take its id from: " .. tostring(rec))
  os.remove(dir .. "/" .. rec)
  t.spit(dir .. "/" .. id .. ".claim", "")
  os.execute("touch -d '-60 seconds' " .. dir .. "/" .. id .. ".claim")
  local out, code = t.run("timeout 60 " .. cmd)
  t.ok(code == 0 and out:match("taking over [^\n]*%(stale claim%)") and t.slurp(dir .. "/" .. id .. ".json") ~= nil,
    "an empty claim a minute old is taken over and the configuration trained [" .. tostring(code) .. "]")
end

-- 10. plot and errors over a range too wide to sample (its width
-- overflows): one line about the range, not "f(nan) is NaN"
do
  local show = require "lpact.show"
  t.like(t.errmsg(show.plot, "tanh", "fp4", -1e308, 1e308), "^plot: an input range lo < hi expected, of finite width",
    "plot over [-1e308, 1e308]")
  t.like(t.errmsg(show.errors, "tanh", "fp4", -1 / 0, 1), "^errors: an input range lo < hi expected, of finite width",
    "errors from -inf")
end

t.done()
