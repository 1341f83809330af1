-- lpact report's grouping of language-model records: each cell of a table
-- holds the records of one configuration (activation, its format,
-- attention-probability format and mode, levels, STE, training steps).
-- An fp32-activation record is the baseline only of the tables with its
-- attention settings; records trained for different numbers of steps are
-- never averaged together. Records are written here; the expected means
-- and standard deviations are worked out by hand in the comments.
local t = require "lpact.tap"
local json = require "lpact.json"
local results = lpact.results
local B = os.getenv("LPACT_BUILD") or "build"
local exe = B .. "/lpact"

local dir = os.tmpname()
os.remove(dir)
local res = dir .. "/lm"
os.execute("mkdir -p " .. res)
local function spit(p, s) local f = assert(io.open(p, "wb")) f:write(s) f:close() end
local function slurp(p) local f = io.open(p, "rb") if not f then return nil end local s = f:read("a") f:close() return s end

local n = 0
local function rec(act, fmt, modes, seed, bits, steps)
  n = n + 1
  spit(string.format("%s/r%02d.json", res, n), json.encode {
    schema = "lpact-result/1", id = "r" .. n, model = "gpt", dataset = "text", activation = act, format = fmt,
    modes = modes, seed = seed, epochs = 1, test_acc = 0.25 + 0.01 * n,
    extra = { val_bits_per_char = bits, steps = steps or 100 } })
end
local plain = { attn = "fp32", levels = "fixed" }
local function probs(fmt, mode, levels) return { attn = fmt, attn_mode = mode, levels = levels } end
rec("gelu", "fp32", plain, 1, 3.0)
rec("gelu", "fp32", plain, 2, 3.2)
rec("gelu", "fp32", probs("ue2m0", "emulate", "fixed"), 1, 3.5)
rec("gelu", "fp32", probs("ue2m0", "emulate", "fixed"), 2, 3.7)
rec("gelu", "fp32", probs("ue2m0", "emulate", "learnable"), 1, 3.4)
rec("gelu", "fp32", probs("ue2m0", "ops", "fixed"), 1, 3.3)
rec("gelu", "fp4", { attn = "fp32", levels = "fixed", ste = "fprime" }, 1, 3.25)
rec("gelu", "fp4", { attn = "fp32", levels = "fixed", ste = "fprime" }, 2, 3.35)
rec("gelu", "fp4", { attn = "ue2m0", attn_mode = "emulate", levels = "fixed", ste = "fprime" }, 1, 3.9)
rec("gelu", "fp2", { attn = "fp32", levels = "learnable", ste = "fprime" }, 1, 4.0)
rec("silu", "fp32", plain, 1, 3.1)
rec("gelu", "fp32", plain, 1, 5.0, 50)   -- a shorter training of the plain model

local all = results.read_dir(res)
t.is(#all, 12, "twelve records read")
table.sort(all, function(a, b) return a.id < b.id end)
local recs = {}   -- the 100-step records
for _, r in ipairs(all) do if r.extra.steps == 100 then recs[#recs + 1] = r end end

local by = {}
local function tables(list)
  by = {}
  local nmat = 0
  for _, tb in ipairs(results.tables(list)) do
    if tb.kind == "matrix" then by[tb.variant], nmat = tb, nmat + 1 end
  end
  return nmat
end
t.is(tables(recs), 5, "five tables: one per attention setting, levels and STE")

-- cell(variant, act, fmt) = "n mean sd" with 6 decimals
local function cell(var, a, f)
  local tb = by[var]
  if not tb then return "no table " .. var end
  local c = tb.cells[a] and tb.cells[a][f]
  if not c then return "no cell" end
  return string.format("%d %.6f %s", c.n, c.bits, c.bits_sd and string.format("%.6f", c.bits_sd) or "-")
end
local V1 = "attn=fp32 levels=fixed ste=fprime"
-- the plain runs only: 3.0 and 3.2 -> mean 3.1, SD sqrt((0.1^2 + 0.1^2) / 1) = 0.141421
t.is(cell(V1, "gelu", "fp32"), "2 3.100000 0.141421", "MLP table: fp32 column holds the two plain runs, not the others")
-- 3.25, 3.35 -> 3.3, SD sqrt(2 * 0.05^2) = 0.070711
t.is(cell(V1, "gelu", "fp4"), "2 3.300000 0.070711", "MLP table: fp4 cell")
t.is(cell(V1, "silu", "fp32"), "1 3.100000 -", "MLP table: silu's plain run")
t.is(cell("attn=fp32 levels=learnable ste=fprime", "gelu", "fp32"), "2 3.100000 0.141421",
  "learnable MLP levels: the plain runs are the baseline")
t.is(cell("attn=fp32 levels=learnable ste=fprime", "gelu", "fp2"), "1 4.000000 -", "learnable fp2 cell")
local V2 = "attn=ue2m0 attn_mode=emulate levels=fixed ste=fprime"
-- 3.5 and 3.7 -> 3.6, SD 0.141421; the both-sites run 3.9
t.is(cell(V2, "gelu", "fp32"), "2 3.600000 0.141421", "both sites: the baseline is fp32 with the same probabilities")
t.is(cell(V2, "gelu", "fp4"), "1 3.900000 -", "both sites: fp4 cell")
t.ok(by[V2] and by[V2].cells.silu == nil, "both sites: silu's plain run is not a baseline there")
t.is(cell("attn=ue2m0 attn_mode=emulate levels=learnable", "gelu", "fp32"), "1 3.400000 -",
  "learnable probability levels: a table of its own")
t.is(cell("attn=ue2m0 attn_mode=ops levels=fixed", "gelu", "fp32"), "1 3.300000 -",
  "ops mode: a table of its own")

-- The Markdown table: mean ± SD, the change from fp32 (3.3 - 3.1 = +0.2)
local md = results.markdown(recs)
local sec = md:match("## text, gpt, " .. V1:gsub("%p", "%%%0") .. "\n(.-)\n## ") or ""
t.ok(sec:find("| gelu | 3.1000 ± 0.1414 | 3.3000 ± 0.0707 (+0.2000) |", 1, true) ~= nil,
  "Markdown: bits per character, mean ± SD and the change from fp32")

-- With the 50-step run: every table says its training length; that run's
-- table holds it alone, the others are as above
t.is(tables(all), 6, "with a 50-step run: six tables")
t.is(cell("attn=fp32 steps=50", "gelu", "fp32"), "1 5.000000 -", "the 50-step run: a table of its own")
t.is(cell(V1 .. " steps=100", "gelu", "fp32"), "2 3.100000 0.141421", "the 100-step MLP table's fp32 column")

-- The figure's lines: ops and emulate apart, the 32-bit point from the plain runs of 100 steps
local groups = results.lm_sites(all)
t.is(#groups, 1, "one figure: the 50-step records have no line")
local g = groups[1] or { lines = {} }
t.is(g.length, "steps=100", "the figure names its training length")
local lines = {}
for _, l in ipairs(g.lines) do
  local p = {}
  for _, q in ipairs(l.points) do p[#p + 1] = string.format("%d:%.6f", q.bits, q.mean) end
  lines[#lines + 1] = l.label .. " = " .. table.concat(p, " ")
end
t.is(table.concat(lines, "\n"), table.concat({
  "gelu, MLP activation, levels fixed, STE fprime = 32:3.100000 4:3.300000",
  "gelu, MLP activation, levels learnable, STE fprime = 32:3.100000 2:4.000000",
  "gelu, attention probabilities, emulate, levels fixed = 32:3.100000 2:3.600000",
  "gelu, attention probabilities, emulate, levels learnable = 32:3.100000 2:3.400000",
  "gelu, attention probabilities, ops, levels fixed = 32:3.100000 2:3.300000",
}, "\n"), "figure lines: one per site, mode, levels and STE")

-- lpact report writes that figure under a name with its length
if os.execute("command -v gnuplot >/dev/null 2>&1") then
  local out, code = t.run(exe .. " report " .. res)
  t.is(code, 0, "report exits 0")
  t.ok(slurp(res .. "/lm-text-gpt-steps-100.png") ~= nil, "the figure lm-text-gpt-steps-100.png: " .. out:sub(1, 200))
else
  t.skip(2, "gnuplot is not installed")
end

os.execute("rm -rf " .. dir)
t.done()
