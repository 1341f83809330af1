--- lpact info FORMAT — describe a format: layout, range, special values, rounding.
-- special values, overflow rule and rounding mode.

local lpact = require "lpact"
local show = require "lpact.show.formats"

local USAGE = "usage: lpact info FORMAT   (e.g. fp4, e4m3, ue2m1:bias=0, e3m2:sr)"

return function(args)
  if args[1] == "-h" or args[1] == "--help" then print(USAGE) return 0 end
  if #args ~= 1 then lpact.fail(USAGE) end
  local f, err = lpact.parse_format(args[1])
  if not f then lpact.fail(err) end
  print(show.format(f))
  return 0
end
