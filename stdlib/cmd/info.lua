--- lpact info FORMAT — describe a format: layout, range, special values, rounding.
-- special values, overflow rule and rounding mode.

local lpact = require "lpact"
local show = require "lpact.show.formats"

local cli = require "lpact.cli"

return function(args)
  local p = cli.parser("lpact info", "Describe a format: layout, range, special values, rounding.")
  p:argument("format", "the format, e.g. fp4, e4m3, ue2m1:bias=0, e3m2:sr"):argname("FORMAT")
  local spec = cli.parse(p, args).format
  local f, err = lpact.parse_format(spec)
  if not f then lpact.fail(err) end
  print(show.format(f))
  return 0
end
