-- The grammar corpus: every line of grammar/corpus/valid.txt parses to
-- its stated canonical spec (which parses back to itself); every line of
-- invalid.txt fails with exactly its stated message. The EBNF's preset
-- list matches the engine's.
local t = require "lpact.tap"
local root = arg[0]:gsub("tests/[^/]*$", "")
if root == "" then root = "./" end

local function lines(path)
  local out = {}
  local fh = assert(io.open(root .. path))
  for line in fh:lines() do
    if line ~= "" and not line:match("^#") then
      local spec, rest = line:match("^([^\t]*)\t(.*)$")
      out[#out + 1] = { spec = spec or line, want = rest }
    end
  end
  fh:close()
  return out
end

local valid = lines("grammar/corpus/valid.txt")
t.ok(#valid >= 40, "valid corpus has " .. #valid .. " lines")
for _, c in ipairs(valid) do
  local f, err = lpact.parse_format(c.spec)
  if t.ok(f ~= nil, "valid: " .. c.spec) then
    t.is(f.spec, c.want, "canonical form of " .. c.spec)
    local g = lpact.parse_format(f.spec)
    t.ok(g ~= nil and g.spec == f.spec and g == f, "canonical form parses back: " .. f.spec)
  else
    t.diag(err)
  end
end

local invalid = lines("grammar/corpus/invalid.txt")
t.ok(#invalid >= 40, "invalid corpus has " .. #invalid .. " lines")
for _, c in ipairs(invalid) do
  local f, err = lpact.parse_format(c.spec)
  t.is(f, nil, "invalid: '" .. c.spec .. "'")
  t.is(err, c.want, "message for '" .. c.spec .. "'")
  -- lpact.format raises the same message as a usage error (one line, exit 2)
  local ok, e = pcall(lpact.format, c.spec)
  t.ok(not ok and lpact.is_failure(e) and e.exit == 2 and e.msg == c.want,
    "lpact.format fails with the same message, exit 2, for '" .. c.spec .. "'")
end

-- the EBNF names the same presets as the engine
local fh = assert(io.open(root .. "grammar/format.ebnf"))
local ebnf = fh:read("a")
fh:close()
local rule = ebnf:match("preset%s*=(.-);")
local names = {}
for name in rule:gmatch('"([%w]+)"') do names[#names + 1] = name end
t.same(names, lpact.formats, "grammar presets == lpact.formats")
local arule = ebnf:match("alias%s*=(.-);")
local anames = {}
for name in arule:gmatch('"([%w_]+)"') do anames[#anames + 1] = name end
t.same(anames, lpact.format_aliases, "grammar aliases == lpact.format_aliases")
for _, p in ipairs { "ieee", "fn", "fin", "fnuz", "e8m0" } do
  t.like(ebnf, 'policy%s*=[^;]*"' .. p .. '"', "grammar has policy " .. p)
end
for _, m in ipairs { "rne", "rna", "rtz", "rup", "rdn", "rno", "sr" } do
  t.like(ebnf, '"' .. m .. '"', "grammar has mode " .. m)
end
t.raises(function() lpact.format("") end, "expected a preset", "empty spec")

t.done()
