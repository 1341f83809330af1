"""tests/mutation/mutants.py — the single-line mutants run.py applies.

Each entry: file, old (a fragment found on exactly one line), new (what it
becomes), tests (the covering tests: names under tests/, or build/tests/…),
and for an equivalent mutant the reason it cannot change behaviour
(equivalent = "…"): those are listed, not run, not counted.
"""

FMT = ["build/tests/format_exact", "10-format-basic.lua", "12-format-ocp.lua", "13-format-sr.lua", "79-pinned-contracts.lua"]
FMT_API = ["14-format-api.lua", "11-grammar.lua", "10-format-basic.lua", "79-pinned-contracts.lua"]
ELEM = ["22-tensor-arith.lua", "70-nan-policy.lua", "24-autograd-gradcheck.lua", "79-pinned-contracts.lua"]
VIEWS = ["21-tensor-views.lua", "73-aliasing.lua", "build/tests/tensor_core"]
NN = ["23-kernels.lua", "30-nn-gradcheck.lua", "70-nan-policy.lua", "24-autograd-gradcheck.lua"]
OPT = ["32-optim.lua", "70-nan-policy.lua"]
TRAIN = ["34-train.lua", "70-nan-policy.lua", "79-pinned-contracts.lua"]
IDX = ["40-idx.lua", "build/tests/dataset_core", "71-inputs.lua", "78-gzip-limits.lua", "79-pinned-contracts.lua"]
CSV = ["43-csv-synthetic.lua", "71-inputs.lua", "79-pinned-contracts.lua"]
CKPT = ["46-checkpoint.lua", "74-checkpoint-crafted.lua", "49-resume.lua"]
JSON = ["45-json.lua", "79-pinned-contracts.lua"]
SCHED = ["33-schedule.lua"]
ROUND = ["15-cli.lua", "71-inputs.lua"]
FIG = ["79-pinned-contracts.lua", "75-faults.lua", "64-figure.lua"]

C = "interp/core/"
B = "interp/bind/"
S = "stdlib/lpact/"

def m(file, old, new, tests, equivalent=None):
    d = {"file": file, "old": old, "new": new, "tests": tests}
    if equivalent:
        d["equivalent"] = equivalent
    return d

MUTANTS = [
    # ---- rounding and codes (core/format.c)
    m(C + "format.c", "case LP_RNE: up = above || (tie && odd); break;", "case LP_RNE: up = above || tie; break;", FMT),
    m(C + "format.c", "case LP_RNA: up = !below; break;", "case LP_RNA: up = !below && !tie; break;", FMT),
    m(C + "format.c", "case LP_RNO: up = !odd; break;", "case LP_RNO: up = odd; break;", FMT),
    m(C + "format.c", "case LP_RUP: up = !neg; break;", "case LP_RUP: up = neg; break;", FMT),
    m(C + "format.c", "up = fk + R >= (UINT64_C(1) << k);", "up = fk + R > (UINT64_C(1) << k);", FMT),
    m(C + "format.c", "if (e > f->emax) return overflow_value(f, neg);", "if (e >= f->emax) return overflow_value(f, neg);", FMT),
    m(C + "format.c", "if (v > f->maxval) return overflow_value(f, neg);", "if (v >= f->maxval) return overflow_value(f, neg);", FMT),
    m(C + "format.c", "if (neg && !f->is_signed) return 0.0;", "if (neg && !f->is_signed) return -0.0;", FMT),
    m(C + "format.c", "if (f->overflow == LP_SAT) r = f->maxval;", "if (f->overflow != LP_SAT) r = f->maxval;", FMT),
    m(C + "format.c", "case LP_RTZ: case LP_RNO: r = f->maxval; break;", "case LP_RTZ: case LP_RNO: r = big; break;", FMT),
    m(C + "format.c", "  return sign ? -v : v;", "  return v;", FMT),
    m(C + "format.c", "if (c > (long long)f->maxcode) return LP_EINVAL;", "if (c > (long long)f->maxcode + 1) return LP_EINVAL;", FMT),
    m(C + "format.c", "return (uint32_t)(r >> (32 * (ctr & 1)));", "return (uint32_t)(r >> (32 * (ctr & 0)));", FMT),
    m(C + "format.c", "static int default_bias(int ebits) { return ebits >= 1 ? (1 << (ebits - 1)) - 1 : 0; }",
      "static int default_bias(int ebits) { return ebits >= 1 ? (1 << (ebits - 1)) : 0; }", FMT),
    m(C + "format.c", "f->minsub = f->subnormals ? f->quantum : f->minnorm;", "f->minsub = f->quantum;", FMT_API),
    m(C + "format.c", "return f->is_signed ? 2 * pos + 1 : pos + 1;", "return f->is_signed ? 2 * pos : pos + 1;", FMT_API),
    m(C + "format.c", "if (r > 0 || E > 8)", "if (r > 0 || E > 9)", FMT_API),
    m(C + "format.c", "if (r2 > 0 || M > 23)", "if (r2 > 0 || M > 24)", FMT_API),
    # ---- elementwise and reductions (core/ops_elem.c)
    m(C + "ops_elem.c", "case LP_MAX: return (x > y || x != x) ? x : y;", "case LP_MAX: return (x > y) ? x : y;", ELEM),
    m(C + "ops_elem.c", "case LP_MIN: return (x < y || x != x) ? x : y;", "case LP_MIN: return (x < y || x != x) ? y : x;", ELEM),
    m(C + "ops_elem.c", "case LP_RSUB: INNER(y - x); break;", "case LP_RSUB: INNER(x - y); break;", ELEM),
    m(C + "ops_elem.c", "case LP_RDIV: INNER(y / x); break;", "case LP_RDIV: INNER(x / y); break;", ELEM),
    m(C + "ops_elem.c", "case LP_LE: return x <= y;", "case LP_LE: return x < y;", ELEM),
    m(C + "ops_elem.c", "case LP_SIGN: return x > 0 ? 1.0f : x < 0 ? -1.0f : x;", "case LP_SIGN: return x > 0 ? 1.0f : x < 0 ? -1.0f : 0.0f;", ELEM,
      equivalent=None),
    m(C + "ops_elem.c", "case LP_CLAMP: return x < p ? p : x > q ? q : x;", "case LP_CLAMP: return x < p ? p : x >= q ? p : x;", ELEM),
    m(C + "ops_elem.c", "return op == LP_RMEAN ? (n ? acc / (double)n : NAN) : acc;", "return op == LP_RMEAN ? (n ? acc / (double)(n + 1) : NAN) : acc;", ELEM),
    m(C + "ops_elem.c", "if (a[i] > a[best] || (a[i] != a[i] && a[best] == a[best])) best = i;",
      "if (a[i] >= a[best] || (a[i] != a[i] && a[best] == a[best])) best = i;", ELEM),
    m(C + "ops_elem.c", "if (a[i] < a[best] || (a[i] != a[i] && a[best] == a[best])) best = i;",
      "if (a[i] < a[best]) best = i;", ELEM),
    m(C + "ops_elem.c", "if (better || (v != v && bv == bv)) { bv = v; best = k; }", "if (better) { bv = v; best = k; }", ELEM),
    m(C + "ops_elem.c", "for (int64_t j = 0; j < inner; j++) orow[j] = d ? orow[j] / (float)d : NAN;",
      "for (int64_t j = 0; j < inner; j++) orow[j] = d ? orow[j] / (float)inner : NAN;", ELEM),
    m(C + "ops_elem.c", "for (int64_t i = 0; i < n; i++) t[i] += alpha * u[i];", "for (int64_t i = 0; i < n; i++) t[i] += u[i];", ELEM + ["32-optim.lua"]),
    m(C + "ops_elem.c", "for (int64_t i = 0; i < n; i++) t[i] += v * a[i] / b[i];", "for (int64_t i = 0; i < n; i++) t[i] += v * a[i] * b[i];", ELEM + ["73-aliasing.lua"]),
    # ---- tensors (core/tensor.c)
    m(C + "tensor.c", "return dlo <= shi && slo <= dhi;", "return dlo < shi && slo < dhi;", VIEWS),
    m(C + "tensor.c", "if (reach < 0) a += reach;", "if (reach < 0) b += reach;", VIEWS,
      equivalent="no view in lpact has a negative stride (no flip op): the branch never runs"),
    m(C + "tensor.c", "  if (dst->offset == src->offset && lp_tensor_same_shape(dst, src) &&", "  if (lp_tensor_same_shape(dst, src) &&", VIEWS),
    m(C + "tensor.c", "if (a->ndim != b->ndim) return 0;", "if (a->ndim != b->ndim) return 1;", VIEWS + ELEM),
    # ---- NN kernels (core/ops_nn.c)
    m(C + "ops_nn.c", "if (!(lab >= 0 && lab < (float)K) || lab != floorf(lab)) return NAN;", "if (!(lab >= 0 && lab <= (float)K) || lab != floorf(lab)) return NAN;", NN,
      equivalent="the binding (check_labels in interp/bind/ops.c) refuses a label outside 0..K-1 before the kernel runs; this is the kernel's second guard"),
    m(C + "ops_nn.c", "loss += (mx + log(s)) - x[(int64_t)lab];", "loss += (mx + log(s)) + x[(int64_t)lab];", NN),
    m(C + "ops_nn.c", "return N ? loss / (double)N : 0.0;", "return N ? loss : 0.0;", NN),
    m(C + "ops_nn.c", "d[(int64_t)labels[n]] -= sc;", "d[(int64_t)labels[n]] += sc;", NN),
    m(C + "ops_nn.c", "for (int64_t k = 0; k < K; k++) d[k] += y[k] * (g[k] - (float)s);", "for (int64_t k = 0; k < K; k++) d[k] += y[k] * g[k];", NN),
    m(C + "ops_nn.c", "for (int64_t k = 0; k < K; k++) y[k] = x[k] - lse;", "for (int64_t k = 0; k < K; k++) y[k] = lse - x[k];", NN),
    # ---- datasets (core/dataset.c)
    m(C + "dataset.c", "if (f->dims[i] > ((int64_t)1 << 31) ||", "if (f->dims[i] > ((int64_t)1 << 62) ||", IDX),
    m(C + "dataset.c", "case 0x09: return (int8_t)p[0];", "case 0x09: return p[0];", IDX),
    m(C + "dataset.c", "if (extra > ((int64_t)1 << 20)) break;", "if (extra > ((int64_t)1 << 20)) continue;", IDX,
      equivalent="only the time spent on a file with more than 1 MiB of trailing data changes; it is refused either way"),
    m(C + "dataset.c", "        if (code == Z_BUF_ERROR)", "        if (0)", IDX),
    m(C + "dataset.c", "if (h[0] != 0 || h[1] != 0 || f->elsize == 0 || f->ndim < 1 || f->ndim > LP_MAXDIM) {",
      "if (h[0] != 0 || f->elsize == 0 || f->ndim < 1 || f->ndim > LP_MAXDIM) {", IDX),
    # ---- quantized activations (core/qact.c, outside the activation code)
    m(C + "qact.c", "while (ldexp(maxval, e - 1) >= amax) e--;", "while (ldexp(maxval, e - 1) > amax) e--;", ["76-quant-contracts.lua", "build/tests/qact_core"],
      equivalent="the start e = ea - em - 1 always gives maxval 2^e < amax (frexp mantissas in [0.5, 1)), so the first loop lands on the answer and this downward loop never runs"),
    m(C + "qact.c", "while (ldexp(maxval, e) < amax) e++;", "while (ldexp(maxval, e) <= amax) e++;", ["76-quant-contracts.lua", "build/tests/qact_core"],
      equivalent="at amax = maxval 2^k this loop overshoots to k + 1, and the downward loop below walks e back to k: the pair gives the smallest e either way (tests/76 checks the result at amax = max and 2 max)"),
    m(C + "qact.c", "uint64_t octr = (c->ctr0 ^ UINT64_C(0x8000000000000000)) + i;", "uint64_t octr = c->ctr0 + i;", ["76-quant-contracts.lua"]),
    m(C + "qact.c", "if (amax == 0) return ldexp(1.0, -127);", "if (amax == 0) return 1.0;", ["76-quant-contracts.lua", "build/tests/qact_core", "50-qact-layer.lua"]),
    # ---- bindings
    m(B + "tensor.c", "if (!lp_tensor_overlaps(lp_check_tensor(L, 1), s)) return s;", "return s;", VIEWS),
    m(B + "tensor.c", "luaL_argcheck(L, lua_isnone(L, 2), 2, \"arange takes one count n (values 0..n-1)\");", "", ["70-nan-policy.lua"]),
    m(B + "tensor.c", "luaL_argcheck(L, n <= (1 << 24), 1,", "luaL_argcheck(L, 1, 1,", ["70-nan-policy.lua", "01-bindings-fuzz.lua"]),
    m(B + "tensor.c", "lua_pushboolean(L, a->st == b->st);", "lua_pushboolean(L, a == b);", ["21-tensor-views.lua"]),
    m(B + "format.c", "return s != NULL && strlen(s) != n;", "return s != NULL && strlen(s) != n && 0;", ["71-inputs.lua"]),
    m(B + "ops.c", "if (t[i]->offset == t[j]->offset || lp_tensor_overlaps(t[i], t[j]))", "if (lp_tensor_overlaps(t[i], t[j]))", ["73-aliasing.lua"]),
    m(B + "ops.c", "luaL_argcheck(L, eps > 0 && isfinite(eps), 8, \"eps must be > 0\");", "", ["70-nan-policy.lua"]),
    m(B + "ops.c", "luaL_argcheck(L, step >= 1, 10, \"step counts from 1\");", "", ["01-bindings-fuzz.lua", "32-optim.lua", "79-pinned-contracts.lua"]),
    m(B + "data.c", "if (d[i] != d[i]) nan = 1;", "if (0) nan = 1;", ["71-inputs.lua", "40-idx.lua"]),
    m(B + "data.c", "luaL_argcheck(L, d > 0 && isfinite(d), i, \"div must be a positive number\");", "", ["40-idx.lua", "79-pinned-contracts.lua"]),
    m(B + "data.c", "luaL_argcheck(L, n >= 0, i, \"limit must be >= 0\");", "", ["40-idx.lua", "79-pinned-contracts.lua"]),
    # ---- stdlib: optimizers
    m(S + "optim.lua", "if v < (lo or 0) or (hi and v >= hi) then", "if (hi and v >= hi) then", OPT),
    m(S + "optim.lua", "if v < (lo or 0) or (hi and v >= hi) then", "if v < (lo or 0) or (hi and v > hi) then", OPT),
    m(S + "optim.lua", "if c < 1 then", "if c <= 0 then", OPT),
    m(S + "optim.lua", "local c = max_norm / (norm + 1e-6)", "local c = max_norm / norm", OPT,
      equivalent="only changes the scale by 1e-6 relative (float32 noise) or a zero-gradient case that is not clipped (c = inf > 1)"),
    m(S + "optim.lua", "if have ~= 0 and have ~= #self.slot_names then", "if false then", CKPT),
    m(S + "optim.lua", "if have > 0 and step == 0 then", "if false then", CKPT),
    m(S + "optim.lua", "if not known[k] then", "if false then", CKPT),
    m(S + "optim.lua", "if not FIELDS[k] then bad(", "if false then bad(", CKPT),
    m(S + "optim.lua", "if not wanted[k] then bad(", "if false then bad(", CKPT),
    m(S + "optim.lua", "self.nesterov = o.nesterov and true or false", "self.nesterov = false", OPT),
    m(S + "optim.lua", "if m == nil then return 1 end", "if m == nil then return 0 end", OPT + ["54-qact-level-lr.lua"]),
    m(S + "optim.lua", "local bc1, bc2 = 1 - b1 ^ t, 1 - b2 ^ t", "local bc1, bc2 = 1 - b1 ^ t, 1 - b2 ^ (t + 1)", OPT,
      equivalent="the fused C kernel (kernels.adam_step) does the update; this Lua fallback line runs only without it"),
    # ---- stdlib: layers
    m(S + "nn.lua", "if not self.training or self.p == 0 then return x end", "if self.p == 0 then return x end", ["72-dropout-modes.lua", "34-train.lua"]),
    m(S + "nn.lua", "self.ctr = ctr + data_of(x):numel()", "self.ctr = ctr", ["72-dropout-modes.lua"]),
    m(S + "nn.lua", "if type(self.eps) ~= \"number\" or not (self.eps > 0 and self.eps < math.huge) then", "if false then", ["70-nan-policy.lua"]),
    m(S + "nn.lua", "if on == nil then on = true end", "if on == nil then on = false end", ["72-dropout-modes.lua", "31-models.lua"]),
    m(S + "nn.lua", "if d:dim() ~= 2 or d:size(2) ~= self.nin then", "if d:dim() ~= 2 then", ["31-models.lua", "56-act-errors.lua"]),
    # ---- stdlib: training loop
    m(S + "train.lua", "if not finite(gnorm) then nonfinite(live, \"gradient of\", \"grad\", epoch, b) end", "", TRAIN),
    m(S + "train.lua", "if not finite(param_sumsq()) then nonfinite(live, \"parameter\", \"data\", epoch, b) end", "", TRAIN),
    m(S + "train.lua", "if not finite(lv) then", "if lv ~= lv then", TRAIN),
    m(S + "train.lua", "if nrows(ds.train) == 0 then lpact.fail(\"train.fit: the training set is empty\") end", "", TRAIN),
    m(S + "train.lua", "if o.eval ~= false and ds.test and nrows(ds.test) == 0 then", "if false then", TRAIN),
    m(S + "train.lua", "if o.max_batches and o.max_batches < nb then nb = o.max_batches end", "", ["34-train.lua", "49-resume.lua", "79-pinned-contracts.lua"]),
    m(S + "train.lua", "if n == 0 then return 0 / 0, 0 / 0 end", "if n == 0 then return 0, 0 end", TRAIN,
      equivalent="fit refuses an empty test set before evaluating; evaluate() on an empty set is not reachable from fit"),
    m(S + "train.lua", "if b > nb then break end", "if b > nb + 1 then break end", ["34-train.lua", "49-resume.lua", "79-pinned-contracts.lua"]),
    m(S + "train.lua", "local pred = logits:argmax(2) -- 1-based classes", "local pred = logits:argmax(2) + 1", TRAIN,
      equivalent="train.correct uses lpact.count_correct, which always exists; the Lua fallback never runs"),
    # ---- stdlib: data
    m(S + "data.lua", "if lo and (lo ~= lo or lo == -math.huge or hi == math.huge) then", "if lo and lo ~= lo then", IDX + CSV),
    m(S + "data.lua", "if not v:find(\"%S\") then", "if v == \"\" then", CSV),
    m(S + "data.lua", "if k == math.floor(k) and k >= 0 and k <= data.MAX_LABEL then k = math.tointeger(k) end",
      "if k == math.floor(k) and k >= 0 then k = math.tointeger(k) end", CSV),
    m(S + "data.lua", "if header and #header ~= ncol then", "if false then", CSV),
    m(S + "data.lua", "if #fields ~= ncol then", "if #fields < ncol then", CSV),
    m(S + "data.lua", "if not opts.nonfinite and (num ~= num or math.abs(num) >= F32_OVERFLOW) then", "if not opts.nonfinite and num ~= num then", CSV),
    m(S + "data.lua", "if lo and (lo < 0 or hi > classes - 1 or lo ~= lo) then", "if lo and (lo < 0 or lo ~= lo) then", ["42-fashion-mnist.lua", "40-idx.lua"]),
    m(S + "data.lua", "local ntest = math.floor(n * fraction + 0.5)", "local ntest = math.floor(n * fraction)", CSV),
    m(S + "data.lua", "if cnt < batch and opts.drop_last then return nil end", "if opts.drop_last then return nil end", ["44-batches.lua"]),
    m(S + "data.lua", "if opts.shuffle ~= false then perm = io_.permutation(n, seed, epoch) end", "if opts.shuffle then perm = io_.permutation(n, seed, epoch) end", ["44-batches.lua"]),
    m(S + "data.lua", "if opts and opts.drop_last then return n // batch end", "if opts and opts.drop_last then return (n + batch - 1) // batch end", ["44-batches.lua"]),
    m(S + "data.lua", "local theta = 4 * t + k * 2 * math.pi / K + noise * normal(seed, stream + 1, i)", "local theta = 4 * t + noise * normal(seed, stream + 1, i)", ["34-train.lua", "43-csv-synthetic.lua"]),
    # ---- stdlib: numbers from text
    m(S + "numtext.lua", "if width - tz > 53 then return nil end", "if width - tz > 64 then return nil end", ROUND),
    m(S + "numtext.lua", "tz = tz + HEX_TZ[tonumber(digits:sub(i, i), 16)]", "tz = tz", ROUND),
    m(S + "numtext.lua", "return sign == \"-\" and -v or v", "return v", ROUND),
    m(S + "numtext.lua", "if l == \"-nan\" then return -numtext.QNAN end", "if l == \"-nan\" then return numtext.QNAN end", ROUND),
    m(S + "numtext.lua", "if x == 0 and s:sub(1, 1) == \"-\" then x = -0.0 end", "", ROUND),
    m(S + "numtext.lua", "local b = select(2, s:find(\"^.*%S\", a))", "local b = #s", ROUND),
    # ---- stdlib: checkpoints
    m(S + "checkpoint.lua", "if version ~= checkpoint.VERSION then", "if version > checkpoint.VERSION then", CKPT),
    m(S + "checkpoint.lua", "if stored ~= computed then", "if false then", CKPT),
    m(S + "checkpoint.lua", "if n > total then bad(", "if false then bad(", CKPT),
    m(S + "checkpoint.lua", "if not TOP[k] then bad(", "if false then bad(", CKPT),
    m(S + "checkpoint.lua", "if not used[name] then lpact.fail(", "if false then lpact.fail(", CKPT),
    m(S + "checkpoint.lua", "if type(name) ~= \"string\" or not tensors[name] then", "if false then", CKPT),
    m(S + "checkpoint.lua", "if seen[kind .. \":\" .. name] then bad(", "if false then bad(", CKPT,
      equivalent="save() already refuses two tensors of one kind with one name, and a crafted file with a duplicate fails the name check of load (a name the model lacks or the optimizer-state cross-check) before it matters"),
    m(S + "checkpoint.lua", "if #extra > 0 then mismatch(", "if false then mismatch(", CKPT),
    m(S + "checkpoint.lua", "if pos ~= end_data then bad(", "if false then bad(", CKPT),
    m(S + "checkpoint.lua", "pcall(optimizer.load_state, optimizer, saved)", "", CKPT,
      equivalent="load_state validates everything before it assigns, so a refused state never changed the optimizer; restoring the saved state is a second guard"),
    # ---- stdlib: JSON
    m(S + "json.lua", "if depth > 200 then decode_error(s, i, \"nested deeper than 200\") end", "", JSON),
    m(S + "json.lua", "if i <= #s then decode_error(s, i, \"text after the value\") end", "", JSON),
    # ---- stdlib: schedules
    m(S + "schedule.lua", "for _, m in ipairs(ms) do if t >= m then k = k + 1 end end", "for _, m in ipairs(ms) do if t > m then k = k + 1 end end", SCHED),
    m(S + "schedule.lua", "if t >= total then return min end", "if t > total then return min end", SCHED,
      equivalent="at t = total the formula gives min + (lr - min) (1 + cos pi) / 2 = min exactly (math.cos(math.pi) is -1.0)"),
    m(S + "schedule.lua", "return a + (b - a) * t / n", "return a + (b - a) * (t + 1) / n", SCHED),
    m(S + "schedule.lua", "if t < n then return after:at(0) * (f0 + (1 - f0) * t / n) end", "if t <= n then return after:at(0) * (f0 + (1 - f0) * t / n) end", SCHED,
      equivalent="at t = n both branches give after:at(0): the warm-up factor f0 + (1 - f0) n / n is 1"),
    # ---- stdlib: figures
    m(S + "figure.lua", "if bytes:sub(-12) ~= \"\\0\\0\\0\\0IEND\\174\\66\\96\\130\" then", "if false then", FIG),
    m(S + "figure.lua", "if not bytes:find(\"</svg>%s*$\") then", "if false then", FIG),
    m(S + "figure.lua", "if #bytes == 0 then return \"the file is empty\" end", "", FIG),
    # ---- stdlib: quantized activations (delayed amax)
    m(S + "qact.lua", "if #s.hist > s.history then table.remove(s.hist, 1) end", "if #s.hist >= s.history then table.remove(s.hist, 1) end", ["76-quant-contracts.lua"]),
    m(S + "qact.lua", "      table.insert(s.hist, cur)", "      table.insert(s.hist, cur) elseif true then table.insert(s.hist, cur)", ["76-quant-contracts.lua"]),
    m(S + "qact.lua", "if self.cfg.sr or self.any_sr then self.ctr = self.ctr + n end", "if self.cfg.sr then self.ctr = self.ctr + n end", ["76-quant-contracts.lua"]),
    m(S + "qact.lua", "if info.in_codes > 0 and not (self.out_sr and self.mode ~= \"lut\" and not self.luaf) then", "if info.in_codes > 0 then", ["76-quant-contracts.lua"]),
    m(C + "format.c", "if ((unsigned char)*q < 32 || *q == 127) *q = '?';", "if (0) *q = '?';", ["71-inputs.lua"]),
    # ---- stdlib: autograd
    m(S + "autograd.lua", "if not training or p == 0 then return x end", "if p == 0 then return x end", ["72-dropout-modes.lua", "30-nn-gradcheck.lua"],
      equivalent="nn.Dropout returns before calling ag.dropout when not training; the same check in ag.dropout is only reached with training = true from the layer"),
]
