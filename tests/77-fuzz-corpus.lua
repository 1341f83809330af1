-- The fuzz seeds of the Lua-level harnesses (tests/fuzz/corpus/csv, json,
-- checkpoint, round) through the same targets and assertions that
-- `make fuzz` runs under libFuzzer: a crash input added there as a
-- regression seed keeps guarding in the ordinary suite.
local t = require "lpact.tap"
local targets = dofile("tests/fuzz/targets.lua")

local function files(dir)
  local out, p = {}, io.popen("ls -A '" .. dir .. "' 2>/dev/null")
  for l in p:lines() do out[#out + 1] = l end
  p:close()
  table.sort(out)
  return out
end
local slurp = t.slurp

for _, name in ipairs { "csv", "json", "checkpoint", "round" } do
  local dir = "tests/fuzz/corpus/" .. name
  local list = files(dir)
  t.ok(#list >= 3, name .. ": " .. #list .. " seeds")
  local bugs = {}
  for _, f in ipairs(list) do
    local ok, r = pcall(targets[name], slurp(dir .. "/" .. f))
    if not ok then bugs[#bugs + 1] = f .. ": raised " .. tostring(r)
    elseif r ~= nil then bugs[#bugs + 1] = f .. ": " .. tostring(r) end
  end
  t.is(#bugs, 0, name .. ": every seed passes the harness's assertions" .. (#bugs > 0 and (" — " .. table.concat(bugs, "; ")) or ""))
end

-- the assertions can fail: a target reports what it is given to catch
local bad = targets.round("0x10\n")   -- a correct reader: nil
t.is(bad, nil, "round: a good line passes")
t.done()
