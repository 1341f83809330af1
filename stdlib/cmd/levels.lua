--- lpact levels FORMAT — list every code of a format: bits, value, gap to the next.
-- its bits with sign, exponent and mantissa fields apart, its value and
-- the gap to the next value of the same sign.

local lpact = require "lpact"
local fi = require "lpact.formatinfo"

local USAGE = "usage: lpact levels FORMAT   (formats of at most 12 bits)"

return function(args)
  if args[1] == "-h" or args[1] == "--help" then print(USAGE) return 0 end
  if #args ~= 1 then lpact.fail(USAGE) end
  local f, err = lpact.parse_format(args[1])
  if not f then lpact.fail(err) end
  local rows, msg = fi.levels(f, 12, args[1])
  if not rows then lpact.fail(msg) end
  print(string.format("%s = %s", f.name, f.spec))
  for _, r in ipairs(rows) do print(r) end
  return 0
end
