-- NumPy .npy files: headers built by hand from the format's description
-- (NEP 1) read back to the right values in every dtype and both orders;
-- lpact's own files round-trip bit for bit; every lie in a header is one
-- line; a refused write leaves no file. Format codes as tensors.
local t = require "lpact.tap"

local dir = t.tmpdir()
local errmsg = t.errmsg
local spit = t.spit
local slurp = t.slurp
local function ls(d)
  local out = {}
  for n in require("lfs").dir(d) do
    if n ~= "." and n ~= ".." then out[#out + 1] = n end
  end
  table.sort(out)
  return out
end

-- A version 1.0 file from its parts: magic, version, u16 header length, dict.
local function npy(dict, data, major)
  major = major or 1
  local head = dict .. "\n"
  if major == 1 then return "\x93NUMPY\1\0" .. string.pack("<I2", #head) .. head .. data end
  return "\x93NUMPY" .. string.char(major, 0) .. string.pack("<I4", #head) .. head .. data
end

-- Every dtype, values packed by hand.
local cases = {
  { "<f4", string.pack("<fff", 1.5, -0.0, 1 / 0), { 1.5, -0.0, math.huge } },
  { "<f8", string.pack("<ddd", 0.1, -2, 3.4028235e38), { 0.100000001490116119384765625, -2, 0x1.fffffep127 } },
  { "<i4", string.pack("<i4i4i4", -7, 0, 16777216), { -7, 0, 16777216 } },
  { "<i8", string.pack("<i8i8i8", -1, 2 ^ 40, 123), { -1, 2 ^ 40, 123 } },
  { "|u1", "\0\127\255", { 0, 127, 255 } },
  { "|b1", "\1\0\1", { 1, 0, 1 } },
}
for _, c in ipairs(cases) do
  local p = dir .. "/c.npy"
  spit(p, npy(string.format("{'descr': '%s', 'fortran_order': False, 'shape': (3,), }", c[1]), c[2]))
  local x, info = lpact.load_npy(p)
  t.same(x:totable(), c[3], c[1] .. ": values read as NumPy wrote them")
  t.same(info.shape, { 3 }, c[1] .. ": shape")
end
-- -0 keeps its sign
local x0 = lpact.load_npy(dir .. "/c.npy")
spit(dir .. "/z.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", string.pack("<f", -0.0)))
t.is(lpact.load_npy(dir .. "/z.npy"):get(1), -0.0, "-0 stays -0")
t.ok(x0 ~= nil, "bool file read")

-- Fortran order: a 2x3 array [[1,2,3],[4,5,6]] is stored column by column.
spit(dir .. "/f.npy", npy("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }",
  string.pack("<i4i4i4i4i4i4", 1, 4, 2, 5, 3, 6)))
local f, finfo = lpact.load_npy(dir .. "/f.npy")
t.same(f:totable(), { { 1, 2, 3 }, { 4, 5, 6 } }, "Fortran order reordered to rows")
t.is(finfo.fortran, true, "info says Fortran")
-- a 2x2x2 in Fortran order: element (i,j,k) at i + 2j + 4k
local fb = {}
for k = 0, 1 do for j = 0, 1 do for i = 0, 1 do fb[#fb + 1] = string.pack("<f", 100 * i + 10 * j + k) end end end
spit(dir .. "/f3.npy", npy("{'fortran_order': True, 'shape': (2,2,2), 'descr': '<f4'}", table.concat(fb)))
local f3 = lpact.load_npy(dir .. "/f3.npy")
t.is(f3:get(2, 1, 2), 101.0, "3-D Fortran element (1,0,1)")
t.is(f3:get(1, 2, 2), 11.0, "3-D Fortran element (0,1,1)")
-- version 2.0 header, scalar shape
spit(dir .. "/v2.npy", npy("{'descr': '<f8', 'fortran_order': False, 'shape': (), }", string.pack("<d", 2.5), 2))
local v2, i2 = lpact.load_npy(dir .. "/v2.npy")
t.is(v2:item(), 2.5, "version 2.0, 0-d array")
t.is(i2.version, "2.0", "version reported")

-- Round trip of lpact's own files, every dtype.
local r = lpact.tensor { { 0.1, -0.0, 3.5e-42 }, { 1 / 0, -1 / 0, 0 / 0 } }
lpact.save_npy(r, dir .. "/r.npy")
local back = lpact.load_npy(dir .. "/r.npy")
t.is(back:hash(), r:hash(), "float32 round trip is bit-exact (subnormal, -0, inf, NaN)")
local bytes = slurp(dir .. "/r.npy")
t.is((#bytes - 24) % 64, 0, "header padded to 64 bytes")
t.like(bytes, "^\x93NUMPY\1\0", "magic and version 1.0")
local ints = lpact.tensor { { -3, 0, 255 }, { 7, 1, 2 } }
for _, dt in ipairs { "float64", "int32", "int64" } do
  lpact.save_npy(ints, dir .. "/i.npy", { dtype = dt })
  local b2, inf = lpact.load_npy(dir .. "/i.npy")
  t.same({ b2:totable(), inf.dtype }, { ints:totable(), dt }, dt .. " round trip")
end
lpact.save_npy(lpact.tensor { 0, 255, 17 }, dir .. "/u.npy", { dtype = "uint8" })
local ub = slurp(dir .. "/u.npy")
t.is((#ub - 3) % 64, 0, "uint8: one byte per element after a 64-byte-aligned header")
t.is(ub:sub(-3), "\0\255\17", "uint8 bytes")

-- Refused writes name the element and leave no file.
os.execute("rm -f " .. dir .. "/*")
t.like(errmsg(lpact.save_npy, lpact.tensor { 1, 0.5 }, dir .. "/w.npy", { dtype = "int32" }),
  "element 1 is 0.5, not a int32 value", "a fraction is not an int32")
t.like(errmsg(lpact.save_npy, lpact.tensor { 256 }, dir .. "/w.npy", { dtype = "uint8" }), "not a uint8 value", "256 is not a uint8")
t.like(errmsg(lpact.save_npy, lpact.tensor { 0 / 0 }, dir .. "/w.npy", { dtype = "int64" }), "not a int64 value", "NaN is not an int64")
t.like(errmsg(lpact.save_npy, lpact.tensor { 2 }, dir .. "/w.npy", { dtype = "bool" }), "not a bool value", "2 is not a bool")
t.like(errmsg(lpact.save_npy, lpact.tensor { 2 }, dir .. "/w.npy", { dtype = "float16" }), "dtype 'float16' is not one of", "unknown dtype named")
t.like(errmsg(lpact.save_npy, lpact.tensor { 2 }, dir .. "/w.npy", { dtyp = "int32" }), "did you mean 'dtype'", "misspelt option")
t.same(ls(dir), {}, "no file left by refused writes")

-- Lies and damage: one line each.
local good = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", string.pack("<ffff", 1, 2, 3, 4))
local bad = {
  { good:sub(1, 4), "truncated: 4 bytes, not even the magic" },
  { "PK\3\4" .. good:sub(5), "not a .npy file" },
  { good:sub(1, 9), "truncated: 9 bytes, the preamble has 10" },
  { "\x93NUMPY\1\0" .. string.pack("<I2", 5000) .. good:sub(11), "header declares 5000 bytes" },
  { "\x93NUMPY\9\0" .. good:sub(9), "unknown .npy version 9.0" },
  { good:sub(1, -2), "truncated: the shape needs 16 bytes of data, the file has 15" },
  { good .. "x", "1 bytes after the data" },
  { npy("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", "\0\0\0\0"), "dtype '>f4' is big%-endian" },
  { npy("{'descr': '<f2', 'fortran_order': False, 'shape': (1,), }", "\0\0"), "dtype '<f2' is not supported" },
  { npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", string.rep("\0", 8)), "dtype '<c8' is not supported" },
  { npy("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", "\0\0\0\0"), "structured record" },
  { npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", ""), "element count overflows" },
  { npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3037000500, 3037000500, 4), }", ""), "element count overflows" },
  { npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1), }", "\0\0\0\0"), "more than 8 dimensions" },
  { npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", ""), "shape holds something other than sizes" },
  { npy("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (1,), }", "\0\0\0\0"), "neither True nor False" },
  { npy("{'descr': '<f4', 'shape': (1,), }", "\0\0\0\0"), "'fortran_order' is missing" },
  { npy("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", "\0\0\0\0"), "'descr' given twice" },
  { npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'extra': 1}", "\0\0\0\0"), "unknown key 'extra'" },
  { npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } junk", "\0\0\0\0"), "unexpected text after the dict" },
  { npy("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", "\1\2"), "bool element 1 holds byte 2" },
  { npy("{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", string.pack("<i8", 16777217)), "16777217, which float32 cannot hold exactly" },
  { npy("{'descr': '<i4', 'fortran_order': False, 'shape': (1,), }", string.pack("<i4", -16777217)), "cannot hold exactly" },
}
for i, c in ipairs(bad) do
  local p = dir .. "/bad" .. i .. ".npy"
  spit(p, c[1])
  local m = errmsg(lpact.load_npy, p)
  t.like(m, c[2], "refused: " .. c[2]:gsub("%%", ""))
  t.ok(not m:find("\n") and m:sub(1, #p) == p, "one line naming the file (" .. i .. ")")
end
t.like(errmsg(lpact.load_npy, dir .. "/none.npy"), "cannot open the .npy file", "missing file")
-- every prefix of a good file is refused, none crashes
local refused = 0
for n = 0, #good - 1 do
  spit(dir .. "/p.npy", good:sub(1, n))
  if not pcall(lpact.load_npy, dir .. "/p.npy") then refused = refused + 1 end
end
t.is(refused, #good, "every truncation of a file is refused")
-- an empty array (a zero in the shape) with an overflowing partner is fine
spit(dir .. "/e.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (0, 5), }", ""))
t.same(lpact.load_npy(dir .. "/e.npy"):shape(), { 0, 5 }, "empty array")

-- Codes of a format as a tensor, and back.
local fp4 = lpact.format "fp4"
local vals = lpact.tensor { 0, 0.5, 1, 1.5, 2, 3, 4, 6, -0.0, -0.5, -1, -1.5, -2, -3, -4, -6 }
local codes = fp4:encode(vals)
local want = {}
for c = 0, 15 do want[c + 1] = c end   -- OCP E2M1: the values above in code order
t.same(codes:totable(), want, "fp4 codes of its 16 values are 0..15 in OCP order")
t.is(fp4:decode(codes):hash(), vals:hash(), "decode(encode(v)) == v bit for bit (-0 included)")
local e4 = lpact.format "e4m3"
local all = {}
for c = 0, 255 do all[c + 1] = c end
local allc = lpact.tensor(all)
local dv = e4:decode(allc)
t.is(dv:get(0x7f + 1) ~= dv:get(0x7f + 1), true, "e4m3 0x7f decodes to NaN")
t.is(dv:get(0x7e + 1), 448.0, "e4m3 0x7e is 448")
local re = e4:encode(dv):totable()
local want_re = { table.unpack(all) }
want_re[256] = 0x7f   -- NaN has one code in E4M3FN's encoder: 0x7f (its sign is not kept)
t.same(re, want_re, "e4m3: encode(decode(c)) == c for all 256 codes but -NaN")
t.like(select(2, fp4:encode(lpact.tensor { 0.3 })), "element 1 %(0.30000001192093%) is not a value of fp4", "a non-value is refused")
t.raises(function() fp4:decode(lpact.tensor { 16 }) end, "not a code of fp4", "code 16 is not an fp4 code")
lpact.save_npy(codes, dir .. "/codes.npy", { dtype = "uint8" })
local cb = slurp(dir .. "/codes.npy")
t.is(cb:sub(-16), string.char(table.unpack(want)), "uint8 .npy holds the codes as bytes")

-- .npz: a zip of .npy members
local xa, xb = lpact.tensor { { 1, -0.0 }, { 0 / 0, 3.5 } }, lpact.tensor { 7, 8, 9 }
lpact.save_npz(dir .. "/a.npz", { alpha = xa, beta = xb })
local z = slurp(dir .. "/a.npz")
t.is(z:sub(1, 4), "PK\3\4", "a zip archive")
t.like(z, "alpha%.npy", "members are name.npy")
local back2 = lpact.load_npz(dir .. "/a.npz")
t.is(back2.alpha:hash(), xa:hash(), "npz round trip, bit for bit (-0, NaN)")
t.same(back2.beta:totable(), { 7, 8, 9 }, "second member")
lpact.save_npz(dir .. "/i.npz", { k = lpact.tensor { 1, 2 } }, { dtype = "int64" })
local _, iz = lpact.load_npz(dir .. "/i.npz")
t.is(iz.k.dtype, "int64", "npz members in another dtype")
-- damage, one line each
local function npz_err(bytes)
  spit(dir .. "/bad.npz", bytes)
  local m = errmsg(lpact.load_npz, dir .. "/bad.npz")
  t.ok(not m:find("\n"), "one line: " .. m)
  return m
end
t.like(npz_err(z:sub(1, 30)), "no end%-of%-central%-directory record", "truncated archive")
local flip = z:gsub("\0\0\96\64", "\0\0\97\64", 1)   -- 3.5 -> 3.53125 in alpha's data
t.like(npz_err(flip), "member 'alpha.npy': CRC%-32 mismatch", "a changed byte fails the CRC")
local cd = z:find("PK\1\2", 1, true)
-- method 12 (bzip2) in the central directory and the local header
local m12 = z:sub(1, 8) .. "\12\0" .. z:sub(11, cd + 9) .. "\12\0" .. z:sub(cd + 12)
t.like(npz_err(m12), "compression method 12", "unknown compression method")
local enc = z:sub(1, cd + 7) .. "\1\0" .. z:sub(cd + 10)
t.like(npz_err(enc), "is encrypted", "encrypted member")
-- the second central entry points at the first member: overlap / mismatch
local cd2 = z:find("PK\1\2", cd + 4, true)
local ov = z:sub(1, cd2 + 41) .. string.pack("<I4", 0) .. z:sub(cd2 + 46)
t.like(npz_err(ov), "local header does not match", "a central entry pointing at another member")
local lie = z:sub(1, cd + 19) .. string.pack("<I4I4", 1 << 30, 1 << 30) .. z:sub(cd + 28)
t.like(npz_err(lie), "1073741824 bytes at 39 run past the members' area", "sizes past the file")
spit(dir .. "/n.zip", "")
t.like(npz_err(""), "not a zip archive", "empty file")
lpact.save_npy(xb, dir .. "/plain.npy")
t.like(npz_err(slurp(dir .. "/plain.npy")), "not a zip archive", "a .npy is not an .npz")

os.execute("rm -rf " .. dir)
t.done()
