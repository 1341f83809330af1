--- lpact.checkpoint — save and load a model's parameters and buffers with
-- its optimizer's state, in a versioned binary file with a checksum.
--
--     local ckpt = lpact.checkpoint
--     ckpt.save("run/epoch3.ckpt", model, opt, {epoch = 3})
--     local meta = ckpt.load("run/epoch3.ckpt", model, opt)   -- meta.epoch == 3
--
-- The file is written to a temporary file beside the target and renamed
-- over it, so a crash or a full disk never leaves a half-written
-- checkpoint. Loading checks the whole file first (magic, version, size,
-- CRC-32, then every name and shape against the model) and changes
-- nothing unless everything matches; a refusal says which check failed.
--
-- Format, version 1 (all integers little-endian):
--   "LPACTCKP"   8 bytes magic
--   u32 version (1), u32 flags (0), u64 file size in bytes
--   u32 number of tensors, u32 length of the metadata, metadata (JSON)
--   per tensor: u16 name length, name, u8 kind (1 parameter, 2 buffer,
--     3 optimizer), u8 ndim, ndim x u64 sizes, numel x float32
--   u32 CRC-32 (zlib's) of every byte before it
-- The metadata holds the engine version, the user's meta table and the
-- optimizer's state with each tensor replaced by {"$tensor": name}.

local lpact = require "lpact"
local json = require "lpact.json"
local io_ = lpact.io

local checkpoint = {}

checkpoint.MAGIC = "LPACTCKP"
checkpoint.VERSION = 1

local KIND = { param = 1, buffer = 2, optim = 3 }
local KIND_NAME = { "parameter", "buffer", "optimizer tensor" }

local function shape_str(shape)
  if #shape == 0 then return "scalar" end
  return table.concat(shape, "x")
end

-- Tensor bytes of any tensor (non-contiguous views are copied first).
local function bytes_of(t)
  local ok, s = pcall(io_.tensor_bytes, t)
  if ok then return s end
  return io_.tensor_bytes(t:contiguous())
end

-- The optimizer state with tensors swapped for references (and numbers
-- JSON cannot spell swapped for strings); tensors collected into list.
local function encode_state(v, path, list)
  if io_.is_tensor(v) then
    local name = path
    list[#list + 1] = { name = name, tensor = v }
    return { ["$tensor"] = name }
  elseif type(v) == "number" and (v ~= v or v == math.huge or v == -math.huge) then
    return { ["$num"] = v ~= v and "nan" or (v > 0 and "inf" or "-inf") }
  elseif type(v) == "table" then
    local out, keys = {}, {}
    for k in pairs(v) do
      if type(k) ~= "string" and math.type(k) ~= "integer" then
        error("checkpoint: optimizer state keys must be strings or integers", 0)
      end
      keys[#keys + 1] = k
    end
    -- Sorted, so that the same state always gives the same bytes.
    table.sort(keys, function(a, b)
      if type(a) ~= type(b) then return type(a) < type(b) end
      return a < b
    end)
    for _, k in ipairs(keys) do
      out[k] = encode_state(v[k], path == "" and tostring(k) or (path .. "." .. tostring(k)), list)
    end
    if next(out) == nil then return json.object {} end
    return out
  elseif type(v) == "string" or type(v) == "number" or type(v) == "boolean" then
    return v
  end
  error("checkpoint: cannot store a " .. type(v) .. " in the optimizer state", 0)
end

-- The optimizer state with its references resolved; bad(fmt, ...) refuses
-- a reference to a tensor the file lacks or a number it cannot spell,
-- naming the field. used[name] is set for every tensor referenced.
local NUMS = { nan = 0 / 0, inf = math.huge, ["-inf"] = -math.huge }
local function decode_state(v, tensors, bad, used, path)
  if type(v) ~= "table" or v == json.null then return v ~= json.null and v or nil end
  if v["$tensor"] ~= nil then
    local name = v["$tensor"]
    if type(name) ~= "string" or not tensors[name] then
      bad("optimizer field '%s' refers to tensor '%s', which the file does not hold", path, tostring(name))
    end
    used[name] = true
    return tensors[name]
  end
  if v["$num"] ~= nil then
    local x = NUMS[v["$num"]]
    if x == nil then bad("optimizer field '%s' holds the number '%s' (nan, inf or -inf expected)", path, tostring(v["$num"])) end
    return x
  end
  local out = {}
  for k, x in pairs(v) do
    out[k] = decode_state(x, tensors, bad, used, path == "" and tostring(k) or (path .. "." .. tostring(k)))
  end
  return out
end

-- Accepts (path, model, optimizer, meta) or (path, {model=, optimizer=, meta=}).
local function args(model, optimizer, meta)
  if type(model) == "table" and model.model ~= nil and not model.parameters then
    return model.model, model.optimizer, model.meta
  end
  return model, optimizer, meta
end

--- Saves model (parameters and buffers), optimizer (its state(), may be
-- nil) and meta (a JSON-able table, e.g. {epoch = 3}) to path, atomically.
-- Also callable as save(path, {model=, optimizer=, meta=}).
function checkpoint.save(path, model, optimizer, meta)
  model, optimizer, meta = args(model, optimizer, meta)
  if type(path) ~= "string" then error("bad argument #1 to 'save' (file name expected)", 2) end
  local entries, seen = {}, {}
  local function add(kind, name, tensor)
    local key = kind .. ":" .. name
    if seen[key] then error(string.format("checkpoint.save: two %ss named '%s'", KIND_NAME[kind], name), 0) end
    seen[key] = true
    entries[#entries + 1] = { kind = kind, name = name, tensor = tensor }
  end
  if model then
    for _, p in ipairs(model:parameters()) do add(KIND.param, p.name, p.var.data) end
    if model.buffers then for _, b in ipairs(model:buffers()) do add(KIND.buffer, b.name, b.tensor) end end
  end
  local state = json.null
  if optimizer then
    local list = {}
    state = encode_state(optimizer:state(), "", list)
    for _, e in ipairs(list) do add(KIND.optim, e.name, e.tensor) end
  end
  local metadata = json.encode({ engine = lpact.version, meta = meta or json.object {}, optimizer = state },
    { nonfinite = "null" })

  local chunks = {}
  for _, e in ipairs(entries) do
    if #e.name > 65535 then error("checkpoint.save: name too long: " .. e.name:sub(1, 40) .. "…", 0) end
    local shape = e.tensor:shape()
    local head = { string.pack("<s2BB", e.name, e.kind, #shape) }
    for _, d in ipairs(shape) do head[#head + 1] = string.pack("<I8", d) end
    chunks[#chunks + 1] = table.concat(head)
    chunks[#chunks + 1] = bytes_of(e.tensor)
  end
  local body = table.concat(chunks)
  local total = 8 + 4 + 4 + 8 + 4 + 4 + #metadata + #body + 4
  local header = checkpoint.MAGIC .. string.pack("<I4I4I8I4s4", checkpoint.VERSION, 0, total, #entries, metadata)
  local crc = io_.crc32(body, io_.crc32(header))
  local blob = header .. body .. string.pack("<I4", crc)
  assert(#blob == total)

  require("lpact.files").write_atomic(path, blob, "the checkpoint")
  return path
end

--- Reads and checks a checkpoint file without a model: returns
-- {version=, engine=, meta=, optimizer= (state table or nil),
--  tensors = {{name=, kind="parameter"|"buffer"|"optimizer tensor", shape=, pos=}, …}}
-- and the file's bytes (for load). Refuses a bad file with lpact.fail,
-- naming the file and the problem.
function checkpoint.inspect(path)
  local function bad(fmt, ...) lpact.fail(path .. ": " .. string.format(fmt, ...), 1) end
  local f, err = io.open(path, "rb")
  if not f then lpact.fail(string.format("%s: cannot open the checkpoint: %s", path, (err or ""):gsub("^[^:]*: ", "")), 1) end
  local s = f:read("a") or ""
  f:close()
  local n = #s
  if n < 8 or s:sub(1, 8) ~= checkpoint.MAGIC then
    if n < 8 and checkpoint.MAGIC:sub(1, n) == s then bad("truncated: %d bytes, not even a header", n) end
    bad("not an lpact checkpoint (wrong magic number)")
  end
  if n < 32 then bad("truncated: %d bytes, the header has 32", n) end
  local version, _, total, count, mlen = string.unpack("<I4I4I8I4I4", s, 9)
  -- Only this engine's version: an older layout (there is none yet, and 0
  -- never existed) or a newer one is refused, never read as if it were ours.
  if version ~= checkpoint.VERSION then
    bad("checkpoint format version %d, this engine reads version %d only (%s)", version, checkpoint.VERSION,
      version > checkpoint.VERSION and "written by a newer lpact" or "not a version lpact ever wrote")
  end
  if n < total then bad("truncated: %d of %d bytes", n, total) end
  if n > total then bad("wrong size: %d bytes, the header declares %d", n, total) end
  local stored = string.unpack("<I4", s, n - 3)
  local computed = io_.crc32(s:sub(1, n - 4))
  if stored ~= computed then
    bad("corrupted: checksum mismatch (stored 0x%08x, computed 0x%08x)", stored, computed)
  end
  -- From here the bytes are as written, but a crafted file (or one from a
  -- writer with a bug) may still carry a CRC that matches: every length,
  -- count and field is checked before it is used.
  local pos = 33
  if pos + mlen > n - 4 then bad("corrupted: metadata runs past the end") end
  local okj, info = pcall(json.decode, s:sub(pos, pos + mlen - 1))
  if not okj then bad("corrupted metadata: %s", info) end
  if type(info) ~= "table" or info == json.null then bad("metadata is not a JSON object") end
  local TOP = { engine = "string", meta = "table", optimizer = "table" }
  for k, v in pairs(info) do
    if not TOP[k] then bad("metadata field '%s' is unknown (expected engine, meta, optimizer)", tostring(k)) end
    if type(v) ~= TOP[k] and v ~= json.null then bad("metadata field '%s' must be a %s, got %s", k, TOP[k], type(v)) end
  end
  if type(info.engine) ~= "string" then bad("metadata field 'engine' is missing") end
  pos = pos + mlen
  local end_data = n - 3                -- the first byte of the CRC
  local function take(fmt, what)
    local ok, a, b, c, d = pcall(string.unpack, fmt, s, pos)
    if not ok or (d or c or b or a) > end_data then bad("corrupted: %s runs past the end", what) end
    return a, b, c, d
  end
  local tensors, seen = {}, {}
  for i = 1, count do
    if pos + 4 > end_data then bad("corrupted: tensor %d of %d runs past the end", i, count) end
    local name, kind, ndim
    name, kind, ndim, pos = take("<s2BB", "tensor " .. i .. "'s header")
    if not KIND_NAME[kind] then bad("corrupted: tensor '%s' has unknown kind %d", name, kind) end
    if ndim > 8 then bad("corrupted: tensor '%s' has %d dimensions (at most 8)", name, ndim) end
    if seen[kind .. ":" .. name] then bad("corrupted: two %ss named '%s'", KIND_NAME[kind], name) end
    seen[kind .. ":" .. name] = true
    local shape, numel = {}, 1
    for d = 1, ndim do
      shape[d], pos = take("<I8", "tensor '" .. name .. "''s shape")
      if shape[d] < 0 or shape[d] > n then bad("corrupted: tensor '%s' has a dimension of %s", name, tostring(shape[d])) end
      numel = numel * shape[d]
      if numel > n then bad("corrupted: tensor '%s' runs past the end", name) end
    end
    if pos + 4 * numel > end_data then bad("corrupted: tensor '%s' runs past the end", name) end
    tensors[i] = { name = name, kind = KIND_NAME[kind], kindcode = kind, shape = shape, pos = pos }
    pos = pos + 4 * numel
  end
  if pos ~= end_data then bad("corrupted: %d unexplained bytes before the checksum", end_data - pos) end
  return { version = version, engine = info.engine, meta = info.meta, optimizer = info.optimizer,
    tensors = tensors }, s
end

-- A new tensor of this shape filled from s at pos.
local function tensor_at(s, shape, pos)
  local t = lpact.zeros(shape)
  io_.fill_bytes(t, s, pos)
  return t
end

-- Fills tensor dst (any layout) from s at pos.
local function fill(dst, s, pos, shape)
  if not pcall(io_.fill_bytes, dst, s, pos) then dst:copy(tensor_at(s, shape, pos)) end
end

--- Loads a checkpoint into model (parameters and buffers) and optimizer
-- (may be nil); returns the meta table that was saved. Every name and
-- shape is checked before anything changes; a file that does not match
-- the model is refused naming the first tensor that differs.
-- Also callable as load(path, {model=, optimizer=}).
function checkpoint.load(path, model, optimizer)
  model, optimizer = args(model, optimizer)
  local info, s = checkpoint.inspect(path)
  local function mismatch(fmt, ...)
    lpact.fail(path .. ": does not match the model: " .. string.format(fmt, ...), 1)
  end
  local byname = { {}, {}, {} }
  for _, e in ipairs(info.tensors) do byname[e.kindcode][e.name] = e end
  local plan = {}
  local function want(kind, list)
    local used = {}
    for _, item in ipairs(list) do
      local e = byname[kind][item.name]
      if not e then mismatch("%s '%s' is missing from the file", KIND_NAME[kind], item.name) end
      local have = item.tensor:shape()
      if shape_str(have) ~= shape_str(e.shape) then
        mismatch("%s '%s' has shape %s in the file, %s in the model", KIND_NAME[kind], item.name,
          shape_str(e.shape), shape_str(have))
      end
      used[item.name] = true
      plan[#plan + 1] = { dst = item.tensor, e = e }
    end
    local extra = {}
    for name in pairs(byname[kind]) do if not used[name] then extra[#extra + 1] = name end end
    table.sort(extra)
    if #extra > 0 then mismatch("the file has %s '%s' that the model lacks", KIND_NAME[kind], extra[1]) end
  end
  if model then
    local params = {}
    for _, p in ipairs(model:parameters()) do params[#params + 1] = { name = p.name, tensor = p.var.data } end
    want(KIND.param, params)
    want(KIND.buffer, model.buffers and model:buffers() or {})
  end
  local state
  if optimizer then
    if info.optimizer == nil or info.optimizer == json.null then
      lpact.fail(path .. ": has no optimizer state", 1)
    end
    local tensors, used = {}, {}
    for name, e in pairs(byname[KIND.optim]) do tensors[name] = tensor_at(s, e.shape, e.pos) end
    state = decode_state(info.optimizer, tensors, function(fmt, ...)
      lpact.fail(path .. ": " .. string.format(fmt, ...), 1)
    end, used, "")
    for name in pairs(tensors) do
      if not used[name] then lpact.fail(string.format("%s: optimizer tensor '%s' is not part of the optimizer state", path, name), 1) end
    end
    -- The optimizer checks its own slots against its parameters; it runs
    -- before the model is touched so a refusal leaves everything as it was.
    local saved = optimizer:state()
    local okl, lerr = pcall(optimizer.load_state, optimizer, state)
    if not okl then
      pcall(optimizer.load_state, optimizer, saved)
      local msg = lpact.is_failure(lerr) and lerr.msg or tostring(lerr)
      lpact.fail(path .. ": optimizer state does not match: " .. msg, 1)
    end
  end
  for _, p in ipairs(plan) do fill(p.dst, s, p.e.pos, p.e.shape) end
  local meta = info.meta
  if meta == json.null then meta = nil end
  return meta
end

return checkpoint
