-- scripts/bench/records.lua — a large results folder for timing `lpact
-- report`: N records made from the records of a real sweep (FROM), each
-- copy with its own seed (FROM's seed + k), id and file name, written as
-- lpact.sweep writes them.
--
--   lpact scripts/paper.lua --data builtin --limit 300 --epochs 2 --act relu,tanh \
--       --format fp32,fp4,fp2 --model mlp --seed 1 --levels learnable --out /tmp/p10
--   lpact scripts/bench/records.lua --from /tmp/p10 --out /tmp/r10k --count 10000
--   time lpact report /tmp/r10k --no-figures >/dev/null

local cli = require "lpact.cli"
local json = require "lpact.json"
local results = lpact.results

local p = cli.parser("lpact scripts/bench/records.lua", "Write COUNT result records made from a sweep's records.")
p:option("--from", "a folder of real records"):argname("DIR"):count(1)
p:option("--out", "the new folder (must not exist)"):argname("DIR"):count(1)
p:option("--count", "records to write"):argname("N"):default("10000"):convert(cli.int(1))
local o = cli.parse(p, arg)

local recs = results.read_dir(o.from)
if #recs == 0 then lpact.fail("records.lua: no records in " .. o.from) end
if lpact.io.isdir(o.out) then lpact.fail("records.lua: " .. o.out .. " exists") end
local ok, err = lpact.io.mkdir(o.out)
if not ok then lpact.fail("records.lua: " .. err, 1) end

for k = 1, o.count do
  local src = recs[(k - 1) % #recs + 1]
  local rec = json.decode(json.encode(src))
  rec.file = nil
  local round = (k - 1) // #recs
  rec.seed = src.seed + round
  if type(rec.config) == "table" then rec.config.seed = rec.seed end
  local hash = lpact.sys.hash(json.encode(rec.config or rec, { nonfinite = "null" }) .. k)
  rec.id = (src.id:gsub("%-s%d+%-", "-s" .. rec.seed .. "-"):gsub("%-%x+$", "")) .. "-" .. hash:sub(1, 12)
  rec.config_hash = hash
  require("lpact.files").write_atomic(o.out .. "/" .. rec.id .. ".json",
    json.encode(rec, { indent = 2, nonfinite = "null" }) .. "\n")
end
print(string.format("%d records in %s", o.count, o.out))
