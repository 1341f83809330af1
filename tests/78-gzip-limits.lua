-- Compressed IDX files: a stream whose trailer (CRC-32 and length) is cut
-- off is refused — the data alone would load without the CRC check — and
-- data following what the header declares is refused after at most 1 MiB
-- of it is decompressed (a 1000:1 stream is not expanded to the end).
local t = require "lpact.tap"
local io_, data = lpact.io, lpact.data

local dir = t.tmpdir()
local errmsg = t.errmsg
local slurp = t.slurp
local spit = t.spit

-- (2, 2) u8 images 1, 2, 3, 4
local body = string.pack(">I1I1I1I1I4I4", 0, 0, 8, 2, 2, 2) .. "\1\2\3\4"
local good = dir .. "/good.idx.gz"
io_.write_gz(good, body)
t.same(data.idx(good):totable(), { { 1, 2 }, { 3, 4 } }, "a whole gzip IDX file loads")
local gz = slurp(good)

-- the 8-byte trailer (CRC-32, length) cut in part or whole: the data are all there
for _, cut in ipairs { 8, 4, 1 } do
  local p = dir .. "/cut" .. cut .. ".idx.gz"
  spit(p, gz:sub(1, #gz - cut))
  t.like(errmsg(data.idx, p), "cut" .. cut .. "%.idx%.gz: truncated gzip stream: it ends without its trailer, so its CRC%-32 cannot be checked",
    "trailer cut by " .. cut .. " bytes: refused")
end
-- a wrong CRC in the trailer
local p = dir .. "/crc.idx.gz"
spit(p, gz:sub(1, #gz - 8) .. string.char((gz:byte(#gz - 7) + 1) % 256) .. gz:sub(#gz - 6))
t.like(errmsg(data.idx, p), "crc%.idx%.gz: corrupt gzip data %(incorrect data check%)", "a wrong CRC-32 is refused")

-- 4 bytes of data then 20 MB of zeros, compressed about 1000:1: refused
-- once more than 1 MiB has come out
p = dir .. "/bomb.idx.gz"
io_.write_gz(p, body .. string.rep("\0", 20 * 1024 * 1024))
t.ok(#slurp(p) < 100000, "the bomb is small on disk (" .. #slurp(p) .. " bytes)")
t.like(errmsg(data.idx, p), "bomb%.idx%.gz: wrong size: more than 1048576 bytes follow the 2x2 = 4 bytes of data",
  "20 MB after the declared data: refused after 1 MiB")
-- a few extra bytes are counted exactly
p = dir .. "/extra.idx.gz"
io_.write_gz(p, body .. "\0\0\0")
t.like(errmsg(data.idx, p), "wrong size: 3 bytes follow", "3 extra bytes are counted")

os.execute("rm -rf " .. dir)
t.done()
