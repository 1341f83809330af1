--- lpact.formatinfo — text views of a format, shared by `lpact info`,
-- `lpact levels` and `lpact round` (and free for the REPL to use).
--
--     local fi = require "lpact.formatinfo"
--     print(fi.shortest(0.1))            --> 0.1
--     for _, line in ipairs(fi.describe(lpact.format"fp4")) do print(line) end

local M = {}

--- Shortest decimal string that reads back as exactly x ("inf", "-inf",
-- "nan" for the specials; "-0" keeps the sign of zero).
function M.shortest(x)
  if x ~= x then return "nan" end
  if x == math.huge then return "inf" end
  if x == -math.huge then return "-inf" end
  if x == 0 then return (1 / x < 0) and "-0" or "0" end
  for p = 1, 17 do
    local s = string.format("%." .. p .. "g", x)
    if tonumber(s) == x then return s end
  end
  return string.format("%.17g", x)
end

--- The binary32 bit pattern of x as an integer (x rounded to binary32).
function M.f32bits(x)
  return (string.unpack("<I4", string.pack("<f", x)))
end

--- The number whose binary32 bit pattern is the integer b.
function M.f32value(b)
  return (string.unpack("<f", string.pack("<I4", b)))
end

--- Hex digits needed for a code of `bits` bits.
function M.code_digits(bits)
  return math.max(1, (bits + 3) // 4)
end

local function pow2(x)
  if x > 0 then
    local m, e = math.frexp(x)
    if m == 0.5 then return string.format(" (2^%d)", e - 1) end
  end
  return ""
end

--- Lines describing format f: layout, range, specials, rounding.
function M.describe(f)
  local i = f:info()
  local S = M.shortest
  local lines = {}
  local function add(k, v) lines[#lines + 1] = string.format("  %-15s %s", k, v) end
  lines[1] = string.format("%s = %s", i.name, i.spec)
  add("layout", string.format("%s%d exponent + %d mantissa bits = %d bits, %s codes",
    i.signed and "1 sign + " or "unsigned, ", i.ebits, i.mbits, i.bits,
    i.bits >= 32 and "2^32" or tostring(i.ncodes)))
  if i.ebits > 0 then
    add("bias", string.format("%d (normal exponents %d .. %d)", i.bias, i.emin, i.emax))
  else
    add("bias", string.format("%d (fixed point: values m * 2^%d)", i.bias, 1 - i.bias - i.mbits))
  end
  local zero_note = ({ e8m0 = "no zero", fnuz = "one zero: fnuz has no -0" })[i.policy] or "+0 and -0 count once"
  add("values", string.format("%d distinct finite (%s)", i.nvalues, zero_note))
  add("max", S(i.max) .. pow2(i.max))
  add("min normal", i.ebits > 0 and (S(i.min_normal) .. pow2(i.min_normal)) or "none (no exponent bits: fixed point)")
  if i.policy == "e8m0" then add("min subnormal", "none (e8m0: the smallest value is 2^-bias)")
  elseif not i.subnormals then add("min subnormal", "none (nosub)")
  elseif i.mbits == 0 then add("min subnormal", "none (M = 0: no nonzero subnormal)")
  else add("min subnormal", S(i.min_subnormal) .. pow2(i.min_subnormal)) end
  add("epsilon", S(i.epsilon) .. pow2(i.epsilon) .. ", the relative gap 2^-M")
  add("dynamic range", string.format("%.2f binades (log2 of max / min positive)", i.binades))
  local specials = {
    ieee = "inf and NaN in the top exponent (ieee)",
    fn = "no inf; NaN is the all-ones code (fn)",
    fin = "no inf, no NaN: every code is a number (fin)",
    fnuz = "no inf, no -0; NaN is the code of -0 (fnuz)",
    e8m0 = "no zero, no sign: every code but the all-ones NaN is 2^(code - bias) (e8m0)",
  }
  add("specials", specials[i.policy])
  local ovf
  if i.overflow == "sat" then ovf = "saturates to +-max (sat)"
  elseif not i.has_inf then ovf = "gives NaN in rne/rna/sr, +-max in rtz/rno (inf)"
  else ovf = "gives +-inf in rne/rna/sr, +-max in rtz/rno (inf)" end
  add("overflow", ovf)
  local mode = i.mode
  if mode == "sr" then
    mode = string.format("sr (stochastic, %d random bits, seed %d)", i.sr_bits, i.seed)
  end
  add("rounding", mode)
  return lines
end

--- Lines of the code table of f (formats up to `maxbits` bits, default
-- 12): code, bit fields, value and the gap to the next value of the same
-- sign. Returns nil and a message (naming the format as `label`) for
-- larger formats.
function M.levels(f, maxbits, label)
  maxbits = maxbits or 12
  label = label or f.name
  if f.bits > maxbits then
    return nil, string.format("%s has %d bits (%s codes); levels lists formats of at most %d bits"
      .. " (try 'lpact info %s')", label, f.bits, f.bits >= 32 and "2^32" or tostring(f.ncodes),
      maxbits, label)
  end
  local codes = f:codes()
  local nd = M.code_digits(f.bits)
  local width = #codes[1].bits
  local rows = {}
  local vals = {}
  for k, c in ipairs(codes) do vals[k] = M.shortest(c.value) end
  local vw = 5
  for _, v in ipairs(vals) do vw = math.max(vw, #v) end
  local cw = math.max(4, nd + 2)
  rows[1] = string.format("%-" .. cw .. "s  %-" .. math.max(width, 4) .. "s  %-" .. vw .. "s  %s",
    "code", "bits", "value", "gap to next")
  local half = f.signed and #codes // 2 or #codes
  local function finite(c) return c.kind == "zero" or c.kind == "subnormal" or c.kind == "normal" end
  for k, c in ipairs(codes) do
    local gap = ""
    if finite(c) then
      -- the next value of the same sign (unused codes skipped)
      local last = k <= half and half or #codes
      for j = k + 1, last do
        local n = codes[j]
        if n.kind ~= "unused" then
          if finite(n) then gap = M.shortest(math.abs(n.value - c.value)) end
          break
        end
      end
    end
    local note = (c.kind == "unused") and "  (unused: nosub)" or ""
    rows[#rows + 1] = string.format("%-" .. cw .. "s  %-" .. math.max(width, 4) .. "s  %-" .. vw .. "s  %s%s",
      string.format("0x%0" .. nd .. "x", c.code), c.bits, vals[k], gap, note)
  end
  return rows
end

return M
