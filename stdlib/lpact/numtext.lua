--- lpact.numtext — numbers read from text (stdin of `lpact round`, CSV
-- cells) exactly and without surprises.
--
-- Lua's tonumber wraps a hexadecimal integer modulo 2^64
-- (0x8000000000000000 reads as a negative integer); here a hex integer is
-- read as the number it spells, and refused when that number is not
-- exactly a double (more than 53 significant bits), so no value is ever
-- rounded twice. Decimal text and hex floats go through C's strtod
-- (correctly rounded, as tonumber does).

local numtext = {}

local HEX_BITS = { [0] = 0, 1, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 4, 4, 4, 4 }   -- bit length of a digit
local HEX_TZ = { [0] = 4, 0, 1, 0, 2, 0, 1, 0, 3, 0, 1, 0, 2, 0, 1, 0 }     -- trailing zero bits of a digit

-- The value of a hex integer's digits (no sign, no 0x) as a double, or
-- nil when it needs more than 53 significant bits.
local function hex_integer(digits)
  digits = digits:gsub("^0+", "")
  if digits == "" then return 0.0 end
  local tz, i = 0, #digits
  while digits:sub(i, i) == "0" do tz, i = tz + 4, i - 1 end
  tz = tz + HEX_TZ[tonumber(digits:sub(i, i), 16)]
  local width = 4 * (#digits - 1) + HEX_BITS[tonumber(digits:sub(1, 1), 16)]
  if width - tz > 53 then return nil end
  if width > 1024 then return nil end
  return tonumber("0x" .. digits .. "p0")   -- exact: at most 53 significant bits
end

--- The number s spells, as a float (a double), or nil and the reason.
-- Accepts decimal (1, -2.5e3, .5), hex integers (0x10, exact) and hex
-- floats (0x1.8p3). With words = true also inf, +inf, -inf, infinity,
-- nan, +nan, -nan (NaN positive unless written -nan). Surrounding
-- whitespace is the caller's to strip.
function numtext.number(s, words)
  if words then
    local l = s:lower()
    if l == "inf" or l == "+inf" or l == "infinity" or l == "+infinity" then return math.huge end
    if l == "-inf" or l == "-infinity" then return -math.huge end
    if l == "nan" or l == "+nan" then return numtext.QNAN end
    if l == "-nan" then return -numtext.QNAN end
  end
  local sign, hex = s:match("^([+-]?)0[xX](%x+)$")
  if hex then
    local v = hex_integer(hex)
    if v == nil then return nil, "a hex integer with more than 53 significant bits or too large (not exactly a double)" end
    return sign == "-" and -v or v
  end
  if s:find("[%s]") then return nil, "not a number" end
  local x = tonumber(s)
  if x == nil then return nil, "not a number" end
  x = x + 0.0
  if x == 0 and s:sub(1, 1) == "-" then x = -0.0 end   -- "-0" reads as an integer
  return x
end

--- Text from a user's file as it may be echoed in a one-line message:
-- control and non-ASCII bytes written as \ddd escapes, a quote as \',
-- and at most max (40) characters of the original, "..." marking a cut.
function numtext.excerpt(s, max)
  max = max or 40
  local cut = #s > max
  local e = s:sub(1, max):gsub("[%c\128-\255'\\]", function(c)
    if c == "'" or c == "\\" then return "\\" .. c end
    return string.format("\\%03d", c:byte())
  end)
  return cut and e .. "..." or e
end

--- A binary32 bit pattern written 0x%08x (leading zeros allowed, at most
-- 32 significant bits) as the float it encodes, or nil and the reason.
function numtext.bits32(s)
  local h = s:match("^0[xX](%x+)$")
  if not h then return nil, "not a binary32 bit pattern (0x%08x)" end
  if #h:gsub("^0+", "") > 8 then return nil, "wider than 32 bits (not a binary32 bit pattern)" end
  return (string.unpack("<f", string.pack("<I4", tonumber(h, 16))))
end

--- The positive quiet NaN (0/0 is negative on common hardware).
numtext.QNAN = string.unpack("<d", string.pack("<I8", 0x7ff8000000000000))

--- s without leading and trailing whitespace, in time linear in #s (the
-- pattern "^%s*(.-)%s*$" is quadratic in the spaces inside a line).
function numtext.trim(s)
  local a = s:find("%S")
  if not a then return "" end
  local b = select(2, s:find("^.*%S", a))
  return s:sub(a, b)
end

return numtext
