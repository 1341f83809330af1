--- lpact.data — data sets and batches.
--
--     local data = lpact.data
--     local ds = data.fashion_mnist{limit = 1000}    -- ds.train.x (1000,1,28,28) in [0,1]
--     for x, y in data.batches(ds.train, 128, {seed = 1, epoch = e}) do … end
--
-- Every loader returns the same shape of table:
--   {train = {x = Tensor, y = Tensor, n = N}, test = {…}, classes = K, name = "…"}
-- with labels y as class indices 0..K-1 stored as floats. Files are read by
-- C readers that check everything (magic numbers, dimensions, sizes,
-- truncation); a bad file or a missing directory stops the script with one
-- line naming the path and the problem.

local lpact = require "lpact"
local io_ = lpact.io
local numtext = require "lpact.numtext"

local data = {}

-- Runs a reader; turns its error into a one-line lpact.fail (status 1).
local function read(f, ...)
  local ok, a, b = pcall(f, ...)
  if not ok then
    if lpact.is_failure(a) then error(a, 0) end
    lpact.fail(tostring(a), 1)
  end
  return a, b
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

local function isdir(path)
  -- A directory opens for reading on Linux but fails to read.
  local f = io.open(path, "rb")
  if not f then return false end
  local ok, _, code = f:read(1)
  f:close()
  return ok == nil and code == 21
end

-- The path of name or name.gz in dir (nil if neither exists).
local function find_file(dir, name)
  for _, p in ipairs { dir .. "/" .. name, dir .. "/" .. name .. ".gz" } do
    if exists(p) and not isdir(p) then return p end
  end
end

local function count(limit, n)
  if limit == nil then return n end
  return math.min(limit, n)
end

-- Refuses a tensor holding NaN or an infinity (from a float IDX file or
-- a CSV cell), naming the file: one bad pixel would otherwise train a
-- model full of NaN. allow = true (the caller's opt-in) lets them through.
local function check_finite(x, path, allow)
  if allow then return x end
  local lo, hi = io_.range(x)
  if lo and (lo ~= lo or lo == -math.huge or hi == math.huge) then
    lpact.fail(string.format("%s: holds %s values (pass nonfinite = true to load them anyway)", path,
      lo ~= lo and "NaN" or "infinite"), 1)
  end
  return x
end

--- Reads an IDX file (plain or gzip) into a Tensor with the file's
-- dimensions; values are the stored numbers unless opts.div is given
-- (e.g. div = 255 for pixels in [0, 1]). opts.limit keeps the first
-- `limit` items, opts.channel = true turns (N, H, W) into (N, 1, H, W).
-- A float file holding NaN or an infinity (or a double too large for
-- float32) is refused unless opts.nonfinite = true.
function data.idx(path, opts)
  opts = lpact.check_options(opts or {}, { "div", "limit", "channel", "nonfinite" }, "data.idx")
  local ropts = { div = opts.div, limit = opts.limit, channel = opts.channel }
  return check_finite(read(io_.read_idx, path, ropts), path, opts.nonfinite)
end

-- Loads one IDX image/label pair, checking that they agree.
local function idx_pair(dir, images, labels, limit, classes)
  local ipath = find_file(dir, images) or lpact.fail(string.format("%s/%s(.gz): no such file", dir, images), 1)
  local lpath = find_file(dir, labels) or lpact.fail(string.format("%s/%s(.gz): no such file", dir, labels), 1)
  local idims = read(io_.idx_dims, ipath)
  local ldims = read(io_.idx_dims, lpath)
  if #idims ~= 3 then
    lpact.fail(string.format("%s: wrong dimensions: images (N, rows, cols) expected, the header declares %d dimensions", ipath, #idims), 1)
  end
  if #ldims ~= 1 then
    lpact.fail(string.format("%s: wrong dimensions: labels (N) expected, the header declares %d dimensions", lpath, #ldims), 1)
  end
  if idims[1] ~= ldims[1] then
    lpact.fail(string.format("%s: wrong size: %d labels for the %d images of %s", lpath, ldims[1], idims[1], ipath), 1)
  end
  local x = check_finite(read(io_.read_idx, ipath, { div = 255, limit = limit, channel = true }), ipath)
  local y = read(io_.read_idx, lpath, { limit = limit })
  local lo, hi = io_.range(y)
  if lo and (lo < 0 or hi > classes - 1 or lo ~= lo) then
    lpact.fail(string.format("%s: labels outside 0..%d (found %s..%s)", lpath, classes - 1, lo, hi), 1)
  end
  return { x = x, y = y, n = count(limit, idims[1]) }
end

local LIMIT_ALIASES = { n = "limit", directory = "dir", path = "dir" }

local function mnist_like(opts, name, default_dir, env, hint, class_names)
  opts = lpact.check_options(opts or {}, { "dir", "fallback", "seed", "limit", "train_limit", "test_limit" },
    "data." .. name:gsub("%-", "_"), LIMIT_ALIASES)
  local dir = opts.dir or os.getenv(env) or default_dir
  if not isdir(dir) then
    local msg = string.format("%s not found: no directory %s (%s, or set %s or pass dir=)", name, dir, hint, env)
    if opts.fallback then
      io.stderr:write("lpact: ", msg, "; using the built-in synthetic stand-in instead\n")
      local ds = data.builtin { seed = opts.seed, limit = opts.limit }
      ds.note = msg
      return ds
    end
    lpact.fail(msg, 1)
  end
  local train = idx_pair(dir, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", opts.train_limit or opts.limit, 10)
  local test = idx_pair(dir, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", opts.test_limit or opts.limit, 10)
  return { train = train, test = test, classes = 10, name = name, dir = dir,
    shape = { 1, 28, 28 }, class_names = class_names }
end

--- Fashion-MNIST from the IDX files (plain or .gz) in opts.dir, else
-- $LPACT_DATA, else /usr/share/datasets/fashion-mnist (Debian's
-- dataset-fashion-mnist). x is (N, 1, 28, 28) in [0, 1], y (N).
-- opts.limit (or train_limit / test_limit) keeps the first examples;
-- opts.fallback = true returns data.builtin() when the directory is
-- missing (saying so on stderr) instead of failing.
function data.fashion_mnist(opts)
  return mnist_like(opts, "fashion-mnist", "/usr/share/datasets/fashion-mnist", "LPACT_DATA",
    "install the Debian package dataset-fashion-mnist", { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
      "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" })
end

--- MNIST digits, same files and options as data.fashion_mnist; the
-- directory is opts.dir, else $LPACT_MNIST, else /usr/share/datasets/mnist.
function data.mnist(opts)
  return mnist_like(opts, "mnist", "/usr/share/datasets/mnist", "LPACT_MNIST",
    "put the four MNIST IDX files there", { "0", "1", "2", "3", "4", "5", "6", "7", "8", "9" })
end

--- CIFAR-10 from the binary batches (data_batch_1.bin … data_batch_5.bin,
-- test_batch.bin) in opts.dir or its cifar-10-batches-bin folder, else
-- $LPACT_CIFAR10. x is (N, 3, 32, 32) in [0, 1], y (N). opts.limit,
-- train_limit, test_limit keep the first examples.
function data.cifar10(opts)
  opts = lpact.check_options(opts or {}, { "dir", "limit", "train_limit", "test_limit" }, "data.cifar10", LIMIT_ALIASES)
  local dir = opts.dir or os.getenv("LPACT_CIFAR10")
  if not dir then
    lpact.fail("CIFAR-10: no directory given (pass dir= or set LPACT_CIFAR10 to the folder of data_batch_1.bin …; no Debian package ships it)", 1)
  end
  if isdir(dir .. "/cifar-10-batches-bin") then dir = dir .. "/cifar-10-batches-bin" end
  if not isdir(dir) then lpact.fail(string.format("CIFAR-10 not found: no directory %s", dir), 1) end
  local files = {}
  for i = 1, 5 do
    local p = dir .. "/data_batch_" .. i .. ".bin"
    if not exists(p) then lpact.fail(p .. ": no such file", 1) end
    files[i] = p
  end
  local tp = dir .. "/test_batch.bin"
  if not exists(tp) then lpact.fail(tp .. ": no such file", 1) end
  local x, y = read(io_.read_cifar, files, { div = 255, limit = opts.train_limit or opts.limit })
  local tx, ty = read(io_.read_cifar, tp, { div = 255, limit = opts.test_limit or opts.limit })
  return { train = { x = x, y = y, n = x:shape()[1] }, test = { x = tx, y = ty, n = tx:shape()[1] },
    classes = 10, name = "cifar-10", dir = dir, shape = { 3, 32, 32 },
    class_names = { "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck" } }
end

-- The magnitude from which a double rounds to an infinity in float32
-- (2^128 - 2^103: halfway between FLT_MAX and 2^128): a finite CSV cell
-- such as -4e71 would otherwise be stored as -inf.
local F32_OVERFLOW = 2.0 ^ 128 - 2.0 ^ 103

--- The largest numeric class label data.csv accepts (65535: at most 65536
-- classes); a larger one is almost always a column that is not a label.
data.MAX_LABEL = 65535

-- Splits one CSV line into fields (RFC 4180 quotes; sep one character).
local function csv_fields(line, sep)
  local fields, i, n = {}, 1, #line
  if n == 0 then return { "" } end
  while i <= n + 1 do
    if line:sub(i, i) == '"' then
      local buf, j = {}, i + 1
      while true do
        local q = line:find('"', j, true)
        if not q then return nil, "unterminated quoted field" end
        buf[#buf + 1] = line:sub(j, q - 1)
        if line:sub(q + 1, q + 1) == '"' then
          buf[#buf + 1] = '"'
          j = q + 2
        else
          i = q + 1
          break
        end
      end
      fields[#fields + 1] = table.concat(buf)
      if i <= n and line:sub(i, i) ~= sep then return nil, "text after a closing quote" end
      i = i + 1
    else
      local j = line:find(sep, i, true) or n + 1
      fields[#fields + 1] = line:sub(i, j - 1)
      i = j + 1
    end
  end
  return fields
end

--- Reads a CSV file of numbers into {x = Tensor (N, F), y = Tensor (N) or
-- nil, n = N, columns = {names}, classes = K, label_names = {…}}.
-- opts: sep (","), header (true/false; default: guessed from the first
-- line: a header when none of its fields is a number), label (column number, column name, "last", "first" or false for
-- none; default "last"), limit (rows), nonfinite (false: a feature that
-- reads as NaN or an infinity, e.g. 1e999, is refused; true lets nan, inf
-- and -inf through). Non-numeric labels become classes 0..K-1 in sorted
-- order (label_names[k+1] names class k); numeric labels must be integers
-- in 0..data.MAX_LABEL. Every row has as many cells as the first, and no
-- cell is empty (a trailing separator is an empty last cell): a ragged or
-- empty cell is refused with its line number. Hex integers are read
-- exactly (lpact.numtext).
function data.csv(path, opts)
  opts = lpact.check_options(opts or {}, { "sep", "header", "label", "limit", "nonfinite" }, "data.csv",
    { separator = "sep" })
  local sep = opts.sep or ","
  local f, err = io.open(path, "rb")
  if not f then lpact.fail(string.format("%s: cannot open: %s", path, (err or ""):gsub("^[^:]*: ", "")), 1) end
  local rows, header, lineno = {}, nil, 0
  for line in f:lines() do
    lineno = lineno + 1
    line = line:gsub("\r$", "")
    if line:match("%S") then
      local fields, perr = csv_fields(line, sep)
      if not fields then f:close() lpact.fail(string.format("%s:%d: %s", path, lineno, perr), 1) end
      if header == nil and #rows == 0 then
        local want = opts.header
        if want == nil then   -- a header: no field of the first line is a number
          want = true
          for _, v in ipairs(fields) do if tonumber(v) ~= nil then want = false end end
        end
        if want then header = fields goto continue end
        header = false
      end
      if opts.limit and #rows >= opts.limit then break end
      rows[#rows + 1] = { lineno, fields }
    end
    ::continue::
  end
  f:close()
  if #rows == 0 then lpact.fail(path .. ": no data rows", 1) end
  local ncol = #rows[1][2]
  local names = {}
  for c = 1, ncol do names[c] = header and header[c] or ("c" .. c) end
  local lab = opts.label
  if lab == nil or lab == "last" then lab = ncol
  elseif lab == "first" then lab = 1
  elseif lab == false then lab = nil
  elseif type(lab) == "string" then
    local found
    for c = 1, ncol do if names[c] == lab then found = c end end
    lab = found or lpact.fail(string.format("%s: no column named '%s'", path, numtext.excerpt(tostring(opts.label))), 2)
  end
  if lab and (math.type(lab) ~= "integer" or lab < 1 or lab > ncol) then
    lpact.fail(string.format("%s: label column %s out of 1..%d", path, tostring(opts.label), ncol), 2)
  end
  if header and #header ~= ncol then
    lpact.fail(string.format("%s:%d: %d fields, the header has %d", path, rows[1][1], ncol, #header), 1)
  end
  local xs, ys, raw = {}, {}, {}
  local columns = {}
  for c = 1, ncol do if c ~= lab then columns[#columns + 1] = names[c] end end
  local numeric = true
  for r, row in ipairs(rows) do
    local ln, fields = row[1], row[2]
    if #fields ~= ncol then
      lpact.fail(string.format("%s:%d: %d fields, the first row has %d", path, ln, #fields, ncol), 1)
    end
    for c = 1, ncol do
      local v = fields[c]
      if not v:find("%S") then
        lpact.fail(string.format("%s:%d: column '%s' is empty%s", path, ln, numtext.excerpt(names[c]),
          c == ncol and " (a trailing separator?)" or ""), 1)
      end
      if c == lab then
        raw[r] = v
        if numtext.number(numtext.trim(v)) == nil then numeric = false end
      else
        local num, why = numtext.number(numtext.trim(v), opts.nonfinite)
        if num == nil then
          lpact.fail(string.format("%s:%d: column '%s' is %s: '%s'", path, ln, numtext.excerpt(names[c]), why, numtext.excerpt(v)), 1)
        end
        if not opts.nonfinite and (num ~= num or math.abs(num) >= F32_OVERFLOW) then
          lpact.fail(string.format("%s:%d: column '%s' is not finite: '%s' (NaN, an infinity or beyond float32's " ..
            "3.4e38; pass nonfinite = true to load it anyway)", path, ln, numtext.excerpt(names[c]), numtext.excerpt(v)), 1)
        end
        xs[#xs + 1] = num
      end
    end
  end
  local out = { n = #rows, columns = columns, x = io_.from_list(xs, { #rows, ncol - (lab and 1 or 0) }) }
  if lab then
    local classes, label_names = 0, nil
    if numeric then
      for r, v in ipairs(raw) do
        local k = numtext.number(numtext.trim(v))
        if k == math.floor(k) and k >= 0 and k <= data.MAX_LABEL then k = math.tointeger(k) end
        if math.type(k) ~= "integer" then
          lpact.fail(string.format("%s:%d: label '%s' is not a class number (an integer in 0..%d)", path, rows[r][1], numtext.excerpt(v),
            data.MAX_LABEL), 1)
        end
        ys[r] = k
        if k + 1 > classes then classes = k + 1 end
      end
    else
      local seen = {}
      label_names = {}
      for _, v in ipairs(raw) do if not seen[v] then seen[v] = true label_names[#label_names + 1] = v end end
      table.sort(label_names)
      local index = {}
      for k, v in ipairs(label_names) do index[v] = k - 1 end
      for r, v in ipairs(raw) do ys[r] = index[v] end
      classes = #label_names
    end
    out.y = io_.from_list(ys, { #rows })
    out.classes = classes
    out.label_names = label_names
    out.label = names[lab]
  end
  return out
end

--- Splits a set {x=, y=} into {train=, test=} at random (seeded): the
-- last `fraction` (default 0.2) of a seeded permutation becomes the test set.
function data.split(set, fraction, seed)
  fraction = fraction or 0.2
  local n = set.n or set.x:shape()[1]
  local ntest = math.floor(n * fraction + 0.5)
  local perm = io_.permutation(n, seed or 0, 0)
  local function part(start, cnt)
    local p = { x = io_.gather(set.x, perm, start, cnt), n = cnt }
    if set.y then p.y = io_.gather(set.y, perm, start, cnt) end
    return p
  end
  return { train = part(0, n - ntest), test = part(n - ntest, ntest), classes = set.classes,
    name = set.name, label_names = set.label_names, columns = set.columns }
end

-- A standard normal from the counter-based generator (Box–Muller).
local function normal(seed, stream, ctr)
  local u1 = io_.random(seed, stream, 2 * ctr)
  local u2 = io_.random(seed, stream, 2 * ctr + 1)
  if u1 < 1e-300 then u1 = 1e-300 end
  return math.sqrt(-2 * math.log(u1)) * math.cos(2 * math.pi * u2)
end

--- Two-dimensional interleaved spirals, one arm per class:
-- {n = 600 training points, test = n/4 test points, classes = 3,
-- noise = 0.2, seed = 0} -> {train=, test=, classes=}; x (N, 2), y (N).
function data.spirals(opts)
  opts = lpact.check_options(opts or {}, { "n", "classes", "seed", "test", "noise" }, "data.spirals")
  local n, K, seed = opts.n or 600, opts.classes or 3, opts.seed or 0
  local ntest, noise = opts.test or n // 4, opts.noise or 0.2
  local function make(m, stream)
    local xs, ys = {}, {}
    for i = 0, m - 1 do
      local k = i % K
      local t = io_.random(seed, stream, 3 * i)
      local r = t
      local theta = 4 * t + k * 2 * math.pi / K + noise * normal(seed, stream + 1, i)
      xs[2 * i + 1] = r * math.sin(theta)
      xs[2 * i + 2] = r * math.cos(theta)
      ys[i + 1] = k
    end
    return { x = io_.from_list(xs, { m, 2 }), y = io_.from_list(ys, { m }), n = m }
  end
  return { train = make(n, 100), test = make(ntest, 200), classes = K, name = "spirals", shape = { 2 } }
end

--- Gaussian blobs, one per class, centres uniform in [-5, 5]^dim (from
-- seed): {n = 600, test = n/4, classes = 3, dim = 2, spread = 1, seed = 0}
-- -> {train=, test=, classes=, centers=}; x (N, dim), y (N).
function data.blobs(opts)
  opts = lpact.check_options(opts or {}, { "n", "classes", "dim", "seed", "test", "spread" }, "data.blobs")
  local n, K, D, seed = opts.n or 600, opts.classes or 3, opts.dim or 2, opts.seed or 0
  local ntest, spread = opts.test or n // 4, opts.spread or 1.0
  local centers = {}
  for k = 1, K do
    centers[k] = {}
    for d = 1, D do centers[k][d] = -5 + 10 * io_.random(seed, 300, (k - 1) * D + d) end
  end
  local function make(m, stream)
    local xs, ys = {}, {}
    for i = 0, m - 1 do
      local k = i % K
      for d = 1, D do xs[i * D + d] = centers[k + 1][d] + spread * normal(seed, stream, i * D + d) end
      ys[i + 1] = k
    end
    return { x = io_.from_list(xs, { m, D }), y = io_.from_list(ys, { m }), n = m }
  end
  return { train = make(n, 400), test = make(ntest, 500), classes = K, name = "blobs", centers = centers,
    shape = { D } }
end

--- A built-in synthetic stand-in shaped like Fashion-MNIST, for when the
-- real set is missing: {n = 6000, test = 1000, seed = 0, limit =} ->
-- x (N, 1, 28, 28) in [0, 1], y (N), 10 classes, each a fixed pattern of
-- strokes and blobs, shifted, scaled in brightness and noised.
function data.builtin(opts)
  opts = lpact.check_options(opts or {}, { "n", "test", "seed", "limit" }, "data.builtin")
  local n, ntest = opts.n or 6000, opts.test or 1000
  if opts.limit then n, ntest = math.min(n, opts.limit), math.min(ntest, opts.limit) end
  local seed = opts.seed or 0
  local x, y = io_.builtin(n, seed, 0)
  local tx, ty = io_.builtin(ntest, seed, 1)
  return { train = { x = x, y = y, n = n }, test = { x = tx, y = ty, n = ntest }, classes = 10,
    name = "builtin", synthetic = true, shape = { 1, 28, 28 } }
end

--- Normalises a data set in place, per channel: x = (x - mean) / std with
-- the mean and std of the training set (or opts.mean, opts.std lists);
-- returns mean, std. Works on ds = {train=, test=} or on one {x=} set.
function data.normalize(ds, opts)
  opts = lpact.check_options(opts or {}, { "mean", "std" }, "data.normalize")
  local base = ds.train or ds
  local mean, std = opts.mean, opts.std
  if not (mean and std) then
    local m, s = io_.channel_stats(base.x)
    mean, std = mean or m, std or s
  end
  for _, part in ipairs { ds.train, ds.test, (not ds.train) and ds or nil } do
    if part then io_.normalize(part.x, mean, std) end
  end
  return mean, std
end

--- The number of batches data.batches yields for this set.
function data.nbatches(set, batch, opts)
  lpact.check_options(opts, { "drop_last", "shuffle", "seed", "epoch", "augment", "mean", "std" }, "data.nbatches")
  local n = set.n or set.x:shape()[1]
  if opts and opts.drop_last then return n // batch end
  return (n + batch - 1) // batch
end

--- Iterates over a set {x=, y=} in batches: `for x, y in data.batches(set,
-- 128, {seed = 1, epoch = e}) do … end`. Every example appears exactly once
-- per epoch. opts: shuffle (default true) in an order that depends only on
-- seed and epoch; drop_last (skip a final partial batch); augment = true or
-- {pad = 4, flip = true} for CIFAR-style random crops with zero padding
-- and horizontal flips (seeded by seed, epoch and the example's index);
-- mean, std (lists, one per channel) to normalise each batch.
function data.batches(set, batch, opts)
  opts = lpact.check_options(opts or {}, { "drop_last", "shuffle", "seed", "epoch", "augment", "mean", "std" },
    "data.batches")
  if math.type(batch) ~= "integer" or batch < 1 then
    error("bad argument #2 to 'batches' (batch size must be an integer >= 1)", 2)
  end
  local n = set.n or set.x:shape()[1]
  local seed, epoch = opts.seed or 0, opts.epoch or 0
  local perm = nil
  if opts.shuffle ~= false then perm = io_.permutation(n, seed, epoch) end
  local aug = opts.augment
  if aug == true then aug = {} end
  if aug then aug = { pad = aug.pad or 4, flip = aug.flip ~= false, seed = seed, epoch = epoch } end
  local i = 0
  return function()
    if i >= n then return nil end
    local cnt = math.min(batch, n - i)
    if cnt < batch and opts.drop_last then return nil end
    local x = io_.gather(set.x, perm, i, cnt)
    local y = set.y and io_.gather(set.y, perm, i, cnt)
    if aug then io_.augment(x, perm, i, aug) end
    if opts.mean then io_.normalize(x, opts.mean, opts.std) end
    i = i + cnt
    return x, y
  end
end

-- Text -------------------------------------------------------------------------

local FORTUNES = "/usr/share/games/fortunes"

-- The text files of a fortunes folder: plain files without an extension
-- (the .dat files are strfile indexes, the .u8 files duplicate the text).
local function fortune_files(dir)
  local names, err = io_.listdir(dir)
  if not names then lpact.fail("text: cannot read " .. tostring(err), 1) end
  local files = {}
  for _, name in ipairs(names) do
    local p = dir .. "/" .. name
    if not name:find(".", 1, true) and not io_.isdir(p) then files[#files + 1] = p end
  end
  return files
end

--- Text as bytes for a character-level language model:
-- data.text{dir =, files =, val_fraction = 0.1} -> {train = ids (N), val =
-- ids (M), vocab = V, alphabet = string, files = {...}, name =}.
-- Without `files` it reads Debian's fortunes (`dir`, else $LPACT_FORTUNES,
-- else /usr/share/games/fortunes): every file without an extension, in
-- sorted order. `files` is a path or a list of paths (read in the order
-- given). Tokens are bytes; the vocabulary is the sorted set of bytes the
-- whole text holds (alphabet: the byte of each id, id 0 first). The split
-- is fixed: the first 90% of each file's bytes (1 - val_fraction) go to
-- training, the rest to validation, so every file is in both.
function data.text(opts)
  opts = lpact.check_options(opts or {}, { "dir", "files", "val_fraction", "name" }, "data.text",
    { path = "files", file = "files", directory = "dir", val = "val_fraction" })
  local vf = opts.val_fraction or 0.1
  if type(vf) ~= "number" or not (vf > 0 and vf < 1) then
    lpact.fail("data.text: val_fraction must be a number between 0 and 1, got " .. tostring(opts.val_fraction))
  end
  local files, name = opts.files, opts.name
  if files == nil then
    local dir = opts.dir or os.getenv("LPACT_FORTUNES") or FORTUNES
    if not io_.isdir(dir) then
      lpact.fail(string.format("fortunes not found: no directory %s (install the Debian package fortunes: apt-get install fortunes; or pass dir= or files=)", dir), 1)
    end
    files, name = fortune_files(dir), name or "fortunes"
  elseif type(files) == "string" then
    files = { files }
  elseif type(files) ~= "table" then
    lpact.fail("data.text: files must be a path or a list of paths, got " .. type(files))
  end
  local train, val = {}, {}
  for i, p in ipairs(files) do
    local f, err = io.open(p, "rb")
    if not f then lpact.fail(string.format("%s: cannot open: %s", p, (err or ""):gsub("^[^:]*: ", "")), 1) end
    local s = f:read("a")
    f:close()
    if s == nil then lpact.fail(p .. ": cannot read (a folder?)", 1) end
    local cut = math.floor(#s * (1 - vf) + 0.5)
    train[i], val[i] = s:sub(1, cut), s:sub(cut + 1)
  end
  local ttext, vtext = table.concat(train), table.concat(val)
  if #ttext + #vtext == 0 then
    lpact.fail(string.format("data.text: the corpus is empty (%d file%s, no bytes)", #files, #files == 1 and "" or "s"), 1)
  end
  local seen = {}
  for _, s in ipairs { ttext, vtext } do
    for b in s:gmatch(".") do seen[b:byte()] = true end
  end
  local bytes, map = {}, {}
  for b = 0, 255 do
    if seen[b] then
      map[b + 1] = #bytes
      bytes[#bytes + 1] = string.char(b)
    end
  end
  local K = lpact.lm_kernels
  return {
    train = K.encode(ttext, map), val = K.encode(vtext, map), vocab = #bytes, alphabet = table.concat(bytes),
    files = files, name = name or "text", bytes = #ttext + #vtext, val_fraction = vf,
    split = string.format("the last %g%% of each file's bytes is validation", 100 * vf),
  }
end

--- Seeded random windows of a token stream: data.text_batch(ids, B, T,
-- {seed =, step =}) -> x (B, T), y (B, T) (y is x shifted by one). Window
-- b of step s starts at floor(u (N - T)) with u the uniform number
-- lpact.io.random(seed, 61, s B + b): a pure function of seed, step and b.
function data.text_batch(ids, B, T, o)
  o = lpact.check_options(o or {}, { "seed", "step" }, "data.text_batch")
  local n = ids:numel()
  if n < T + 1 then
    lpact.fail(string.format("data.text_batch: a text of %d tokens is shorter than one window of %d + 1", n, T), 1)
  end
  local seed, step, starts = o.seed or 1, o.step or 0, {}
  for b = 1, B do
    starts[b] = math.floor(io_.random(seed, 61, step * B + b - 1) * (n - T))
  end
  return lpact.lm_kernels.windows(ids, starts, T)
end

--- The non-overlapping windows of T (+1) tokens that cover a stream from
-- its start (for evaluation), in batches of B: for x, y in
-- data.text_windows(ids, B, T) do ... end. The tail shorter than a window
-- is left out.
function data.text_windows(ids, B, T)
  local n = ids:numel()
  local count = (n - 1) // T
  if count < 1 then
    lpact.fail(string.format("data.text_windows: a text of %d tokens is shorter than one window of %d + 1", n, T), 1)
  end
  local i = 0
  return function()
    if i >= count then return nil end
    local starts = {}
    for b = 1, math.min(B, count - i) do starts[b] = (i + b - 1) * T end
    i = i + #starts
    return lpact.lm_kernels.windows(ids, starts, T)
  end
end

return data
