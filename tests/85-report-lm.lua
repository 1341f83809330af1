-- lpact report on language-model records written by scripts/lm.lua (a
-- tiny GPT, two steps, on a few lines of text): the figure of validation
-- bits per character against bits per activation, one line per site,
-- its numbers checked against the records read independently.
local t = require "lpact.tap"
local json = require "lpact.json"
local B = os.getenv("LPACT_BUILD") or "build"
local exe = B .. "/lpact"

local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir .. "/cap")
local spit = t.spit
local slurp = t.slurp

local text = {}
for i = 1, 60 do text[i] = string.format("line %d: the quick brown fox jumps over the lazy dog %d times.", i, i * 7 % 13) end
spit(dir .. "/text.txt", table.concat(text, "\n") .. "\n")
local res = dir .. "/lm"
-- MLP activation fp32 or fp4 x attention probabilities fp32 or ue3m1 (4 bits)
local out, code = t.run(exe .. " scripts/lm.lua --steps 2 --formats fp32,fp4 --attn fp32,ue3m1 --d 4 --heads 1 --layers 1" ..
  " --ctx 8 --batch 2 --sample 0 --files " .. dir .. "/text.txt --out " .. res)
t.is(code, 0, "scripts/lm.lua trains four tiny configurations")

-- The records, read here: val bits/char per (MLP format, attention format)
local bits = {}
local p = io.popen("ls " .. res)
for name in p:lines() do
  if name:match("^gpt.*%.json$") then
    local r = json.decode(slurp(res .. "/" .. name))
    local ex = r.extra
    bits[r.format .. "/" .. r.modes.attn] = ex.val_bits_per_char
    t.ok(math.abs(ex.val_bits_per_char - ex.val_nats_per_char / math.log(2)) < 1e-12,
      name .. ": bits per character are nats / ln 2")
  end
end
p:close()
t.ok(bits["fp32/fp32"] and bits["fp4/fp32"] and bits["fp32/ue3m1"] and bits["fp4/ue3m1"], "four records")

-- results.lm_sites: a line per site, each from the all-fp32 run at 32 bits
local recs = lpact.results.read_dir(res)
local g = lpact.results.lm_sites(recs)[1]
local by = {}
for _, l in ipairs(g and g.lines or {}) do by[l.site] = l end
local function pts(l)
  if not (l and #l.points == 2) then return "points: " .. (l and #l.points or "no line") end
  return string.format("%d %.9g %d %.9g", l.points[1].bits, l.points[1].mean, l.points[2].bits, l.points[2].mean)
end
t.is(pts(by["MLP activation"]), string.format("32 %.9g 4 %.9g", bits["fp32/fp32"], bits["fp4/fp32"]),
  "MLP activation: fp32 at 32 bits, fp4 at 4")
t.is(pts(by["attention probabilities"]), string.format("32 %.9g 4 %.9g", bits["fp32/fp32"], bits["fp32/ue3m1"]),
  "attention probabilities: fp32 at 32 bits, ue3m1 at 4")
t.is(pts(by["both sites"]), string.format("32 %.9g 4 %.9g", bits["fp32/fp32"], bits["fp4/ue3m1"]),
  "both sites: fp4 and ue3m1 at 4 bits")

-- The figure: its data blocks hold those numbers (through a gnuplot that
-- keeps its scripts)
if os.execute("command -v gnuplot >/dev/null 2>&1") then
  local fake = dir .. "/gnuplot-keep"
  spit(fake, "#!/bin/sh\ncp \"$1\" \"$(mktemp " .. dir .. "/cap/gp.XXXXXX)\"\nexec gnuplot \"$1\"\n")
  os.execute("chmod +x " .. fake)
  out, code = t.run("LPACT_GNUPLOT=" .. fake .. " " .. exe .. " report " .. res)
  t.is(code, 0, "report exits 0")
  local q = io.popen("grep -l -F 'lm-text-gpt.png' " .. dir .. "/cap/gp.*")
  local sname = q:read("l")
  q:close()
  local sc = sname and slurp(sname) or ""
  local want = string.format("32 %.6f %.6f %.6f\n4 %.6f %.6f %.6f", bits["fp32/fp32"], bits["fp32/fp32"], bits["fp32/fp32"],
    bits["fp4/fp32"], bits["fp4/fp32"], bits["fp4/fp32"])
  t.ok(sc:find(want, 1, true) ~= nil, "the MLP activation's block: one seed, no spread")
  t.like(sc, "set logscale x 2", "bits per activation on a log2 axis")
  local svg = slurp(res .. "/lm-text-gpt.svg") or ""
  t.ok(svg:find("gelu, MLP activation", 1, true) and svg:find("gelu, attention probabilities", 1, true)
    and svg:find("validation bits per character", 1, true), "the SVG names each site and the y axis")
else
  t.skip(4, "gnuplot is not installed")
end

os.execute("rm -rf " .. dir)
t.done()
