--- lpact.sweep — running a grid of trainings into one folder so that the
-- folder can be trusted: every record carries the configuration that made
-- it, a changed setting never reuses an old result, a killed or signalled
-- worker resumes where it stopped, and any number of workers (processes on
-- one machine, tasks of a Slurm array, a second terminal) share the grid
-- without training a cell twice.
--
--     local sweep = lpact.sweep
--     local cells = {}
--     for _, seed in ipairs{1, 2, 3} do
--       local config = {model = "mlp", activation = "relu", seed = seed, …,
--                       data = sweep.data_identity(ds, {limit = 600})}
--       cells[#cells + 1] = sweep.cell({"mlp", "relu", "s" .. seed}, config, {cost = 1})
--     end
--     local status = sweep.run{dir = "results/x", cells = cells, name = "x",
--       train = function(cell, ctx)        -- ctx.checkpoint, ctx.on_batch
--         local r = lpact.qact.experiment{…, checkpoint = ctx.checkpoint, on_batch = ctx.on_batch}
--         return r.cfg, r.history
--       end}
--     os.exit(status)
--
-- Files in the folder, for a cell with id ID (see docs/results.md):
--   ID.json              the complete record: the cell is done
--   ID.interrupted.json  the record of a training stopped by a signal
--   ID.failed.json       the error of a training that failed (delete to retry)
--   ID.ckpt              the last whole epoch of an unfinished training
--   ID.claim             the worker training it now (host, pid, heartbeat)
--   manifest*.json       one per worker: grid, trained, failed, status
-- Start-up reads only the folder's file names, never the records.

local lpact = require "lpact"
local json = require "lpact.json"
local files = require "lpact.files"
local sys = lpact.sys
local engine = lpact.engine

local sweep = {}

--- The numerics version. Bump it whenever a change alters the numbers a
-- configuration produces (a new random stream, another kernel summation
-- order, a changed default): every configuration then gets a new id, and
-- sweeps train anew instead of taking old records for new ones.
-- History: 1, the first version with run identities; 2, GELU's float32
-- derivative through vectorised exp/erf approximations (the gelu trainings
-- of the quantized layer end in other last bits); 3, briefly, the
-- convolutions' products through lp_fmagemm; 4, the convolutions on
-- machines with AVX-512F: products as one fused multiply-add chain per
-- output (lp_fmagemm), "same" convolutions (stride 1, output as large as
-- the input) read straight from their input with the weight gradient
-- summed in 16 lanes and the input gradient as the forward of the flipped
-- weights (conv_implicit.h), and every convolution's bias gradient in 16
-- lanes: CNN trainings end in other last bits; 5, 3x3 "same"
-- convolutions with 8 or more input channels (forward and input gradient)
-- by Winograd's F(2x2, 3x3) on machines with AVX-512F (conv_winograd.h);
-- 6, their weight gradients by Winograd's transforms too; 7, planes so
-- wide that one row of tiles' transforms passes 8 MB (W (C + O) above
-- about 2^18) back to the direct kernels (no built-in model has one).
sweep.NUMERICS = 7

--- Seconds after which a claim whose heartbeat stopped is taken over
-- (LPACT_CLAIM_TIMEOUT overrides); a claim of a process of this host that
-- is gone is taken over at once. Heartbeats come every HEARTBEAT seconds.
sweep.CLAIM_TIMEOUT = 600
sweep.HEARTBEAT = 20

-- A timeout at or below the heartbeat would take live workers' claims
-- from them (each leaves its training, over and over): refused, as is a
-- value that is not a number (never silently the default).
local function claim_timeout()
  local s = os.getenv("LPACT_CLAIM_TIMEOUT")
  if s == nil or s == "" then return sweep.CLAIM_TIMEOUT end
  local v = tonumber(s)
  if not v or v ~= v or v <= sweep.HEARTBEAT then
    lpact.fail(string.format("LPACT_CLAIM_TIMEOUT must be a number of seconds above the %d-s heartbeat, got '%s'",
      sweep.HEARTBEAT, s))
  end
  return v
end

--- The canonical text of a configuration: JSON with sorted keys, no
-- spaces, floats with the fewest digits that read back exactly.
function sweep.canonical(cfg)
  return json.encode(cfg, { nonfinite = "error" })
end

local function slug(s)
  return (tostring(s):lower():gsub("[^%w%.]+", "-"):gsub("^%-+", ""):gsub("%-+$", ""))
end

--- A cell of the grid: cell(prefix, config [, {cost =, name =}]). config
-- is every setting that can change a number (the numerics version is
-- added); the id is the readable prefix (a list of words, or a string)
-- and the first 12 hex digits of the 64-bit FNV-1a hash of the canonical
-- configuration: "mlp-relu-fp2-learnable-s1-3f9a0c2e71b4".
function sweep.cell(prefix, config, o)
  o = o or {}
  if type(config) ~= "table" then lpact.fail("sweep.cell: a configuration table expected") end
  local full = {}
  for k, v in pairs(config) do full[k] = v end
  full.numerics = sweep.NUMERICS
  -- the direct sums instead of Winograd's (lpact.kernels.winograd(false),
  -- LPACT_WINOGRAD=0) give other bits: another id
  if not lpact.kernels.winograd() then full.conv = "direct" end
  local hash = sys.hash(sweep.canonical(full))
  if type(prefix) == "table" then
    local parts = {}
    for _, p in ipairs(prefix) do if p ~= nil and p ~= "" then parts[#parts + 1] = slug(p) end end
    prefix = table.concat(parts, "-")
  end
  prefix = slug(prefix or "run")
  local id = (prefix ~= "" and (prefix .. "-") or "") .. hash:sub(1, 12)
  return { id = id, hash = hash, config = full, cost = o.cost or 1, name = o.name or prefix }
end

--- The identity of a data set: name, sizes, shape and a content hash of
-- its tensors (computed once per data set table), with `extra` (limit,
-- normalize, split, file sizes, …) merged in.
function sweep.data_identity(ds, extra)
  if type(ds) ~= "table" or type(ds.train) ~= "table" then lpact.fail("sweep.data_identity: a data set expected") end
  if not ds._content_hash then
    local h
    for _, t in ipairs { ds.train.x, ds.train.y, ds.test and ds.test.x, ds.test and ds.test.y } do
      if t then h = sys.tensor_hash(t:contiguous(), h) end
    end
    ds._content_hash = h
  end
  local id = { name = ds.name or "?", hash = ds._content_hash, train = ds.train.x:size(1),
    test = ds.test and ds.test.x:size(1) or 0, shape = ds.train.x:shape(), synthetic = ds.synthetic or nil }
  for k, v in pairs(extra or {}) do id[k] = v end
  return id
end

-- ---- the folder --------------------------------------------------------------

--- What the folder holds, from its file names alone: {done = set of ids,
-- interrupted =, failed =, claims =, ckpt = (sets), names = list}.
function sweep.scan(dir)
  local names = lpact.io.listdir(dir) or {}
  local st = { done = {}, interrupted = {}, failed = {}, claims = {}, ckpt = {}, names = names }
  local find, sub = string.find, string.sub
  for _, n in ipairs(names) do
    -- plain suffix tests: this runs on every name of folders of 10,000 records
    if not find(n, ".tmp-", 1, true) then
      local len = #n
      if sub(n, -5) == ".json" then
        if sub(n, -17) == ".interrupted.json" then st.interrupted[sub(n, 1, len - 17)] = true
        elseif sub(n, -12) == ".failed.json" then st.failed[sub(n, 1, len - 12)] = true
        elseif sub(n, 1, 8) ~= "manifest" then st.done[sub(n, 1, len - 5)] = true end
      elseif sub(n, -6) == ".claim" then st.claims[sub(n, 1, len - 6)] = true
      elseif sub(n, -5) == ".ckpt" then st.ckpt[sub(n, 1, len - 5)] = true end
    end
  end
  return st
end

local HOST, PID
local function me()
  if not HOST then HOST, PID = sys.hostname(), sys.pid() end
  return HOST, PID
end

local function read_json(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  local ok, v = pcall(json.decode, s)
  if ok and type(v) == "table" then return v end
  return nil
end

local Claim = {}
Claim.__index = Claim

--- Is the claim file at path stale (its process gone, or its heartbeat
-- older than the timeout)? Returns stale, holder (the parsed claim or nil).
function sweep.claim_stale(path)
  local mt = sys.mtime(path)
  if not mt then return false, nil end
  local holder = read_json(path)
  local host, pid = me()
  if holder and holder.host == host and math.type(holder.pid) == "integer" then
    if holder.pid ~= pid and not sys.alive(holder.pid) then return true, holder end
  end
  -- a claim that does not read (empty: its writer was killed between the
  -- create and the write; or damaged) has no heartbeat to wait for once
  -- it is older than two heartbeats: a live claim reads within moments
  if not holder and sys.time() - mt > 2 * sweep.HEARTBEAT then return true, nil end
  return sys.time() - mt > claim_timeout(), holder
end

--- Claims a cell for this process: an O_EXCL create of dir/ID.claim
-- holding host, pid, start time and a nonce. A stale claim is taken over
-- (renamed away, its nonce checked, then created anew). Returns the claim,
-- or nil and the holder's claim when another live worker has it.
function sweep.claim(dir, id, worker)
  local host, pid = me()
  local path = dir .. "/" .. id .. ".claim"
  for _ = 1, 2 do
    local nonce = sys.random_hex(16)
    local body = json.encode({ host = host, pid = pid, started = os.date("!%Y-%m-%dT%H:%M:%SZ"), nonce = nonce,
      worker = worker }) .. "\n"
    local ok, err, kind = sys.create_excl(path, body)
    if ok then return setmetatable({ path = path, nonce = nonce, id = id, beat = sys.time() }, Claim) end
    if kind ~= "exists" then lpact.fail(err, 1) end
    local stale, holder = sweep.claim_stale(path)
    if not stale then return nil, holder end
    -- Take it over: move it to a name of our own, then make sure what we
    -- moved is the stale claim and not one a faster worker made meanwhile.
    local grave = string.format("%s.stale-%s-%d-%s", path, host, pid, sys.random_hex(8))
    if not pcall(engine.rename, path, grave) then return nil, holder end
    local moved = read_json(grave)
    if holder and moved and moved.nonce ~= holder.nonce then
      pcall(engine.rename, grave, path)   -- a live claim: give it back
      return nil, moved
    end
    os.remove(grave)
    io.stderr:write(string.format("sweep: taking over %s (%s)\n", id,
      holder and string.format("worker %s:%s stopped", tostring(holder.host), tostring(holder.pid)) or "stale claim"))
  end
  return nil, nil
end

--- True while this process still holds the claim (the file is there with
-- its nonce); refreshes the heartbeat (the file's mtime) every
-- sweep.HEARTBEAT seconds, or now with force.
function Claim:heartbeat(force)
  local now = sys.time()
  if not force and now - self.beat < sweep.HEARTBEAT then return true end
  self.beat = now
  local c = read_json(self.path)
  if not c or c.nonce ~= self.nonce then return false end
  sys.touch(self.path)
  return true
end

--- Removes the claim file if it is still this process's.
function Claim:release()
  local c = read_json(self.path)
  if c and c.nonce == self.nonce then os.remove(self.path) end
end

-- ---- running the grid ------------------------------------------------------------

local function revision()
  return engine.revision
end

--- Orders cells longest first (by cost, then by their place in the list),
-- so that the last trainings to start are short ones.
function sweep.order(cells)
  local idx = {}
  for i, c in ipairs(cells) do idx[c] = i end
  local out = { table.unpack(cells) }
  table.sort(out, function(a, b)
    if a.cost ~= b.cost then return a.cost > b.cost end
    return idx[a] < idx[b]
  end)
  return out
end

--- The manifest file name of this worker: manifest.json for a lone
-- sweep, manifest-K-of-N.json for a static shard, manifest-<label>.json
-- for one of several workers.
function sweep.manifest_name(o)
  if o.shard then return string.format("manifest-%d-of-%d.json", o.shard[1], o.shard[2]) end
  if o.worker then return "manifest-" .. slug(o.worker) .. ".json" end
  return "manifest.json"
end

--- Runs the grid: o = {dir =, cells = (sweep.cell's), train = function(cell,
-- ctx) -> cfg, history (for lpact.results.record), name =, info = (extra
-- manifest fields), worker = (a label: several workers on one folder),
-- shard = {K, N} (the grid's cells are still all listed), grid = (all
-- cells of the grid, default cells), wait = true (wait for cells other
-- live workers hold, and take over theirs if they stop), quiet =,
-- on_record = function(rec, cell, reused)}.
-- ctx: checkpoint = {path =, key =} for train.fit, on_batch (heartbeat;
-- returns false when the claim was lost), claim.
-- Returns the exit status: 0 when every cell is done, 1 when one failed
-- (the others are trained; ID.failed.json says why), 128 + signal when a
-- signal stopped it.
function sweep.run(o)
  local results = require "lpact.results"
  local dir = o.dir
  local ok, err = lpact.io.mkdir(dir)
  if not ok then lpact.fail("cannot create the results folder " .. err, 1) end
  local host, pid = me()
  claim_timeout()   -- a bad LPACT_CLAIM_TIMEOUT fails now, not at the first claim
  local say = o.quiet and function() end or function(fmt, ...) print(string.format(fmt, ...)) io.stdout:flush() end
  local st0 = sweep.scan(dir)
  files.clean_stale(dir, st0.names)
  for _, n in ipairs(st0.names) do
    -- a claim moved aside by a takeover whose worker died before removing it
    local h, p = n:match("%.claim%.stale%-(.+)%-(%d+)%-%x+$")
    if h and ((h == host and not sys.alive(math.tointeger(tonumber(p)))) or
        sys.time() - (sys.mtime(dir .. "/" .. n) or sys.time()) > files.STALE_SECONDS) then
      os.remove(dir .. "/" .. n)
    end
  end
  local function hashed(stem) return #stem > 13 and stem:sub(-13):match("^%-%x+$") ~= nil end
  for _, set in ipairs { st0.done, st0.interrupted, st0.failed } do
    for stem in pairs(set) do
      if not hashed(stem) and stem:sub(1, 6) ~= "report" then
        local n = stem .. (set == st0.done and ".json" or set == st0.failed and ".failed.json" or ".interrupted.json")
        io.stderr:write(string.format("sweep: warning: %s/%s is not named like a record (ID-<hash>.json); ignored\n", dir, n))
      end
    end
  end
  local grid = {}
  for _, c in ipairs(o.grid or o.cells) do grid[#grid + 1] = { id = c.id, name = c.name } end
  local run = results.open(dir, { name = o.name, manifest = sweep.manifest_name(o), extra = o.info })
  local m = run.manifest
  m.grid, m.trained, m.failed, m.host, m.pid, m.worker = grid, {}, {}, host, pid, o.worker
  m.numerics, m.revision = sweep.NUMERICS, revision()
  run:write_manifest()
  local prev_catch = engine.catch_interrupt(true)
  local cells = sweep.order(o.cells)
  local left = #cells
  local finished = {}
  local status = 0
  local m_dirty = false
  local function stop_for_signal(sig, cell)
    m.signal = sig
    run:finish("interrupted")
    io.stderr:write(string.format("sweep: stopped by signal %d%s; the same command resumes\n", sig,
      cell and (" in " .. cell.id) or ""))
    status = 128 + sig
  end
  while left > 0 and status == 0 do
    local st = sweep.scan(dir)
    local busy, progressed = 0, false
    for _, cell in ipairs(cells) do
      if status ~= 0 then break end
      local sig = engine.signal()
      if sig then stop_for_signal(sig) break end
      if finished[cell.id] then
        -- counted already
      elseif st.done[cell.id] or st.failed[cell.id] then
        finished[cell.id], left = true, left - 1
        if st.done[cell.id] then
          -- leftovers of a worker killed between writing the record and cleaning up
          local cpath = dir .. "/" .. cell.id .. ".claim"
          if st.claims[cell.id] and sweep.claim_stale(cpath) then os.remove(cpath) st.claims[cell.id] = nil end
          if st.ckpt[cell.id] and not st.claims[cell.id] then os.remove(dir .. "/" .. cell.id .. ".ckpt") end
          if st.interrupted[cell.id] and not st.claims[cell.id] then os.remove(dir .. "/" .. cell.id .. ".interrupted.json") end
        end
        if st.done[cell.id] then
          say("%s: done before", cell.id)
          m.results[#m.results + 1] = { id = cell.id, file = cell.id .. ".json", earlier = true }
          m_dirty = true
        end
        if o.on_record then o.on_record(nil, cell, true) end
      else
        local claim, holder = sweep.claim(dir, cell.id, o.worker)
        if not claim then
          busy = busy + 1
        elseif sys.mtime(dir .. "/" .. cell.id .. ".json") then
          claim:release()   -- another worker finished it between the scan and the claim
          finished[cell.id], left, progressed = true, left - 1, true
        else
          progressed = true
          local lost = false
          local ctx = {
            claim = claim,
            checkpoint = { path = dir .. "/" .. cell.id .. ".ckpt", key = cell.hash },
            on_batch = function()
              if not claim:heartbeat() then lost = true return false end
            end,
          }
          say("%s: training", cell.id)
          local okt, cfg, hist = pcall(o.train, cell, ctx)
          if not okt then
            local msg = lpact.is_failure(cfg) and cfg.msg or tostring(cfg)
            msg = msg:match("^[^\n]*")
            files.write_atomic(dir .. "/" .. cell.id .. ".failed.json", json.encode({ schema = "lpact-failure/1",
              id = cell.id, name = cell.name, error = msg, host = host, pid = pid, created = results.now(),
              config = cell.config }, { indent = 2, nonfinite = "null" }) .. "\n")
            m.failed[#m.failed + 1] = { id = cell.id, error = msg }
            run:write_manifest()
            claim:release()
            io.stderr:write(string.format("sweep: %s failed: %s\n", cell.id, msg))
            finished[cell.id], left = true, left - 1
          elseif lost then
            io.stderr:write(string.format("sweep: lost the claim on %s to another worker; leaving it\n", cell.id))
          else
            if hist.resumed_from then
              say("%s: resumed from %s after epoch %d", cell.id, ctx.checkpoint.path, hist.resumed_from)
            end
            local rec = results.record(cfg, hist)
            rec.id, rec.config, rec.config_hash = cell.id, cell.config, cell.hash
            rec.run = { host = host, pid = pid, worker = o.worker, revision = revision(),
              resumed_from = hist.resumed_from }
            local sig2 = hist.interrupted and (engine.signal() or 2) or nil
            if sig2 then
              rec.interrupted, rec.signal = true, sig2
              files.write_atomic(dir .. "/" .. cell.id .. ".interrupted.json",
                json.encode(rec, { indent = 2, nonfinite = "null" }) .. "\n")
              claim:release()
              stop_for_signal(sig2, cell)
            else
              rec.interrupted = nil
              files.write_atomic(dir .. "/" .. cell.id .. ".json", json.encode(rec, { indent = 2, nonfinite = "null" }) .. "\n")
              os.remove(dir .. "/" .. cell.id .. ".interrupted.json")
              os.remove(dir .. "/" .. cell.id .. ".ckpt")
              claim:release()
              m.trained[#m.trained + 1] = cell.id
              local list = m.results
              list[#list + 1] = { id = rec.id, file = cell.id .. ".json", test_acc = rec.test_acc }
              run:write_manifest()
              finished[cell.id], left = true, left - 1
              say("%s: trained, test %s", cell.id, rec.test_acc and string.format("%.2f%%", 100 * rec.test_acc) or "-")
              if o.on_record then o.on_record(rec, cell, false) end
            end
          end
        end
      end
    end
    if m_dirty then run:write_manifest() m_dirty = false end
    if status ~= 0 or left == 0 then break end
    if busy > 0 and not progressed then
      if o.wait == false then break end
      sys.sleep(tonumber(os.getenv("LPACT_SWEEP_POLL") or "") or 2)
    end
  end
  if status == 0 then
    local sig = engine.signal()
    if sig then stop_for_signal(sig)
    else
      run:finish(left == 0 and (#m.failed > 0 and "failed" or "complete") or "incomplete")
      if #m.failed > 0 then
        io.stderr:write(string.format("sweep: %d configuration%s failed (see %s/*.failed.json; delete one to retry it)\n",
          #m.failed, #m.failed == 1 and "" or "s", dir))
        status = 1
      end
    end
  end
  engine.catch_interrupt(prev_catch)
  return status
end

return sweep
