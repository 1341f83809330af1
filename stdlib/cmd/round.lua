--- lpact round FORMAT [options] — round numbers from stdin to a format, one a line.
-- lpact round FORMAT [--mode M] [--seed N] [--in dec|bits] [--out dec|bits|code]
-- Reads numbers from stdin, one a line, and writes each rounded to FORMAT.
--   --in dec    decimal or hex numbers, inf, -inf, nan (default);
--               rounded in one step from the double; a hex integer is
--               read exactly and refused if it is not exactly a double
--   --in bits   binary32 bit patterns, 0x%08x (wider than 32 bits: refused)
--   --out dec   the shortest decimal that reads back exactly (default)
--   --out bits  the result's binary32 bit pattern, 0x%08x
--   --out code  the result's code in the format, in hex
-- Blank lines are skipped. Stochastic rounding uses counter k for the
-- k-th number (from 0), so a run repeats with the same seed.

local lpact = require "lpact"
local show = require "lpact.show.formats"
local numtext = require "lpact.numtext"

local cli = require "lpact.cli"

-- f:with(opt), its refusal reported under `what` (a failure object: one
-- line; anything else is a bug and raised on).
local function with_option(f, opt, what)
  local ok, g = pcall(f.with, f, opt)
  if ok then return g end
  if not lpact.is_failure(g) then error(g, 0) end
  lpact.fail(what .. ": " .. g.msg)
end

local function parse_dec(s)
  local x, why = numtext.number(s, true)
  return x, why
end

return function(args)
  local p = cli.parser("lpact round", "Round numbers from stdin to FORMAT, one a line (lpact help round says more).")
  p:argument("format", "the format, e.g. fp4, e4m3, e3m2:sr"):argname("FORMAT")
  p:option("--mode", "rounding mode (rne, rtz, ..., sr, sr=K)"):argname("M")
  p:option("--seed", "seed of stochastic rounding"):argname("N")
  p:option("--in", "dec: decimal or hex numbers; bits: binary32 bit patterns"):argname("dec|bits")
    :default("dec"):convert(cli.choice { "dec", "bits" })
  p:option("--out", "dec: shortest decimal; bits: binary32 pattern; code: the format's code"):argname("dec|bits|code")
    :default("dec"):convert(cli.choice { "dec", "bits", "code" })
  local o = cli.parse(p, args)
  local spec, mode, seed, inp, out = o.format, o.mode, o.seed, o["in"], o.out
  local f, err = lpact.parse_format(spec)
  if not f then lpact.fail(err) end
  if mode then
    local word, k = mode:match("^(%a+)=?(%d*)$")
    local modes = {}
    for _, m in ipairs(lpact.format_names().modes) do modes[m] = true end
    if not word or not modes[word] or (k ~= "" and word ~= "sr") then
      lpact.fail("unknown rounding mode '" .. mode .. "' (" .. table.concat(lpact.format_names().modes, " ") .. " sr=K)")
    end
    f = with_option(f, mode, "--mode " .. mode)
  end
  if seed then
    if not seed:match("^%d+$") then lpact.fail("--seed must be a non-negative integer, not '" .. seed .. "'") end
    f = with_option(f, "seed=" .. seed, "--seed " .. seed)
  end
  local nd = show.code_digits(f.bits)
  local ctr = 0
  local lineno = 0
  local outbuf = {}
  for line in io.lines() do
    lineno = lineno + 1
    local s = numtext.trim(line)
    if s ~= "" then
      local x, why
      if inp == "dec" then x, why = parse_dec(s) else x, why = numtext.bits32(s) end
      if x == nil then
        io.stdout:write(table.concat(outbuf))
        lpact.fail(string.format("line %d: '%s' is %s", lineno, #s > 40 and s:sub(1, 40) .. "..." or s, why), 1)
      end
      local y = f:round(x, ctr)
      ctr = ctr + 1
      local r
      if out == "dec" then r = show.num(y)
      elseif out == "bits" then r = string.format("0x%08x", show.f32bits(y))
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
