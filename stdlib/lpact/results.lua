--- lpact.results — one JSON file per trained configuration, a manifest per
-- run, and the tables that `lpact report` and the demo print.
--
--     local results = lpact.results
--     local run = results.open("out/demo", {name = "demo"})
--     local hist = lpact.train.fit{…}
--     run:add({model = "mlp", dataset = "fashion-mnist", activation = "relu",
--              format = "fp4", modes = {mode = "emulate", levels = "learnable"},
--              seed = 1, epochs = 2}, hist)
--     run:finish()
--     print(results.markdown(results.read_dir("out/demo")))
--
-- Every file is written to a temporary name in the same folder and renamed,
-- so a reader never sees half a file, and an interrupted sweep leaves only
-- complete results and a manifest that lists them. Accuracies are stored as
-- fractions (0..1), times in seconds, memory in kB; see docs/results.md.

local lpact = require "lpact"
local json = require "lpact.json"
local io_ = lpact.io

local results = {}

results.SCHEMA = "lpact-result/1"
results.MANIFEST_SCHEMA = "lpact-manifest/1"

--- Writes text to path atomically (temporary file in the same folder, then
-- rename). Raises lpact.fail (status 1) naming the path on failure.
function results.write_file(path, text)
  return require("lpact.files").write_atomic(path, text)
end

--- The peak resident memory of this process in kB (VmHWM from
-- /proc/self/status), or nil where that file does not exist.
function results.peak_memory_kb()
  local f = io.open("/proc/self/status", "r")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  local kb = s:match("VmHWM:%s*(%d+)%s*kB")
  return kb and math.tointeger(tonumber(kb)) or nil
end

--- The current UTC time as ISO 8601 ("2026-11-23T14:05:09Z").
function results.now()
  return os.date("!%Y-%m-%dT%H:%M:%SZ")
end

-- "fp4", or "fp8>fp4" when the input and output formats differ.
local function format_label(cfg)
  if cfg.format then return tostring(cfg.format) end
  local f = cfg.formats
  if type(f) == "string" then return f end
  if type(f) == "table" then
    local i, o = f.input or f["in"], f.output or f.out
    if i and o and i ~= o then return tostring(i) .. ">" .. tostring(o) end
    return tostring(i or o or "fp32")
  end
  return nil
end

local function slug(s)
  return (tostring(s):lower():gsub("[^%w%.]+", "-"):gsub("^%-+", ""):gsub("%-+$", ""))
end

-- The settings that make two runs of one activation and format differ: the
-- `modes` table, or the flat fields mode, levels, ste, scale, tag (as
-- lpact.qact.experiment writes them). nil when there are none.
local MODE_KEYS = { "mode", "levels", "ste", "scale", "tag" }
local function modes_of(rec)
  if type(rec.modes) == "table" then return rec.modes end
  local m
  for _, k in ipairs(MODE_KEYS) do
    local v = rec[k]
    if type(v) == "string" or type(v) == "number" or type(v) == "boolean" then
      m = m or {}
      m[k] = v
    end
  end
  return m
end

--- A file-name stem for a configuration: model-dataset-activation-format-
-- <mode values>-s<seed> (lowercase, [a-z0-9.-] only).
function results.id(rec)
  local parts = {}
  for _, k in ipairs { "model", "dataset", "activation", "format" } do
    if rec[k] ~= nil then parts[#parts + 1] = slug(rec[k]) end
  end
  local modes = modes_of(rec)
  if modes then
    local keys = {}
    for k in pairs(modes) do keys[#keys + 1] = k end
    table.sort(keys)
    for _, k in ipairs(keys) do parts[#parts + 1] = slug(modes[k]) end
  end
  if rec.seed ~= nil then parts[#parts + 1] = "s" .. slug(rec.seed) end
  local id = table.concat(parts, "-")
  return id ~= "" and id or "run"
end

local known = {
  model = true, dataset = true, activation = true, format = true, formats = true, modes = true,
  seed = true, epochs = true, batch = true, optimizer = true, lr = true, name = true, id = true,
  act_errors = true,
}

--- Builds a result record from a configuration and a training history
-- (train.fit's return value). cfg: model, dataset, activation, format (or
-- formats = {input=, output=}), modes (a table such as {mode=, levels=,
-- ste=, scale=}), seed, epochs, batch, optimizer, lr, name/id, act_errors
-- (qact.act_errors' list: the quantized layers' error against f on test
-- inputs); any other field goes under `extra`.
function results.record(cfg, history)
  cfg = cfg or {}
  history = history or {}
  local acc, train_acc, loss, test_loss, secs = {}, {}, {}, {}, {}
  for i, e in ipairs(history.epochs or {}) do
    acc[i] = e.test_acc or json.null
    train_acc[i] = e.train_acc or json.null
    loss[i] = e.train_loss or json.null
    test_loss[i] = e.test_loss or json.null
    secs[i] = e.seconds or json.null
  end
  local final = history.test_acc
  if final == nil and #acc > 0 and acc[#acc] ~= json.null then final = acc[#acc] end
  local total = 0
  for _, s in ipairs(secs) do if s ~= json.null then total = total + s end end
  local formats = cfg.formats
  if formats == nil and cfg.format ~= nil then formats = { input = cfg.format, output = cfg.format } end
  local rec = {
    schema = results.SCHEMA,
    model = cfg.model, dataset = cfg.dataset, activation = cfg.activation,
    format = format_label(cfg), formats = formats, modes = cfg.modes,
    seed = cfg.seed, epochs = #acc > 0 and #acc or cfg.epochs, epochs_planned = cfg.epochs,
    batch = cfg.batch, optimizer = cfg.optimizer, lr = cfg.lr,
    accuracy = acc, train_accuracy = train_acc, loss = loss, test_loss = test_loss,
    seconds_per_epoch = secs, seconds = history.seconds or total,
    test_acc = final, final_loss = loss[#loss] ~= json.null and loss[#loss] or nil,
    interrupted = history.interrupted or nil,
    act_errors = cfg.act_errors,
    peak_memory_kb = results.peak_memory_kb(),
    engine = { version = lpact.version, threads = io_.threads() },
    created = results.now(),
  }
  local extra = {}
  for k, v in pairs(cfg) do if not known[k] then extra[k] = v end end
  if next(extra) then rec.extra = extra end
  rec.id = cfg.id or cfg.name or results.id(rec)
  return rec
end

--- Writes a record as dir/<id>.json (atomically); returns the path.
function results.write(dir, rec)
  rec.schema = rec.schema or results.SCHEMA
  local ok, err = io_.mkdir(dir)
  if not ok then lpact.fail("cannot create the results folder " .. err, 1) end
  local path = dir .. "/" .. slug(rec.id or results.id(rec)) .. ".json"
  results.write_file(path, json.encode(rec, { indent = 2, nonfinite = "null" }) .. "\n")
  return path
end

--- Reads one result file; raises lpact.fail naming the file if it is not
-- valid JSON.
function results.read(path)
  local f, err = io.open(path, "rb")
  if not f then lpact.fail(string.format("%s: cannot open: %s", path, (err or ""):gsub("^[^:]*: ", "")), 1) end
  local s, rerr = f:read("a")
  f:close()
  if not s then lpact.fail(string.format("%s: cannot read: %s", path, tostring(rerr):gsub("^[^:]*: ", "")), 1) end
  local ok, v = pcall(json.decode, s)
  if not ok then lpact.fail(path .. ": " .. tostring(v), 1) end
  return v
end

results.KNOWN_SCHEMAS = { [results.SCHEMA] = true }

local function finite(v) return type(v) == "number" and v == v and v ~= math.huge and v ~= -math.huge end
local function is_null(v) return v == nil or v == json.null end

--- Checks a record against the results schema: a known schema version
-- (or a schema-less record of older scripts with a test_acc), the types
-- of its fields, finite numbers, accuracies in 0..1, whole epoch counts.
-- Returns nil when it is fine, else one phrase saying what is wrong.
function results.validate(rec)
  if type(rec) ~= "table" then return "not a JSON object" end
  if rec.schema == nil then
    if rec.test_acc == nil and rec.final_test_acc == nil then return "not a result record (no schema, no test_acc)" end
  elseif not results.KNOWN_SCHEMAS[rec.schema] then
    return "unknown schema " .. tostring(type(rec.schema) == "string" and ("'" .. rec.schema .. "'") or rec.schema)
  end
  local function acc(v, what)
    if is_null(v) then return nil end
    if not finite(v) then return what .. " is " .. (type(v) == "number" and tostring(v) or ("a " .. type(v))) .. ", not a finite number" end
    if v < 0 or v > 1 then return string.format("%s is %s, outside 0..1", what, tostring(v)) end
  end
  local function num(v, what, lo)
    if is_null(v) then return nil end
    if not finite(v) then return what .. " is " .. (type(v) == "number" and tostring(v) or ("a " .. type(v))) .. ", not a finite number" end
    if lo and v < lo then return string.format("%s is %s, below %s", what, tostring(v), tostring(lo)) end
  end
  local function int(v, what, lo)
    if is_null(v) then return nil end
    if math.type(v) ~= "integer" and not (finite(v) and v == math.floor(v)) then
      return what .. " is " .. tostring(v) .. ", not a whole number"
    end
    if v < lo then return string.format("%s is %s, below %d", what, tostring(v), lo) end
  end
  local function list(v, what, check)
    if is_null(v) then return nil end
    if type(v) ~= "table" then return what .. " is a " .. type(v) .. ", not a list" end
    for i, x in ipairs(v) do
      local e = check(x, string.format("%s[%d]", what, i))
      if e then return e end
    end
  end
  local e = acc(rec.test_acc, "test_acc") or acc(rec.final_test_acc, "final_test_acc")
    or list(rec.accuracy, "accuracy", acc) or list(rec.train_accuracy, "train_accuracy", acc)
    or (type(rec.loss) == "number" and num(rec.loss, "loss"))
    or (type(rec.loss) ~= "number" and list(rec.loss, "loss", function(x, w) return num(x, w) end))
    or list(rec.test_loss, "test_loss", function(x, w) return num(x, w) end)
    or list(rec.seconds_per_epoch, "seconds_per_epoch", function(x, w) return num(x, w, 0) end)
    or num(rec.final_loss, "final_loss") or num(rec.seconds, "seconds", 0) or num(rec.lr, "lr", 0)
    or int(rec.epochs, "epochs", 0) or int(rec.epochs_planned, "epochs_planned", 0) or int(rec.batch, "batch", 1)
  if e then return e end
  if rec.schema ~= nil and is_null(rec.test_acc) and rec.interrupted ~= true and type(rec.accuracy) == "table" and #rec.accuracy > 0 then
    return "test_acc is missing"
  end
  -- the final accuracy is the last epoch's: a record that says otherwise
  -- was edited by hand or made wrongly, and neither number can be trusted
  if rec.interrupted ~= true and type(rec.test_acc) == "number" and type(rec.accuracy) == "table"
      and type(rec.accuracy[#rec.accuracy]) == "number" and rec.accuracy[#rec.accuracy] ~= rec.test_acc then
    return string.format("test_acc is %s but the last epoch's accuracy is %s", json.number(rec.test_acc),
      json.number(rec.accuracy[#rec.accuracy]))
  end
  for _, k in ipairs { "id", "model", "dataset", "activation", "format", "optimizer" } do
    local v = rec[k]
    if not is_null(v) and type(v) ~= "string" and not (k == "optimizer" and type(v) == "table") then
      return k .. " is a " .. type(v) .. ", not a string"
    end
  end
  if not is_null(rec.seed) and type(rec.seed) ~= "number" and type(rec.seed) ~= "string" then return "seed is a " .. type(rec.seed) end
  if not is_null(rec.modes) then
    if type(rec.modes) ~= "table" then return "modes is a " .. type(rec.modes) .. ", not an object" end
    for k, v in pairs(rec.modes) do
      if type(v) == "table" then return "modes." .. tostring(k) .. " is not a plain value" end
      if type(v) == "number" and not finite(v) then return "modes." .. tostring(k) .. " is not a finite number" end
    end
  end
  if not is_null(rec.interrupted) and type(rec.interrupted) ~= "boolean" then return "interrupted is not true or false" end
  if not is_null(rec.act_errors) then
    if type(rec.act_errors) ~= "table" then return "act_errors is not a list" end
    for i, x in ipairs(rec.act_errors) do
      if type(x) ~= "table" then return string.format("act_errors[%d] is not an object", i) end
      local e2 = num(x.rms, string.format("act_errors[%d].rms", i), 0)
      if e2 then return e2 end
    end
  end
  return nil
end

-- Files of a results folder that are not records: manifests, claims,
-- checkpoints, failure notes, the report's own outputs, temporary files.
local function not_a_record_file(name)
  return not name:match("%.json$") or name:find("%.tmp%-") ~= nil or name:match("^manifest") ~= nil
    or name:match("%.failed%.json$") ~= nil
end

--- Every valid result record in dir, in file-name order, each with a
-- `file` field, and the list of rejected files {file =, why =}: a *.json
-- that does not parse, or parses but fails results.validate (not a
-- record, an unknown schema, a NaN, an accuracy outside 0..1, ...). The
-- manifests, *.failed.json notes and temporary files are skipped; the
-- interrupted record of a configuration that has since finished
-- (ID.interrupted.json beside ID.json) is skipped too.
function results.read_dir(dir)
  local names, err = io_.listdir(dir)
  if not names then lpact.fail("cannot read the results folder " .. err, 1) end
  local present = {}
  for _, name in ipairs(names) do present[name] = true end
  local out, rejected = {}, {}
  for _, name in ipairs(names) do
    local stem = name:match("^(.-)%.interrupted%.json$")
    if not not_a_record_file(name) and not (stem and present[stem .. ".json"]) then
      local ok, rec = pcall(results.read, dir .. "/" .. name)
      local why
      if not ok then
        why = (lpact.is_failure(rec) and rec.msg or tostring(rec)):gsub("^.-" .. name:gsub("%p", "%%%0") .. ": ", "")
      else
        why = results.validate(rec)
      end
      if why then rejected[#rejected + 1] = { file = name, why = why }
      else
        rec.file = name
        out[#out + 1] = rec
      end
    end
  end
  -- Two files holding one record id (a copy, a folder merged by hand) are
  -- one configuration: counted twice, it would weigh double in a mean.
  -- The file named after the id is kept (else the first by name); the
  -- others are rejected, naming it.
  local keep = {}
  for _, r in ipairs(out) do
    if type(r.id) == "string" then
      local k = keep[r.id]
      if not k or (r.file == r.id .. ".json" and k.file ~= k.id .. ".json") then keep[r.id] = r end
    end
  end
  local unique = {}
  for _, r in ipairs(out) do
    local k = type(r.id) == "string" and keep[r.id]
    if k and k ~= r then
      rejected[#rejected + 1] = { file = r.file, why = string.format("a second record of %s (kept %s)", r.id, k.file) }
    else
      unique[#unique + 1] = r
    end
  end
  table.sort(rejected, function(a, b) return a.file < b.file end)
  return unique, rejected
end

--- What a folder's sweep still lacks, from its manifests (each lists the
-- grid it was started for), its *.failed.json notes and the records:
-- {grid = N, done = N, missing = {{id =, name =, claimed = "host:pid"|nil}},
-- failed = {{id =, error =}}, interrupted = {{id =, epochs =, of =}},
-- workers = {{file =, host =, pid =, state = "running"|"stopped"|"?"}}
-- (manifests never marked finished), revisions = {{group =, list = {…}}}
-- (tables mixing records of different lpact revisions), rejected = {…}
-- (manifests that do not parse)}.
function results.sweep_status(dir, records)
  local names = io_.listdir(dir) or {}
  local sys = lpact.sys
  local st = { grid = 0, done = 0, missing = {}, failed = {}, interrupted = {}, workers = {}, revisions = {}, rejected = {} }
  local grid, order = {}, {}
  local present = {}
  for _, n in ipairs(names) do present[n] = true end
  for _, n in ipairs(names) do
    if n:match("^manifest.*%.json$") and not n:find("%.tmp%-") then
      local ok, m = pcall(results.read, dir .. "/" .. n)
      if not ok or type(m) ~= "table" then
        st.rejected[#st.rejected + 1] = { file = n, why = "manifest does not parse" }
      else
        for _, c in ipairs(type(m.grid) == "table" and m.grid or {}) do
          if type(c) == "table" and type(c.id) == "string" and not grid[c.id] then
            grid[c.id] = c
            order[#order + 1] = c.id
          end
        end
        if (m.finished == nil or m.finished == json.null) and m.pid ~= nil then   -- a sweep worker's manifest
          local state = "?"
          if type(m.host) == "string" and math.type(m.pid) == "integer" and m.host == sys.hostname() then
            state = sys.alive(m.pid) and "running" or "stopped"
          end
          st.workers[#st.workers + 1] = { file = n, host = m.host, pid = m.pid, state = state }
        end
      end
    end
  end
  local done, stopped = {}, {}
  for _, r in ipairs(records or {}) do
    if r.id then
      if r.interrupted == true then stopped[r.id] = r else done[r.id] = true end
    end
  end
  st.grid = #order
  for _, id in ipairs(order) do
    if done[id] then st.done = st.done + 1
    elseif present[id .. ".failed.json"] then
      local ok, f = pcall(results.read, dir .. "/" .. id .. ".failed.json")
      st.failed[#st.failed + 1] = { id = id, error = ok and type(f) == "table" and tostring(f.error) or "?" }
    elseif stopped[id] then
      st.interrupted[#st.interrupted + 1] = { id = id, epochs = stopped[id].epochs, of = stopped[id].epochs_planned }
    else
      local claimed
      if present[id .. ".claim"] then
        local ok, c = pcall(results.read, dir .. "/" .. id .. ".claim")
        if ok and type(c) == "table" then claimed = tostring(c.host) .. ":" .. tostring(c.pid) end
      end
      -- a record file that is there but not a valid record (cut short,
      -- edited): a sweep takes the configuration for done by its name
      st.missing[#st.missing + 1] = { id = id, name = grid[id].name, claimed = claimed,
        rejected = present[id .. ".json"] or nil }
    end
  end
  -- records of different lpact revisions in one (dataset, model) table
  local revs, rorder = {}, {}
  for _, r in ipairs(records or {}) do
    if r.interrupted ~= true and r.activation ~= nil then
      local key = tostring(r.dataset or "?") .. ", " .. tostring(r.model or "?")
      local rev = type(r.run) == "table" and r.run.revision or nil
      if rev == nil or rev == json.null or rev == "" then rev = "version " .. tostring(type(r.engine) == "table" and r.engine.version or "?") end
      if not revs[key] then revs[key] = {} rorder[#rorder + 1] = key end
      revs[key][tostring(rev)] = true
    end
  end
  for _, key in ipairs(rorder) do
    local list = {}
    for r in pairs(revs[key]) do list[#list + 1] = r end
    if #list > 1 then
      table.sort(list)
      st.revisions[#st.revisions + 1] = { group = key, list = list }
    end
  end
  return st
end

--- The Markdown of results.sweep_status (and of rejected files); "" when
-- there is nothing to say.
function results.status_markdown(st, rejected)
  local out = {}
  local function line(x) out[#out + 1] = x end
  local bad = {}
  for _, r in ipairs(rejected or {}) do bad[#bad + 1] = r end
  for _, r in ipairs(st and st.rejected or {}) do bad[#bad + 1] = r end
  if #bad > 0 then
    line("## Rejected files")
    line("")
    line("Left out of every table:")
    line("")
    for _, r in ipairs(bad) do line("- `" .. r.file .. "`: " .. r.why) end
    line("")
  end
  if st and st.grid > 0 then
    local complete = #st.missing == 0 and #st.failed == 0 and #st.interrupted == 0
    line("## Sweep")
    line("")
    line(string.format("%d of the grid's %d configurations are done%s", st.done, st.grid,
      complete and "." or string.format(": %d missing, %d failed, %d interrupted.", #st.missing, #st.failed, #st.interrupted)))
    line("")
    for _, c in ipairs(st.missing) do
      line("- missing: `" .. c.id .. "`" .. (c.claimed and (" (claimed by " .. c.claimed .. ")") or "")
        .. (c.rejected and (" (its record `" .. c.id .. ".json` is rejected, above; a sweep takes the file for done: "
          .. "delete it and run the sweep again to train it)") or ""))
    end
    for _, c in ipairs(st.failed) do line("- failed: `" .. c.id .. "`: " .. c.error) end
    for _, c in ipairs(st.interrupted) do
      line(string.format("- interrupted: `%s` after %s of %s epochs", c.id, tostring(c.epochs), tostring(c.of)))
    end
    if not complete then line("") end
  end
  if st and #st.workers > 0 then
    line("## Unfinished workers")
    line("")
    for _, w in ipairs(st.workers) do
      line(string.format("- `%s`: %s:%s, %s", w.file, tostring(w.host), tostring(w.pid),
        w.state == "running" and "still running" or w.state == "stopped" and "stopped without finishing"
        or "not marked finished (on another host: running or killed)"))
    end
    line("")
  end
  for _, r in ipairs(st and st.revisions or {}) do
    line("Warning: the table " .. r.group .. " mixes records of different lpact revisions: " .. table.concat(r.list, ", ") .. ".")
    line("")
  end
  while out[#out] == "" do out[#out] = nil end
  return #out > 0 and table.concat(out, "\n") .. "\n" or ""
end

local Run = {}
Run.__index = Run

--- Opens a results folder for a run: creates it, writes manifest.json
-- (rewritten after every result, so an interrupted run stays readable).
-- info: name, script, command, extra (fields to record), and manifest
-- (the manifest's file name, default "manifest.json": jobs that share a
-- folder at the same time give theirs a name each).
function results.open(dir, info)
  info = info or {}
  local ok, err = io_.mkdir(dir)
  if not ok then lpact.fail("cannot create the results folder " .. err, 1) end
  local cmd = {}
  if arg then for i = 0, #arg do cmd[#cmd + 1] = arg[i] end end
  local mname = info.manifest or "manifest.json"
  if type(mname) ~= "string" or not mname:match("^[%w_.-]+%.json$") then
    lpact.fail("results.open: manifest must be a plain file name ending in .json, got " .. tostring(mname))
  end
  local run = setmetatable({ dir = dir, manifest_name = mname, manifest = {
    schema = results.MANIFEST_SCHEMA, name = info.name, script = info.script or (arg and arg[0]),
    command = info.command or table.concat(cmd, " "), started = results.now(), finished = json.null,
    engine = { version = lpact.version }, results = {}, info = info.extra,
  } }, Run)
  run:write_manifest()
  return run
end

--- Writes the manifest as it stands.
function Run:write_manifest()
  results.write_file(self.dir .. "/" .. self.manifest_name, json.encode(self.manifest, { indent = 2, nonfinite = "null" }) .. "\n")
end

--- Records one trained configuration (see results.record); writes its
-- file and updates the manifest. Returns the record and its path. With a
-- sweep cell (lpact.sweep.cell, lpact.study.cell) the record takes the
-- cell's id, configuration and hash, as a sweep's records do.
function Run:add(cfg, history, cell)
  local rec = results.record(cfg, history)
  if cell then rec.id, rec.config, rec.config_hash = cell.id, cell.config, cell.hash end
  local path = results.write(self.dir, rec)
  local list = self.manifest.results
  list[#list + 1] = { id = rec.id, file = path:match("[^/]*$"), test_acc = rec.test_acc }
  self:write_manifest()
  return rec, path
end

--- Lists in the manifest a record that an earlier run wrote into the
-- folder (a resumed sweep skips its training), marked `earlier = true`, so
-- that the manifest still names every result of the run.
function Run:add_existing(rec)
  local list = self.manifest.results
  list[#list + 1] = { id = rec.id, file = rec.file, test_acc = rec.test_acc, earlier = true }
  self:write_manifest()
end

--- Marks the run finished in the manifest (with the peak memory).
function Run:finish(status)
  self.manifest.finished = results.now()
  self.manifest.status = status or "complete"
  self.manifest.peak_memory_kb = results.peak_memory_kb()
  self:write_manifest()
end

-- ---- tables --------------------------------------------------------------

local FORMAT_ORDER = { "fp32", "bf16", "fp16", "fp8", "e4m3", "e5m2", "fp6", "e3m2", "e2m3", "fp4", "e2m1",
  "fp3", "e1m1", "e2m0", "fp2", "e1m0" }
local ACT_ORDER = {}   -- the engine's registry order
for _, a in ipairs(lpact.activations()) do ACT_ORDER[#ACT_ORDER + 1] = a.name end
local function rank_of(list)
  local r = {}
  for i, v in ipairs(list) do r[v] = i end
  return r
end
local FORMAT_RANK, ACT_RANK = rank_of(FORMAT_ORDER), rank_of(ACT_ORDER)

-- Sort known names in their canonical order, then the others by name.
local function sorter(rank)
  return function(a, b)
    local ra, rb = rank[a], rank[b]
    if ra and rb then return ra < rb end
    if ra or rb then return ra ~= nil end
    return a < b
  end
end

-- The keys of a set, in canonical order.
local function sorted_keys(set, rank)
  local list = {}
  for k in pairs(set) do list[#list + 1] = k end
  table.sort(list, sorter(rank))
  return list
end

local function variant(rec)
  local modes = modes_of(rec)
  if not modes then return "" end
  local keys, parts = {}, {}
  for k in pairs(modes) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do parts[#parts + 1] = k .. "=" .. tostring(modes[k]) end
  return table.concat(parts, " ")
end

local function num(v) return type(v) == "number" and v == v and v or nil end

-- A record's settings besides its activation, format, modes and seed:
-- name -> text. The epochs run, lr, batch and optimizer of every record;
-- a language model's sizes and steps (extra); and the whole resolved
-- configuration of a sweep's record (config, flattened to "data.limit",
-- "optimizer.beta1", …) but for what its activation, format, modes and
-- seed already say.
local CONFIG_SKIP = { activation = true, seed = true, qact = true, epochs = true, batch = true, ["optimizer.lr"] = true }
local LM_SETTINGS = { "steps", "ctx", "d", "heads", "layers", "dropout" }
-- Returns the settings and their signature (the settings as one text).
local settings_cache = setmetatable({}, { __mode = "k" })   -- record -> {settings, signature}: a report asks often
local function settings_of(r)
  local c = settings_cache[r]
  if c then return c[1], c[2] end
  local s = {}
  local function put(k, v)
    if v == nil or v == json.null then return end
    if type(v) == "table" then
      if #v > 0 or next(v) == nil then
        local parts = {}
        for i, x in ipairs(v) do parts[i] = type(x) == "table" and json.encode(x, { nonfinite = "null" }) or tostring(x) end
        s[k] = table.concat(parts, "x")
      else
        for k2, v2 in pairs(v) do
          local name = k == "" and tostring(k2) or (k .. "." .. tostring(k2))
          if not CONFIG_SKIP[name] then put(name, v2) end
        end
      end
    elseif type(v) == "number" then
      s[k] = tostring(math.tointeger(v) or json.number(v) or v)   -- 100 and 100.0 alike
    else
      s[k] = tostring(v)
    end
  end
  put("epochs", r.epochs)
  put("lr", r.lr)
  put("batch", r.batch)
  if type(r.optimizer) ~= "table" then put("optimizer", r.optimizer) end
  if type(r.extra) == "table" then for _, k in ipairs(LM_SETTINGS) do put(k, r.extra[k]) end end
  if type(r.config) == "table" then put("", r.config) end
  s.config = type(r.config) == "table" and "full" or "none"   -- records of older scripts have none
  local keys = {}
  for k in pairs(s) do keys[#keys + 1] = k end
  table.sort(keys)
  for i, k in ipairs(keys) do keys[i] = k .. "=" .. s[k] end
  local sig = table.concat(keys, "\0")
  settings_cache[r] = { s, sig }
  return s, sig
end

-- Settings that follow from another one in a label (the data set's
-- content hash and sizes from its limit, say): left out of a label when
-- the labels stay distinct without them.
local DERIVED = { ["data.hash"] = true, ["data.shape"] = true, ["data.train"] = true, ["data.test"] = true }

-- The settings every record has (the rest come from a sweep record's
-- config): a record without a config is told apart from those with one
-- by `config=none`, not by every setting of theirs it lacks.
local TOP_SETTING = { epochs = true, lr = true, batch = true, optimizer = true, config = true }
for _, k in ipairs(LM_SETTINGS) do TOP_SETTING[k] = true end

--- The settings that tell apart records of one dataset and model that
-- differ in more than activation, format, modes and seed (lr, batch,
-- epochs, a data limit, …): record -> "" when its dataset and model's
-- records agree on every setting, else the differing settings as text,
-- "data.limit=400 lr=0.005". Distinct settings always get distinct texts,
-- so records trained under other settings are never averaged together.
function results.contexts(records)
  -- per dataset and model, its distinct settings (most often one: every
  -- record's label is then "")
  local groups, order, sig_of = {}, {}, {}
  for _, r in ipairs(records) do
    if type(r) == "table" then
      local gk = tostring(r.dataset or "?") .. "\0" .. tostring(r.model or "?")
      local g = groups[gk]
      if not g then g = { sigs = {}, list = {} } groups[gk] = g order[#order + 1] = gk end
      local st, sig = settings_of(r)
      if not g.sigs[sig] then g.sigs[sig] = true g.list[#g.list + 1] = { sig = sig, s = st } end
      sig_of[r] = gk .. "\0" .. sig
    end
  end
  local label = {}   -- group and signature -> label
  for _, gk in ipairs(order) do
    local list = groups[gk].list
    local keys, differ = {}, {}
    for _, e in ipairs(list) do for k in pairs(e.s) do keys[k] = true end end
    for k in pairs(keys) do
      -- a config setting is compared among the records that have a config
      local first, seen = nil, false
      for _, e in ipairs(list) do
        if TOP_SETTING[k] or e.s.config == "full" then
          if not seen then first, seen = e.s[k], true
          elseif e.s[k] ~= first then differ[#differ + 1] = k break end
        end
      end
    end
    table.sort(differ)
    local function labels(skip)
      local by_label, ls = {}, {}
      for i, e in ipairs(list) do
        local parts = {}
        for _, k in ipairs(differ) do
          if not (skip and DERIVED[k]) and (TOP_SETTING[k] or e.s.config == "full") then
            parts[#parts + 1] = k .. "=" .. (e.s[k] or "-")
          end
        end
        local l = table.concat(parts, " ")
        if by_label[l] then return nil end   -- two settings, one label: keep every setting in it
        by_label[l], ls[i] = true, l
      end
      return ls
    end
    local ls = labels(true) or labels(false)
    for i, e in ipairs(list) do label[gk .. "\0" .. e.sig] = ls[i] end
  end
  local out = {}
  for r, k in pairs(sig_of) do out[r] = label[k] end
  return out
end

-- A record's name: its id, else its file name without .json.
local function run_id(r)
  if r.id ~= nil then return tostring(r.id) end
  if r.file then return (tostring(r.file):gsub("%.json$", "")) end
  return "?"
end


local function mean_sd(xs)
  local n, s = #xs, 0
  for _, x in ipairs(xs) do s = s + x end
  local m = s / n
  local q = 0
  for _, x in ipairs(xs) do q = q + (x - m) ^ 2 end
  return m, n > 1 and math.sqrt(q / (n - 1)) or nil
end

-- A histogram {edges, counts} as qact.act_errors writes it: n counts
-- (whole numbers >= 0) between n + 1 ascending finite edges. A record's
-- histogram of another shape (edited, cut short) is not drawn: gnuplot
-- would fail on it, or draw bins against the wrong edges.
local function valid_hist(h)
  if type(h) ~= "table" or type(h.edges) ~= "table" or type(h.counts) ~= "table" then return false end
  local edges, counts = h.edges, h.counts
  if #counts < 1 or #edges ~= #counts + 1 then return false end
  for i, e in ipairs(edges) do
    if type(e) ~= "number" or e ~= e or e == math.huge or e == -math.huge or (i > 1 and e < edges[i - 1]) then return false end
  end
  for _, c in ipairs(counts) do
    if type(c) ~= "number" or c < 0 or c ~= math.floor(c) or c == math.huge then return false end
  end
  return true
end

--- The mean over a record's quantized layers of the RMS error of their
-- output against f on test inputs (its act_errors), or nil.
function results.act_rms(r)
  if type(r.act_errors) ~= "table" or #r.act_errors == 0 then return nil end
  local s, n = 0, 0
  for _, e in ipairs(r.act_errors) do
    if type(e) ~= "table" or not num(e.rms) then return nil end
    s, n = s + e.rms, n + 1
  end
  return s / n
end

--- Learned levels apart from rounding, for a record whose quantized layers
-- have learnable levels: the mean over its layers of the RMS error of the
-- format's own levels on the same inputs (act_errors[i].own.rms), and the
-- level that moved furthest from the format's value over its layers
-- ({level =, learned =, by =}); nil without them.
function results.act_own(r)
  if type(r.act_errors) ~= "table" or #r.act_errors == 0 then return nil end
  local s, n, drift = 0, 0, nil
  for _, e in ipairs(r.act_errors) do
    if type(e) ~= "table" or type(e.own) ~= "table" or not num(e.own.rms) then return nil end
    s, n = s + e.own.rms, n + 1
    local d = e.drift
    if type(d) == "table" and num(d.by) and num(d.level) and num(d.learned)
        and (not drift or math.abs(d.by) > math.abs(drift.by)) then
      drift = { level = d.level, learned = d.learned, by = d.by }
    end
  end
  return s / n, drift
end

-- The settings of a record that are not its activation's: those of
-- another rounding site, a language model's attention probabilities
-- (modes.attn, and with rounded probabilities attn_mode and the levels they
-- use), as "key=value ..." in the variant's order; "" for the study's
-- records. An fp32 activation has no mode, levels or STE of its own, so an
-- fp32 record is the baseline of every variant whose records share its
-- context, and of no other.
local function site_context(rec)
  local modes = modes_of(rec)
  if type(modes) ~= "table" or modes.attn == nil then return "" end
  local attn = tostring(modes.attn)
  local parts = { "attn=" .. attn }
  if attn ~= "fp32" then
    if modes.attn_mode ~= nil then parts[#parts + 1] = "attn_mode=" .. tostring(modes.attn_mode) end
    if modes.levels ~= nil then parts[#parts + 1] = "levels=" .. tostring(modes.levels) end
  end
  return table.concat(parts, " ")
end

--- Groups records into tables: {kind = "matrix", dataset=, model=,
-- variant=, activations = {…}, formats = {…}, cells = {[act] = {[fmt] =
-- {mean=, sd=, n=, accs = {each run's, in %}, records = {…}, and for
-- language models bits=, bits_sd= (validation bits per character)}}}, epochs =
-- {…}, seeds = {…}, runs = N} for records
-- with an activation and a format, one per (dataset, model, variant); fp32
-- records join every variant of their dataset and model as its baseline
-- (a language model's only those with the same attention settings: fp32
-- records of other attention settings make tables of their own).
-- The rest go into one {kind = "runs", records = {…}}, and records of
-- trainings stopped by Ctrl-C (interrupted = true) into {kind =
-- "interrupted", records = {…}}, left out of every other table.
-- Accuracies in the cells are percentages.
function results.tables(records)
  -- Trainings stopped by Ctrl-C are left out of every table (their last
  -- accuracy is not the configuration's) and listed on their own.
  if type(records) ~= "table" then lpact.fail("results.tables: a list of records expected, got " .. type(records)) end
  local stopped, complete = {}, {}
  for _, r in ipairs(records) do
    if type(r) ~= "table" then
      -- not a record: skipped
    elseif r.interrupted == true then stopped[#stopped + 1] = r else complete[#complete + 1] = r end
  end
  records = complete
  -- fp32 runs are the baseline of every variant of their dataset and
  -- model (an FP32 activation has no mode, levels or scale of its own).
  local groups, order, others, base = {}, {}, {}, {}
  -- A dataset and model trained for different numbers of epochs gets a
  -- table per epoch count (its variant says "epochs=N"): accuracies after
  -- 2 and after 5 epochs are never averaged together.
  -- So does any other setting that differs (lr, batch, a data limit, …):
  -- records trained under other settings are never averaged together.
  local matrix_recs = {}
  for _, r in ipairs(records) do
    if r.activation ~= nil and r.format ~= nil then matrix_recs[#matrix_recs + 1] = r end
  end
  local ctx = results.contexts(matrix_recs)
  local function with_epochs(r, var)
    local c = ctx[r] or ""
    if c == "" then return var end
    return var .. (var ~= "" and " " or "") .. c
  end
  local function group(dataset, model, var)
    local key = table.concat({ tostring(dataset or "?"), tostring(model or "?"), var }, "\0")
    local g = groups[key]
    if not g then
      g = { dataset = dataset, model = model, variant = var, raw = {}, acts = {}, fmts = {}, epochs = {},
        seeds = {}, runs = 0 }
      groups[key] = g
      order[#order + 1] = key
    end
    return g
  end
  local function add(g, r)
    local a, f = tostring(r.activation), tostring(r.format)
    g.acts[a], g.fmts[f] = true, true
    g.raw[a] = g.raw[a] or {}
    g.raw[a][f] = g.raw[a][f] or { accs = {} }
    local acc = num(r.test_acc or r.final_test_acc)
    if acc then
      table.insert(g.raw[a][f].accs, 100 * acc)
      g.raw[a][f].recs = g.raw[a][f].recs or {}
      table.insert(g.raw[a][f].recs, r)
    end
    local bits = type(r.extra) == "table" and num(r.extra.val_bits_per_char)
    if bits then   -- language models (scripts/lm.lua): validation bits per character
      local c = g.raw[a][f]
      c.bits = c.bits or {}
      table.insert(c.bits, bits)
    end
    local own, drift = results.act_own(r)
    if own then
      local c = g.raw[a][f]
      c.own = c.own or {}
      table.insert(c.own, own)
      if drift and (not c.drift or math.abs(drift.by) > math.abs(c.drift.by)) then c.drift = drift end
    end
    local rms = results.act_rms(r)
    if rms then
      local c = g.raw[a][f]
      c.rms = c.rms or {}
      table.insert(c.rms, rms)
      -- the histogram of the first layer, from the lowest seed
      local e1 = r.act_errors[1]
      local sd = num(r.seed) or math.huge
      if valid_hist(e1.hist) and (not c.hist or sd < c.hist.seed) then
        c.hist = { edges = e1.hist.edges, counts = e1.hist.counts, seed = sd, describe = e1.describe }
        local oh = type(e1.own) == "table" and e1.own.hist
        if valid_hist(oh) then
          c.hist.own = { edges = oh.edges, counts = oh.counts }   -- the format's own levels, same inputs
        end
      end
    end
    if r.seed ~= nil then g.seeds[tostring(r.seed)] = true end
    if num(r.epochs) then g.epochs[r.epochs] = true end
    g.runs = g.runs + 1
  end
  for _, r in ipairs(records) do
    if r.activation ~= nil and r.format ~= nil then
      if tostring(r.format) == "fp32" then
        local bk = tostring(r.dataset or "?") .. "\0" .. tostring(r.model or "?") .. "\0" .. with_epochs(r, "")
          .. "\0" .. site_context(r)
        base[bk] = base[bk] or {}
        table.insert(base[bk], r)
      else
        local g = group(r.dataset, r.model, with_epochs(r, variant(r)))
        g.ep = with_epochs(r, "")
        g.ctx = site_context(r)
        add(g, r)
      end
    else
      others[#others + 1] = r
    end
  end
  for bk, list in pairs(base) do
    local joined = false
    for _, key in ipairs(order) do
      local g = groups[key]
      if g.ep and tostring(g.dataset or "?") .. "\0" .. tostring(g.model or "?") .. "\0" .. g.ep .. "\0" .. g.ctx
          == bk then
        for _, r in ipairs(list) do add(g, r) end
        joined = true
      end
    end
    if not joined then   -- only fp32 runs: a table of their own, its variant their context
      for _, r in ipairs(list) do add(group(r.dataset, r.model, with_epochs(r, site_context(r))), r) end
    end
  end
  table.sort(order)
  local out = {}
  for _, key in ipairs(order) do
    local g = groups[key]
    local acts, fmts = sorted_keys(g.acts, ACT_RANK), sorted_keys(g.fmts, FORMAT_RANK)
    local cells = {}
    for a, row in pairs(g.raw) do
      cells[a] = {}
      for f, c in pairs(row) do
        if #c.accs > 0 then
          local m, sd = mean_sd(c.accs)
          cells[a][f] = { mean = m, sd = sd, n = #c.accs, accs = c.accs, records = c.recs }
          if c.rms then cells[a][f].rms, cells[a][f].hist = mean_sd(c.rms), c.hist end
          if c.own then cells[a][f].own_rms, cells[a][f].drift = mean_sd(c.own), c.drift end
          if c.bits then cells[a][f].bits, cells[a][f].bits_sd = mean_sd(c.bits) end
        end
      end
    end
    local epochs, seeds = {}, {}
    for e in pairs(g.epochs) do epochs[#epochs + 1] = e end
    for sd in pairs(g.seeds) do seeds[#seeds + 1] = sd end
    table.sort(epochs)
    table.sort(seeds, function(x, y)
      local nx, ny = tonumber(x), tonumber(y)
      if nx and ny then return nx < ny end
      return x < y
    end)
    out[#out + 1] = { kind = "matrix", dataset = g.dataset, model = g.model, variant = g.variant,
      activations = acts, formats = fmts, cells = cells, epochs = epochs, seeds = seeds, runs = g.runs }
  end
  if #others > 0 then
    table.sort(others, function(x, y) return run_id(x) < run_id(y) end)
    out[#out + 1] = { kind = "runs", records = others }
  end
  if #stopped > 0 then
    table.sort(stopped, function(x, y) return run_id(x) < run_id(y) end)
    out[#out + 1] = { kind = "interrupted", records = stopped }
  end
  return out
end

local function pct(v) return v and string.format("%.2f", v) or "-" end

-- A level's value in few digits: "+0" and "-0" keep their sign.
local function num_text(v)
  if v == 0 then return 1 / v > 0 and "+0" or "-0" end
  return string.format("%.3g", v)
end

-- A signed difference with two decimals; a difference that rounds to
-- zero is "+0.00" whatever its sign.
local function diff(d)
  local s = string.format("%+.2f", d)
  return s == "-0.00" and "+0.00" or s
end

local function title(tb)
  local parts = {}
  for _, v in ipairs { tb.dataset, tb.model } do if v ~= nil then parts[#parts + 1] = tostring(v) end end
  if tb.variant ~= "" then parts[#parts + 1] = tb.variant end
  return table.concat(parts, ", ")
end
results.table_title = title

local function mean_secs(r)
  local s, n = 0, 0
  for _, v in ipairs(type(r.seconds_per_epoch) == "table" and r.seconds_per_epoch or {}) do
    if num(v) then s, n = s + v, n + 1 end
  end
  return n > 0 and s / n or nil
end

-- The value of a mode key that a comparison takes as its baseline (the
-- other value is measured against it); for other keys the first by name.
local BASELINE = { levels = "fixed", ste = "fprime", mode = "emulate", scale = "none" }

--- Paired comparisons: for every two variants of one dataset and model
-- whose modes differ in exactly one key (levels = fixed / learnable, ste =
-- fprime / clipped, …), the change from the baseline value to the other
-- in each activation and format, paired by seed (runs of one number of
-- epochs and of the same other settings, results.contexts, are compared
-- with each other only). Returns a list of
-- {dataset=, model=, epochs=, key=, base=, other=, rest= (the shared modes
-- and settings, as text), context= (the settings, as results.contexts
-- gives them, "" when all agree), activations = {…}, formats = {…}, cells = {[act] = {[fmt] =
-- {mean=, min=, max=, wins=, n=}}}} (points of test accuracy; wins: the
-- seeds where `other` is higher), in a stable order.
function results.comparisons(records)
  if type(records) ~= "table" then lpact.fail("results.comparisons: a list of records expected, got " .. type(records)) end
  local groups, gorder = {}, {}
  local ctx = results.contexts(records)
  for _, r in ipairs(records) do
    local acc = type(r) == "table" and num(r.test_acc or r.final_test_acc)
    local modes = acc and modes_of(r)
    if type(modes) ~= "table" then modes = nil end
    if acc and r.activation ~= nil and r.format ~= nil and tostring(r.format) ~= "fp32" and modes and r.seed ~= nil
        and r.interrupted ~= true then
      local c = (ctx[r] or ""):gsub("^epochs=%S*%s*", ""):gsub("%s*epochs=%S*", "")
      local gk = tostring(r.dataset or "?") .. "\0" .. tostring(r.model or "?") .. "\0" .. tostring(r.epochs) .. "\0" .. c
      local g = groups[gk]
      if not g then
        g = { dataset = r.dataset, model = r.model, epochs = r.epochs, context = c, variants = {}, vorder = {} }
        groups[gk], gorder[#gorder + 1] = g, gk
      end
      local var = variant(r)
      local v = g.variants[var]
      if not v then
        v = { modes = modes, runs = {} }
        g.variants[var], g.vorder[#g.vorder + 1] = v, var
      end
      v.runs[tostring(r.activation) .. "\0" .. tostring(r.format) .. "\0" .. tostring(r.seed)] = 100 * acc
    end
  end
  table.sort(gorder)
  local out = {}
  for _, gk in ipairs(gorder) do
    local g = groups[gk]
    table.sort(g.vorder)
    for i = 1, #g.vorder do
      for j = i + 1, #g.vorder do
        local a, b = g.variants[g.vorder[i]], g.variants[g.vorder[j]]
        local diff_key, ndiff, rest = nil, 0, {}
        local keys = {}
        for k in pairs(a.modes) do keys[k] = true end
        for k in pairs(b.modes) do keys[k] = true end
        local sorted = {}
        for k in pairs(keys) do sorted[#sorted + 1] = k end
        table.sort(sorted)
        for _, k in ipairs(sorted) do
          if tostring(a.modes[k]) ~= tostring(b.modes[k]) then diff_key, ndiff = k, ndiff + 1
          else rest[#rest + 1] = k .. "=" .. tostring(a.modes[k]) end
        end
        if ndiff == 1 and a.modes[diff_key] ~= nil and b.modes[diff_key] ~= nil then
          local base, other = a, b
          local bv, ov = tostring(a.modes[diff_key]), tostring(b.modes[diff_key])
          if BASELINE[diff_key] == ov or (BASELINE[diff_key] ~= bv and ov < bv) then
            base, other, bv, ov = b, a, ov, bv
          end
          local cells, acts, fmts, any = {}, {}, {}, false
          for key, acc_b in pairs(other.runs) do
            local acc_a = base.runs[key]
            if acc_a then
              local act, fmt = key:match("^(.-)%z(.-)%z")
              cells[act] = cells[act] or {}
              local c = cells[act][fmt]
              if not c then
                c = { sum = 0, n = 0, wins = 0, min = math.huge, max = -math.huge }
                cells[act][fmt] = c
                acts[act], fmts[fmt] = true, true
              end
              local d = acc_b - acc_a
              c.sum, c.n = c.sum + d, c.n + 1
              if d > 0 then c.wins = c.wins + 1 end
              if d < c.min then c.min = d end
              if d > c.max then c.max = d end
              any = true
            end
          end
          if any then
            local al, fl = sorted_keys(acts, ACT_RANK), sorted_keys(fmts, FORMAT_RANK)
            for _, row in pairs(cells) do
              for _, c in pairs(row) do c.mean = c.sum / c.n c.sum = nil end
            end
            if g.context ~= "" then rest[#rest + 1] = g.context end
            out[#out + 1] = { dataset = g.dataset, model = g.model, epochs = g.epochs, key = diff_key, base = bv, other = ov,
              rest = table.concat(rest, " "), context = g.context, activations = al, formats = fl, cells = cells }
          end
        end
      end
    end
  end
  return out
end

-- A Markdown table through line(): rows activations, columns formats,
-- each cell the text cell(activation, format) gives.
-- A name from a record as Markdown table text: '|' escaped, control
-- characters (a newline) as spaces, so a hand-made name cannot split a row.
local function md_cell(s)
  return (tostring(s):gsub("%c", " "):gsub("|", "\\|"))
end

local function grid(line, acts, fmts, cell)
  local head, rule = { "| activation |" }, { "|---|" }
  for _, f in ipairs(fmts) do head[#head + 1] = " " .. md_cell(f) .. " |" rule[#rule + 1] = "---:|" end
  line(table.concat(head))
  line(table.concat(rule))
  for _, a in ipairs(acts) do
    local row = { "| " .. md_cell(a) .. " |" }
    for _, f in ipairs(fmts) do row[#row + 1] = " " .. cell(a, f) .. " |" end
    line(table.concat(row))
  end
end

--- A comparison's title: "dataset, model: key other <word> base"
-- (word "against" by default).
function results.comparison_title(cp, word)
  local parts = {}
  for _, v in ipairs { cp.dataset, cp.model } do if v ~= nil then parts[#parts + 1] = tostring(v) end end
  local c = (cp.context or "") ~= "" and (" (" .. cp.context .. ")") or ""
  return string.format("%s: %s %s %s %s%s", table.concat(parts, ", "), cp.key, cp.other, word or "against", cp.base, c)
end

-- The Markdown lines of the paired comparisons of these records.
local function comparison_lines(records)
  local out = {}
  local function line(s) out[#out + 1] = s end
  for _, cp in ipairs(results.comparisons(records)) do
    line("## " .. results.comparison_title(cp, "against"):gsub("%c", " "))
    line("")
    line(string.format("Change in final test accuracy (points) from %s=%s to %s=%s after %s epoch%s, paired by seed%s: " ..
      "the mean, and in brackets on how many seeds %s is higher.", cp.key, cp.base, cp.key, cp.other,
      tostring(cp.epochs), cp.epochs == 1 and "" or "s", cp.rest ~= "" and (" (" .. cp.rest .. ")") or "", cp.other))
    line("")
    grid(line, cp.activations, cp.formats, function(a, f)
      local c = cp.cells[a][f]
      return c and string.format("%s (%d/%d)", diff(c.mean), c.wins, c.n) or "-"
    end)
    line("")
  end
  return out
end

--- The paired comparisons of these records (results.comparisons) as
-- Markdown: one table per pair of variants; "" when there are none.
function results.comparisons_markdown(records)
  local ls = comparison_lines(records)
  while ls[#ls] == "" do ls[#ls] = nil end
  return #ls > 0 and table.concat(ls, "\n") .. "\n" or ""
end

--- The Markdown text of the tables of these records: per group, rows are
-- activations, columns formats, cells the final test accuracy in percent
-- (mean over seeds), with the change from FP32 in brackets when the
-- group has an fp32 column. Other runs are listed one per line.
function results.markdown(records, opts)
  opts = opts or {}
  local out = {}
  local function line(s) out[#out + 1] = s end
  if opts.heading then line("# " .. opts.heading) line("") end
  local others_tb, stopped_tb
  for _, tb in ipairs(results.tables(records)) do
    if tb.kind == "matrix" then
      local base = nil
      for _, f in ipairs(tb.formats) do if f == "fp32" then base = f end end
      line("## " .. title(tb):gsub("%c", " "))
      line("")
      line("Final test accuracy (%)" .. (#tb.seeds > 1 and ", mean ± standard deviation over seeds" or "") ..
        (base and "; in brackets the change from fp32." or "."))
      line("")
      grid(line, tb.activations, tb.formats, function(a, f)
        local c, ref = tb.cells[a][f], base and tb.cells[a][base]
        local s = pct(c and c.mean)
        if c and c.sd then s = s .. " ± " .. string.format("%.2f", c.sd) end
        if c and ref and f ~= base then s = s .. " (" .. diff(c.mean - ref.mean) .. ")" end
        return s
      end)
      line("")
      local has_bits = false
      for _, f in ipairs(tb.formats) do
        for _, a in ipairs(tb.activations) do
          if tb.cells[a][f] and tb.cells[a][f].bits then has_bits = true end
        end
      end
      if has_bits then
        line("Validation bits per character" .. (#tb.seeds > 1 and ", mean ± standard deviation over seeds" or "") ..
          (base and "; in brackets the change from fp32." or "."))
        line("")
        grid(line, tb.activations, tb.formats, function(a, f)
          local c, ref = tb.cells[a][f], base and tb.cells[a][base]
          if not (c and c.bits) then return "-" end
          local s = string.format("%.4f", c.bits)
          if c.bits_sd then s = s .. string.format(" ± %.4f", c.bits_sd) end
          if ref and ref.bits and f ~= base then s = s .. string.format(" (%+.4f)", c.bits - ref.bits) end
          return s
        end)
        line("")
      end
      local qf = {}
      for _, f in ipairs(tb.formats) do
        for _, a in ipairs(tb.activations) do
          if tb.cells[a][f] and tb.cells[a][f].rms then qf[#qf + 1] = f break end
        end
      end
      if #qf > 0 then
        line("RMS error of the quantized activations against f in float64 on test inputs" ..
          ", mean over layers" .. (#tb.seeds > 1 and " and seeds." or "."))
        line("")
        grid(line, tb.activations, qf, function(a, f)
          local c = tb.cells[a][f]
          return (c and c.rms) and string.format("%.4g", c.rms) or "-"
        end)
        line("")
      end
      local lf = {}
      for _, f in ipairs(tb.formats) do
        for _, a in ipairs(tb.activations) do
          if tb.cells[a][f] and tb.cells[a][f].own_rms then lf[#lf + 1] = f break end
        end
      end
      if #lf > 0 then
        line("Learned levels apart from rounding: `own` is the RMS error of the format's own levels on the same " ..
          "inputs (rounding alone), `learned` the learned function's RMS difference from f (the table above), " ..
          "then the level that moved furthest from the format's value, `format value → learned`" ..
          (#tb.seeds > 1 and "; RMS means over layers and seeds, the furthest level over both." or "; RMS means over layers."))
        line("")
        grid(line, tb.activations, lf, function(a, f)
          local c = tb.cells[a][f]
          if not (c and c.own_rms) then return "-" end
          local s = string.format("own %.4g, learned %s", c.own_rms, c.rms and string.format("%.4g", c.rms) or "-")
          if c.drift then s = s .. string.format(", %s → %s", num_text(c.drift.level), num_text(c.drift.learned)) end
          return s
        end)
        line("")
      end
      local ep = {}
      for _, e in ipairs(tb.epochs) do ep[#ep + 1] = tostring(e) end
      line(string.format("%d run%s; epochs: %s; seeds: %s.", tb.runs, tb.runs == 1 and "" or "s",
        #ep > 0 and table.concat(ep, ", ") or "-", #tb.seeds > 0 and table.concat(tb.seeds, ", ") or "-"))
      line("")
    elseif tb.kind == "runs" then
      others_tb = tb
    else
      stopped_tb = tb
    end
  end
  for _, l in ipairs(comparison_lines(records)) do line(l) end
  do
    local tb = others_tb
    if tb then
      line("## Other runs")
      line("")
      line("| run | model | dataset | seed | epochs | test acc (%) | s/epoch |")
      line("|---|---|---|---:|---:|---:|---:|")
      for _, r in ipairs(tb.records) do
        local s = mean_secs(r)
        line(string.format("| %s | %s | %s | %s | %s | %s | %s |", run_id(r),
          tostring(r.model or "-"), tostring(r.dataset or "-"), tostring(r.seed or "-"), tostring(r.epochs or "-"),
          pct(num(r.test_acc) and 100 * r.test_acc), s and string.format("%.2f", s) or "-"))
      end
      line("")
    end
  end
  if stopped_tb then
    line("## Interrupted runs")
    line("")
    line("Stopped by Ctrl-C before their last epoch; left out of the tables above (the same sweep command trains them again).")
    line("")
    line("| run | model | dataset | seed | epochs done | of |")
    line("|---|---|---|---:|---:|---:|")
    for _, r in ipairs(stopped_tb.records) do
      line(string.format("| %s | %s | %s | %s | %s | %s |", run_id(r), tostring(r.model or "-"),
        tostring(r.dataset or "-"), tostring(r.seed or "-"), tostring(r.epochs or "-"), tostring(r.epochs_planned or "-")))
    end
    line("")
  end
  while out[#out] == "" do out[#out] = nil end
  return table.concat(out, "\n") .. "\n"
end

local function final_loss(r)
  if num(r.final_loss) then return r.final_loss end
  if num(r.loss) then return r.loss end
  if type(r.loss) == "table" then return num(r.loss[#r.loss]) end
end

local function peak_kb(r)
  if math.type(r.peak_memory_kb) == "integer" then return r.peak_memory_kb end
  if num(r.peak_memory) then return math.tointeger(r.peak_memory // 1024) end
end

local function csv_field(v)
  v = v == nil and "" or tostring(v)
  if v:find('[,"\n\r]') then v = '"' .. v:gsub('"', '""') .. '"' end
  return v
end

-- Bits per value of a format spec ("fp32" 32, "fp4" 4, "ue3m1" 4), or nil.
local function format_bits(spec)
  if spec == nil then return nil end
  local ok, f = pcall(lpact.format, tostring(spec))
  return ok and f:info().bits or nil
end

--- Language-model records (scripts/lm.lua: extra.val_bits_per_char, the
-- MLP activation's format in `format`, the attention probabilities' in
-- modes.attn) as lines of validation bits per character against bits per
-- activation, one line per site: "MLP activation" (attention in fp32),
-- "attention probabilities" (MLP activation in fp32) and "both sites" (both
-- in formats of one width). Each line starts at the all-fp32 run (32
-- bits) and is split by activation, the probabilities' mode (emulate,
-- ops), levels and STE. Returns a list of
-- {dataset=, model=, length=, lines = {{label=, site=, points = {{bits=,
-- mean=, sd=, values = {…}}, …} (by bits, descending)}, …}}, one per
-- (dataset, model), or per (dataset, model, settings) when the records of a
-- dataset and model differ in a setting besides activation, format, modes
-- and seed (length = the settings as results.contexts gives them,
-- "steps=N" for records trained for different numbers of steps; nil
-- otherwise).
function results.lm_sites(records)
  local groups, gorder = {}, {}
  local lm = {}
  for _, r in ipairs(records) do
    if type(r) == "table" and r.interrupted ~= true and type(r.extra) == "table" and num(r.extra.val_bits_per_char) then
      lm[#lm + 1] = r
    end
  end
  local ctx = results.contexts(lm)
  for _, r in ipairs(records) do
    local bits = type(r) == "table" and r.interrupted ~= true and type(r.extra) == "table" and num(r.extra.val_bits_per_char)
    if bits and r.format ~= nil then
      local modes = type(r.modes) == "table" and r.modes or {}
      local attn = modes.attn ~= nil and tostring(modes.attn) or "fp32"
      local fmt = tostring(r.format)
      local fb, ab = format_bits(fmt), format_bits(attn)
      local c = ctx[r] or ""
      local gk = tostring(r.dataset or "?") .. "\0" .. tostring(r.model or "?") .. "\0" .. c
      local g = groups[gk]
      if not g then
        g = { dataset = r.dataset, model = r.model, length = c ~= "" and c or nil, lines = {}, order = {}, base = {} }
        groups[gk], gorder[#gorder + 1] = g, gk
      end
      local act = tostring(r.activation or "?")
      local function put(site, x, rest)
        local label = act .. ", " .. site .. (rest ~= "" and (", " .. rest) or "")
        local l = g.lines[label]
        if not l then
          l = { label = label, site = site, act = act, pts = {} }
          g.lines[label], g.order[#g.order + 1] = l, label
        end
        l.pts[x] = l.pts[x] or {}
        table.insert(l.pts[x], bits)
      end
      local rest = {}
      if attn ~= "fp32" and modes.attn_mode ~= nil then rest[#rest + 1] = tostring(modes.attn_mode) end
      if modes.levels ~= nil then rest[#rest + 1] = "levels " .. tostring(modes.levels) end
      if modes.ste ~= nil then rest[#rest + 1] = "STE " .. tostring(modes.ste) end
      rest = table.concat(rest, ", ")
      if fmt == "fp32" and attn == "fp32" then
        g.base[act] = g.base[act] or {}
        table.insert(g.base[act], bits)
      elseif attn == "fp32" and fb then put("MLP activation", fb, rest)
      elseif fmt == "fp32" and ab then put("attention probabilities", ab, rest)
      elseif fb and fb == ab then put("both sites", fb, rest) end
    end
  end
  local out = {}
  for _, gk in ipairs(gorder) do
    local g = groups[gk]
    local lines = {}
    for _, label in ipairs(g.order) do
      local l = g.lines[label]
      if g.base[l.act] and not l.pts[32] then l.pts[32] = g.base[l.act] end
      local pts = {}
      for x, vs in pairs(l.pts) do
        local m, sd = mean_sd(vs)
        pts[#pts + 1] = { bits = x, mean = m, sd = sd, values = vs }
      end
      table.sort(pts, function(p, q) return p.bits > q.bits end)
      lines[#lines + 1] = { label = l.label, site = l.site, points = pts }
    end
    table.sort(lines, function(p, q) return p.label < q.label end)
    if #lines > 0 then out[#out + 1] = { dataset = g.dataset, model = g.model, length = g.length, lines = lines } end
  end
  return out
end

--- The CSV text of the same tables: one row per (group, activation), the
-- columns dataset, model, variant, activation, one accuracy column per
-- format (percent, mean over seeds) and, when the group has fp32, one
-- change_<format> column per other format (accuracy minus fp32's: negative
-- when the format loses accuracy).
-- Formats are the union over all groups; a missing cell is empty.
function results.csv(records)
  local tables = results.tables(records)
  local fmts, seen = {}, {}
  for _, tb in ipairs(tables) do
    for _, f in ipairs(tb.formats or {}) do if not seen[f] then seen[f] = true fmts[#fmts + 1] = f end end
  end
  table.sort(fmts, sorter(FORMAT_RANK))
  local head = { "dataset", "model", "variant", "activation" }
  for _, f in ipairs(fmts) do head[#head + 1] = f end
  local has_base = seen.fp32
  if has_base then for _, f in ipairs(fmts) do if f ~= "fp32" then head[#head + 1] = "change_" .. f end end end
  local lines = { table.concat(head, ",") }
  for _, tb in ipairs(tables) do
    if tb.kind == "matrix" then
      for _, a in ipairs(tb.activations) do
        local row = { csv_field(tb.dataset), csv_field(tb.model), csv_field(tb.variant), csv_field(a) }
        for _, f in ipairs(fmts) do
          local c = tb.cells[a][f]
          row[#row + 1] = c and string.format("%.2f", c.mean) or ""
        end
        if has_base then
          local ref = tb.cells[a].fp32
          for _, f in ipairs(fmts) do
            if f ~= "fp32" then
              local c = tb.cells[a][f]
              row[#row + 1] = (c and ref) and diff(c.mean - ref.mean) or ""
            end
          end
        end
        lines[#lines + 1] = table.concat(row, ",")
      end
    end
  end
  return table.concat(lines, "\n") .. "\n"
end

-- Text for LaTeX: its ten special characters escaped.
local TEX_ESCAPE = { ["\\"] = "\\textbackslash{}", ["&"] = "\\&", ["%"] = "\\%", ["$"] = "\\$", ["#"] = "\\#",
  ["_"] = "\\_", ["{"] = "\\{", ["}"] = "\\}", ["~"] = "\\textasciitilde{}", ["^"] = "\\textasciicircum{}",
  ["<"] = "\\textless{}", [">"] = "\\textgreater{}" }
local function tex(s)
  return (tostring(s):gsub("[\\&%%$#_{}~^<>]", TEX_ESCAPE))
end
results.tex_escape = tex

--- The LaTeX text of the same tables (report.tex): a document of booktabs
-- tables, one per (dataset, model, variant) as in the Markdown, rows
-- activations, columns formats, cells the final test accuracy in percent,
-- mean $\pm$ standard deviation over seeds when there are several; the best
-- mean of each column in bold (every cell that ties with it at two
-- decimals); when the table has fp32, a second table of the change from
-- fp32 (format minus fp32, in points, signed in math mode). Compiles with
-- pdflatex and the booktabs package; each table can be pasted into a
-- paper alone.
function results.latex(records)
  local out = {}
  local function line(x) out[#out + 1] = x end
  line("\\documentclass{article}")
  line("\\usepackage[T1]{fontenc}")
  line("\\usepackage{booktabs}")
  line("\\begin{document}")
  local n = 0
  for _, tb in ipairs(results.tables(records)) do
    if tb.kind == "matrix" then
      n = n + 1
      line("")
      line("\\begin{table}[ht]")
      line("\\centering")
      line("\\caption{" .. tex(title(tb)) .. ": final test accuracy (\\%)" ..
        (#tb.seeds > 1 and string.format(", mean $\\pm$ standard deviation over %d seeds", #tb.seeds) or "") ..
        "; the best of each column in bold.}")
      line("\\begin{tabular}{l" .. string.rep("r", #tb.formats) .. "}")
      line("\\toprule")
      local head = { "activation" }
      for _, f in ipairs(tb.formats) do head[#head + 1] = tex(f) end
      line(table.concat(head, " & ") .. " \\\\")
      line("\\midrule")
      local best = {}
      for _, f in ipairs(tb.formats) do
        for _, a in ipairs(tb.activations) do
          local c = tb.cells[a][f]
          if c and (not best[f] or c.mean > best[f]) then best[f] = c.mean end
        end
      end
      for _, a in ipairs(tb.activations) do
        local row = { tex(a) }
        for _, f in ipairs(tb.formats) do
          local c = tb.cells[a][f]
          if not c then row[#row + 1] = "--"
          else
            local m = string.format("%.2f", c.mean)
            if m == string.format("%.2f", best[f]) then m = "\\textbf{" .. m .. "}" end
            row[#row + 1] = m .. (c.sd and string.format(" $\\pm$ %.2f", c.sd) or "")
          end
        end
        line(table.concat(row, " & ") .. " \\\\")
      end
      line("\\bottomrule")
      line("\\end{tabular}")
      line("\\end{table}")
      -- the change from fp32 (format minus fp32, in points): its own table
      local base = false
      for _, f in ipairs(tb.formats) do if f == "fp32" then base = true end end
      if base and #tb.formats > 1 then
        line("")
        line("\\begin{table}[ht]")
        line("\\centering")
        line("\\caption{" .. tex(title(tb)) .. ": change in final test accuracy from fp32 (points; negative: " ..
          "the format loses accuracy)" .. (#tb.seeds > 1 and ", of the means over seeds" or "") .. ".}")
        line("\\begin{tabular}{l" .. string.rep("r", #tb.formats - 1) .. "}")
        line("\\toprule")
        local h2 = { "activation" }
        for _, f in ipairs(tb.formats) do if f ~= "fp32" then h2[#h2 + 1] = tex(f) end end
        line(table.concat(h2, " & ") .. " \\\\")
        line("\\midrule")
        for _, a in ipairs(tb.activations) do
          local row, ref = { tex(a) }, tb.cells[a].fp32
          for _, f in ipairs(tb.formats) do
            if f ~= "fp32" then
              local c = tb.cells[a][f]
              row[#row + 1] = (c and ref) and ("$" .. diff(c.mean - ref.mean) .. "$") or "--"
            end
          end
          line(table.concat(row, " & ") .. " \\\\")
        end
        line("\\bottomrule")
        line("\\end{tabular}")
        line("\\end{table}")
      end
    end
  end
  if n == 0 then line("No table: no run has an activation and a format.") end
  line("")
  line("\\end{document}")
  return table.concat(out, "\n") .. "\n"
end

--- One CSV row per result record (id, model, dataset, activation, format,
-- variant, seed, epochs, test accuracy in percent, final loss, mean
-- seconds per epoch, peak memory in kB, mean RMS error of the quantized
-- activations), in id order.
function results.runs_csv(records)
  local lines = { "id,model,dataset,activation,format,variant,seed,epochs,test_acc,final_loss,seconds_per_epoch,peak_memory_kb,act_rms" }
  local sorted = { table.unpack(records) }
  table.sort(sorted, function(x, y) return run_id(x) < run_id(y) end)
  for _, r in ipairs(sorted) do
    local s = mean_secs(r)
    lines[#lines + 1] = table.concat({ csv_field(run_id(r)), csv_field(r.model), csv_field(r.dataset), csv_field(r.activation),
      csv_field(r.format), csv_field(variant(r)), csv_field(r.seed), csv_field(r.epochs),
      num(r.test_acc) and string.format("%.2f", 100 * r.test_acc) or "",
      final_loss(r) and string.format("%.4f", final_loss(r)) or "",
      s and string.format("%.2f", s) or "", csv_field(peak_kb(r)),
      results.act_rms(r) and string.format("%.6g", results.act_rms(r)) or "" }, ",")
  end
  return table.concat(lines, "\n") .. "\n"
end

return results
