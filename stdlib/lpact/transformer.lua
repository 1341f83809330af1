--- lpact.transformer — the layers of a small GPT over the fused C kernels
-- of lpact.lm_kernels: token and positional embeddings, LayerNorm and
-- RMSNorm, causal multi-head self-attention (with its probabilities
-- optionally computed in a small format), the pre-LN block and the model.
--
--     local gpt = lpact.models.gpt{vocab = 96, ctx = 64, d = 64, heads = 4, layers = 2,
--                                  act = "gelu", attn = {fmt = "ue2m1"}}
--     local loss = gpt:loss(x, y)            -- x, y (B, T) token ids
--     print(gpt:generate("The ", 80, {temperature = 0.8, seed = 1}))
--
-- Autograd ops (tf.embed, tf.layernorm, tf.rmsnorm, tf.attention) are
-- ag.custom ops whose forward and backward are one C call each.

local ag = require "lpact.autograd"
local nn = require "lpact.nn"
local K = lpact.lm_kernels

local tf = {}

local function data_of(x) return type(x) == "table" and x.data or x end
local function contig(t) return t:is_contiguous() and t or t:contiguous() end

-- Ops ----------------------------------------------------------------------

local embed_op = ag.custom {
  name = "embed",
  forward = function(ctx, tok, wte, wpe)
    ctx.tok, ctx.V, ctx.npos = tok, wte:size(1), wpe and wpe:size(1) or 0
    return K.embed(tok, wte, wpe)
  end,
  backward = function(ctx, g)
    local dw, dp = K.embed_backward(contig(g), ctx.tok, ctx.V, true, ctx.npos)
    return nil, dw, dp
  end,
}

--- Token embeddings wte[tok] plus positional embeddings wpe[t]: tok (B, T)
-- ids (a Tensor), wte (V, D) and wpe (>= T, D) Vars (wpe may be nil) ->
-- (B, T, D). The backward scatter-adds into wte's rows.
function tf.embed(tok, wte, wpe)
  return embed_op(contig(data_of(tok)), wte, wpe)
end

local layernorm_op = ag.custom {
  name = "layernorm",
  forward = function(ctx, x, w, b, eps)
    local out, mean, rstd = K.layernorm(x, w, b, eps)
    ctx.x, ctx.w, ctx.mean, ctx.rstd, ctx.hasb = x, w, mean, rstd, b ~= nil
    return out
  end,
  backward = function(ctx, g)
    local dx, dw, db = K.layernorm_backward(contig(g), ctx.x, ctx.w, ctx.mean, ctx.rstd, true,
      ctx.w ~= nil, ctx.hasb)
    ctx.mean:free(); ctx.rstd:free()
    return dx, dw, db
  end,
}

--- LayerNorm over the last dimension of x (any shape): weight and bias
-- (C) Vars or nil, eps (1e-5).
function tf.layernorm(x, w, b, eps)
  return layernorm_op(ag.is_var(x) and x or contig(x), w, b, eps or 1e-5)
end

local rmsnorm_op = ag.custom {
  name = "rmsnorm",
  forward = function(ctx, x, w, eps)
    local out, rstd = K.rmsnorm(x, w, eps)
    ctx.x, ctx.w, ctx.rstd = x, w, rstd
    return out
  end,
  backward = function(ctx, g)
    local dx, dw = K.rmsnorm_backward(contig(g), ctx.x, ctx.w, ctx.rstd, true, ctx.w ~= nil)
    ctx.rstd:free()
    return dx, dw
  end,
}

--- RMSNorm over the last dimension: x / rms(x) * weight (weight a Var or nil).
function tf.rmsnorm(x, w, eps)
  return rmsnorm_op(x, w, eps or 1e-5)
end

local attention_op = ag.custom {
  name = "attention",
  forward = function(ctx, qkv, heads, quant, levels, ctr, want_levels, pdrop, dseed, dctr)
    qkv = contig(qkv)
    local out, stats = K.attention(qkv, heads, quant, levels, ctr, pdrop, dseed, dctr)
    ctx.qkv, ctx.stats, ctx.heads, ctx.quant, ctx.levels, ctx.ctr, ctx.want = qkv, stats, heads, quant,
      levels, ctr, want_levels
    ctx.pdrop, ctx.dseed, ctx.dctr = pdrop, dseed, dctr
    return out
  end,
  backward = function(ctx, g)
    local dqkv, dl = K.attention_backward(contig(g), ctx.qkv, ctx.stats, ctx.heads, ctx.quant, ctx.levels,
      ctx.ctr, ctx.want, ctx.pdrop, ctx.dseed, ctx.dctr)
    ctx.stats:free()
    return dqkv, nil, nil, dl
  end,
}

--- Causal multi-head self-attention, fused: qkv (B, T, 3D) (queries, keys,
-- values, each (B, T, H, hd)) -> (B, T, D). quant: nil or a tf.QAttn
-- (the probabilities in a small format). drop: nil or {p =, seed =, ctr =}:
-- dropout of the probabilities, element e kept when lpact.io.random(seed,
-- 5, ctr + e) >= p (e = (b H + h) T^2 + i T + j).
function tf.attention(qkv, heads, quant, drop)
  local p, seed, dctr
  if drop and drop.p > 0 then p, seed, dctr = drop.p, drop.seed, drop.ctr or 0 end
  if not quant then return attention_op(qkv, heads, nil, nil, nil, nil, p, seed, dctr) end
  local lv = quant.levels_var
  local ctr = quant:next_ctr(data_of(qkv))
  return attention_op(qkv, heads, quant.core, lv, ctr, lv ~= nil and not quant.frozen, p, seed, dctr)
end

-- The quantizer of the attention probabilities ----------------------------------

local QAttn = nn.class("QAttn")
tf.QAttn = QAttn

local ATTN_OPTIONS = { "fmt", "mode", "levels", "scale", "sr", "sr_seed", "level_lr" }

-- A spec as a table (a format string alone is {fmt = it}); nil for float32.
local function attn_spec(spec)
  if spec == nil or spec == false or spec == "fp32" then return nil end
  if type(spec) == "string" or type(spec) == "userdata" then spec = { fmt = spec } end
  if type(spec) ~= "table" then
    lpact.fail("attn: a format spec or an options table expected, got " .. type(spec))
  end
  lpact.check_options(spec, ATTN_OPTIONS, "attn", { format = "fmt", learnable = "levels", seed = "sr_seed" })
  if spec.fmt == nil or spec.fmt == "fp32" then return nil end
  return spec
end
tf.attn_spec = attn_spec

--- QAttn{fmt =, mode = "emulate" | "ops", levels = "fixed" | "learnable",
-- scale = "unit" | s, sr = false, sr_seed =, level_lr =}: how the attention
-- probabilities are computed. The probabilities p in [0, 1] are rounded
-- as s Q(p / s); the default scale "unit" is 1 / (the format's largest
-- value), so that p = 1 is the top level (FP4 E2M1: 0, 1/12, 1/6, 1/4,
-- 1/3, 1/2, 2/3, 1). Unsigned formats (ue2m1, ue4m3) spend no bit on a
-- sign. emulate rounds the float32 softmax; ops rounds exp(x - max), sums
-- the rounded values in float32 and rounds the division. Learnable levels
-- replace the format's values (one parameter per code).
function QAttn:init(spec)
  local s = attn_spec(spec)
  if not s then lpact.fail("attn: no format given") end
  local fmt = s.fmt
  if s.sr then fmt = tostring(fmt) .. ":sr" .. (s.sr_seed and (":seed=" .. math.tointeger(s.sr_seed)) or "") end
  local ok, f = pcall(lpact.format, fmt)
  if not ok then
    local msg = type(f) == "table" and tostring(f.msg) or tostring(f)
    lpact.fail("attn: option 'fmt': " .. (msg:match("%((.*)%)$") or msg))
  end
  if f.bits > 16 then lpact.fail("attn: option 'fmt': a format of at most 16 bits expected, got '" .. tostring(s.fmt) .. "'") end
  local mode = s.mode or "emulate"
  if mode ~= "emulate" and mode ~= "ops" then
    lpact.fail("attn: option 'mode': expected emulate or ops, got '" .. tostring(mode) .. "'")
  end
  local scale = s.scale or "unit"
  if scale == "unit" then scale = 1 / f.max
  elseif type(scale) ~= "number" or not (scale > 0 and scale < math.huge) then
    lpact.fail("attn: option 'scale': 'unit' or a positive number expected, got " .. tostring(s.scale))
  end
  local lv = s.levels or "fixed"
  if lv ~= "fixed" and lv ~= "learnable" then
    lpact.fail("attn: option 'levels': expected fixed or learnable, got '" .. tostring(lv) .. "'")
  end
  self.spec, self.fmt, self.mode, self.scale, self.sr = s, f, mode, scale, s.sr and true or false
  self.core = K.attn_quant(f, mode, scale)
  self.info = self.core:info()
  self.ctr = 0
  self.frozen = false
  if lv == "learnable" then
    self.levels_var = self:param("levels", lpact.tensor(self.info.values))
    if s.level_lr then self.levels_var.lr_mult = s.level_lr end
  end
end

--- The counter base of this pass's stochastic rounding (advances per pass).
function QAttn:next_ctr(x)
  local c = self.ctr
  if self.sr then
    local sh = x:shape()
    self.ctr = c + 2 * sh[1] * sh[2] * sh[2] * 64   -- room for 64 heads of this batch
  end
  return c
end

--- The levels by code (the learned ones when learnable).
function QAttn:levels()
  if self.levels_var then return self.levels_var.data:totable() end
  return self.info.values
end

--- "attn probs ue2m1 emulate, scale 1/6, learnable".
function QAttn:describe()
  return string.format("attention probabilities %s %s, scale %g%s", tostring(self.spec.fmt), self.mode, self.scale,
    self.levels_var and ", learnable levels" or "")
end

function QAttn:forward(x) return x end

-- Layers ---------------------------------------------------------------------

local LayerNorm = nn.class("LayerNorm")
tf.LayerNorm = LayerNorm

--- tf.LayerNorm(C, {eps = 1e-5, affine = true}): over the last dimension.
function LayerNorm:init(c, o)
  o = lpact.check_options(o or {}, { "eps", "affine" }, "LayerNorm")
  self.c, self.eps = c, o.eps or 1e-5
  if o.affine ~= false then
    self:param("weight", lpact.ones { c })
    self:param("bias", lpact.zeros { c })
  end
end
function LayerNorm:describe() return string.format("LayerNorm(%d)", self.c) end
function LayerNorm:forward(x)
  local d = data_of(x)
  if d:size(-1) ~= self.c then self:shape_error(string.format("(..., %d)", self.c), x) end
  return tf.layernorm(x, self.weight, self.bias, self.eps)
end

local RMSNorm = nn.class("RMSNorm")
tf.RMSNorm = RMSNorm

--- tf.RMSNorm(C, {eps = 1e-5}): x / rms(x) * weight over the last dimension.
function RMSNorm:init(c, o)
  o = lpact.check_options(o or {}, { "eps" }, "RMSNorm")
  self.c, self.eps = c, o.eps or 1e-5
  self:param("weight", lpact.ones { c })
end
function RMSNorm:describe() return string.format("RMSNorm(%d)", self.c) end
function RMSNorm:forward(x)
  local d = data_of(x)
  if d:size(-1) ~= self.c then self:shape_error(string.format("(..., %d)", self.c), x) end
  return tf.rmsnorm(x, self.weight, self.eps)
end

-- GPT-2's initialisation: N(0, 0.02) weights, zero biases.
local function linear(nin, nout, std)
  local l = nn.Linear(nin, nout)
  l.weight.data:copy(nn.init.normal({ nout, nin }, std, nn.next_seed()))
  l.bias.data:zero()
  return l
end

-- The child modules by name.
local function kids(m)
  local t = {}
  for _, c in ipairs(m._children) do t[c.name] = c.module end
  return t
end

local Attention = nn.class("CausalSelfAttention")
tf.CausalSelfAttention = Attention

--- tf.CausalSelfAttention(d, heads, {attn =, proj_std =, dropout = 0}): qkv
-- projection, fused causal attention, output projection; (B*T, d) rows of
-- B sequences of T steps -> (B*T, d). attn: a QAttn spec for the
-- probabilities; dropout: of the probabilities, in training mode only
-- (seeded: a fresh part of the layer's stream each forward pass).
function Attention:init(d, heads, o)
  o = o or {}
  self.d, self.heads = d, heads
  self.dropout = o.dropout or 0
  if self.dropout > 0 then self.drop_seed, self.drop_ctr = nn.next_seed(), 0 end
  self:add("qkv", linear(d, 3 * d, 0.02))
  self:add("proj", linear(d, d, o.proj_std or 0.02))
  if attn_spec(o.attn) then self:add("attn", QAttn(o.attn)) end
end
function Attention:describe()
  return string.format("CausalSelfAttention(d %d, %d heads%s)", self.d, self.heads,
    self.dropout > 0 and string.format(", dropout %g", self.dropout) or "")
end

--- x (B*T, d) with the sequence shape {B, T} -> (B*T, d).
function Attention:forward(x, B, T)
  local k = kids(self)
  local qkv = ag.reshape(k.qkv:forward(x), { B, T, 3 * self.d })
  local drop
  if self.training and self.dropout > 0 then
    drop = { p = self.dropout, seed = self.drop_seed, ctr = self.drop_ctr }
    self.drop_ctr = self.drop_ctr + B * self.heads * T * T
  end
  local a = tf.attention(qkv, self.heads, k.attn, drop)
  return k.proj:forward(ag.reshape(a, { B * T, self.d }))
end

local Block = nn.class("Block")
tf.Block = Block

--- tf.Block(d, heads, {act =, attn =, norm = "layernorm", proj_std =}):
-- pre-LN: x + attn(ln1(x)), then x + mlp(ln2(x)) with the MLP d -> 4d ->
-- d and the activation (a name or an lpact.qact factory) in between.
function Block:init(d, heads, o)
  local Norm = o.norm == "rmsnorm" and RMSNorm or LayerNorm
  self:add("ln1", Norm(d))
  self:add("attn", Attention(d, heads, { attn = o.attn, proj_std = o.proj_std, dropout = o.dropout }))
  self:add("ln2", Norm(d))
  self:add("fc", linear(d, 4 * d, 0.02))
  self:add("act", nn.act(o.act or "gelu"))
  self:add("proj", linear(4 * d, d, o.proj_std or 0.02))
end
function Block:describe() return "Block" end

--- x (B*T, d) -> (B*T, d).
function Block:forward(x, B, T)
  local k = kids(self)   -- read each time: swap_activations may replace 'act'
  x = ag.add(x, k.attn:forward(k.ln1:forward(x), B, T))
  local h = k.fc:forward(k.ln2:forward(x))
  return ag.add(x, k.proj:forward(k.act:forward(h)))
end

local GPT = nn.class("GPT")
tf.GPT = GPT

local GPT_OPTIONS = { "vocab", "ctx", "d", "heads", "layers", "act", "attn", "seed", "norm", "alphabet", "dropout" }

local function positive(o, k, default)
  local v = o[k]
  if v == nil then v = default end
  if math.type(v) ~= "integer" or v < 1 then
    lpact.fail(string.format("gpt: option '%s' must be a whole number >= 1, got %s", k, tostring(v)))
  end
  return v
end

--- tf.GPT{vocab =, ctx = 64, d = 64, heads = 4, layers = 2, act = "gelu",
-- attn = nil, norm = "layernorm", dropout = 0, seed = 1, alphabet =}: a
-- character-level GPT (pre-LN blocks, MLP ratio 4, learned positions, the
-- output head tied to the token embedding). dropout: of the attention
-- probabilities, in training mode. alphabet: the byte of each token id, as
-- a string of vocab bytes (lpact.data.text gives it), for generate().
function GPT:init(o)
  if type(o) ~= "table" then lpact.fail("gpt: options table expected, got " .. type(o)) end
  lpact.check_options(o, GPT_OPTIONS, "gpt", { n_layer = "layers", n_head = "heads", width = "d",
    context = "ctx", block_size = "ctx", vocab_size = "vocab", activation = "act" })
  local V = positive(o, "vocab")
  local ctx, d, H, L = positive(o, "ctx", 64), positive(o, "d", 64), positive(o, "heads", 4), positive(o, "layers", 2)
  if d % H ~= 0 then lpact.fail(string.format("gpt: %d heads do not divide d = %d", H, d)) end
  local norm = o.norm or "layernorm"
  if norm ~= "layernorm" and norm ~= "rmsnorm" then
    lpact.fail("gpt: option 'norm': expected layernorm or rmsnorm, got '" .. tostring(norm) .. "'")
  end
  local dp = o.dropout or 0
  if type(dp) ~= "number" or not (dp >= 0 and dp < 1) then
    lpact.fail("gpt: option 'dropout' must be a number in [0, 1), got " .. tostring(o.dropout))
  end
  if o.alphabet ~= nil and (type(o.alphabet) ~= "string" or #o.alphabet ~= V) then
    lpact.fail(string.format("gpt: option 'alphabet': a string of %d bytes (one per token id) expected", V))
  end
  self.vocab, self.ctx, self.d, self.heads, self.nlayers, self.norm = V, ctx, d, H, L, norm
  self.alphabet = o.alphabet
  self.act_name = nn.act_name(o.act or "gelu")
  attn_spec(o.attn)   -- a bad spec fails here, before anything is built
  nn.seeded(o.seed or 1, function()
    self:param("wte", nn.init.normal({ V, d }, 0.02, nn.next_seed()))
    self:param("wpe", nn.init.normal({ ctx, d }, 0.02, nn.next_seed()))
    local pstd = 0.02 / math.sqrt(2 * L)
    for i = 1, L do
      self:add("h" .. i, Block(d, H, { act = o.act, attn = o.attn, norm = norm, proj_std = pstd, dropout = dp }))
    end
    self:add("ln_f", norm == "rmsnorm" and RMSNorm(d) or LayerNorm(d))
  end)
end

function GPT:describe()
  return string.format("GPT(vocab %d, ctx %d, d %d, %d heads, %d layers, %s)", self.vocab, self.ctx, self.d,
    self.heads, self.nlayers, self.act_name)
end

-- x as a (B, T) tensor of ids, checked against the model.
function GPT:_ids(x)
  x = data_of(x)
  if not lpact.is_tensor(x) or x:dim() ~= 2 then
    lpact.fail("gpt: token ids (B, T) expected, got " .. (lpact.is_tensor(x) and ("shape (" .. table.concat(x:shape(), ", ") .. ")") or type(x)))
  end
  if x:size(2) > self.ctx then
    lpact.fail(string.format("gpt: a sequence of %d steps is longer than the model's context (%d)", x:size(2), self.ctx))
  end
  return contig(x)
end

--- Logits (B*T, vocab) for token ids x (B, T) (a Tensor).
function GPT:forward(x)
  x = self:_ids(x)
  local B, T = x:size(1), x:size(2)
  local h = ag.reshape(tf.embed(x, self.wte, self.wpe), { B * T, self.d })
  local k = kids(self)
  for i = 1, self.nlayers do h = k["h" .. i]:forward(h, B, T) end
  return ag.linear(k.ln_f:forward(h), self.wte)
end

--- Mean cross-entropy (nats per token) of predicting y (B, T) from x (B, T).
function GPT:loss(x, y)
  local logits = self:forward(x)
  return ag.cross_entropy(logits, contig(data_of(y)):reshape { logits:shape()[1] })
end

-- Token ids of a prompt string through the alphabet (bytes when none).
function GPT:encode(s)
  local ids = {}
  local index = {}
  if self.alphabet then
    for i = 1, #self.alphabet do index[self.alphabet:byte(i)] = i - 1 end
  end
  for i = 1, #s do
    local b = s:byte(i)
    local id = self.alphabet and index[b] or (not self.alphabet and b < self.vocab and b) or nil
    if id == nil then
      lpact.fail(string.format("generate: prompt byte 0x%02x (%q) at position %d is not in the model's vocabulary",
        b, string.char(b), i))
    end
    ids[i] = id
  end
  return ids
end

-- The string of token ids.
function GPT:decode(ids)
  local out = {}
  for i, id in ipairs(ids) do
    out[i] = self.alphabet and self.alphabet:sub(id + 1, id + 1) or string.char(id)
  end
  return table.concat(out)
end

--- Continues a prompt by n tokens: model:generate(prompt, n, {temperature
-- = 1, top_k = nil, seed = 1}) -> the prompt and its continuation (a
-- string). Sampling draws from a counter-based stream of the seed, so the
-- same call gives the same text. temperature 0 takes the most likely
-- token. The model runs in eval mode without a graph; only the last ctx
-- tokens are seen.
function GPT:generate(prompt, n, o)
  o = lpact.check_options(o or {}, { "temperature", "top_k", "seed" }, "generate")
  if type(prompt) ~= "string" then lpact.fail("generate: a prompt string expected, got " .. type(prompt)) end
  if math.type(n) ~= "integer" or n < 0 then lpact.fail("generate: the number of tokens must be a whole number >= 0") end
  local temp, topk, seed = o.temperature or 1, o.top_k, o.seed or 1
  if type(temp) ~= "number" or not (temp >= 0) then lpact.fail("generate: temperature must be a number >= 0") end
  if topk ~= nil and (math.type(topk) ~= "integer" or topk < 1) then lpact.fail("generate: top_k must be a whole number >= 1") end
  local ids = self:encode(prompt)
  if #ids == 0 then ids = { 0 } end
  local was = self.training
  self:eval()
  local ok, err = pcall(ag.no_grad, function()
    for step = 1, n do
      local t0 = math.max(1, #ids - self.ctx + 1)
      local window = {}
      for i = t0, #ids do window[#window + 1] = ids[i] end
      local logits = self:forward(lpact.tensor(window, { 1, #window })).data
      local row = logits:select(1, #window):totable()
      ids[#ids + 1] = tf.sample(row, temp, topk, lpact.io.random(seed, 41, step))
    end
  end)
  self:train(was ~= false)
  if not ok then error(err, 0) end
  return self:decode(ids)
end

--- The index (0-based) drawn from logits (a list) at this temperature
-- among the top_k largest (all when nil), with u uniform in [0, 1).
-- Temperature 0: the first largest. NaN logits make the draw fail loudly.
function tf.sample(logits, temp, topk, u)
  local order = {}
  for i = 1, #logits do
    if logits[i] ~= logits[i] then lpact.fail("generate: the model's logits are NaN", 1) end
    order[i] = i
  end
  table.sort(order, function(a, b)
    if logits[a] ~= logits[b] then return logits[a] > logits[b] end
    return a < b
  end)
  if temp == 0 then return order[1] - 1 end
  local k = math.min(topk or #order, #order)
  local top = logits[order[1]]
  local w, sum = {}, 0
  for r = 1, k do
    w[r] = math.exp((logits[order[r]] - top) / temp)
    sum = sum + w[r]
  end
  local x = u * sum
  for r = 1, k do
    x = x - w[r]
    if x < 0 then return order[r] - 1 end
  end
  return order[k] - 1
end

return tf
