--- lpact round FORMAT [options] — round numbers from stdin to a format, one a line.
-- lpact round FORMAT [--mode M] [--seed N] [--in dec|bits] [--out dec|bits|code]
-- Reads numbers from stdin, one a line, and writes each rounded to FORMAT.
--   --in dec    decimal or hex-float numbers, inf, -inf, nan (default);
--               rounded in one step from the double
--   --in bits   binary32 bit patterns, 0x%08x
--   --out dec   the shortest decimal that reads back exactly (default)
--   --out bits  the result's binary32 bit pattern, 0x%08x
--   --out code  the result's code in the format, in hex
-- Blank lines are skipped. Stochastic rounding uses counter k for the
-- k-th number (from 0), so a run repeats with the same seed.

local lpact = require "lpact"
local fi = require "lpact.formatinfo"

local USAGE = "usage: lpact round FORMAT [--mode M] [--seed N] [--in dec|bits] [--out dec|bits|code]"

-- the positive quiet NaN (0/0 is negative on common hardware)
local QNAN = string.unpack("<d", string.pack("<I8", 0x7ff8000000000000))

local function parse_dec(s)
  local l = s:lower()
  if l == "inf" or l == "+inf" or l == "infinity" then return math.huge end
  if l == "-inf" or l == "-infinity" then return -math.huge end
  if l == "nan" or l == "+nan" then return QNAN end
  if l == "-nan" then return -QNAN end
  local x = tonumber(s)
  if x == nil then return nil end
  x = x + 0.0
  if x == 0 and s:sub(1, 1) == "-" then x = -0.0 end   -- "-0" reads as an integer
  return x
end

local function parse_bits(s)
  local h = s:match("^0[xX](%x+)$")
  if not h or #h > 8 then return nil end
  return fi.f32value(tonumber(h, 16))
end

return function(args)
  local spec, mode, seed, inp, out
  local i = 1
  while i <= #args do
    local a = args[i]
    local function value()
      i = i + 1
      if args[i] == nil then lpact.fail(a .. " needs a value; " .. USAGE) end
      return args[i]
    end
    if a == "-h" or a == "--help" then print(USAGE) return 0
    elseif a == "--mode" then mode = value()
    elseif a == "--seed" then seed = value()
    elseif a == "--in" then inp = value()
    elseif a == "--out" then out = value()
    elseif a:sub(1, 1) == "-" and a ~= "-" then lpact.fail("unknown option " .. a .. "; " .. USAGE)
    elseif spec == nil then spec = a
    else lpact.fail("unexpected argument '" .. a .. "'; " .. USAGE) end
    i = i + 1
  end
  if not spec then lpact.fail(USAGE) end
  inp, out = inp or "dec", out or "dec"
  if inp ~= "dec" and inp ~= "bits" then lpact.fail("--in must be dec or bits, not '" .. inp .. "'") end
  if out ~= "dec" and out ~= "bits" and out ~= "code" then
    lpact.fail("--out must be dec, bits or code, not '" .. out .. "'")
  end
  local f, err = lpact.parse_format(spec)
  if not f then lpact.fail(err) end
  if mode then
    local word, k = mode:match("^(%a+)=?(%d*)$")
    local modes = { rne = 1, rna = 1, rtz = 1, rup = 1, rdn = 1, rno = 1, sr = 1 }
    if not word or not modes[word] or (k ~= "" and word ~= "sr") then
      lpact.fail("unknown rounding mode '" .. mode .. "' (rne rna rtz rup rdn rno sr sr=K)")
    end
    local ok, g = pcall(f.with, f, mode)
    if not ok then lpact.fail("--mode " .. mode .. ": " .. (tostring(g):match("%((.*)%)$") or tostring(g))) end
    f = g
  end
  if seed then
    if not seed:match("^%d+$") then lpact.fail("--seed must be a non-negative integer, not '" .. seed .. "'") end
    local ok, g = pcall(f.with, f, "seed=" .. seed)
    if not ok then lpact.fail("--seed " .. seed .. ": " .. (tostring(g):match("%((.*)%)$") or tostring(g))) end
    f = g
  end
  local nd = fi.code_digits(f.bits)
  local ctr = 0
  local lineno = 0
  local outbuf = {}
  for line in io.lines() do
    lineno = lineno + 1
    local s = line:match("^%s*(.-)%s*$")
    if s ~= "" then
      local x = inp == "dec" and parse_dec(s) or parse_bits(s)
      if x == nil then
        io.stdout:write(table.concat(outbuf))
        lpact.fail(string.format("line %d: '%s' is not %s", lineno, #s > 40 and s:sub(1, 40) .. "..." or s,
          inp == "dec" and "a number" or "a binary32 bit pattern (0x%08x)"), 1)
      end
      local y = f:round(x, ctr)
      ctr = ctr + 1
      local r
      if out == "dec" then r = fi.shortest(y)
      elseif out == "bits" then r = string.format("0x%08x", fi.f32bits(y))
      else
        local c = f:encode(y)
        r = c and string.format("0x%0" .. nd .. "x", c) or "none"
      end
      outbuf[#outbuf + 1] = r .. "\n"
      if #outbuf >= 4096 then io.stdout:write(table.concat(outbuf)) outbuf = {} end
    end
  end
  io.stdout:write(table.concat(outbuf))
  return 0
end
