-- The command lines of the scripts and subcommands (lpact.cli on
-- lua-argparse): --opt value and --opt=value, '-' and '_' alike, the older
-- plural spellings, generated --help (exit 0), "did you mean" for an
-- unknown option, every value refused before any work (no data read, no
-- folder written), one line and exit status 2 for a mistake; errors inside
-- scripts: one line for lpact.fail, a traceback for a bug, and a traceback
-- for both with LPACT_TRACEBACK=1; lpact.io.term_size off a terminal.
local t = require "lpact.tap"
local B = os.getenv("LPACT_BUILD") or "build"
local exe = B .. "/lpact"

-- runs a shell command; returns stdout, stderr, exit status
local function run(cmd, env)
  local base = os.tmpname()
  os.execute(string.format("%s %s </dev/null >%s.out 2>%s.err; echo $? >%s.rc", env or "", cmd, base, base, base))
  local function slurp(p)
    local fh = io.open(p)
    local s = fh and fh:read("a") or ""
    if fh then fh:close() end
    os.remove(p)
    return s
  end
  local out, err, rc = slurp(base .. ".out"), slurp(base .. ".err"), tonumber(slurp(base .. ".rc"))
  os.remove(base)
  return out, err, rc
end
local function lines(s) local n = 0 for _ in s:gmatch("[^\n]+") do n = n + 1 end return n end
local function exists(p) local f = io.open(p) if f then f:close() end return f ~= nil end

-- a data folder that is empty: reading it fails, so a message about a
-- value means the value was checked before the data was read
local nodata = os.tmpname()
os.remove(nodata)
os.execute("mkdir -p " .. nodata)
local NODATA = "LPACT_DATA=" .. nodata

-- 1. a mistake: one line naming the script and the option, status 2,
-- before any work
for _, case in ipairs {
  { "scripts/train.lua --epochs -1", "^lpact: train%.lua: %-%-epochs: a whole number >= 1 expected, got '%-1'\n$" },
  { "scripts/train.lua --epochs=0", "^lpact: train%.lua: %-%-epochs: a whole number >= 1 expected, got '0'\n$" },
  { "scripts/train.lua --lr -0.5", "^lpact: train%.lua: %-%-lr: a number > 0 expected, got '%-0%.5'\n$" },
  { "scripts/train.lua --epoch 3",
    "^lpact: train%.lua: unknown option '%-%-epoch' %(did you mean '%-%-epochs'%?%); lpact scripts/train%.lua %-%-help lists the options\n$" },
  { "scripts/train.lua --modle mlp", "did you mean '%-%-model'%?" },
  { "scripts/train.lua --model mpl", "%-%-model: expected mlp, cnn_small, lenet5, vgg_cifar, resnet8, resnet20, got 'mpl' %(did you mean 'mlp'%?%)" },
  { "scripts/train.lua --batch", "option '%-%-batch' requires an argument\n$" },
  { "scripts/train.lua --batch --quiet", "option '%-%-batch' requires an argument\n$" },
  { "scripts/train.lua --quiet=yes", "option '%-%-quiet' does not take arguments\n$" },
  { "scripts/train.lua --act swish", "unknown activation 'swish'" },
  { "scripts/train.lua extra", "too many arguments" },
  { "scripts/demo.lua --epochs=-1", "^lpact: demo%.lua: %-%-epochs: a whole number >= 1 expected, got '%-1'\n$" },
  { "scripts/demo.lua --forrmat fp4", "did you mean '%-%-format'%?" },
  { "scripts/paper.lua --seed 1,x", "^lpact: paper%.lua: %-%-seed: a whole number >= 0 expected, got 'x'\n$" },
  { "scripts/paper.lua --level_lr=-1", "^lpact: paper%.lua: %-%-level%-lr: a number >= 0 expected, got '%-1'\n$" },
  { "scripts/lm.lua --steps 0", "^lpact: lm%.lua: %-%-steps: a whole number >= 1 expected, got '0'\n$" },
  { "scripts/lm.lua --dropout=1", "^lpact: lm%.lua: %-%-dropout: a number >= 0 and < 1 expected, got '1'\n$" },
  { "report --no-figure /tmp", "^lpact: report: unknown option '%-%-no%-figure' %(did you mean '%-%-no%-figures'%?%)" },
  { "round fp4 --in hex", "^lpact: round: %-%-in: expected dec, bits, got 'hex'" },
  { "info", "^lpact: info: missing argument 'format'; usage: lpact info %[%-h%] FORMAT\n$" },
  { "lesson chek x", "^lpact: lesson: unknown command 'chek' %(did you mean 'check'%?%)" },
  { "submit --array 0 -- scripts/paper.lua", "^lpact: submit: %-%-array: a whole number >= 1 expected, got '0'\n$" },
  { "bench --lst", "did you mean '%-%-list'%?" },
} do
  local out = os.tmpname()
  os.remove(out)
  local flag = case[1]:match("train%.lua") and " --json " or " --out "
  local o, e, rc = run(exe .. " " .. case[1] .. flag .. out, NODATA)
  if case[1]:match("^report") or case[1]:match("^round") or case[1]:match("^info") or case[1]:match("^lesson")
    or case[1]:match("^submit") or case[1]:match("^bench") then
    o, e, rc = run(exe .. " " .. case[1], NODATA)
  end
  t.is(rc, 2, case[1] .. ": exit status 2")
  t.ok(lines(e) == 1 and o == "", case[1] .. ": one line on stderr, nothing on stdout")
  t.like(e, case[2], case[1] .. ": says what is wrong")
  t.ok(not exists(out), case[1] .. ": nothing written")
end

-- 2. the same value spelled four ways reaches the script alike
local specs = {
  "--act relu --format fp32,fp4 --model mlp --seed 2 --level-lr 0.5",
  "--act=relu --format=fp32,fp4 --model=mlp --seed=2 --level_lr=0.5",
  "--acts relu --formats fp32,fp4 --models mlp --seeds 2 --level_lr 0.5",
  "--acts=relu --formats=fp32,fp4 --models=mlp --seeds=2 --level-lr=0.5",
}
local first
for _, spec in ipairs(specs) do
  local o, e, rc = run(exe .. " scripts/paper.lua --dry --data builtin --epochs 1 --levels learnable " .. spec)
  t.is(rc, 0, "paper.lua --dry " .. spec .. ": exit 0 " .. e)
  first = first or o
  t.is(o, first, "paper.lua --dry " .. spec .. ": the same grid")
end
t.like(first, "\n  mlp_relu_fp4_fp4_emulate_learnable_fprime_none_both_s2_e1_paper_llr0%.5\n", "the grid names the values")

-- a negative number is a value, not an option: it reaches --scale's check
local _, e3 = run(exe .. " scripts/paper.lua --dry --data builtin --scale -2")
t.like(e3, "option 'scale'", "--scale -2: the value reaches the activation's check")

-- 3. --help: generated, exit 0, nothing else done
for _, cmd in ipairs { "scripts/train.lua --help", "scripts/lm.lua -h", "scripts/paper.lua --epochs 0 --help",
  "report --help", "round -h", "submit --help" } do
  local o, e, rc = run(exe .. " " .. cmd)
  t.is(rc, 0, cmd .. ": exit 0")
  t.ok(o:match("^Usage: lpact ") and o:match("\nOptions:\n") and e == "", cmd .. ": the generated help on stdout")
end
local oh = run(exe .. " scripts/train.lua --help")
t.like(oh, "\n   %-%-epochs N +training epochs %(default: 5%)\n", "train.lua --help: an option with its default")

-- 4. errors inside a script run by lpact script.lua
local script = os.tmpname() .. ".lua"
local fh = io.open(script, "w")
fh:write([[
local what = arg[1]
local function inner()
  if what == "usage" then lpact.fail("--size: too big") end
  if what == "bug" then local t = nil; return t.field end
  if what == "cformat" then return lpact.format("e9m9") end
end
inner()
]])
fh:close()
local o4, e4, rc4 = run(exe .. " " .. script .. " usage")
t.ok(rc4 == 2 and e4 == "lpact: --size: too big\n" and o4 == "", "lpact.fail in a script: one line, exit 2")
local _, e5, rc5 = run(exe .. " " .. script .. " cformat")
t.ok(rc5 == 2 and lines(e5) == 1 and not e5:find("traceback"), "a bad format spec from C: one line, exit 2: " .. e5)
local _, e6, rc6 = run(exe .. " " .. script .. " bug")
t.is(rc6, 1, "a bug: exit 1")
t.like(e6, "attempt to index a nil value.*\nstack traceback:\n.*in local 'inner'", "a bug: its traceback")
local _, e7, rc7 = run(exe .. " " .. script .. " usage", "LPACT_TRACEBACK=1")
t.is(rc7, 2, "LPACT_TRACEBACK=1, lpact.fail: still exit 2")
t.like(e7, "^lpact: %-%-size: too big\nstack traceback:\n.*in local 'inner'", "LPACT_TRACEBACK=1: the one line, then the traceback")
local _, e8, rc8 = run(exe .. " scripts/train.lua --epochs 0", "LPACT_TRACEBACK=1")
t.ok(rc8 == 2 and e8:find("\nstack traceback:\n", 1, true) and e8:find("train.lua", 1, true), "LPACT_TRACEBACK=1 on a script's usage error")
local _, e9 = run(exe .. " " .. script .. " usage", "LPACT_TRACEBACK=0")
t.is(e9, "lpact: --size: too big\n", "LPACT_TRACEBACK=0: one line")
local _, e10, rc10 = run(exe .. " " .. script .. " bug", "LPACT_TRACEBACK=1")
t.ok(rc10 == 1 and e10:find("stack traceback", 1, true), "LPACT_TRACEBACK=1, a bug: the traceback as ever")
os.remove(script)

-- 5. term_size off a terminal: nil (tests/89-term-size.py asks a pty)
local o11 = run(exe .. " -e 'print(lpact.io.term_size(), lpact.io.term_size(0))'")
t.is(o11, "nil\tnil\n", "io.term_size: nil when stdout and stdin are no terminal")

-- 6. lpact.cli itself: optional positional words take their defaults,
-- converted like the words given (argparse alone leaves them nil)
local cli = require "lpact.cli"
local p = cli.parser("lpact x", "a parser of positional words")
p:argument("steps", "steps"):args("?"):default("50"):convert(cli.int(1))
p:argument("file", "a file"):args("?"):default("/tmp/f")
p:argument("lr", "a rate"):args("?"):default("1e-3"):convert(cli.number { above = 0 })
local r0 = cli.parse(p, {})
t.ok(r0.steps == 50 and math.type(r0.steps) == "integer" and r0.file == "/tmp/f" and r0.lr == 0.001,
  "no words: every default, converted")
local r1 = cli.parse(p, { "7", "g" })
t.ok(r1.steps == 7 and r1.file == "g" and r1.lr == 0.001, "two words: the third's default")
local ok2, e2 = pcall(cli.parse, p, { "-3" })
t.ok(not ok2 and lpact.is_failure(e2) and e2.exit == 2, "a negative word is a word: a usage failure")
t.is(e2.msg, "x: steps: a whole number >= 1 expected, got '-3'", "which names the word and its check")
os.execute("rm -rf " .. nodata)
t.done()
