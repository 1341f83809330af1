--- lpact.lm — training and evaluating character-level language models
-- (lpact.models.gpt) on a token stream from lpact.data.text.
--
--     local ds = lpact.data.text{}                     -- Debian's fortunes
--     local m = lpact.models.gpt{vocab = ds.vocab, alphabet = ds.alphabet}
--     local h = lpact.lm.fit{model = m, data = ds, steps = 1000}
--     print(h.val_loss / math.log(2), "bits/char")
--     print(m:generate("Q: ", 200, {temperature = 0.8}))
--
-- A step draws B windows of T + 1 tokens at seeded random places of the
-- training stream (data.text_batch: the same windows for the same seed
-- and step); the optimizer is AdamW with a linear warm-up and a cosine
-- decay, gradients clipped to a global norm. Validation covers the whole
-- validation stream in non-overlapping windows.

local ag = require "lpact.autograd"
local data = require "lpact.data"
local optim = require "lpact.optim"
local S = require "lpact.schedule"
local engine = lpact.engine

local lm = {}

--- The revision of the language-model kernels' arithmetic (attention,
-- embedding, norms and the float32 exp of the softmax): part of the record
-- ids scripts/lm.lua writes, so that a grid resumed after a change in these
-- kernels trains again instead of reusing a record of the old numbers.
-- 2: the hand-written attention (lp_xexpf in the softmax, 16 fixed partial
-- sums in its row sums).
lm.NUMERICS = 2

--- Mean cross-entropy (nats per token) and next-token accuracy of model
-- on a token stream ids, over non-overlapping windows of the model's
-- context (batch B, default 32; max_batches to stop early). Eval mode, no
-- graph; the model's mode is restored.
function lm.evaluate(model, ids, o)
  o = lpact.check_options(o or {}, { "batch", "max_batches", "ctx" }, "lm.evaluate")
  local B, T = o.batch or 32, o.ctx or model.ctx
  local was = model.training
  model:eval()
  local total, correct, n, b = 0, 0, 0, 0
  local ok, err = pcall(ag.no_grad, function()
    for x, y in data.text_windows(ids, B, T) do
      b = b + 1
      if o.max_batches and b > o.max_batches then break end
      local logits = model:forward(x)
      local yy = y:reshape { y:numel() }
      local l = ag.cross_entropy(logits, yy)
      total = total + l.data:item() * yy:numel()
      correct = correct + lpact.count_correct(logits.data, yy)
      n = n + yy:numel()
      logits, l = nil, nil
      collectgarbage()
    end
  end)
  model:train(was ~= false)
  if not ok then error(err, 0) end
  return total / n, correct / n, n
end

local FIT = { "model", "data", "steps", "batch", "lr", "warmup", "min_lr", "weight_decay", "clip", "seed",
  "eval_every", "eval_batches", "verbose", "on_step", "optimizer" }

--- Trains model on data (lpact.data.text's table). Options: steps (1000),
-- batch (32), lr (3e-3), warmup (steps of linear warm-up, default steps /
-- 20), min_lr (lr / 10 at the end of the cosine), weight_decay (0.01,
-- AdamW), clip (1.0; false for none), seed (1: the batches' windows),
-- eval_every (steps between validation passes on eval_batches batches, 0:
-- none), verbose (true), on_step(info) (returning false stops).
-- Returns {losses = {per step}, evals = {{step =, val_loss =}}, val_loss =,
-- val_acc =, val_tokens =, tokens =, seconds =, train_seconds =,
-- tokens_per_s =, interrupted =}. Ctrl-C stops after the current step.
function lm.fit(o)
  lpact.check_options(o, FIT, "lm.fit", { epochs = "steps", batch_size = "batch" })
  local model, ds = o.model, o.data
  if type(model) ~= "table" or not model.loss then lpact.fail("lm.fit: 'model' (lpact.models.gpt) is required") end
  if type(ds) ~= "table" or not lpact.is_tensor(ds.train) then lpact.fail("lm.fit: 'data' (lpact.data.text's table) is required") end
  if ds.vocab > model.vocab then
    lpact.fail(string.format("lm.fit: the text has %d distinct tokens, the model only %d", ds.vocab, model.vocab))
  end
  local steps, B, T = o.steps or 1000, o.batch or 32, model.ctx
  local lr = o.lr or 3e-3
  local warm = o.warmup or steps // 20
  local sched = S.warmup { steps = warm, after = S.cosine { lr = lr, total = math.max(1, steps - warm), min = o.min_lr or lr / 10 } }
  local opt = o.optimizer or optim.AdamW(model:parameters(), { lr = lr, weight_decay = o.weight_decay or 0.01 })
  local clip = o.clip == nil and 1.0 or o.clip
  local seed, verbose = o.seed or 1, o.verbose ~= false
  local hist = { losses = {}, evals = {}, interrupted = false }
  local clock = lpact.wallclock
  local t0, train_secs = clock(), 0
  local prev = engine.catch_interrupt(true)
  local ok, err = pcall(function()
    for step = 1, steps do
      local ts = clock()
      opt.lr = sched:at(step - 1)
      local x, y = data.text_batch(ds.train, B, T, { seed = seed, step = step - 1 })
      opt:zero_grad()
      local loss = model:loss(x, y)
      local lv = loss.data:item()
      if lv ~= lv or lv == math.huge then
        lpact.fail(string.format("lm.fit: loss is %s at step %d: training stopped", tostring(lv), step), 1)
      end
      loss:backward()
      if clip then opt:clip_grad_norm(clip) end
      opt:step()
      loss = nil
      collectgarbage()
      train_secs = train_secs + (clock() - ts)
      hist.losses[step] = lv
      if verbose and (step % 100 == 0 or step == steps) then
        io.stdout:write(string.format("step %d/%d  loss %.4f  %.0f tokens/s\n", step, steps, lv, step * B * T / train_secs))
        io.stdout:flush()
      end
      if o.eval_every and o.eval_every > 0 and step % o.eval_every == 0 and step < steps then
        local vl = lm.evaluate(model, ds.val, { batch = B, max_batches = o.eval_batches })
        hist.evals[#hist.evals + 1] = { step = step, val_loss = vl }
      end
      if o.on_step and o.on_step { step = step, loss = lv, model = model } == false then break end
      if engine.interrupted() then
        hist.interrupted = true
        break
      end
    end
  end)
  engine.catch_interrupt(prev)
  if not ok then error(err, 0) end
  hist.steps = #hist.losses
  hist.tokens = hist.steps * B * T
  hist.train_seconds = train_secs
  hist.tokens_per_s = hist.tokens / math.max(train_secs, 1e-9)
  if not hist.interrupted then
    hist.val_loss, hist.val_acc, hist.val_tokens = lm.evaluate(model, ds.val, { batch = B })
  end
  hist.seconds = clock() - t0
  return hist
end

return lm
