-- Quantizer contracts that a one-line change would break unseen (each was
-- a surviving mutant): the MX "ceil" scale at amax exactly max x 2^k, the
-- delayed-amax history (eval batches stay out, the window holds exactly
-- N batches), and stochastic rounding of input and output on streams of
-- their own, element by element, moving on with every pass. Values worked out by hand from docs/qact.md.
local t = require "lpact.tap"
local qact = require "lpact.qact"
local ag = require "lpact.autograd"
local qcore = lpact.qcore

-- MX ceil: the smallest 2^e with max * 2^e >= amax (e2m1: max 6)
t.is(qcore.mx_scale(6, 6, "ceil"), 1, "ceil: amax = max gives 2^0 (not 2^1)")
t.is(qcore.mx_scale(12, 6, "ceil"), 2, "ceil: amax = 2 max gives 2^1")
t.is(qcore.mx_scale(6 / 8, 6, "ceil"), 1 / 8, "ceil: amax = max / 8 gives 2^-3")
t.is(qcore.mx_scale(6.000001, 6, "ceil"), 2, "ceil: just above max gives 2^1")
t.is(qcore.mx_scale(5.9, 6, "ceil"), 1, "ceil: just below max gives 2^0")
t.is(qcore.mx_scale(7, 6, "floor"), 1, "floor (OCP): 2^(floor(log2 7) - emax 2) = 2^0 (7 then clips to 6)")
t.is(qcore.mx_scale(8, 6, "floor"), 2, "floor: 2^(3 - 2)")
-- relu6 into e2m1 with MX ceil blocks: amax 6 = max, scale 1, values exact
do
  local l = qact.layer { "relu6", fmt = "e2m1", scale = { "mx", block = 4, rule = "ceil" } }
  local x = lpact.tensor { { 6, 1.5, 0.5, 3 }, { 7, 4, 2, 1 } }
  local y = l:forward(ag.var(x)).data
  t.same(y:totable(), { { 6, 1.5, 0.5, 3 }, { 6, 4, 2, 1 } }, "relu6 -> e2m1, MX ceil, amax 6: every value kept exactly (scale 1)")
end

-- delayed amax: {"amax", history = 2, init = 1}; the scale of a batch is
-- the max of init and the previous 2 training batches' amax
do
  local l = qact.layer { "identity", fmt = "e4m3", scale = { "amax", history = 2, init = 1 } }
  local function run(a, training)
    if training then l:train() else l:eval() end
    l:forward(ag.var(lpact.tensor { a, -a / 2 }))
    return l.last_scales[1] * 448     -- si = amax / in_hi (e4m3: 448)
  end
  t.is(run(8, true), 1, "batch 1: no history yet, init 1")
  t.is(run(4, true), 8, "batch 2: history {8}")
  t.is(run(2, true), 8, "batch 3: history {8, 4}")
  t.is(run(100, false), 4, "eval batch: history {4, 2} (the window dropped 8 after 2 batches)")
  t.is(run(1, true), 4, "next training batch: the eval batch (100) did not enter the history")
  t.is(run(1, true), 2, "then {2, 1}: the window is exactly 2 batches long")
end

-- stochastic rounding of input and output: the input uses counters
-- ctr0 + i, the output ctr0 xor 2^63 + i (docs/qact.md), so with equal
-- seeds the two roundings are still independent
do
  local n = 256
  local l = qact.layer { "identity", fmt = "e3m2", out_fmt = "e2m1:sr:seed=9", sr = true, sr_seed = 9 }
  local Fin, Fout = lpact.format "e3m2:sr:seed=9", lpact.format "e2m1:sr:seed=9"
  local x = lpact.rand({ n }, 4, -3, 3)
  local y = l:forward(ag.var(x)).data
  local same, diff_if_shared = 0, 0
  for i = 0, n - 1 do
    local v = Fin:round(x:get(i + 1), i)
    local want = Fout:round(v, math.mininteger + i)
    if y:get(i + 1) == want then same = same + 1 end
    if Fout:round(v, i) ~= want then diff_if_shared = diff_if_shared + 1 end
  end
  t.is(same, n, "every output is Q_out(Q_in(x, ctr0 + i), ctr0 xor 2^63 + i), worked out element by element")
  t.ok(diff_if_shared > 10, "and a shared stream would have given other outputs (" .. diff_if_shared .. " of " .. n .. ")")
end
-- output-only stochastic rounding: each element its own counter (a table
-- of one rounding per input code would reuse one draw for every element),
-- and the counter moves on with every pass
do
  local n = 128
  local l = qact.layer { "identity", fmt = "e3m2", out_fmt = "e2m1:sr:seed=3" }
  local Fin, Fout = lpact.format "e3m2", lpact.format "e2m1:sr:seed=3"
  local x = lpact.rand({ n }, 5, -3, 3)
  for pass = 0, 1 do
    local y = l:forward(ag.var(x)).data
    local same = 0
    for i = 0, n - 1 do
      local want = Fout:round(Fin:round(x:get(i + 1)), math.mininteger + pass * n + i)
      if y:get(i + 1) == want then same = same + 1 end
    end
    t.is(same, n, "output-only SR, pass " .. (pass + 1) .. ": element i rounds with counter 2^63 + " .. (pass * n) .. " + i")
  end
end
t.done()
