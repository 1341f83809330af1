--- lpact.interop — arrays and models in the files NumPy and PyTorch users
-- exchange: NumPy .npy and safetensors.
--
--     lpact.save_npy(t, "x.npy")                      -- float32
--     lpact.save_npy(fmt:encode(fmt:round(t)), "codes.npy", {dtype = "uint8"})
--     local t, info = lpact.load_npy("x.npy")         -- info.dtype, info.shape, info.fortran
--     lpact.save_npz("xy.npz", {x = x, y = y})        -- numpy.load("xy.npz")["x"]
--     local arrays = lpact.load_npz("xy.npz")         -- savez and savez_compressed
--     model:save_safetensors("mlp.safetensors")
--     local tensors, meta = lpact.load_safetensors("mlp.safetensors")
--     model:load_state(tensors)                       -- or model:load_state("mlp.safetensors")
--     local m = lpact.load_model("mlp.safetensors")   -- rebuilt from the file's own config
--
-- Tensors are float32 inside lpact; a file's float64, int32, int64, uint8
-- or bool array is converted on reading (an integer float32 cannot hold
-- exactly is refused, naming the element) and a tensor is written as any
-- of them (a value the type cannot hold is refused). Every reader checks
-- the whole header against the file before converting anything, and every
-- refusal is one line naming the file. Files are written to a temporary
-- name and renamed, so a failed write leaves nothing behind.
--
-- Parameter names in safetensors follow PyTorch's nn.Sequential: lpact
-- numbers a Sequential's children from 1, PyTorch from 0, so lpact's
-- "2.weight" (the Linear after the Flatten) is written "1.weight", exactly
-- the name torch.nn.Sequential(Flatten(), Linear(...), ...) gives it.

local lpact = require "lpact"
local json = require "lpact.json"
local files = require "lpact.files"
local af = lpact.arrayfile

local interop = {}

local function read_all(path, what)
  if type(path) ~= "string" then lpact.fail("a file name expected, got " .. type(path)) end
  local f, err = io.open(path, "rb")
  if not f then lpact.fail(string.format("%s: cannot open the %s: %s", path, what, tostring(err):gsub("^[^:]*: ", "")), 1) end
  local s = f:read("a") or ""
  f:close()
  return s
end

-- A name from a file, fit for a one-line message.
local function shown(name) return (tostring(name):gsub("%c", "?"):sub(1, 60)) end

local function check_dtype(dtype, where)
  for _, d in ipairs(af.dtypes) do if d == dtype then return dtype end end
  lpact.fail(string.format("%s: dtype '%s' is not one of %s", where, tostring(dtype), table.concat(af.dtypes, ", ")))
end

-- The bytes of tensor t as dtype, or a one-line failure naming where.
local function tensor_bytes(t, dtype, where)
  if not t:is_contiguous() then t = t:contiguous() end
  local bytes, err = af.encode(t, dtype)
  if not bytes then lpact.fail(string.format("%s: %s", where, err)) end
  return bytes
end

--- save_npy(t, path [, {dtype = "float32"}]): writes tensor t as a NumPy
-- .npy file (version 1.0, C order, little-endian). dtype is one of
-- float32, float64, int32, int64, uint8, bool; a value the dtype cannot
-- hold (a fraction, NaN or out of range for an integer type) is refused.
function interop.save_npy(t, path, o)
  if not lpact.is_tensor(t) then lpact.fail("save_npy: a tensor expected, got " .. type(t)) end
  if type(path) ~= "string" then lpact.fail("save_npy: a file name expected, got " .. type(path)) end
  o = lpact.check_options(o or {}, { "dtype" }, "save_npy")
  local dtype = check_dtype(o.dtype or "float32", "save_npy")
  local body = tensor_bytes(t, dtype, "save_npy " .. path)
  files.write_atomic(path, af.npy_header(dtype, t:shape()) .. body, "the .npy file")
  return path
end

--- load_npy(path) -> Tensor (float32, C order), info {dtype=, shape=,
-- fortran=, version=}: the array of a .npy file. Fortran-ordered data is
-- reordered, so t:get(i, j) is a[i-1, j-1] either way.
function interop.load_npy(path)
  local s = read_all(path, ".npy file")
  local info, err = af.npy_info(s)
  if not info then lpact.fail(path .. ": " .. err, 1) end
  local t, derr = af.decode(s, info.pos, info.dtype, info.shape, info.fortran)
  if not t then lpact.fail(path .. ": " .. derr, 1) end
  info.pos = nil
  return t, info
end

-- .npz ----------------------------------------------------------------------

-- One stored zip member: local header, data; and its central entry.
local function zip_member(name, data, offset)
  local crc = lpact.io.crc32(data)
  -- version 20, no flags, stored, DOS time 00:00 1980-01-01
  local fields = string.pack("<I2I2I2I2I2I4I4I4I2I2", 20, 0, 0, 0, 0x21, crc, #data, #data, #name, 0)
  local lochead = "PK\3\4" .. fields .. name
  local central = "PK\1\2" .. string.pack("<I2", 20) .. fields .. string.pack("<I2I2I2I4I4", 0, 0, 0, 0, offset) .. name
  return lochead .. data, central
end

--- save_npz(path, {name = Tensor, ...} [, {dtype = "float32"}]): a NumPy
-- .npz archive (a zip of .npy members "name.npy", stored, in name order)
-- that numpy.load reads as a dict of arrays.
function interop.save_npz(path, arrays, o)
  if type(path) ~= "string" then lpact.fail("save_npz: a file name expected, got " .. type(path)) end
  if type(arrays) ~= "table" then lpact.fail("save_npz: a table of name = Tensor expected, got " .. type(arrays)) end
  o = lpact.check_options(o or {}, { "dtype" }, "save_npz")
  local dtype = check_dtype(o.dtype or "float32", "save_npz")
  local names = {}
  for k, v in pairs(arrays) do
    if type(k) ~= "string" or k == "" or not lpact.is_tensor(v) then
      lpact.fail("save_npz: a table of name = Tensor expected (names are non-empty strings)")
    end
    names[#names + 1] = k
  end
  table.sort(names)
  local parts, centrals, at = {}, {}, 0
  for _, k in ipairs(names) do
    local t = arrays[k]
    local npy = af.npy_header(dtype, t:shape()) .. tensor_bytes(t, dtype, "save_npz " .. path .. " '" .. k .. "'")
    if #npy >= 0xffffffff or at >= 0xffffffff then lpact.fail("save_npz: archives past 4 GB are not written") end
    local member, central = zip_member(k .. ".npy", npy, at)
    parts[#parts + 1] = member
    centrals[#centrals + 1] = central
    at = at + #member
  end
  local cd = table.concat(centrals)
  local eocd = "PK\5\6" .. string.pack("<I2I2I2I2I4I4I2", 0, 0, #names, #names, #cd, at, 0)
  files.write_atomic(path, table.concat(parts) .. cd .. eocd, "the .npz file")
  return path
end

--- load_npz(path) -> arrays (name -> Tensor, the ".npy" dropped), infos
-- (name -> the info load_npy gives). Stored and deflated members
-- (numpy.savez and savez_compressed) are read; every member must be a
-- .npy file.
function interop.load_npz(path)
  local s = read_all(path, ".npz file")
  local members, err = af.zip_index(s)
  if not members then lpact.fail(path .. ": " .. err, 1) end
  local out, infos = {}, {}
  for _, m in ipairs(members) do
    local key = m.name:match("^(.*)%.npy$")
    if not key or key == "" then lpact.fail(string.format("%s: member '%s' is not a .npy file", path, shown(m.name)), 1) end
    local bytes, xerr = af.zip_extract(s, m.index)
    if not bytes then lpact.fail(path .. ": " .. xerr, 1) end
    local info, ierr = af.npy_info(bytes)
    if not info then lpact.fail(string.format("%s: member '%s': %s", path, shown(m.name), ierr), 1) end
    local t, derr = af.decode(bytes, info.pos, info.dtype, info.shape, info.fortran)
    if not t then lpact.fail(string.format("%s: member '%s': %s", path, shown(m.name), derr), 1) end
    info.pos = nil
    out[key], infos[key] = t, info
  end
  return out, infos
end

-- Names -------------------------------------------------------------------

--- lpact's parameter name to PyTorch's: every number in the path minus 1.
function interop.torch_name(name)
  return (name:gsub("%f[%w](%d+)%f[^%w]", function(d) return tostring(tonumber(d) - 1) end))
end

--- PyTorch's parameter name to lpact's: every number in the path plus 1.
function interop.lpact_name(name)
  return (name:gsub("%f[%w](%d+)%f[^%w]", function(d) return tostring(tonumber(d) + 1) end))
end

-- safetensors ---------------------------------------------------------------

--- write_safetensors(path, list [, metadata]): list of {name=, tensor=,
-- dtype= (default float32)} in file order; metadata a table of strings.
-- Header keys are sorted; the header is padded with spaces to 8 bytes.
function interop.write_safetensors(path, list, metadata)
  local header, chunks, at, seen = {}, {}, 0, {}
  for _, e in ipairs(list) do
    if seen[e.name] then lpact.fail(string.format("save_safetensors: two tensors named '%s'", e.name)) end
    seen[e.name] = true
    local dtype = check_dtype(e.dtype or "float32", "save_safetensors")
    local bytes = tensor_bytes(e.tensor, dtype, "save_safetensors tensor '" .. e.name .. "'")
    chunks[#chunks + 1] = bytes
    local st = ({ float32 = "F32", float64 = "F64", int32 = "I32", int64 = "I64", uint8 = "U8", bool = "BOOL" })[dtype]
    header[e.name] = { dtype = st, shape = e.tensor:shape(), data_offsets = { at, at + #bytes } }
    at = at + #bytes
  end
  if metadata and next(metadata) then
    for k, v in pairs(metadata) do
      if type(k) ~= "string" or type(v) ~= "string" then
        lpact.fail("save_safetensors: __metadata__ maps strings to strings")
      end
    end
    header.__metadata__ = metadata
  end
  if next(header) == nil then header = json.object {} end
  local h = json.encode(header)
  h = h .. string.rep(" ", (8 - #h % 8) % 8)
  files.write_atomic(path, string.pack("<I8", #h) .. h .. table.concat(chunks), "the safetensors file")
  return path
end

--- read_safetensors(path) -> entries {name=, dtype=, shape=, tensor=} in
-- header order, and the metadata table (strings).
function interop.read_safetensors(path)
  local s = read_all(path, "safetensors file")
  local entries, meta = af.st_parse(s)
  if not entries then lpact.fail(path .. ": " .. meta, 1) end
  for _, e in ipairs(entries) do
    local t, err = af.decode(s, e.pos, e.dtype, e.shape)
    if not t then lpact.fail(string.format("%s: tensor '%s': %s", path, shown(e.name), err), 1) end
    e.tensor, e.pos = t, nil
  end
  return entries, meta
end

--- load_safetensors(path) -> tensors (name -> Tensor), metadata (name ->
-- string). Names are as in the file (PyTorch's).
function interop.load_safetensors(path)
  local entries, meta = interop.read_safetensors(path)
  local out = {}
  for _, e in ipairs(entries) do out[e.name] = e.tensor end
  return out, meta
end

--- save_npy/load_npy of safetensors-like dicts are not needed: save a
-- dict of tensors with save_tensors(path, {name = Tensor, ...}).
function interop.save_tensors(path, tensors, metadata)
  local names = {}
  for k, v in pairs(tensors) do
    if type(k) ~= "string" or not lpact.is_tensor(v) then lpact.fail("save_tensors: a table of name = Tensor expected") end
    names[#names + 1] = k
  end
  table.sort(names)
  local list = {}
  for i, k in ipairs(names) do list[i] = { name = k, tensor = tensors[k] } end
  return interop.write_safetensors(path, list, metadata)
end

-- Models --------------------------------------------------------------------

-- Options of a quantized activation that the file records (learned levels
-- and scales are parameters: they travel as tensors).
local QACT_KEYS = { "fn", "alpha", "fmt", "in_fmt", "out_fmt", "mode", "levels", "sorted", "level_lr",
  "level_init", "ste", "sr", "sr_seed", "scale", "scale_at", "telemetry", "grad_fmt", "grad_scale" }

local function plain(v)
  if type(v) == "userdata" then return v.spec end
  if type(v) == "table" then
    local out = {}
    for k, x in pairs(v) do out[k] = plain(x) end
    return out
  end
  return v
end

-- The spec of one activation site, as JSON-able data.
local function site_spec(m)
  if m.__name == "QAct" then
    local cfg, out = m.cfg, { kind = "qact" }
    for _, k in ipairs(QACT_KEYS) do out[k] = plain(cfg[k]) end
    out.fn = cfg[1] or cfg.fn or "relu"
    if type(out.fn) == "function" then out.fn = "lua-function" end
    if type(cfg.levels) == "table" then out.levels = "learnable" end
    return out
  end
  if m.__name == "Activation" then return { kind = "activation", name = m.name, alpha = m.alpha } end
  return { kind = "other", describe = m.describe and m:describe() or "?" }
end

--- The model's configuration as recorded in a safetensors file: the zoo
-- constructor and its options, and every activation site's spec.
function interop.model_config(model)
  local sites = {}
  local function walk(m)
    for _, c in ipairs(m._children or {}) do
      if c.module.is_activation then sites[#sites + 1] = site_spec(c.module) else walk(c.module) end
    end
  end
  walk(model)
  local cfg = { engine = lpact.version, sites = sites }
  if model.built then
    local opts, args = {}, {}
    for k, v in pairs(model.built.options or {}) do
      if math.type(k) == "integer" then args[k] = v
      elseif k ~= "act" then opts[k] = plain(v) end
    end
    cfg.model = model.built.name
    cfg.args = args
    cfg.options = next(opts) and opts or json.object {}
  end
  return cfg
end

--- model:save_safetensors(path [, {metadata = {k = "v"}}]): parameters and
-- buffers under PyTorch names, float32, with __metadata__ holding
-- format = "pt" and lpact = the model's configuration as JSON.
function interop.save_model(model, path, o)
  o = lpact.check_options(o or {}, { "metadata" }, "save_safetensors")
  if type(path) ~= "string" then lpact.fail("save_safetensors: a file name expected, got " .. type(path)) end
  local list = {}
  for _, p in ipairs(model:parameters()) do list[#list + 1] = { name = interop.torch_name(p.name), tensor = p.var.data } end
  for _, b in ipairs(model.buffers and model:buffers() or {}) do
    list[#list + 1] = { name = interop.torch_name(b.name), tensor = b.tensor }
  end
  local meta = { format = "pt" }
  for k, v in pairs(o.metadata or {}) do meta[k] = v end
  meta.lpact = json.encode(interop.model_config(model), { nonfinite = "null" })
  return interop.write_safetensors(path, list, meta)
end

--- model:load_state(tensors | path): copies tensors (PyTorch names, as
-- load_safetensors returns them) into the model's parameters and buffers.
-- Every name and shape is checked first; nothing changes unless all match.
-- Tensors for names the model lacks are refused, naming the first.
function interop.load_state(model, tensors, where)
  where = where or "load_state"
  if type(tensors) == "string" then
    where = tensors
    tensors = interop.load_safetensors(tensors)
  end
  if type(tensors) ~= "table" then lpact.fail("load_state: a table of tensors or a file name expected") end
  local plan, used = {}, {}
  local function want(name, dst)
    local tn = interop.torch_name(name)
    local src = tensors[tn]
    if src == nil then lpact.fail(string.format("%s: '%s' is missing (the model's '%s')", where, tn, name), 1) end
    local a, b = table.concat(src:shape(), "x"), table.concat(dst:shape(), "x")
    if a ~= b then lpact.fail(string.format("%s: '%s' has shape %s, the model's %s", where, tn, a, b), 1) end
    used[tn] = true
    plan[#plan + 1] = { dst = dst, src = src }
  end
  for _, p in ipairs(model:parameters()) do want(p.name, p.var.data) end
  for _, b in ipairs(model.buffers and model:buffers() or {}) do want(b.name, b.tensor) end
  local extra = {}
  for k in pairs(tensors) do if not used[k] then extra[#extra + 1] = k end end
  table.sort(extra)
  if #extra > 0 then lpact.fail(string.format("%s: '%s' is not a parameter of the model", where, shown(extra[1])), 1) end
  for _, p in ipairs(plan) do p.dst:copy(p.src) end
  return model
end

-- A factory handing out the recorded site specs in order.
local function site_factory(sites, path)
  local k = 0
  return function()
    k = k + 1
    local s = sites[k]
    if s == nil then lpact.fail(path .. ": the model has more activation sites than the file records", 1) end
    if s.kind == "activation" then return lpact.nn.Activation(s.name, s.alpha) end
    if s.kind ~= "qact" then lpact.fail(string.format("%s: site %d (%s) cannot be rebuilt", path, k, tostring(s.describe)), 1) end
    if s.fn == "lua-function" then lpact.fail(string.format("%s: site %d holds a Lua function; rebuild the model in a script and use load_state", path, k), 1) end
    local cfg = {}
    for _, key in ipairs(QACT_KEYS) do if s[key] ~= nil and s[key] ~= json.null then cfg[key] = s[key] end end
    return lpact.qact.layer(cfg)
  end
end

--- load_model(path) -> model, config: rebuilds a model saved by
-- model:save_safetensors (a model of the zoo, lpact.models) with its
-- activation sites as they were, and loads its tensors.
function interop.load_model(path)
  local tensors, meta = interop.load_safetensors(path)
  if not meta.lpact then lpact.fail(path .. ": no lpact model configuration in __metadata__ (use model:load_state)", 1) end
  local ok, cfg = pcall(json.decode, meta.lpact)
  if not ok or type(cfg) ~= "table" then lpact.fail(path .. ": __metadata__.lpact is not valid JSON", 1) end
  if type(cfg.model) ~= "string" then lpact.fail(path .. ": the model was not built by lpact.models; rebuild it and use load_state", 1) end
  local object_mt = getmetatable(json.object())
  local function shape(field, want_object)
    local v = cfg[field]
    if v == nil then return end
    local is_object = type(v) == "table" and getmetatable(v) == object_mt
    local is_list = type(v) == "table" and getmetatable(v) == nil
    if (want_object and not is_object and not (is_list and #v == 0)) or (not want_object and not is_list) then
      lpact.fail(string.format("%s: __metadata__.lpact: '%s' is not a JSON %s", path, field, want_object and "object" or "list"), 1)
    end
  end
  shape("options", true)
  shape("args", false)
  shape("sites", false)
  for k, s in ipairs(cfg.sites or {}) do
    if type(s) ~= "table" or getmetatable(s) ~= object_mt then
      lpact.fail(string.format("%s: __metadata__.lpact: site %d is not a JSON object", path, k), 1)
    end
  end
  local opts = {}
  for k, v in pairs(cfg.options or {}) do opts[k] = v end
  for i, v in ipairs(cfg.args or {}) do opts[i] = v end
  opts.act = site_factory(cfg.sites or {}, path)
  local model = lpact.models.build(cfg.model, opts)
  interop.load_state(model, tensors, path)
  return model, cfg
end

return interop
