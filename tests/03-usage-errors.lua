-- One error convention across the C/Lua boundary: a user's mistake is one
-- line on stderr and exit status 2 whichever side notices it (a binding's
-- lp_fail or Lua's lpact.fail); a bug is a traceback and exit status 1.
local t = require "lpact.tap"
local B = os.getenv("LPACT_BUILD") or "build"
local bin = B .. "/lpact"

local function run(code)
  local out, st = t.run(bin .. " -e '" .. code .. "'")
  return out, st
end
local function one_line(out) return select(2, out:gsub("\n", "")) == 1 end

-- a bad format spec noticed by C (lpact.format) and by Lua (qact options)
local o1, s1 = run('lpact.format"e9m9"')
local o2, s2 = run('lpact.qact{"relu", fmt = "e9m9"}')
t.is(s1, 2, "lpact.format\"e9m9\": exit status 2")
t.is(s2, 2, "lpact.qact{fmt=\"e9m9\"}: exit status 2")
t.ok(one_line(o1) and one_line(o2), "both: one line, no traceback\n" .. o1 .. o2)
t.is(o1, "lpact: e9m9: exponent bits E = 9 out of range (0..8)\n", "lpact.format: the parser's message")
t.is(o2, "lpact: qact{relu, fmt=e9m9}: option 'fmt': e9m9: exponent bits E = 9 out of range (0..8)\n",
  "qact: the same message under the option that carried it")

-- the failure objects are the same kind whichever side raised them
local ok1, e1 = pcall(lpact.format, "e9m9")
local ok2, e2 = pcall(lpact.fail, "by hand")
t.ok(not ok1 and not ok2 and lpact.is_failure(e1) and lpact.is_failure(e2), "lpact.is_failure on both")
t.ok(getmetatable(e1) == getmetatable(e2) and tostring(e1) == e1.msg, "one metatable; tostring is the message")
t.is(e1.exit, 2, "exit 2 from C")
local _, e3 = pcall(lpact.fail, "missing file", 1)
t.is(e3.exit, 1, "lpact.fail's status")

-- an unknown activation, a bad rounding mode in f:with: usage errors too
local o3, s3 = run('lpact.kernels.act("nope", lpact.tensor{1})')
t.is(s3, 2, "unknown activation: exit 2")
t.like(o3, "^lpact: unknown activation 'nope' %(known: relu, ", "names the known ones")
local o4, s4 = run('lpact.format"fp4":with{mode = "xx"}')
t.is(s4, 2, "a bad mode in with: exit 2")
t.is(o4, "lpact: mode 'xx' is not one of rne rna rtz rup rdn rno sr\n", "with: the core's list of modes")
local o5, s5 = run('lpact.format"fp4":with"rtz:xx"')
t.is(s5, 2, "a bad option in with: exit 2")
t.like(o5, "^lpact: rtz:xx: unknown option 'xx' at column 5", "with: the parser's message")

-- a bug (a wrong type from a script) keeps its traceback and exit 1
local o6, s6 = run('lpact.format(42)')
t.is(s6, 1, "a wrong argument type: exit 1")
t.like(o6, "stack traceback", "with a traceback")

-- the lists behind the messages come from the core, in enum order
local names = lpact.format_names()
t.same(names.modes, { "rne", "rna", "rtz", "rup", "rdn", "rno", "sr" }, "format_names().modes")
t.same(names.overflow, { "sat", "inf" }, "format_names().overflow")
t.is(names.policies[1], "ieee", "format_names().policies starts with ieee")
for _, m in ipairs(names.modes) do
  t.is(lpact.format("fp4:" .. m).mode, m, "fp4:" .. m .. " parses to mode " .. m)
end
t.done()
