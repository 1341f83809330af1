--- lpact levels FORMAT — list every code of a format: bits, value, gaps, kind.
-- The REPL's levels table (lpact.show.formats) with every code listed:
-- bit fields apart, value, gap to the next larger magnitude, relative gap.

local lpact = require "lpact"
local show = require "lpact.show.formats"

local cli = require "lpact.cli"

return function(args)
  local p = cli.parser("lpact levels", "List every code of a format (of at most 12 bits): bits, value, gaps, kind.")
  p:argument("format", "the format, e.g. fp4, e2m1, ue3m1"):argname("FORMAT")
  local spec = cli.parse(p, args).format
  local f, err = lpact.parse_format(spec)
  if not f then lpact.fail(err) end
  if f.bits > show.MAX_LIST_BITS then
    lpact.fail(string.format("%s has %d bits (%s codes); levels lists formats of at most %d bits"
      .. " (try 'lpact info %s')", spec, f.bits, f.bits >= 32 and "2^32" or tostring(f.ncodes),
      show.MAX_LIST_BITS, spec))
  end
  print(show.levels(f, nil, { list = true, color = false }))
  return 0
end
