--- lpact.files — writing files so that a failed or killed run never leaves
-- half a file behind: the bytes go to a temporary name in the target's
-- folder, <target>.tmp-<host>-<pid>-<random>, created with O_EXCL and
-- fsync'd, which is then renamed over the target (rename is atomic on
-- POSIX), and the folder is fsync'd so the rename survives a crash.
-- files.clean_stale(dir) removes the temporary files of writers that died.

local lpact = require "lpact"
local sys = lpact.sys

local files = {}

--- Writes `bytes` to `path` atomically and returns path. On failure raises
-- lpact.fail (status 1) with one line "<path>: cannot write[ <what>]:
-- <reason>"; no temporary file stays behind.
function files.write_atomic(path, bytes, what)
  local ok, err = sys.write_atomic(path, bytes)
  if not ok then
    lpact.fail(string.format("%s: cannot write%s: %s", path, what and (" " .. what) or "",
      tostring(err or "unknown error"):match("[^:]*$"):gsub("^%s+", "")), 1)
  end
  return path
end

files.STALE_SECONDS = 24 * 3600

-- "<target>.tmp-<host>-<pid>-<hex>" -> host, pid; older "<target>.tmp-<hex>" -> nil
local function temp_owner(name)
  local host, pid = name:match("%.tmp%-(.+)%-(%d+)%-%x+$")
  if host then return host, math.tointeger(tonumber(pid)) end
  return nil
end

--- True when `name` is a temporary file of files.write_atomic.
function files.is_temp(name)
  return name:find("%.tmp%-") ~= nil
end

--- Removes the temporary files in dir that no writer will rename any
-- more: those of a process of this host that is gone, and any older than
-- files.STALE_SECONDS (a day). Returns the names removed.
function files.clean_stale(dir, names)
  names = names or lpact.io.listdir(dir) or {}
  local host = sys.hostname():gsub("[/.]", "_")
  local now = sys.time()
  local removed = {}
  for _, name in ipairs(names) do
    if files.is_temp(name) then
      local path = dir .. "/" .. name
      local h, pid = temp_owner(name)
      local dead = h == host and pid and pid ~= sys.pid() and not sys.alive(pid)
      local old = false
      if not dead then
        local mt = sys.mtime(path)
        old = mt ~= nil and now - mt > files.STALE_SECONDS
      end
      if (dead or old) and os.remove(path) then removed[#removed + 1] = name end
    end
  end
  return removed
end

return files
