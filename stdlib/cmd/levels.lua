--- lpact levels FORMAT — list every code of a format: bits, value, gap to the next.
-- its bits with sign, exponent and mantissa fields apart, its value and
-- the gap to the next value of the same sign.

local lpact = require "lpact"
local fi = require "lpact.formatinfo"

local cli = require "lpact.cli"

return function(args)
  local p = cli.parser("lpact levels", "List every code of a format (of at most 12 bits): bits, value, gap to the next.")
  p:argument("format", "the format, e.g. fp4, e2m1, ue3m1"):argname("FORMAT")
  local spec = cli.parse(p, args).format
  local f, err = lpact.parse_format(spec)
  if not f then lpact.fail(err) end
  local rows, msg = fi.levels(f, 12, spec)
  if not rows then lpact.fail(msg) end
  print(string.format("%s = %s", f.name, f.spec))
  for _, r in ipairs(rows) do print(r) end
  return 0
end
