-- lpact.models.gpt, lpact.lm and scripts/lm.lua on tiny shapes and a tiny
-- text this test writes: the tied head's gradient by finite differences,
-- quantized sites, generation, training that lowers the loss and repeats
-- bit for bit with 1 and 2 threads, and one clear line for each mistake.
local t = require "lpact.tap"
local ag = require "lpact.autograd"
local B = os.getenv("LPACT_BUILD") or "build"

local errmsg = t.errmsg

local x = lpact.tensor({ 1, 2, 3, 4, 5, 6, 2, 3, 4, 5, 6, 0 }, { 2, 6 })
local y = lpact.tensor({ 2, 3, 4, 5, 6, 0, 3, 4, 5, 6, 0, 1 }, { 2, 6 })

-- the head is the token embedding: its gradient sums both uses
do
  local m = lpact.models.gpt { vocab = 7, ctx = 8, d = 8, heads = 2, layers = 1 }
  local n = 0
  for _, p in ipairs(m:parameters()) do if p.name == "wte" then n = n + 1 end end
  t.is(n, 1, "gpt: the tied table is one parameter")
  local ok, worst = ag.gradcheck(function() return m:loss(x, y) end, { m.wte }, { h = 1e-3 })
  t.ok(ok, "gpt: gradient of the tied embedding (embedding and head together) by finite differences")
  if not ok then t.diag(string.format("worst %g vs %g", worst.analytic, worst.numeric)) end
  local ok2 = ag.gradcheck(function() return m:loss(x, y) end, { m.wpe }, { h = 1e-3 })
  t.ok(ok2, "gpt: gradient of the positional embedding")
  local l = m:loss(x, y):item()
  t.ok(math.abs(l - math.log(7)) < 0.05, "gpt: at initialisation the loss is near log(vocab) = " .. string.format("%.3f", math.log(7)))
end

-- quantized sites: the MLP activation through lpact.qact, the probabilities in ue2m1
do
  local m = lpact.models.gpt { vocab = 7, ctx = 8, d = 8, heads = 2, layers = 1,
    act = lpact.qact { "gelu", fmt = "fp4", levels = "learnable" }, attn = { fmt = "ue2m1", levels = "learnable" } }
  local names = {}
  for _, p in ipairs(m:parameters()) do names[#names + 1] = p.name end
  local s = table.concat(names, " ")
  t.like(s, "h1%.act%.levels", "gpt: the quantized MLP activation's learnable levels are parameters")
  t.like(s, "h1%.attn%.attn%.levels", "gpt: so are the attention probabilities' levels")
  t.is(#lpact.qact.layers(m), 1, "gpt: one quantized activation site per block")
  local l = m:loss(x, y)
  l:backward()
  local g
  for _, p in ipairs(m:parameters()) do if p.name == "h1.attn.attn.levels" then g = p.var.grad end end
  t.ok(g and g:abs():sum() > 0, "gpt: the probability levels receive a gradient")
  local f32 = lpact.models.gpt { vocab = 7, ctx = 8, d = 8, heads = 2, layers = 1 }
  t.ok(math.abs(f32:loss(x, y):item() - l:item()) > 1e-6, "gpt: rounding changes the loss")
  t.like(errmsg(lpact.models.gpt, { vocab = 7, attn = { fmt = "e9m9" } }), "^attn: option 'fmt'", "gpt: a bad probability format is named")
  t.like(errmsg(lpact.models.gpt, { vocab = 7, attn = { fmt = "ue2m1", mode = "lut" } }),
    "^attn: option 'mode': expected emulate or ops", "gpt: an unknown attention mode is refused")
  t.like(errmsg(lpact.models.gpt, { vocab = 7, attn = { fmt = "ue2m1", levls = "learnable" } }),
    "unknown option 'levls' %(did you mean 'levels'%?%)", "gpt: a misspelt attention option")
end

-- mistakes in the model's options and inputs
do
  t.like(errmsg(lpact.models.gpt, { vocab = 7, d = 64, heads = 3 }), "^gpt: 3 heads do not divide d = 64$",
    "gpt: heads that do not divide d")
  t.like(errmsg(lpact.models.gpt, { d = 8 }), "^gpt: option 'vocab' must be a whole number >= 1, got nil",
    "gpt: the vocabulary size is required")
  local m = lpact.models.gpt { vocab = 7, ctx = 4, d = 8, heads = 2, layers = 1, alphabet = "abcdefg" }
  t.like(errmsg(m.forward, m, lpact.zeros { 1, 5 }), "^gpt: a sequence of 5 steps is longer than the model's context %(4%)$",
    "gpt: a sequence longer than the context")
  t.like(errmsg(m.forward, m, lpact.tensor({ 0, 9 }, { 1, 2 })), "token id 9.* not in 0..6", "gpt: a token id outside the vocabulary")
  t.like(errmsg(m.generate, m, "abz", 3), "^generate: prompt byte 0x7a %(\"z\"%) at position 3 is not in the model's vocabulary$",
    "generate: a prompt byte outside the vocabulary")
  local a = m:generate("ab", 6, { seed = 3 })
  t.is(#a, 8, "generate: the prompt and 6 more characters")
  t.is(a:sub(1, 2), "ab", "generate: the prompt comes first")
  t.ok(a:match("^[a-g]+$") ~= nil, "generate: only characters of the alphabet")
  t.is(m:generate("ab", 6, { seed = 3 }), a, "generate: the same seed gives the same text")
  local greedy = m:generate("abcdef", 3, { temperature = 0 })
  local logits = ag.no_grad(function() return m:forward(lpact.tensor({ 2, 3, 4, 5 }, { 1, 4 })).data end)
  t.is(greedy:byte(7) - 97, logits:select(1, 4):argmax() - 1, "generate: temperature 0 takes the most likely token (context cut to the last 4)")
  t.is(lpact.transformer.sample({ 1, 5, 3 }, 1, 1, 0.99), 1, "sample: top_k = 1 keeps the largest only")
  t.is(lpact.transformer.sample({ 0, 0 }, 1, nil, 0.49), 0, "sample: u below the first share picks the first")
  t.is(lpact.transformer.sample({ 0, 0 }, 1, nil, 0.51), 1, "sample: u past it picks the second")
end

-- training on a tiny text: the loss falls, and the same bits with 1 and 2 threads
local dir = t.tmpdir()
local path = dir .. "/tiny.txt"
do
  local f = assert(io.open(path, "wb"))
  for i = 1, 60 do f:write("the cat sat on the mat. ", i % 3 == 0 and "a dog ran.\n" or "") end
  f:close()
end
do
  local ds = lpact.data.text { files = path }
  local function train(threads)
    local old = lpact.threads(threads)
    local m = lpact.models.gpt { vocab = ds.vocab, ctx = 16, d = 16, heads = 2, layers = 1, alphabet = ds.alphabet,
      attn = { fmt = "ue2m1", levels = "learnable" }, act = lpact.qact { "gelu", fmt = "fp4" } }
    local h = lpact.lm.fit { model = m, data = ds, steps = 30, batch = 8, lr = 1e-2, verbose = false }
    lpact.threads(old)
    local hs = {}
    for _, p in ipairs(m:parameters()) do hs[#hs + 1] = p.var.data:hash() end
    return h, table.concat(hs, ",")
  end
  local h1, p1 = train(1)
  local h2, p2 = train(2)
  t.ok(h1.losses[30] < h1.losses[1] - 0.5, string.format("lm.fit: the loss falls (%.3f to %.3f)", h1.losses[1], h1.losses[30]))
  t.ok(h1.val_loss == h1.val_loss and h1.val_loss < h1.losses[1], "lm.fit: a validation loss below the first training loss")
  t.ok(h1.val_acc > 0 and h1.val_acc <= 1, "lm.fit: next-character accuracy in (0, 1]")
  t.is(p1, p2, "lm.fit: the same parameters, bit for bit, with 1 and 2 threads")
  t.is(h1.val_loss, h2.val_loss, "lm.fit: the same validation loss with 1 and 2 threads")
end

-- scripts/lm.lua: one record per configuration, resumed, and bad options in one line
do
  local out = dir .. "/res"
  local cmd = string.format("%s/lpact scripts/lm.lua --files %s --formats fp32,fp4 --attn fp32 --steps 4 --batch 4 "
    .. "--ctx 16 --d 16 --heads 2 --layers 1 --sample 10 --out %s", B, path, out)
  local text, code = t.run(cmd)
  t.is(code, 0, "lm.lua: a two-cell grid runs")
  t.like(text, "gelu%s+fp4%s+fp32", "lm.lua: the table has the fp4 row")
  local p = io.popen("ls " .. out)
  local names = p:read("a")
  p:close()
  local n = 0
  for name in names:gmatch("gpt[^\n]*%.json") do
    n = n + 1
    local f = assert(io.open(out .. "/" .. name))
    local r = lpact.json.decode(f:read("a"))
    f:close()
    t.ok(r.extra and r.extra.val_bits_per_char and math.abs(r.extra.val_bits_per_char - r.extra.val_nats_per_char / math.log(2)) < 1e-12,
      "lm.lua: the record holds val bits/char = nats / ln 2 (" .. name .. ")")
  end
  t.is(n, 2, "lm.lua: two records")
  local rep, rc = t.run(string.format("%s/lpact report %s", B, out))
  t.ok(rc == 0 and rep:match("Validation bits per character") and rep:match("| gelu | [%d.]+ | [%d.]+ %([+-]"),
    "report: a table of validation bits per character, fp4 against fp32")
  local again = t.run(cmd)
  t.like(again, "done before", "lm.lua: a second run trains nothing")
  -- the same command on a text of other content (same file name, same
  -- size) is a new configuration: it trains, and its records are new files
  local src = assert(io.open(path, "rb"))
  local body = src:read("a")
  src:close()
  local other = dir .. "/other"
  os.execute("mkdir -p " .. other)
  local f2 = assert(io.open(other .. "/" .. path:match("[^/]+$"), "wb"))
  f2:write((body:gsub("e", "a")))
  f2:close()
  local pat = path:gsub("%p", "%%%0")
  local repl = (other .. "/" .. path:match("[^/]+$")):gsub("%%", "%%%%")
  local changed = t.run((cmd:gsub(pat, repl)))
  t.ok(not changed:match("done before") and changed:match("%[2/2%] gpt"), "lm.lua: another text's cells train anew")
  if not changed:match("%[2/2%] gpt") then t.diag(changed) end
  local ids = {}
  for name in io.popen("ls " .. out):read("a"):gmatch("(gpt[^\n]*)%.json") do ids[#ids + 1] = name end
  t.is(#ids, 4, "lm.lua: the other text's records stand beside the first ones")
  local d1 = t.run(cmd .. " --dry")
  local d2 = t.run(cmd .. " --dry")
  t.ok(d1 == d2 and d1:match("_files%-%x+_n%d"), "lm.lua --dry: the ids carry the text's content hash, the same each time", d1)
  local e1, c1 = t.run(B .. "/lpact scripts/lm.lua --d 64 --heads 3 --dry")
  t.is(c1, 2, "lm.lua: heads that do not divide d: exit status 2")
  t.like(e1, "^lpact: lm.lua: %-%-heads 3 does not divide %-%-d 64\n$", "lm.lua: in one line")
  local e2, c2 = t.run(string.format("%s/lpact scripts/lm.lua --files %s/empty.txt --steps 1 --out %s/r2", B, dir, dir))
  t.ok(c2 ~= 0 and e2:match("cannot open"), "lm.lua: a missing text file is named")
  local f = assert(io.open(dir .. "/empty.txt", "wb"))
  f:close()
  local e3, c3 = t.run(string.format("%s/lpact scripts/lm.lua --files %s/empty.txt --steps 1 --out %s/r3", B, dir, dir))
  t.is(c3, 1, "lm.lua: an empty corpus: exit status 1")
  t.like(e3, "^lpact: data.text: the corpus is empty %(1 file, no bytes%)\n$", "lm.lua: an empty corpus in one line")
  -- 43 bytes: 39 to train on, 4 to validate, fewer than a window of 4 + 1
  t.spit(dir .. "/short.txt", "hello world, this is a text of some length\n")
  local e5, c5 = t.run(string.format("%s/lpact scripts/lm.lua --files %s/short.txt --ctx 4 --d 8 --heads 2 --layers 1 "
    .. "--steps 2 --format fp32 --out %s/r5", B, dir, dir))
  t.ok(c5 ~= 0 and e5:match("\nlpact: lm.lua: the validation text has 4 characters, fewer than one window of %-%-ctx 4 %+ 1")
    and not e5:match("step ") and not io.open(dir .. "/r5"), "lm.lua: a validation text shorter than a window is refused before training")
  local e4, c4 = t.run(B .. "/lpact scripts/lm.lua --formats fp4 --attn e9m9 --dry")
  t.ok(c4 == 2 and e4:match("^lpact: attn: option 'fmt'"), "lm.lua: a bad attention format, one line, before training")
end
os.execute("rm -rf " .. dir)
t.done()
