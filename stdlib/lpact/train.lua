--- lpact.train — the training loop.
--
--     local hist = lpact.train.fit{
--       model = lpact.models.mlp{784, 256, 128, 10},
--       data = lpact.data.fashion_mnist{},
--       epochs = 5, batch = 128, seed = 1,            -- Adam lr 1e-3 by default
--     }
--     print(hist.test_acc)
--
-- On a terminal a live line shows batch, loss, accuracy, examples/s and
-- the ETA; otherwise one plain line per epoch is printed. Ctrl-C stops
-- cleanly after the current batch (the history says interrupted = true).
-- A NaN or infinite loss, gradient or parameter stops training with an
-- error naming the epoch and batch (and the parameter; exit status 1 from
-- a script): NaN never trains on quietly.

local ag = require "lpact.autograd"
local optim = require "lpact.optim"
local engine = lpact.engine

local train = {}

local function nrows(set)
  return set.x:size(1)
end

--- The number of correct predictions: argmax of each row of logits (N, K)
-- against labels (N) holding class indices 0..K-1.
function train.correct(logits, y)
  if lpact.count_correct then return lpact.count_correct(logits, y) end
  local pred = logits:argmax(2) -- 1-based classes
  return math.tointeger((pred - 1):eq(y):sum()) or 0
end

--- Accuracy and mean loss of model on a set {x=, y=}: evaluate(model, set
-- [, {batch = 500, loss = ag.cross_entropy}]) -> accuracy, loss. Runs in
-- eval mode without recording gradients and restores the model's mode.
function train.evaluate(model, set, o)
  o = lpact.check_options(o or {}, { "batch", "loss" }, "train.evaluate", { batch_size = "batch" })
  local data = require "lpact.data"
  local bs = o.batch or 500
  local lossf = o.loss or ag.cross_entropy
  local was_training = model.training
  model:eval()
  -- Evaluation uses other batch sizes than training: hand the training
  -- buffers back to the system first, so the two working sets never add up.
  collectgarbage()
  if lpact.tensor_memory then lpact.tensor_memory(true) end
  local n, correct, total = 0, 0, 0
  local ok, err = pcall(ag.no_grad, function()
    for x, y in data.batches(set, bs, { shuffle = false }) do
      local out = model:forward(x)
      local od = out.data or out
      local m = y:size(1)
      correct = correct + train.correct(od, y)
      local l = lossf(out, y)
      total = total + (l.data or l):item() * m
      n = n + m
      out, l = nil, nil
      collectgarbage() -- the Lua heap is small: return this batch's tensors to the storage cache now
    end
  end)
  if was_training ~= false then model:train() end
  collectgarbage()
  if lpact.tensor_memory then lpact.tensor_memory(true) end
  if not ok then error(err, 0) end
  if n == 0 then return 0 / 0, 0 / 0 end
  return correct / n, total / n
end

local function fmt_time(s)
  if s ~= s or s == math.huge then return "?" end
  s = math.floor(s + 0.5)
  if s >= 3600 then return string.format("%d:%02d:%02d", s // 3600, s % 3600 // 60, s % 60) end
  return string.format("%d:%02d", s // 60, s % 60)
end

--- The first piece of a model's state that a checkpoint does not hold
-- (a string naming it), or nil: modules say so through a resume_blocker()
-- method or field.
function train.unresumable(model)
  local function walk(m)
    if type(m) ~= "table" then return nil end
    local b = m.resume_blocker
    local why = type(b) == "function" and b(m) or (type(b) == "string" and b or nil)
    if why then return why end
    for _, c in ipairs(m._children or {}) do
      why = walk(c.module)
      if why then return why end
    end
  end
  return walk(model)
end

local function finite(v) return v == v and v ~= math.huge and v ~= -math.huge end

local FIT_OPTIONS = { "model", "data", "optimizer", "lr", "epochs", "batch", "seed", "shuffle", "schedule", "loss",
  "clip", "max_batches", "start_epoch", "eval", "eval_batch", "verbose", "progress", "on_batch", "on_epoch",
  "augment", "mean", "std", "prior_epochs", "checkpoint", "on_resume" }

-- What fit returns: a plain table of fields (epochs, losses, test_acc,
-- seconds, interrupted) that prints, at the prompt, as a short summary.
local History = { __name = "lpact.History" }
History.__tostring = function(h)
  local last = h.epochs[#h.epochs]
  local parts = { string.format("fit: %d epoch%s in %.1f s%s", #h.epochs, #h.epochs == 1 and "" or "s",
    h.seconds or 0, h.interrupted and " (interrupted)" or "") }
  if last then
    parts[#parts + 1] = string.format("; last epoch: loss %.4f, train %.2f%%%s", last.train_loss,
      100 * last.train_acc, last.test_acc and string.format(", test %.2f%%", 100 * last.test_acc) or "")
  end
  parts[#parts + 1] = "\n(fields: epochs, losses, test_acc, seconds, interrupted)"
  return table.concat(parts)
end

--- Trains a model. Options:
--   model (required), data = {train = {x=, y=}, test = {x=, y=}} (required),
--   optimizer (default Adam lr 1e-3 over model:parameters()), lr (for the default),
--   epochs (1), batch (128), seed (1: the shuffling seed), shuffle (true),
--   schedule (an lpact.schedule; its `per` says "epoch" or "step"; sets optimizer.lr),
--   loss (function(logits, y) -> scalar Var; default ag.cross_entropy),
--   clip (a maximum global gradient norm), max_batches (per epoch, for quick runs),
--   start_epoch (1; to resume a run from a checkpoint with the same shuffles),
--   eval (true: evaluate data.test after every epoch), eval_batch (500),
--   verbose (true), progress ("auto": live line when stdout is a terminal),
--   on_batch(info), on_epoch(info): callbacks; returning false from either stops training.
--   augment, mean, std: passed to data.batches (augmentation of training batches).
--   prior_epochs: the history records of epochs 1..start_epoch-1 (a resumed
--     run's history then holds every epoch).
--   checkpoint = {path =, key =}: resume from path when it holds a checkpoint
--     with this key (start_epoch and prior_epochs from it; a file that does
--     not load, or has another key, is named in a warning and training starts
--     from epoch 1), and write it atomically after every whole epoch. A
--     checkpoint of a finished training trains nothing (history.finished_before).
--   on_resume(meta): called after a checkpoint is loaded, before training.
-- Any other option name is an error.
-- Returns the history {epochs = {{epoch=, train_loss=, train_acc=, test_acc=,
-- test_loss=, seconds=, lr=}, ...}, test_acc=, losses = {per-batch losses},
-- interrupted = bool, seconds = total}.
function train.fit(o)
  if type(o) ~= "table" then lpact.fail("train.fit: options table expected") end
  lpact.check_options(o, FIT_OPTIONS, "train.fit", { epoch = "epochs", batch_size = "batch", opt = "optimizer" })
  local model = o.model
  if type(model) ~= "table" or not model.forward then lpact.fail("train.fit: 'model' (a module) is required") end
  local ds = o.data
  if type(ds) ~= "table" or type(ds.train) ~= "table" or not ds.train.x then
    lpact.fail("train.fit: 'data' must be a data set {train = {x=, y=}, test = ...}")
  end
  local data = require "lpact.data"
  local epochs, bs = o.epochs or 1, o.batch or 128
  if math.type(epochs) ~= "integer" or epochs < 0 then lpact.fail("train.fit: 'epochs' must be an integer >= 0, got " .. tostring(epochs)) end
  if math.type(bs) ~= "integer" or bs < 1 then lpact.fail("train.fit: 'batch' must be an integer >= 1, got " .. tostring(bs)) end
  if o.clip ~= nil and (type(o.clip) ~= "number" or not (o.clip > 0 and o.clip < math.huge)) then
    lpact.fail("train.fit: 'clip' must be a number > 0 (the largest gradient norm), got " .. tostring(o.clip))
  end
  if nrows(ds.train) == 0 then lpact.fail("train.fit: the training set is empty") end
  if o.eval ~= false and ds.test and nrows(ds.test) == 0 then
    lpact.fail("train.fit: the test set is empty (pass eval = false to train without one)")
  end
  local seed = o.seed or 1
  local opt = o.optimizer or optim.Adam(model:parameters(), { lr = o.lr or 1e-3 })
  local lossf = o.loss or ag.cross_entropy
  local sched = o.schedule
  local per_step = sched and sched.per == "step"
  local verbose = o.verbose ~= false
  local live = verbose and (o.progress == true or (o.progress ~= false and engine.isatty(1)))
  local n = nrows(ds.train)
  local nb = (n + bs - 1) // bs
  if o.max_batches and o.max_batches < nb then nb = o.max_batches end
  local out = io.stdout

  local params = model:parameters()
  -- The parameters that start finite (learnable levels over a format's
  -- codes hold its NaN and inf codes by design: those are left out), and
  -- whether every element of a set of tensors is finite (one vectorised
  -- pass each, t:all_finite()).
  local watched = {}
  for _, p in ipairs(params) do
    if p.var.data:all_finite() then watched[#watched + 1] = p end
  end
  local function all_finite(list, field)
    for _, p in ipairs(list) do
      local x = p.var[field]
      if x and not x:all_finite() then return false end
    end
    return true
  end
  -- Stops training naming the first parameter whose gradient (field
  -- "grad") or value ("data") holds NaN or an infinity.
  local function nonfinite(live_line, what, field, epoch, b)
    if live_line then out:write("\n") end
    local name = "?"
    for _, p in ipairs(field == "data" and watched or params) do
      local x = p.var[field]
      if x and not x:all_finite() then name = p.name break end
    end
    lpact.fail(string.format("%s %s is not finite (NaN or inf) at epoch %d, batch %d: training stopped " ..
      "(lower the learning rate, or check the data for NaN/inf)", what, name, epoch, b), 1)
  end

  local hist = { epochs = {}, losses = {}, interrupted = false }
  local prev_catch = engine.catch_interrupt(true)
  local clock = lpact.wallclock
  local t_start = clock()
  -- Resuming at start_epoch replays the same shuffles and schedule steps
  -- as an uninterrupted run would (both depend only on seed and epoch).
  local start = o.start_epoch or 1
  for _, e in ipairs(o.prior_epochs or {}) do
    hist.epochs[#hist.epochs + 1] = e
    if e.test_acc then hist.test_acc = e.test_acc end
  end
  local ck = o.checkpoint
  if ck ~= nil and (type(ck) ~= "table" or type(ck.path) ~= "string") then
    engine.catch_interrupt(prev_catch)
    lpact.fail("train.fit: 'checkpoint' must be {path = FILE, key = ...}")
  end
  -- A model whose state a checkpoint does not hold (stochastic-rounding
  -- counters, delayed-amax histories) is never resumed from one: a resumed
  -- run would draw other random numbers than an uninterrupted one. Such a
  -- training writes no checkpoint and, stopped, starts again from epoch 1.
  local unresumable = ck and train.unresumable(model)
  if unresumable then
    if lpact.sys.mtime(ck.path) then
      io.stderr:write(string.format("warning: ignoring the checkpoint %s (%s is not held in checkpoints); training from epoch 1\n",
        ck.path, unresumable))
    end
    ck = nil
  end
  if ck and lpact.sys.mtime(ck.path) then
    local okl, meta = pcall(function()
      local info = require("lpact.checkpoint").inspect(ck.path)
      local m = info.meta
      if type(m) ~= "table" or m.key ~= ck.key or math.type(m.epoch) ~= "integer" or type(m.history) ~= "table" then
        error("it belongs to another configuration", 0)
      end
      return require("lpact.checkpoint").load(ck.path, model, opt)
    end)
    if okl then
      start = meta.epoch + 1
      hist.epochs, hist.test_acc = {}, nil
      for _, e in ipairs(meta.history) do
        hist.epochs[#hist.epochs + 1] = e
        if e.test_acc then hist.test_acc = e.test_acc end
      end
      hist.resumed_from = meta.epoch
      if start > epochs then hist.finished_before = true end
      if o.on_resume then o.on_resume(meta) end
      if verbose then out:write(string.format("resumed from %s after epoch %d\n", ck.path, meta.epoch)) end
    else
      local msg = lpact.is_failure(meta) and meta.msg or tostring(meta)
      io.stderr:write(string.format("warning: ignoring the checkpoint %s (%s); training from epoch 1\n", ck.path,
        (msg:gsub("^" .. ck.path:gsub("%p", "%%%0") .. ": ", ""))))
    end
  end
  local step = (start - 1) * nb
  local stop = false

  local function run()
    for epoch = start, epochs do
      if sched and not per_step then opt.lr = sched:at(epoch - 1) end
      model:train()
      local t0 = clock()
      local last_draw = -1
      local seen, correct, loss_sum, b = 0, 0, 0, 0
      for x, y in data.batches(ds.train, bs, { shuffle = o.shuffle ~= false, seed = seed, epoch = epoch,
          augment = o.augment, mean = o.mean, std = o.std }) do
        b = b + 1
        if b > nb then break end
        if per_step then opt.lr = sched:at(step) end
        opt:zero_grad()
        local logits = model:forward(x)
        local loss = lossf(logits, y)
        local lv = loss.data:item()
        if not finite(lv) then
          if live then out:write("\n") end
          lpact.fail(string.format("loss is %s at epoch %d, batch %d: training stopped (lower the learning rate, or check the data for NaN/inf)",
            tostring(lv), epoch, b), 1)
        end
        loss:backward()
        -- Every gradient finite (a ReLU can hide a NaN input from the loss,
        -- never from the weights' gradients); with clip, the norm it
        -- clipped by, non-finite exactly when some gradient is.
        local grads_ok
        if o.clip then grads_ok = finite(opt:clip_grad_norm(o.clip)) else grads_ok = all_finite(params, "grad") end
        if not grads_ok then nonfinite(live, "gradient of", "grad", epoch, b) end
        opt:step()
        if not all_finite(watched, "data") then nonfinite(live, "parameter", "data", epoch, b) end
        step = step + 1
        local m = y:size(1)
        seen = seen + m
        loss_sum = loss_sum + lv * m
        correct = correct + train.correct(logits.data, y)
        hist.losses[#hist.losses + 1] = lv
        if o.on_batch and o.on_batch { epoch = epoch, batch = b, batches = nb, loss = lv, step = step, model = model, optimizer = opt } == false then
          stop = true
        end
        logits, loss = nil, nil
        -- A full collection costs little (the Lua heap holds only the small
        -- graph objects) and hands this batch's tensors back to the storage
        -- cache at once, so the next batch reuses them: peak memory stays at
        -- one batch's worth instead of growing until the collector runs.
        collectgarbage()
        if live then
          local now = clock()
          if now - last_draw >= 0.1 or b == nb then
            last_draw = now
            local el = now - t0
            local rate = seen / math.max(el, 1e-9)
            out:write(string.format("\repoch %d/%d  batch %d/%d  loss %.4f  acc %.2f%%  %.0f ex/s  ETA %s   ",
              epoch, epochs, b, nb, loss_sum / seen, 100 * correct / seen, rate,
              fmt_time((nb - b) * el / b)))
            out:flush()
          end
        end
        if engine.interrupted() then
          hist.interrupted = true
          stop = true
        end
        if stop then break end
      end
      local secs = clock() - t0
      local rec = { epoch = epoch, train_loss = loss_sum / math.max(seen, 1), train_acc = correct / math.max(seen, 1),
        seconds = secs, lr = opt.lr, batches = b > nb and nb or b }
      if o.eval ~= false and ds.test and not hist.interrupted then
        rec.test_acc, rec.test_loss = train.evaluate(model, ds.test, { batch = o.eval_batch, loss = lossf })
        hist.test_acc = rec.test_acc
      end
      hist.epochs[#hist.epochs + 1] = rec
      if ck and not hist.interrupted then   -- only whole epochs are saved
        require("lpact.checkpoint").save(ck.path, model, opt, { epoch = epoch, key = ck.key, history = hist.epochs })
      end
      if verbose then
        if live then out:write("\r\27[K") end
        out:write(string.format("epoch %d/%d  loss %.4f  train %.2f%%%s  %.1fs  (%.0f ex/s)\n",
          epoch, epochs, rec.train_loss, 100 * rec.train_acc,
          rec.test_acc and string.format("  test %.2f%%", 100 * rec.test_acc) or "",
          secs, seen / math.max(secs, 1e-9)))
        out:flush()
      end
      if o.on_epoch and o.on_epoch { epoch = epoch, epochs = epochs, model = model, optimizer = opt,
          record = rec, history = hist, train_loss = rec.train_loss, train_acc = rec.train_acc,
          test_acc = rec.test_acc, seconds = secs } == false then
        stop = true
      end
      if stop then break end
    end
  end

  local ok, err = pcall(run)
  engine.catch_interrupt(prev_catch)
  if not ok then error(err, 0) end
  if hist.interrupted and verbose then
    out:write("interrupted: stopped after the current batch\n")
    out:flush()
  end
  hist.seconds = clock() - t_start
  return setmetatable(hist, History)
end

return train
