--- lpact.tap — a small Test Anything Protocol producer for the test suite.
--
--     local t = require "lpact.tap"
--     t.is(lpact.format"fp4":round(0.3), 0.5, "0.3 rounds to the subnormal 0.5")
--     t.done()
--
-- Every check prints one `ok`/`not ok` line; t.done() prints the plan and
-- exits non-zero when a check failed, so `prove` reports it.

local tap = {}
local count, failed = 0, 0

local function report(pass, name, diag)
  count = count + 1
  io.write(pass and "ok " or "not ok ", count, name and (" - " .. tostring(name):gsub("\n", " ")) or "", "\n")
  if not pass then
    failed = failed + 1
    local info = debug.getinfo(3, "Sl")
    io.write("#   failed at ", info and (info.short_src .. ":" .. info.currentline) or "?", "\n")
    if diag then io.write("#   ", tostring(diag):gsub("\n", "\n#   "), "\n") end
  end
  io.stdout:flush()
  return pass
end

local function show(v)
  if math.type(v) == "float" then return string.format("%.17g (%a)", v, v) end
  return type(v) == "string" and string.format("%q", v) or tostring(v)
end

--- Passes when v is truthy.
function tap.ok(v, name) return report(v and true or false, name) end

--- Passes when got == want (NaN equals NaN; 0 and -0 differ, as bits do).
function tap.is(got, want, name)
  local pass
  if got ~= got and want ~= want then pass = true
  elseif got == 0 and want == 0 and math.type(got) == "float" and math.type(want) == "float" then
    pass = (1 / got) == (1 / want)
  else pass = got == want end
  return report(pass, name, not pass and ("got:  " .. show(got) .. "\nwant: " .. show(want)))
end

--- Passes when |got - want| <= tol (absolute) or <= rtol * |want|.
function tap.near(got, want, tol, name, rtol)
  local err = math.abs(got - want)
  local pass = err <= tol or (rtol ~= nil and err <= rtol * math.abs(want))
  return report(pass, name, not pass and string.format("got %.9g, want %.9g, |diff| %.3g > tol %.3g", got, want, err, tol))
end

--- Passes when s matches the Lua pattern pat.
function tap.like(s, pat, name)
  local pass = type(s) == "string" and s:find(pat) ~= nil
  return report(pass, name, not pass and ("got: " .. show(s) .. "\nexpected to match: " .. pat))
end

--- Passes when f(...) raises an error whose message matches pat.
function tap.raises(f, pat, name, ...)
  local okc, err = pcall(f, ...)
  local msg = type(err) == "table" and tostring(err.msg) or tostring(err)
  local pass = not okc and (pat == nil or msg:find(pat) ~= nil)
  return report(pass, name, not pass and (okc and "no error raised" or ("error was: " .. msg .. "\nexpected to match: " .. pat)))
end

--- Passes when f(...) runs without error.
function tap.lives(f, name, ...)
  local okc, err = pcall(f, ...)
  return report(okc, name, not okc and tostring(type(err) == "table" and err.msg or err))
end

--- Deep equality of tables (and the rules of tap.is for leaves).
function tap.same(got, want, name)
  local function eq(a, b)
    if type(a) ~= "table" or type(b) ~= "table" then
      if a ~= a and b ~= b then return true end
      return a == b
    end
    for k, v in pairs(a) do if not eq(v, b[k]) then return false end end
    for k in pairs(b) do if a[k] == nil then return false end end
    return true
  end
  local pass = eq(got, want)
  return report(pass, name, not pass and "tables differ")
end

--- A diagnostic line (shown by prove -v).
function tap.diag(...)
  io.write("# ", table.concat({...}, " "), "\n")
end

--- Skips n checks with a reason.
function tap.skip(n, why)
  for _ = 1, n or 1 do
    count = count + 1
    io.write("ok ", count, " # skip ", why or "", "\n")
  end
end

--- Runs a shell command; returns its output (stdout and stderr together)
-- and its exit status.
function tap.run(cmd)
  local p = io.popen(cmd .. " 2>&1; echo \"exit=$?\"")
  local out = p:read("a")
  p:close()
  local body, code = out:match("^(.-)exit=(%d+)\n$")
  return body or out, tonumber(code)
end

--- The message of the error f(...) raises (an lpact error's msg, or the
-- string), or "no error".
function tap.errmsg(f, ...)
  local ok, e = pcall(f, ...)
  if ok then return "no error" end
  return type(e) == "table" and e.msg or tostring(e)
end

--- A file's bytes, or nil when it cannot be read.
function tap.slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

--- Writes s as the whole of a file (an error when it cannot).
function tap.spit(path, s)
  local f = assert(io.open(path, "wb"))
  assert(f:write(s))
  assert(f:close())
end

local tmpdirs = {}

--- A new empty folder for the test's files; tap.done() removes it when
-- every check passed and names it when one failed.
function tap.tmpdir()
  local d = os.tmpname()   -- a unique name (created as a file)
  os.remove(d)
  assert(require("lfs").mkdir(d))
  tmpdirs[#tmpdirs + 1] = d
  return d
end

local function quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

--- Prints the plan; exits 1 when a check failed.
function tap.done()
  io.write("1..", count, "\n")
  for _, d in ipairs(tmpdirs) do
    if failed > 0 then io.write("# files kept in ", d, "\n") else os.execute("rm -rf " .. quote(d)) end
  end
  io.stdout:flush()
  if failed > 0 then os.exit(1, true) end
end

--- The number of failed checks so far.
function tap.failures() return failed end

return tap
