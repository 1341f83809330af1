-- LUT export: every table written (json, c, hex, npy) reads back, and on
-- every input code — and on random inputs through code_in(Q_in(x / s)) —
-- table inference equals the layer's own forward pass bit for bit; a
-- Verilog ROM loaded with $readmemh and simulated by Icarus Verilog gives
-- lpact's output codes for every input code; `lpact export` writes every
-- site's tables; refusals are one line and leave no file.
local t = require "lpact.tap"
local lut = require "lpact.lut"

local B = os.getenv("LPACT_BUILD") or "build"
local dir = t.tmpdir()
local errmsg = t.errmsg
local function bits(v) return string.unpack("<I4", string.pack("<f", v)) end
local function same(a, b) return (a ~= a and b ~= b) or bits(a) == bits(b) end
local function ls(d)
  local out = {}
  for n in require("lfs").dir(d) do
    if n ~= "." and n ~= ".." then out[#out + 1] = n end
  end
  table.sort(out)
  return out
end

-- A layer trained for a few steps, so learned levels differ from the format's.
local function trained(cfg)
  local layer = lpact.qact.layer(cfg)
  local opt = lpact.optim.Adam(layer:parameters(), { lr = 0.05 })
  local x = lpact.randn({ 64 }, 11)
  for _ = 1, 5 do
    opt:zero_grad()
    local y = layer:forward(lpact.autograd.param(x))
    local d = y - x:tanh()
    local loss = lpact.autograd.sum(d * d)
    loss:backward()
    opt:step()
  end
  return layer
end

local layers = {
  { "gelu fp4 lut", lpact.qact.layer { "gelu", fmt = "fp4", mode = "lut" } },
  { "relu e4m3 emulate, scale 1/4", lpact.qact.layer { "relu", fmt = "e4m3", scale = { fixed = 0.25 } } },
  { "tanh e2m3 ops", lpact.qact.layer { "tanh", fmt = "e2m3", mode = "ops" } },
  { "silu float8_e4m3fnuz lut", lpact.qact.layer { "silu", fmt = "float8_e4m3fnuz", mode = "lut" } },
  { "sigmoid fp6 lut, learned levels", trained { "sigmoid", fmt = "fp6", mode = "lut", levels = "learnable" } },
  { "elu fp4 emulate, learned levels", trained { "elu", fmt = "fp4", levels = "learnable" } },
}

for _, case in ipairs(layers) do
  local name, layer = case[1], case[2]
  layer:eval()
  local tab = lut.table(layer)
  local fin, fout, si, so = layer.fin, layer.fout, tab.in_scale, tab.out_scale
  -- the layer's forward on every input code's value, and on random inputs
  local n = #tab.entries
  local xs = {}
  for c = 0, n - 1 do xs[c + 1] = si * fin:decode(c) end
  local ygrid = layer:forward(lpact.tensor(xs))
  ygrid = (ygrid.data or ygrid):totable()
  local rx = lpact.randn({ 2000 }, 3):mul(fin.max * si / 2)
  local ry = layer:forward(rx)
  ry = (ry.data or ry):totable()
  rx = rx:totable()
  for _, fmt in ipairs(lut.FORMATS) do
    local path = string.format("%s/t.%s", dir, fmt)
    layer:export_lut(path, { format = fmt })
    local loaded = lut.load(path)
    t.is(#loaded.words, n, name .. " " .. fmt .. ": one word per input code")
    t.is(loaded.word, tab.word, name .. " " .. fmt .. ": word kind " .. tab.word)
    local bad = 0
    for c = 0, n - 1 do
      if not same(lut.value(loaded, c, fout, so), ygrid[c + 1]) then
        bad = bad + 1
        if bad == 1 then t.diag(string.format("code %d: table %a, forward %a", c, lut.value(loaded, c, fout, so), ygrid[c + 1])) end
      end
    end
    t.is(bad, 0, name .. " " .. fmt .. ": table == forward on all " .. n .. " input codes")
    bad = 0
    for i, x in ipairs(rx) do
      local c = fin:encode(fin:round(x / si))
      if not same(lut.value(loaded, c, fout, so), ry[i]) then bad = bad + 1 end
    end
    t.is(bad, 0, name .. " " .. fmt .. ": table inference == forward on 2000 random inputs")
  end
end
t.is(lut.table(layers[5][2]).word, "value", "learned lut levels: the ROM holds float32 values")
t.is(lut.table(layers[1][2]).word, "code", "fixed levels: the ROM holds output codes")
t.is(lut.table(layers[4][2]).entries[0x80 + 1].out_code, 0x80, "fnuz: the NaN input code maps to the NaN output code 0x80")

-- The C file is valid C: compile it with a main that prints the table.
if os.execute("command -v cc >/dev/null 2>&1") then
  layers[2][2]:export_lut(dir .. "/relu8.c")
  local f = assert(io.open(dir .. "/main.c", "w"))
  f:write('#include <stdio.h>\n#include "relu8.c"\nint main(void) { for (int i = 0; i < 256; i++) printf("%u\\n", (unsigned)relu8[i]); return 0; }\n')
  f:close()
  local okc = os.execute(string.format("cc -std=c11 -Wall -Werror -o %s/main %s/main.c", dir, dir))
  t.ok(okc, "the exported C table compiles with -Wall -Werror")
  local p = io.popen(dir .. "/main")
  local got = {}
  for l in p:lines() do got[#got + 1] = tonumber(l) end
  p:close()
  local tab = lut.table(layers[2][2])
  local want = {}
  for i, e in ipairs(tab.entries) do want[i] = e.out_code end
  t.same(got, want, "the compiled C table holds lpact's output codes")
else
  t.skip(2, "no C compiler")
end

-- Icarus Verilog: a ROM loaded by $readmemh, driven through every input code.
local have_iverilog = os.execute("command -v iverilog >/dev/null 2>&1 && command -v vvp >/dev/null 2>&1")
local function verilog(layer, label)
  local tab = lut.table(layer)
  local n, w = #tab.entries, tab.word_bits
  local abits = math.floor(math.log(n, 2) + 0.5)
  layer:export_lut(dir .. "/rom.hex", { format = "hex" })
  local v = assert(io.open(dir .. "/rom.v", "w"))
  v:write(string.format([[
// A LUT activation as hardware holds it: a ROM indexed by the input code.
module act_rom #(parameter W = %d, A = %d) (input [A-1:0] code_in, output [W-1:0] code_out);
  reg [W-1:0] rom [0:(1<<A)-1];
  initial $readmemh("%s/rom.hex", rom);
  assign code_out = rom[code_in];
endmodule

module tb;
  reg [%d:0] c;
  wire [%d:0] y;
  act_rom dut (.code_in(c[%d:0]), .code_out(y));
  initial begin
    for (c = 0; c < %d; c = c + 1) begin
      #1 $display("%%0d %%0d", c, y);
    end
    $finish;
  end
endmodule
]], w, abits, dir, abits, w - 1, abits - 1, n))
  v:close()
  local okc = os.execute(string.format("iverilog -o %s/sim %s/rom.v 2>%s/iv.err", dir, dir, dir))
  t.ok(okc, label .. ": iverilog compiles the ROM")
  local p = io.popen(string.format("vvp -n %s/sim 2>&1", dir))
  local got, seen = {}, 0
  for line in p:lines() do
    local a, d = line:match("^(%d+) (%d+)$")
    if a then got[tonumber(a)] = tonumber(d); seen = seen + 1 end
  end
  p:close()
  t.is(seen, n, label .. ": the simulation visits every input code")
  local bad = 0
  for c = 0, n - 1 do
    local want = tab.entries[c + 1].out_code
    -- lpact's output code: the code of the layer's own output
    local y = layer:forward(lpact.tensor { tab.in_scale * layer.fin:decode(c) })
    y = (y.data or y):get(1)
    local own = layer.fout:encode(y / tab.out_scale)
    if got[c] ~= want or got[c] ~= own then
      bad = bad + 1
      if bad == 1 then t.diag(string.format("code %d: rom %s, table %s, layer %s", c, tostring(got[c]), tostring(want), tostring(own))) end
    end
  end
  t.is(bad, 0, label .. ": the simulated ROM's outputs equal lpact's codes on every input code")
end
if have_iverilog then
  verilog(layers[2][2], "relu e4m3 (256 codes)")
  verilog(layers[1][2], "gelu fp4 (16 codes)")
  verilog(layers[4][2], "silu e4m3fnuz (256 codes, NaN code 0x80)")
else
  t.skip(12, "iverilog is not installed (apt-get install iverilog)")
end

-- Refusals: one line, no file.
os.execute("rm -rf " .. dir .. "/*")
t.like(errmsg(lut.export, lpact.nn.Activation("relu"), dir .. "/x.hex"), "is not a quantized activation", "plain activation")
t.like(errmsg(lut.export, lpact.qact.layer { "relu" }, dir .. "/x.hex"), "not quantized at its input", "fp32 qact")
-- the method too: a plain layer has export_lut, and it refuses in one line
local plain = lpact.nn.Activation("relu")
t.like(errmsg(plain.export_lut, plain, dir .. "/x.hex"), "^export_lut: [^\n]*is not a quantized activation %(lpact.qact%)$", "plain activation's method: one line")
local lin = lpact.nn.Linear(2, 2)
t.like(errmsg(lin.export_lut, lin, dir .. "/x.hex"), "^export_lut: [^\n]*is not a quantized activation", "a Linear layer: one line")
t.like(errmsg(lut.export, lpact.qact.layer { "relu", fmt = "fp4", scale = "amax" }, dir .. "/x.hex"),
  "'amax' scale, which changes with the data", "amax scale")
t.like(errmsg(layers[1][2].export_lut, layers[1][2], dir .. "/x.bin", { format = "bin" }), "format 'bin' is not one of json, c, hex, npy", "unknown format")
t.like(errmsg(layers[1][2].export_lut, layers[1][2], dir .. "/x.hex", { fromat = "hex" }), "did you mean 'format'", "misspelt option")
t.like(errmsg(layers[1][2].export_lut, layers[1][2], dir .. "/nodir/x.hex"), "cannot write", "unwritable path")
t.same(ls(dir), {}, "no file left by refused exports")

-- lpact export MODEL.safetensors DIR
local act = lpact.qact { "relu", fmt = "fp4", levels = "learnable" }
local m = lpact.models.mlp { 6, 5, 4, 3, act = act, seed = 2 }
lpact.qact.layers(m)[2]._lv.data:set(3, 0.75)   -- a learned level
m:save_safetensors(dir .. "/m.safetensors")
local out = t.run(string.format("%s/lpact export %s/m.safetensors %s/tables 2>&1", B, dir, dir))
t.like(out, "site1%.hex", "export lists what it wrote")
for k = 1, 2 do
  for _, fmt in ipairs(lut.FORMATS) do
    local f = io.open(string.format("%s/tables/site%d.%s", dir, k, fmt))
    t.ok(f ~= nil, string.format("site%d.%s written", k, fmt))
    if f then f:close() end
  end
end
local back = lut.load(dir .. "/tables/site2.json")
local m2 = lpact.load_model(dir .. "/m.safetensors")
local l2 = lpact.qact.layers(m2)[2]
local tab2 = lut.table(l2)
local same_all = #back.words == #tab2.entries
for c = 0, #tab2.entries - 1 do
  same_all = same_all and same(lut.value(back, c, l2.fout, 1), tab2.entries[c + 1].out_value)
end
t.ok(same_all, "site2.json holds the reloaded model's table, learned level included")
t.is(back.header.levels, "learned", "header says the levels are learned")
local o2 = t.run(string.format("%s/lpact export %s/none.safetensors %s/t2 2>&1; echo status=$?", B, dir, dir))
t.like(o2, "^lpact: [^\n]*none%.safetensors: cannot open[^\n]*\nstatus=1", "missing model: one line, status 1")
local fm = lpact.models.mlp { 4, 3, 2, seed = 1 }
fm:save_safetensors(dir .. "/fp32.safetensors")
local o3 = t.run(string.format("%s/lpact export %s/fp32.safetensors %s/t3 2>&1; echo status=$?", B, dir, dir))
t.like(o3, "no quantized activation to tabulate[^\n]*\nstatus=1", "a model without quantized activations: one line")
t.ok(not lpact.io.isdir(dir .. "/t3"), "nothing created for it")
os.execute("rm -rf " .. dir)
t.done()
