-- lpact.kernels.winograd([on]) and LPACT_WINOGRAD=0: 3x3 convolutions by
-- the direct sums instead of Winograd's F(2x2, 3x3) (for a study that
-- wants the direct sum's accuracy on inputs of many scales). Off, a
-- Winograd shape is no longer taken (kernels.conv2d_winograd), its
-- forward and gradients change bits and stay within 1e-5 of double, on
-- again gives the first bits back; sweep ids record the choice (another
-- id off, the same id on); the environment variable starts it off; a
-- non-boolean argument is one error.
local t = require "lpact.tap"
local K = lpact.kernels
local B = os.getenv("LPACT_BUILD") or "build"
local LP = B .. "/lpact"

local x = lpact.rand({ 3, 16, 7, 6 }, 11) - 0.5
local w = lpact.rand({ 20, 16, 3, 3 }, 12) - 0.5
local b = lpact.rand({ 20 }, 13)
local dy = lpact.rand({ 3, 20, 7, 6 }, 14) - 0.5

t.is(K.winograd(), os.getenv("LPACT_WINOGRAD") ~= "0", "on unless LPACT_WINOGRAD=0")
K.winograd(true)

local function run()
  local y, work = K.conv2d(x, w, b, 1, 1)
  local dx, dw = K.conv2d_backward(dy, x, w, 1, 1, true, true, false, work)
  return y, dx, dw
end

local function same(a, b_) return (a - b_):abs():max() == 0 and a:all_finite() == b_:all_finite() end

-- the largest |got - exact| / sum |terms| of the forward, in doubles
local function fwd_err(y)
  local N, C, H, W = table.unpack(x:shape())
  local O = w:size(1)
  local xt, wt, yt = x:totable(), w:totable(), y:totable()
  local worst = 0
  for n = 1, N do for o = 1, O do for i = 1, H do for j = 1, W do
    local s, m = b:get(o), math.abs(b:get(o))
    for c = 1, C do for a = 1, 3 do for e = 1, 3 do
      local ii, jj = i + a - 2, j + e - 2
      if ii >= 1 and ii <= H and jj >= 1 and jj <= W then
        local v = wt[o][c][a][e] * xt[n][c][ii][jj]
        s, m = s + v, m + math.abs(v)
      end
    end end end
    worst = math.max(worst, math.abs(yt[n][o][i][j] - s) / m)
  end end end end
  return worst
end

if not K.conv2d_winograd(x, w, 1, 1) then
  t.skip(6, "this machine runs no convolution by Winograd's kernels (no AVX-512F)")
else
  local y1, dx1, dw1 = run()
  t.is(K.winograd(false), true, "winograd(false) returns the setting before")
  t.is(K.conv2d_winograd(x, w, 1, 1), false, "off: the shape is no longer taken")
  local y0, dx0, dw0 = run()
  t.ok(not same(y0, y1) and not same(dx0, dx1) and not same(dw0, dw1),
    "off: forward, input and weight gradients in other bits")
  t.ok(fwd_err(y0) < 1e-5 and fwd_err(y1) < 1e-5, "both within 1e-5 of the double sum")
  t.is(K.winograd(true), false, "winograd(true) returns false while off")
  local y2, dx2, dw2 = run()
  t.ok(same(y2, y1) and same(dx2, dx1) and same(dw2, dw1), "on again: the first bits")
end

-- sweep ids
do
  local sweep = lpact.sweep
  local cfg = { model = "cnn_small", lr = 1e-3, batch = 64, epochs = 1, seed = 1 }
  local id_on = sweep.cell({ "cnn_small" }, cfg).id
  K.winograd(false)
  local id_off = sweep.cell({ "cnn_small" }, cfg).id
  K.winograd(true)
  t.ok(id_off ~= id_on, "a sweep cell computed with the direct sums has another id")
  t.is(sweep.cell({ "cnn_small" }, cfg).id, id_on, "on again: the same id as before")
end

-- the environment and bad arguments
do
  local out = t.run("LPACT_WINOGRAD=0 " .. LP .. " -e 'print(lpact.kernels.winograd())'")
  t.is(out, "false\n", "LPACT_WINOGRAD=0 starts it off")
  out = t.run("LPACT_WINOGRAD=1 " .. LP .. " -e 'print(lpact.kernels.winograd())'")
  t.is(out, "true\n", "LPACT_WINOGRAD=1 leaves it on")
  t.like(t.errmsg(K.winograd, 1), "boolean expected", "a number is refused in one error")
  t.is(K.winograd(), true, "and changes nothing")
end

t.done()
