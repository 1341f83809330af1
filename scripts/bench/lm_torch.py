#!/usr/bin/python3
"""The PyTorch twin of lpact's character-level GPT (lpact.models.gpt and
lpact.lm): the same data (Debian's fortunes, bytes as tokens, the last 10%
of each file for validation), the same model (pre-LN blocks, MLP ratio 4,
exact GELU, learned positions, the head tied to the token embedding,
N(0, 0.02) initialisation with the residual projections at
0.02 / sqrt(2 layers)) and the same recipe (AdamW, linear warm-up then
cosine to lr / 10, gradients clipped to norm 1).

  python3 scripts/bench/lm_torch.py train [--steps N] [--seconds S] [--threads 2]
      [--batch 32] [--ctx 64] [--d 64] [--heads 4] [--layers 2] [--lr 3e-3] [--seed 1]
      trains, then prints the validation loss (nats and bits per char over
      the whole validation text) and the training tokens/s
  python3 scripts/bench/lm_torch.py match FILE
      reads the initial weights and batches that scripts/bench/lm_match_torch.lua
      wrote, trains on them and prints both loss curves and the largest
      relative difference
"""
import argparse
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

FORTUNES = os.environ.get("LPACT_FORTUNES", "/usr/share/games/fortunes")


def load_text(directory=FORTUNES, val_fraction=0.1):
    names = sorted(n for n in os.listdir(directory)
                   if "." not in n and not os.path.isdir(os.path.join(directory, n)))
    train, val = [], []
    for n in names:
        with open(os.path.join(directory, n), "rb") as f:
            s = f.read()
        cut = math.floor(len(s) * (1 - val_fraction) + 0.5)
        train.append(s[:cut])
        val.append(s[cut:])
    tr, va = b"".join(train), b"".join(val)
    alphabet = sorted(set(tr) | set(va))
    lut = {b: i for i, b in enumerate(alphabet)}
    enc = lambda s: torch.tensor([lut[b] for b in s], dtype=torch.long)
    return enc(tr), enc(va), len(alphabet)


class Block(nn.Module):
    def __init__(self, d, heads, layers):
        super().__init__()
        self.heads = heads
        self.ln1 = nn.LayerNorm(d)
        self.qkv = nn.Linear(d, 3 * d)
        self.aproj = nn.Linear(d, d)
        self.ln2 = nn.LayerNorm(d)
        self.fc = nn.Linear(d, 4 * d)
        self.proj = nn.Linear(4 * d, d)
        for m, std in ((self.qkv, 0.02), (self.fc, 0.02), (self.aproj, 0.02 / math.sqrt(2 * layers)),
                       (self.proj, 0.02 / math.sqrt(2 * layers))):
            nn.init.normal_(m.weight, 0, std)
            nn.init.zeros_(m.bias)

    def forward(self, x):
        B, T, D = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(D, dim=2)
        q, k, v = (t.view(B, T, self.heads, D // self.heads).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D // self.heads))
        att = att.masked_fill(torch.ones(T, T, dtype=torch.bool).triu(1), float("-inf"))
        a = att.softmax(dim=-1) @ v
        x = x + self.aproj(a.transpose(1, 2).reshape(B, T, D))
        return x + self.proj(F.gelu(self.fc(self.ln2(x))))


class GPT(nn.Module):
    def __init__(self, vocab, ctx, d, heads, layers):
        super().__init__()
        self.wte = nn.Parameter(torch.randn(vocab, d) * 0.02)
        self.wpe = nn.Parameter(torch.randn(ctx, d) * 0.02)
        self.h = nn.ModuleList(Block(d, heads, layers) for _ in range(layers))
        self.ln_f = nn.LayerNorm(d)

    def forward(self, idx):
        T = idx.shape[1]
        x = self.wte[idx] + self.wpe[:T]
        for b in self.h:
            x = b(x)
        return self.ln_f(x) @ self.wte.t()

    def loss(self, x, y):
        logits = self(x)
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


# lpact's parameter names (model:parameters()) -> this model's
def lpact_name(name):
    parts = name.split(".")
    if parts[0].startswith("h") and parts[0][1:].isdigit():
        i = int(parts[0][1:]) - 1
        rest = ".".join(parts[1:])
        rest = rest.replace("attn.qkv", "qkv").replace("attn.proj", "aproj")
        return f"h.{i}.{rest}"
    return name


def lr_at(step, steps, lr, warm, min_lr):
    if step < warm:
        return lr * step / warm
    t, total = step - warm, max(1, steps - warm)
    if t >= total:
        return min_lr
    return min_lr + (lr - min_lr) * (1 + math.cos(math.pi * t / total)) / 2


@torch.no_grad()
def evaluate(m, ids, B, T):
    m.eval()
    n = (len(ids) - 1) // T
    total, count = 0.0, 0
    for i in range(0, n, B):
        starts = range(i * T, min(n, i + B) * T, T)
        x = torch.stack([ids[s:s + T] for s in starts])
        y = torch.stack([ids[s + 1:s + T + 1] for s in starts])
        logits = m(x)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
        count += y.numel()
    m.train()
    return total / count


def train(a):
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    tr, va, V = load_text()
    m = GPT(V, a.ctx, a.d, a.heads, a.layers)
    opt = torch.optim.AdamW(m.parameters(), lr=a.lr, weight_decay=0.01)
    warm = a.steps // 20
    g = torch.Generator().manual_seed(a.seed)
    t_train, step = 0.0, 0
    for step in range(1, a.steps + 1):
        t0 = time.perf_counter()
        for p in opt.param_groups:
            p["lr"] = lr_at(step - 1, a.steps, a.lr, warm, a.lr / 10)
        starts = torch.randint(0, len(tr) - a.ctx, (a.batch,), generator=g)
        x = torch.stack([tr[s:s + a.ctx] for s in starts])
        y = torch.stack([tr[s + 1:s + a.ctx + 1] for s in starts])
        loss = m.loss(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        t_train += time.perf_counter() - t0
        if step % 100 == 0:
            print(f"step {step}/{a.steps}  loss {loss.item():.4f}  {step * a.batch * a.ctx / t_train:.0f} tokens/s",
                  flush=True)
        if a.seconds and t_train > a.seconds:
            break
    vl = evaluate(m, va, a.batch, a.ctx)
    print(f"torch: {step} steps, {step * a.batch * a.ctx} tokens, {t_train:.1f} s training, "
          f"{step * a.batch * a.ctx / t_train:.0f} tokens/s, val {vl:.4f} nats/char "
          f"{vl / math.log(2):.4f} bits/char")


def match(path):
    torch.set_num_threads(int(os.environ.get("THREADS", "1")))
    with open(path) as f:
        lines = f.read().splitlines()
    head = dict(kv.split("=") for kv in lines[0].split())
    V, ctx, d, H, L = (int(head[k]) for k in ("vocab", "ctx", "d", "heads", "layers"))
    lr, steps, B = float(head["lr"]), int(head["steps"]), int(head["batch"])
    m = GPT(V, ctx, d, H, L)
    params = dict(m.named_parameters())
    i = 1
    while not lines[i].startswith("batch "):
        name, *vals = lines[i].split()
        p = params[lpact_name(name)]
        with torch.no_grad():
            p.copy_(torch.tensor([float(v) for v in vals]).view_as(p))
        i += 1
    batches, ours = [], []
    while i < len(lines) and lines[i].startswith("batch "):
        xs = [int(v) for v in lines[i].split()[1:]]
        ys = [int(v) for v in lines[i + 1].split()[1:]]
        batches.append((torch.tensor(xs).view(B, ctx), torch.tensor(ys).view(B, ctx)))
        i += 2
    ours = [float(l.split()[1]) for l in lines[i:] if l.startswith("loss")]
    opt = torch.optim.AdamW(m.parameters(), lr=lr, weight_decay=0.01)
    worst = 0.0
    for s, (x, y) in enumerate(batches):
        loss = m.loss(x, y)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
        opt.step()
        rel = abs(loss.item() - ours[s]) / abs(loss.item())
        worst = max(worst, rel)
        if s < 3 or (s + 1) % 10 == 0 or os.environ.get("ALL"):
            print(f"step {s + 1:3d}  lpact {ours[s]:.7f}  torch {loss.item():.7f}  rel diff {rel:.2e}")
    print(f"gpt: {len(batches)} steps, largest relative loss difference {worst:.2e}")
    return worst


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["train", "match"])
    ap.add_argument("file", nargs="?")
    for k, v in (("steps", 1000), ("seconds", 0), ("threads", 2), ("batch", 32), ("ctx", 64), ("d", 64),
                 ("heads", 4), ("layers", 2), ("seed", 1)):
        ap.add_argument("--" + k, type=int, default=v)
    ap.add_argument("--lr", type=float, default=3e-3)
    a = ap.parse_args()
    if a.what == "train":
        train(a)
    else:
        sys.exit(0 if match(a.file) < 1e-4 else 1)
