-- Dropout's two contracts that a wrong line would break unseen: identity
-- after model:eval() (through a whole model, and back on with train()),
-- and a fresh mask on every call (a Dropout that reused one mask would
-- drop the same units for every batch).
local t = require "lpact.tap"
local nn = require "lpact.nn"
local ag = require "lpact.autograd"

local x = lpact.ones { 4, 256 }
local d = nn.Dropout(0.5, { seed = 11 })
local function zeros_of(y)
  local n = 0
  for _, r in ipairs((y.data or y):totable()) do for _, v in ipairs(r) do if v == 0 then n = n + 1 end end end
  return n
end
local y1 = d:forward(ag.var(x))
local z1 = zeros_of(y1)
-- 1024 draws with p = 0.5: 512 expected, sd 16; 400..624 is 7 sd
t.ok(z1 > 400 and z1 < 624, "training: about half dropped (" .. z1 .. " of 1024)")
local kept = (y1.data or y1):max()
t.is(kept, 2, "kept elements scaled by 1/(1-p) = 2")
local y2 = d:forward(ag.var(x))
local same = 0
local a, b = (y1.data or y1):totable(), (y2.data or y2):totable()
for i = 1, 4 do for j = 1, 256 do if (a[i][j] == 0) == (b[i][j] == 0) then same = same + 1 end end end
-- independent masks agree on about half the positions (512, sd 16); one reused mask on all 1024
t.ok(same < 624, "a second call draws a new mask (" .. same .. " of 1024 positions agree)")

local m = nn.Sequential { nn.Linear(256, 256, { seed = 1 }), nn.Dropout(0.5, { seed = 3 }) }
m:eval()
local e1, e2 = m:forward(ag.var(x)), m:forward(ag.var(x))
local lin = m:get(1):forward(ag.var(x))
t.is(((e1.data or e1) - (lin.data or lin)):abs():max(), 0, "eval: the model's Dropout is the identity")
t.is(((e1.data or e1) - (e2.data or e2)):abs():max(), 0, "eval: two calls agree")
t.ok(m:get(2).training == false, "eval() reached the Dropout child")
m:train()
local tr = m:forward(ag.var(x))
t.ok(zeros_of(tr) > 400, "train() turns it back on")

-- the same seed repeats the same sequence of masks
local d1, d2 = nn.Dropout(0.3, { seed = 5 }), nn.Dropout(0.3, { seed = 5 })
d1:forward(ag.var(x)); d2:forward(ag.var(x))
t.is((d1:forward(ag.var(x)).data - d2:forward(ag.var(x)).data):abs():max(), 0, "same seed, same second mask")
t.done()
