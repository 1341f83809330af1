-- safetensors: files laid out by hand from the format's description read
-- back; a quantized model with learned levels round-trips through
-- save_safetensors / load_model bit for bit; PyTorch names; every lie in
-- a header (length, JSON, schema, dtype, shape, offsets) is one line.
local t = require "lpact.tap"
local json = require "lpact.json"

local dir = t.tmpdir()
local errmsg = t.errmsg
local spit = t.spit
local slurp = t.slurp
local function st(header, data) return string.pack("<I8", #header) .. header .. data end

-- A file by hand: a (2,) F32 and a (1,2) I64, in reverse order in the data.
local data = string.pack("<i8i8", -5, 9) .. string.pack("<ff", 0.25, -0.0)
local h = '{"b":{"dtype":"I64","shape":[1,2],"data_offsets":[0,16]},' ..
  '"a":{"dtype":"F32","shape":[2],"data_offsets":[16,24]},"__metadata__":{"k":"v\\u00e9"}}'
spit(dir .. "/h.safetensors", st(h, data))
local ts, meta = lpact.load_safetensors(dir .. "/h.safetensors")
t.same(ts.a:totable(), { 0.25, -0.0 }, "F32 tensor read")
t.is(ts.a:get(2), -0.0, "-0 kept")
t.same(ts.b:totable(), { { -5, 9 } }, "I64 tensor read")
t.is(meta.k, "v\u{e9}", "metadata string with a \\u escape")

-- Names: lpact's Sequential counts from 1, PyTorch's from 0.
local io_ = require "lpact.interop"
t.is(io_.torch_name("2.weight"), "1.weight", "2.weight -> 1.weight")
t.is(io_.torch_name("5.body.1.weight"), "4.body.0.weight", "nested numbers")
t.is(io_.lpact_name("10.bias"), "11.bias", "back")

-- A quantized MLP with learned levels, trained a few steps, round trip.
local act = lpact.qact { "relu", fmt = "fp4", levels = "learnable", scale = { fixed = 0.5 } }
local m = lpact.models.mlp { 12, 8, 3, act = act, seed = 7 }
local opt = lpact.optim.Adam(m:parameters(), { lr = 0.05 })
local x = lpact.randn({ 16, 12 }, 3)
local y = lpact.tensor { 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0 }
for _ = 1, 5 do
  opt:zero_grad()
  local loss = lpact.autograd.cross_entropy(m:forward(x), y)
  loss:backward()
  opt:step()
end
local lv = lpact.qact.layers(m)[1]:levels()
local orig = lpact.format("fp4"):values()
local moved = false
for i = 1, #lv do moved = moved or lv[i] ~= lpact.format("fp4"):decode(i - 1) end
t.ok(moved, "the levels moved in training (the test saves learned levels)")
t.ok(#orig > 0, "fp4 values")
m:eval()
local want = m:forward(x).data:clone()
local path = dir .. "/m.safetensors"
m:save_safetensors(path)
local tens, md = lpact.load_safetensors(path)
local names = {}
for k in pairs(tens) do names[#names + 1] = k end
table.sort(names)
t.same(names, { "1.bias", "1.weight", "2.levels", "3.bias", "3.weight" }, "PyTorch-style names, levels included")
t.is(md.format, "pt", "metadata format = pt")
local cfg = json.decode(md.lpact)
t.is(cfg.model, "mlp", "config names the model")
t.same(cfg.args, { 12, 8, 3 }, "config holds the sizes")
t.is(cfg.sites[1].fmt, "fp4", "site format recorded")
t.is(cfg.sites[1].levels, "learnable", "site levels recorded")
local m2 = lpact.load_model(path)
m2:eval()
t.is(m2:forward(x).hash and m2:forward(x):hash() or m2:forward(x).data:hash(), want:hash(), "rebuilt model: same logits bit for bit")
t.same(lpact.qact.layers(m2)[1]:levels(), lv, "learned levels restored")
-- load_state into a fresh model of the same shape
local m3 = lpact.models.mlp { 12, 8, 3, act = act, seed = 99 }
m3:load_state(path)
m3:eval()
local o3 = m3:forward(x)
t.is((o3.data or o3):hash(), want:hash(), "load_state(path) into a fresh model")
-- mismatches leave the model untouched
local m4 = lpact.models.mlp { 12, 9, 3, act = act, seed = 5 }
local before = m4:parameters()[1].var.data:hash()
t.like(errmsg(m4.load_state, m4, path), "'1.weight' has shape 8x12, the model's 9x12", "shape mismatch named")
t.is(m4:parameters()[1].var.data:hash(), before, "nothing changed on refusal")
local m5 = lpact.models.mlp { 12, 8, 3, seed = 5 }
t.like(errmsg(m5.load_state, m5, path), "'2.levels' is not a parameter of the model", "extra tensor named")
tens["1.bias"] = nil
t.like(errmsg(m3.load_state, m3, tens), "'1.bias' is missing", "missing tensor named")

-- Lies: one line each, naming the file.
local ok_h = '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
local d8 = string.pack("<ff", 1, 2)
local bad = {
  { "\1\2\3", "truncated: 3 bytes" },
  { string.pack("<I8", 1000) .. ok_h .. d8, "header declares 1000 bytes" },
  { string.pack("<I8", 1 << 40) .. ok_h, "over the 100 MB limit" },
  { st("[1,2]", ""), "not a safetensors file" },
  { st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}', d8), "ends early" },
  { st('{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}', "\0\0\0\0"), "dtype 'F16' is not supported" },
  { st('{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}', d8), "not an integer" },
  { st('{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', d8), "non%-negative integer" },
  { st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}', d8), "unknown field 'x'" },
  { st('{"a":{"dtype":"F32","shape":[2]}}', d8), "'data_offsets' is missing" },
  { st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[0],"data_offsets":[8,8]}}', d8), "tensor 'a' given twice" },
  { st('{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', d8), "need 12 bytes, data_offsets span 8" },
  { st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,16]}}', d8), "run past the data section" },
  { st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', d8), "overlap" },
  { st('{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}', d8), "gap of 4 bytes" },
  { st(ok_h, d8 .. "xx"), "2 bytes after the last tensor" },
  { st('{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}', d8), "element count overflows" },
  { st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}', d8), "run backwards" },
  { st('{"__metadata__":{"k":1},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', d8), "a string expected for a __metadata__ value" },
  { st('{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}} x', d8), "unexpected bytes after the object" },
  { st('{"a\\ud800":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}', d8), "lone surrogate" },
  { st('{"a":{"dtype":"BOOL","shape":[1],"data_offsets":[0,1]}}', "\3"), "bool element 0 holds byte 3" },
}
for i, c in ipairs(bad) do
  local p = dir .. "/bad" .. i .. ".safetensors"
  spit(p, c[1])
  local msg = errmsg(lpact.load_safetensors, p)
  t.like(msg, c[2], "refused: " .. c[2]:gsub("%%", ""))
  t.ok(not msg:find("\n") and msg:sub(1, #p) == p, "one line naming the file (" .. i .. ")")
end
local good = slurp(path)
local refused = 0
for n = 0, #good - 1, 7 do
  spit(dir .. "/p.safetensors", good:sub(1, n))
  if not pcall(lpact.load_safetensors, dir .. "/p.safetensors") then refused = refused + 1 end
end
t.is(refused, (#good - 1) // 7 + 1, "truncations refused")
-- A refused write leaves no file: a tensor that is not a module's
local okw, _ = pcall(io_.write_safetensors, dir .. "/w.safetensors", { { name = "q", tensor = lpact.tensor { 0.5 }, dtype = "int32" } })
t.ok(not okw and slurp(dir .. "/w.safetensors") == nil, "refused write leaves no file")
os.execute("rm -rf " .. dir)
t.done()
