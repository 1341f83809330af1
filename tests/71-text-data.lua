-- lpact.data.text on small texts this test writes: sorted fortune files
-- without an extension, the byte vocabulary, the per-file split, seeded
-- windows, evaluation windows, and one clear line for each mistake.
local t = require "lpact.tap"
local data = lpact.data

local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir .. "/fort " .. dir .. "/empty")
local function write(name, s) local p = dir .. "/" .. name local f = assert(io.open(p, "wb")) f:write(s) f:close() return p end
local errmsg = t.errmsg

write("fort/b", "0123456789")          -- 10 bytes: 9 train, 1 val
write("fort/a", "abcdefghijklmnopqrst") -- 20 bytes: 18 train, 2 val
write("fort/a.dat", "\0\0\0\2index")    -- strfile indexes are skipped
write("fort/a.u8", "duplicate")        -- so are the .u8 copies
local ds = data.text { dir = dir .. "/fort" }
t.is(#ds.files, 2, "text: the two files without an extension")
t.like(ds.files[1], "/a$", "text: files in sorted order (a before b)")
t.is(ds.vocab, 30, "text: 30 distinct bytes")
t.is(ds.alphabet, "0123456789abcdefghijklmnopqrst", "text: the alphabet is the sorted bytes, id 0 first")
t.is(ds.train:numel(), 27, "text: 18 + 9 training bytes (the first 90% of each file)")
t.is(ds.val:numel(), 3, "text: 2 + 1 validation bytes (the last 10% of each file)")
-- ids: 'a' is id 10; training text "abcdefghijklmnopqr012345678"
t.is(ds.train:get(1), 10.0, "text: 'a' is id 10")
t.is(ds.train:get(19), 0.0, "text: the second file follows the first ('0' is id 0)")
t.same(ds.val:totable(), { 28.0, 29.0, 9.0 }, "text: validation is 's', 't' then '9'")

-- seeded windows: y is x shifted by one, the same for the same seed and step
local x, y = data.text_batch(ds.train, 3, 4, { seed = 5, step = 2 })
local x2 = data.text_batch(ds.train, 3, 4, { seed = 5, step = 2 })
local x3 = data.text_batch(ds.train, 3, 4, { seed = 5, step = 3 })
t.is(x:hash(), x2:hash(), "text_batch: the same seed and step give the same windows")
t.ok(x:hash() ~= x3:hash(), "text_batch: another step gives other windows")
local ok = true
local tr = ds.train:totable()
for b = 1, 3 do
  local s0
  for s = 0, 27 - 5 do
    local match = true
    for k = 1, 4 do
      if tr[s + k] ~= x:get(b, k) or tr[s + k + 1] ~= y:get(b, k) then match = false end
    end
    if match then s0 = s end
  end
  if not s0 then ok = false end
end
t.ok(ok, "text_batch: every window is a run of the text, and y its continuation by one")

-- evaluation windows: (27 - 1) // 4 = 6 windows from the start, in batches of 4
local n, first = 0, nil
for wx, wy in data.text_windows(ds.train, 4, 4) do
  n = n + wx:size(1)
  first = first or { wx:get(1, 1), wy:get(1, 4) }
end
t.is(n, 6, "text_windows: six non-overlapping windows of 4 + 1 in 27 tokens")
t.same(first, { 10.0, 14.0 }, "text_windows: the first starts at 'a' and predicts 'e' last")

-- a user's own file
local one = data.text { files = write("mine.txt", "hello world\n") }
t.is(one.vocab, 9, "text: a file given by path (h, e, l, o, w, r, d, a space and a newline)")
t.is(one.name, "text", "text: a user's files are named 'text'")

-- mistakes: one line each
t.like(errmsg(data.text, { dir = dir .. "/none" }), "^fortunes not found: no directory .*/none %(install the Debian package fortunes",
  "text: a missing folder says how to install fortunes")
t.like(errmsg(data.text, { dir = dir .. "/empty" }), "^data.text: the corpus is empty %(0 files, no bytes%)",
  "text: an empty folder is an empty corpus")
t.like(errmsg(data.text, { files = write("zero.txt", "") }), "^data.text: the corpus is empty %(1 file, no bytes%)",
  "text: an empty file is an empty corpus")
t.like(errmsg(data.text, { files = { dir .. "/nope.txt" } }), "nope.txt: cannot open", "text: a missing file is named")
t.like(errmsg(data.text, { dir = dir .. "/fort", val_fraction = 1.5 }), "val_fraction must be a number between 0 and 1",
  "text: a split fraction outside (0, 1) is refused")
t.like(errmsg(data.text_batch, ds.val, 2, 8), "a text of 3 tokens is shorter than one window of 8 %+ 1",
  "text_batch: a text shorter than a window is refused")
t.like(errmsg(data.text, { dirr = "x" }), "unknown option 'dirr' %(did you mean 'dir'%?%)", "text: a misspelt option")

-- the CLI: one line on stderr, exit status 1
local out, code = t.run(string.format("LPACT_FORTUNES=%s/none %s/lpact -e 'lpact.data.text{}'", dir,
  os.getenv("LPACT_BUILD") or "build"))
t.is(code, 1, "text: a missing fortunes folder exits with status 1")
t.like(out, "^lpact: fortunes not found[^\n]*\n$", "text: with one line")

os.execute("rm -rf " .. dir)
t.done()
