-- One configuration, one record id, whichever script trains it
-- (lpact.study): make demo's records are named and keyed as
-- scripts/paper.lua names them, hold the same numbers as paper.lua's
-- training of the same configuration, and paper.lua on demo's folder finds
-- them done instead of training them again.
local t = require "lpact.tap"
local json = require "lpact.json"
local B = os.getenv("LPACT_BUILD") or "build"

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  return d
end
local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("a")
  local ok = p:close()
  return out, ok
end
local function records(dir)
  local r = {}
  for _, n in ipairs(lpact.io.listdir(dir) or {}) do
    if n:match("%.json$") and not n:match("^manifest") then
      local f = io.open(dir .. "/" .. n)
      r[n] = json.decode(f:read("a"))
      f:close()
    end
  end
  return r
end
local function names(r)
  local t2 = {}
  for n in pairs(r) do t2[#t2 + 1] = n end
  table.sort(t2)
  return table.concat(t2, " ")
end

local nodata = tmpdir()
os.execute("mkdir -p " .. nodata)
local env = "LPACT_DATA=" .. nodata .. " "   -- both scripts on data.builtin
local demo_dir, paper_dir = tmpdir(), tmpdir()
local grid = "--act relu --format fp32,fp2 --epochs 1 --limit 200"
local _, ok1 = sh(env .. B .. "/lpact scripts/demo.lua " .. grid .. " --levels learnable --out " .. demo_dir)
local _, ok2 = sh(env .. B .. "/lpact scripts/paper.lua --data builtin " .. grid
  .. " --levels learnable --model mlp --seed 1 --out " .. paper_dir)
t.ok(ok1 and ok2, "demo.lua and paper.lua train the same two configurations")

local d, p = records(demo_dir), records(paper_dir)
t.is(names(d), names(p), "the same record files")
t.like(names(d), "^mlp%-relu%-fp2%-learnable%-s1%-e1%-%x+%.json mlp%-relu%-fp32%-s1%-e1%-%x+%.json$", "named as a sweep names them")
local same = true
for n, r in pairs(d) do
  local q = p[n] or {}
  if r.id ~= q.id or r.config_hash ~= q.config_hash or r.test_acc ~= q.test_acc or json.encode(r.accuracy) ~= json.encode(q.accuracy)
      or json.encode(r.config) ~= json.encode(q.config) then
    same = false
  end
end
t.ok(same, "the same id, configuration, hash and accuracies in each")

local out = sh(env .. B .. "/lpact scripts/paper.lua --data builtin " .. grid
  .. " --levels learnable --model mlp --seed 1 --out " .. demo_dir)
local _, done = out:gsub(": done before", "")
t.is(done, 2, "paper.lua on demo's folder: both done before")
t.ok(not out:find(": training", 1, true), "and nothing trained again")
-- a changed setting is a new configuration: one more epoch trains both anew
local out2 = sh(env .. B .. "/lpact scripts/paper.lua --data builtin --act relu --format fp32,fp2 --epochs 2 --limit 200"
  .. " --levels learnable --model mlp --seed 1 --out " .. demo_dir)
local _, trained = out2:gsub(": trained", "")
t.is(trained, 2, "--epochs 2 on the same folder: two new trainings")

os.execute("rm -rf " .. nodata .. " " .. demo_dir .. " " .. paper_dir)
t.done()
