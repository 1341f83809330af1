-- scripts/train.lua from the command line: a quick run on a synthetic set,
-- its JSON result, and bad usage (exit status 2, one line).
local t = require "lpact.tap"
local B = os.getenv("LPACT_BUILD") or "build"
local exe = B .. "/lpact scripts/train.lua "

local function run(args) return t.run(exe .. args) end

local json = os.tmpname()
local out, code = run("--dataset blobs --limit 300 --epochs 3 --batch 32 --lr 0.01 --seed 1 --json " .. json)
t.is(code, 0, "a run on blobs exits 0")
t.like(out, "mlp on blobs %(300 training", "the header names model and data")
t.like(out, "Linear%(2 %-> 64%)", "the model is printed")
t.like(out, "epoch 3/3  loss", "one line per epoch")
local acc = tonumber(out:match("final test accuracy ([%d.]+)%%"))
t.ok(acc and acc >= 90, "blobs learnt: " .. tostring(acc) .. "%")
local f = io.open(json)
local js = f and f:read("a") or ""
if f then f:close() end
local okj, rec = pcall(lpact.json.decode, js)
t.ok(okj and rec.model == "mlp" and rec.dataset == "blobs" and rec.act == "relu"
  and rec.optimizer == "adam" and rec.lr == 0.01 and rec.epochs == 3 and rec.seed == 1, "JSON result")
t.ok(okj and #rec.test_acc_per_epoch == 3 and rec.test_acc_per_epoch[3] == rec.test_acc
  and math.abs(100 * rec.test_acc - acc) < 0.006, "JSON has the accuracy of each epoch, the last one final")
os.remove(json)

out, code = run("--dataset spirals --limit 200 --epochs 1 --model mlp --act gelu --opt sgd --schedule cosine --quiet")
t.is(code, 0, "sgd + cosine + gelu on spirals runs")
t.like(out, "^final test accuracy", "--quiet prints only the result")

-- --save then --resume replays the same run: 2 + 1 epochs = 3 epochs, bit for bit.
local ck, j3, jr = os.tmpname(), os.tmpname(), os.tmpname()
local common = "--dataset spirals --limit 400 --batch 32 --lr 0.01 --seed 4 --quiet "
run(common .. "--epochs 3 --json " .. j3)
out, code = run(common .. "--epochs 2 --save " .. ck)
t.is(code, 0, "a run with --save")
out, code = run(common .. "--epochs 3 --resume " .. ck .. " --json " .. jr)
t.is(code, 0, "a run with --resume")
local function field(path, k)
  local fh = io.open(path)
  local txt = fh and fh:read("a") or ""
  if fh then fh:close() end
  return txt:match('"' .. k .. '":([^,}]+)')
end
t.ok(field(j3, "test_acc") ~= nil and field(j3, "test_acc") == field(jr, "test_acc")
  and field(j3, "train_loss") == field(jr, "train_loss"),
  string.format("resumed run ends exactly like the uninterrupted one (test_acc %s / %s, loss %s / %s)",
    field(j3, "test_acc"), field(jr, "test_acc"), field(j3, "train_loss"), field(jr, "train_loss")))
out, code = run("--dataset builtin --limit 64 --epochs 1 --quiet --resume " .. ck)
t.like(out, "does not match the model", "a checkpoint of another model is refused")
t.is(code, 1, "with status 1")
os.remove(ck); os.remove(j3); os.remove(jr)

-- Ctrl-C from outside: the run stops after the current batch, says so and
-- carries on with the rest of the script (a marker file says training began).
-- The signal is sent only once the marker exists (the handler is in place
-- from then on), waiting as long as the machine needs (up to 5 minutes,
-- or until the process is gone); it may land inside batch 5 itself, so the
-- run holds at least 5 losses, not more than 5.
do
  local script, marker = os.tmpname(), os.tmpname()
  os.remove(marker)
  local f = io.open(script, "w")
  f:write(string.format([[
local ds = lpact.data.blobs { n = 2000, seed = 1 }
local h = lpact.train.fit { model = lpact.models.mlp { 2, 8, 3 }, data = ds, epochs = 100000, batch = 10,
  on_batch = function(i) if i.step == 5 then io.open(%q, "w"):close() end end }
print("after fit", h.interrupted, #h.losses >= 5)
]], marker))
  f:close()
  local sh = string.format([[
%s/lpact %s > %s.out 2>&1 & pid=$!
i=0; while [ ! -e %s ] && kill -0 $pid 2>/dev/null && [ $i -lt 6000 ]; do sleep 0.05; i=$((i+1)); done
kill -INT $pid; wait $pid; echo "exit=$?"; cat %s.out]], B, script, script, marker, script)
  local p = io.popen(sh)
  local o2 = p:read("a")
  p:close()
  t.like(o2, "^exit=0\n", "SIGINT: the script exits 0")
  t.like(o2, "interrupted: stopped after the current batch\nafter fit\ttrue\ttrue", "SIGINT: training stops cleanly and the script goes on")
  os.remove(script); os.remove(marker); os.remove(script .. ".out")
end

out, code = run("--epochs x")
t.is(code, 2, "a bad number exits 2")
t.like(out, "^lpact: train.lua: %-%-epochs: a whole number >= 1 expected, got 'x'\n$", "and says which option")
out, code = run("--bogus 1")
t.is(code, 2, "an unknown option exits 2")
out, code = run("--dataset blobs --model cnn_small")
t.like(out, "cnn_small needs images", "an image model on a 2-D set is refused")
t.is(code, 2, "with status 2")
out, code = run("--dataset fashion-mnist --data /no/such/dir --epochs 1")
t.like(out, "/no/such/dir", "a missing data directory is named")
t.ok(code ~= 0, "and the run fails")
t.done()
