--- lpact levels FORMAT — list every code of a format: bits, value, gaps, kind.
-- The REPL's levels table (lpact.show.formats) with every code listed:
-- bit fields apart, value, gap to the next larger magnitude, relative gap.

local lpact = require "lpact"
local show = require "lpact.show.formats"

local USAGE = "usage: lpact levels FORMAT   (formats of at most 12 bits)"

return function(args)
  if args[1] == "-h" or args[1] == "--help" then print(USAGE) return 0 end
  if #args ~= 1 then lpact.fail(USAGE) end
  local f, err = lpact.parse_format(args[1])
  if not f then lpact.fail(err) end
  if f.bits > show.MAX_LIST_BITS then
    lpact.fail(string.format("%s has %d bits (%s codes); levels lists formats of at most %d bits"
      .. " (try 'lpact info %s')", args[1], f.bits, f.bits >= 32 and "2^32" or tostring(f.ncodes),
      show.MAX_LIST_BITS, args[1]))
  end
  print(show.levels(f, nil, { list = true, color = false }))
  return 0
end
