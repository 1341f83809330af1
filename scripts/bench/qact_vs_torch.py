#!/usr/bin/python3
"""The PyTorch side of scripts/bench/qact_vs_torch.sh: what the study's
method costs in PyTorch, the baseline that lpact's native kernels are
measured against. The same cnn_small and MLP 784-256-128-10 as lpact's
zoo, trained with Adam (lr 1e-3, batch 128) on Fashion-MNIST, with FP32
ReLU activations and with every activation computed in FP4 (E2M1, round
to nearest even, saturating) with learnable levels:

- lut:     y = T[code(Q(x))], T a learnable table over the 16 input codes;
- emulate: y = L[code(Q(relu(Q(x))))], L learnable output levels.

Both use the f' straight-through estimator (dL/dx = dL/dy * relu'(x)) and
give each table entry the sum of the upstream gradients of the elements
that used it, as lpact's layers do. Written the way a PyTorch user would
write it: tensor operations inside one autograd.Function.

Times are taken like `lpact bench qact`: the configurations are interleaved
in rounds of N batches (FP32, lut, emulate, FP32, ...) and each line gives
ms per batch and the ratio to FP32:

    cnn_small fp32 ms_per_batch=12.345 ratio=1.000

Run with Debian's /usr/bin/python3 (python3-torch, PyTorch 1.13).
"""
import argparse
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_vs_torch import load  # noqa: E402  (same data loader)

# FP4 (E2M1, OCP MX): the 8 magnitudes; code = sign * 8 + position.
E2M1 = torch.tensor([0.0, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0])


def quantize_e2m1(x):
    """Rounds to E2M1 (ties to even, saturating at 6): the quantum is 0.5
    below 1 (subnormals) and 2^(floor(log2|x|) - 1) above."""
    a = x.abs()
    _, e = torch.frexp(a)                  # a = m 2^e, m in [0.5, 1)
    step = torch.where(a < 1.0, torch.full_like(a, 0.5), torch.ldexp(torch.ones_like(a), e - 2))
    q = torch.clamp(torch.round(a / step) * step, max=6.0)   # torch.round: ties to even
    return torch.copysign(q, x)


def code_e2m1(q):
    """The 4-bit code of an E2M1 value (q already rounded)."""
    pos = torch.searchsorted(E2M1, q.abs().contiguous())
    return pos + 8 * torch.signbit(q).long()


def check_quantizer():
    """Hand-worked values: ties go to the even code, large values saturate."""
    x = torch.tensor([0.2, 0.25, 0.75, 1.25, 1.75, 2.5, 3.5, 5.0, 7.0, 100.0, -0.3, -2.9])
    want = torch.tensor([0.0, 0.0, 1.0, 1.0, 2.0, 2.0, 4.0, 4.0, 6.0, 6.0, -0.5, -3.0])
    got = quantize_e2m1(x)
    if not torch.equal(got, want):
        sys.exit("qact_vs_torch.py: E2M1 rounding is wrong: %s" % got.tolist())
    if code_e2m1(torch.tensor([0.0, 6.0, -0.5, -6.0])).tolist() != [0, 7, 9, 15]:
        sys.exit("qact_vs_torch.py: E2M1 codes are wrong")


class LutReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, table):
        idx = code_e2m1(quantize_e2m1(x))
        ctx.save_for_backward(x, idx)
        ctx.n = table.numel()
        return table[idx]

    @staticmethod
    def backward(ctx, gy):
        x, idx = ctx.saved_tensors
        gx = gy * (x > 0).to(gy.dtype)                       # STE f' = relu'
        gt = torch.bincount(idx.reshape(-1), weights=gy.reshape(-1), minlength=ctx.n).to(gy.dtype)
        return gx, gt


class EmulateReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, levels):
        y = quantize_e2m1(torch.relu(quantize_e2m1(x)))
        idx = code_e2m1(y)
        ctx.save_for_backward(x, idx)
        ctx.n = levels.numel()
        return levels[idx]

    @staticmethod
    def backward(ctx, gy):
        x, idx = ctx.saved_tensors
        gx = gy * (x > 0).to(gy.dtype)
        gl = torch.bincount(idx.reshape(-1), weights=gy.reshape(-1), minlength=ctx.n).to(gy.dtype)
        return gx, gl


class QAct(nn.Module):
    def __init__(self, mode):
        super().__init__()
        self.fn = LutReLU if mode == "lut" else EmulateReLU
        values = torch.cat([E2M1, -E2M1])                    # the value of each code
        init = torch.relu(values) if mode == "lut" else values
        self.table = nn.Parameter(init.clone())

    def forward(self, x):
        return self.fn.apply(x, self.table)


def build(model, act):
    if model == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), act(), nn.Linear(256, 128), act(), nn.Linear(128, 10))
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), act(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), act(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 128), act(), nn.Linear(128, 10))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default="cnn_small,mlp")
    ap.add_argument("--batches", type=int, default=40, help="batches per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default=os.environ.get("LPACT_DATA", "/usr/share/datasets/fashion-mnist"))
    args = ap.parse_args()
    if args.batches < 1 or args.rounds < 1 or args.threads < 1:
        sys.exit("qact_vs_torch.py: --batches, --rounds and --threads must be >= 1")
    for m in args.models.split(","):
        if m not in ("mlp", "cnn_small"):
            sys.exit("qact_vs_torch.py: unknown model '%s' (mlp, cnn_small)" % m)
    check_quantizer()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    xtr, ytr, _, _ = load(args.data, 128 * args.batches * args.rounds)
    configs = [("fp32", nn.ReLU), ("fp4 lut learnable", lambda: QAct("lut")),
               ("fp4 emulate learnable", lambda: QAct("emulate"))]
    for name in args.models.split(","):
        runs = []
        for _, act in configs:
            model = build(name, act)
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            runs.append({"model": model, "opt": opt, "secs": 0.0, "batches": 0})
        for r in range(args.rounds + 1):                    # round 0 warms up
            for run in runs:
                t0 = time.perf_counter()
                for b in range(2 if r == 0 else args.batches):
                    i = (b * 128) % len(xtr)
                    xb, yb = xtr[i:i + 128], ytr[i:i + 128]
                    run["opt"].zero_grad(set_to_none=True)
                    F.cross_entropy(run["model"](xb), yb).backward()
                    run["opt"].step()
                if r > 0:
                    run["secs"] += time.perf_counter() - t0
                    run["batches"] += args.batches
        base = runs[0]["secs"] / runs[0]["batches"]
        for (cname, _), run in zip(configs, runs):
            ms = run["secs"] / run["batches"]
            print("%s %s ms_per_batch=%.3f ratio=%.3f" % (name, cname.replace(" ", "_"), 1000 * ms, ms / base), flush=True)


if __name__ == "__main__":
    main()
