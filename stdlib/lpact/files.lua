--- lpact.files — writing files so that a failed run never leaves half a
-- file behind: the bytes go to a temporary name in the target's folder,
-- which is then renamed over the target (rename is atomic on POSIX).

local lpact = require "lpact"

local files = {}

--- Writes `bytes` to `path` atomically and returns path. On failure raises
-- lpact.fail (status 1) with one line "<path>: cannot write[ <what>]:
-- <reason>" and removes the temporary file.
function files.write_atomic(path, bytes, what)
  local function fail(reason)
    lpact.fail(string.format("%s: cannot write%s: %s", path, what and (" " .. what) or "",
      tostring(reason or "unknown error"):gsub("^[^:]*: ", "")), 1)
  end
  local tmp = string.format("%s.tmp-%08x", path, lpact.io.crc32(tostring({}) .. os.clock() .. path))
  local f, err = io.open(tmp, "wb")
  if not f then fail(err) end
  local ok, werr = f:write(bytes)
  local closed, cerr = f:close()
  if not ok or not closed then
    os.remove(tmp)
    fail(werr or cerr)
  end
  local rok, rerr = pcall(lpact.engine.rename, tmp, path)
  if not rok then
    os.remove(tmp)
    lpact.fail(tostring(rerr), 1)
  end
  return path
end

return files
