#!/usr/bin/python3
"""scripts/bench/qact_acc_torch.py — the issue's accuracy recipe written
independently in PyTorch, to check lpact's quantized-activation numbers
against a second implementation of the same method.

MLP 784-256-128-10 on Fashion-MNIST, Adam lr 1e-3, batch 128, PyTorch's
default initialisation, every hidden activation computed in `emulate`
mode with no scaling:

    y = L[code(Q_out(f(Q_in(x))))]        L = the format's values (fixed)
                                           or a learnable copy of them

Q rounds to nearest, ties to the even code, saturating at the format's
largest value, keeping the input's sign (so relu of a negative input is
-0, whose level is learned apart from +0's, as in lpact). The STE is
`fprime` (dL/dx = dL/dy * f'(x) at the unquantized x) or `clipped` (the
same, 0 where |x| is beyond the format's largest value); a level's
gradient is the sum of the upstream gradients of the elements that used
it.

PyTorch draws its own initial weights and batches from the seed, so a
seed here is another sample of the same experiment, not lpact's seed: the
numbers to compare are the means and spreads over seeds.

    /usr/bin/python3 scripts/bench/qact_acc_torch.py --acts relu --formats fp32,fp2 \\
        --levels fixed,learnable --seeds 1,2,3 [--epochs 5] [--ste fprime]

One line per training, then a table of the mean test accuracy (rows
activation | levels, columns formats) and each seed's accuracy.
Run with Debian's /usr/bin/python3 (python3-torch, PyTorch 1.13).
"""
import argparse
import math
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_vs_torch import evaluate, load  # noqa: E402  (same data loader)

# name -> (E, M, bias, drop_top): drop_top removes the all-ones code (the
# NaN of E4M3FN); every other preset here has all codes finite.
FORMATS = {
    "fp8": (4, 3, 7, True),
    "fp6": (3, 2, 3, False),
    "fp4": (2, 1, 1, False),
    "fp3": (1, 1, 0, False),
    "fp2": (1, 0, 0, False),
}


def magnitudes(e, m, bias, drop_top):
    """The format's non-negative values in code order (subnormals first)."""
    out = []
    for ef in range(2 ** e):
        for mf in range(2 ** m):
            if ef == 0:
                out.append(mf / 2 ** m * 2.0 ** (1 - bias))
            else:
                out.append((1 + mf / 2 ** m) * 2.0 ** (ef - bias))
    if drop_top:
        out.pop()
    return out


class Format:
    def __init__(self, name):
        self.name = name
        self.mags = torch.tensor(magnitudes(*FORMATS[name]), dtype=torch.float32)
        self.mids = (self.mags[:-1] + self.mags[1:]) / 2   # exact: one more bit than the values
        self.max = self.mags[-1].item()
        self.values = torch.cat([self.mags, -self.mags])   # the value of each code
        self.n = len(self.mags)

    def index(self, v):
        """Magnitude code of round(|v|): nearest, ties to the even code, saturating."""
        a = v.abs()
        k = torch.searchsorted(self.mids, a.contiguous(), right=False)   # mids < a
        kk = torch.clamp(k, max=self.n - 2)
        tie = (k < self.n - 1) & (a == self.mids[kk])
        return torch.where(tie & (k % 2 == 1), k + 1, k)

    def code(self, v):
        return self.index(v) + self.n * torch.signbit(v).long()

    def round(self, v):
        return torch.copysign(self.mags[self.index(v)], v)


def f_and_fprime(name):
    """f on a tensor (the sign of a zero result follows the input) and f'."""
    if name == "relu":
        return (lambda x: torch.where(x > 0, x, x * 0.0)), (lambda x: (x > 0).float())
    if name == "leaky_relu":
        return (lambda x: torch.where(x > 0, x, 0.01 * x)), (lambda x: torch.where(x > 0, 1.0, 0.01))
    if name == "gelu":
        def gelu_d(x):
            return 0.5 * (1 + torch.erf(x / math.sqrt(2))) + x * torch.exp(-0.5 * x * x) / math.sqrt(2 * math.pi)
        return (lambda x: F.gelu(x)), gelu_d
    if name == "silu":
        def silu_d(x):
            s = torch.sigmoid(x)
            return s * (1 + x * (1 - s))
        return (lambda x: F.silu(x)), silu_d
    if name == "sigmoid":
        return torch.sigmoid, (lambda x: torch.sigmoid(x) * (1 - torch.sigmoid(x)))
    if name == "tanh":
        return torch.tanh, (lambda x: 1 - torch.tanh(x) ** 2)
    sys.exit("qact_acc_torch.py: unknown activation '%s'" % name)


class Emulate(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, levels, fmt, f, fprime, clipped):
        y = fmt.round(f(fmt.round(x)))
        code = fmt.code(y)
        ctx.save_for_backward(x, code)
        ctx.fmt, ctx.fprime, ctx.clipped = fmt, fprime, clipped
        return levels[code]

    @staticmethod
    def backward(ctx, gy):
        x, code = ctx.saved_tensors
        d = ctx.fprime(x)
        if ctx.clipped:
            d = torch.where(x.abs() <= ctx.fmt.max, d, torch.zeros_like(d))
        gl = torch.bincount(code.reshape(-1), weights=gy.reshape(-1).double(),
                            minlength=2 * ctx.fmt.n).to(gy.dtype)
        return gy * d, gl, None, None, None, None


class QAct(nn.Module):
    def __init__(self, act, fmt, learnable, ste):
        super().__init__()
        self.fmt = fmt
        self.f, self.fprime = f_and_fprime(act)
        self.clipped = ste == "clipped"
        init = fmt.values.clone()
        if learnable:
            self.levels = nn.Parameter(init)
        else:
            self.register_buffer("levels", init)

    def forward(self, x):
        return Emulate.apply(x, self.levels, self.fmt, self.f, self.fprime, self.clipped)


class Plain(nn.Module):
    def __init__(self, act):
        super().__init__()
        self.f = f_and_fprime(act)[0]

    def forward(self, x):
        return self.f(x)


def check_quantizer():
    """Values worked out by hand from each format's value set."""
    cases = {
        "fp2": ([0.9, 1.0, 1.01, 5.0, -0.3, -1.5], [0.0, 0.0, 2.0, 2.0, -0.0, -2.0]),
        "fp3": ([0.5, 1.5, 2.5, 3.4, 9.0, -0.6], [0.0, 2.0, 2.0, 3.0, 3.0, -1.0]),
        "fp4": ([0.25, 0.75, 2.5, 5.0, 7.0, -3.5], [0.0, 1.0, 2.0, 4.0, 6.0, -4.0]),
        "fp6": ([0.03125, 0.09375, 29.0, 13.0], [0.0, 0.125, 28.0, 12.0]),
        "fp8": ([464.0, 465.0, 0.0009765625, 0.0029296875], [448.0, 448.0, 0.0, 0.00390625]),
    }
    for name, (x, want) in cases.items():
        got = Format(name).round(torch.tensor(x))
        if got.tolist() != want or torch.signbit(got).tolist() != torch.signbit(torch.tensor(want)).tolist():
            sys.exit("qact_acc_torch.py: %s rounding is wrong: %s, want %s" % (name, got.tolist(), want))


def train(act, fmt, levels, ste, seed, epochs, data):
    torch.manual_seed(seed)
    xtr, ytr, xte, yte = data

    def site():
        return Plain(act) if fmt == "fp32" else QAct(act, Format(fmt), levels == "learnable", ste)
    model = nn.Sequential(nn.Flatten(), nn.Linear(784, 256), site(), nn.Linear(256, 128), site(),
                          nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    n = len(xtr)
    t0 = time.perf_counter()
    for _ in range(epochs):
        perm = torch.randperm(n)
        for i in range(0, n, 128):
            idx = perm[i:i + 128]
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(model(xtr[idx]), ytr[idx]).backward()
            opt.step()
    return evaluate(model, xte, yte), time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--acts", default="relu,leaky_relu,gelu,silu,sigmoid,tanh")
    ap.add_argument("--formats", default="fp32,fp8,fp6,fp4,fp3,fp2")
    ap.add_argument("--levels", default="learnable")
    ap.add_argument("--seeds", default="1")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--ste", default="fprime", choices=["fprime", "clipped"])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--data", default=os.environ.get("LPACT_DATA", "/usr/share/datasets/fashion-mnist"))
    args = ap.parse_args()
    acts, fmts = args.acts.split(","), args.formats.split(",")
    levels = args.levels.split(",")
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        sys.exit("qact_acc_torch.py: --seeds must be whole numbers, got '%s'" % args.seeds)
    for f in fmts:
        if f != "fp32" and f not in FORMATS:
            sys.exit("qact_acc_torch.py: unknown format '%s' (fp32, %s)" % (f, ", ".join(FORMATS)))
    for lv in levels:
        if lv not in ("fixed", "learnable"):
            sys.exit("qact_acc_torch.py: --levels: expected fixed or learnable, got '%s'" % lv)
    for a in acts:
        f_and_fprime(a)
    if args.epochs < 1 or args.threads < 1:
        sys.exit("qact_acc_torch.py: --epochs and --threads must be >= 1")
    if not os.path.isdir(args.data):
        sys.exit("qact_acc_torch.py: no Fashion-MNIST in %s (apt-get install dataset-fashion-mnist)" % args.data)
    check_quantizer()
    torch.set_num_threads(args.threads)
    data = load(args.data)

    acc = {}
    for a in acts:
        for f in fmts:
            for lv in (["-"] if f == "fp32" else levels):
                for s in seeds:
                    r, secs = train(a, f, lv, args.ste, s, args.epochs, data)
                    acc[(a, f, lv, s)] = r
                    print("result act=%s fmt=%s levels=%s ste=%s seed=%d epochs=%d test_acc=%.4f seconds=%.1f"
                          % (a, f, lv, args.ste if f != "fp32" else "-", s, args.epochs, r, secs), flush=True)

    print()
    print("| activation | levels | " + " | ".join(f.upper() for f in fmts) + " |")
    print("|---|---|" + "---:|" * len(fmts))
    for a in acts:
        for lv in levels:
            cells = []
            for f in fmts:
                got = [acc[(a, f, "-" if f == "fp32" else lv, s)] for s in seeds]
                cells.append("%.2f" % (100 * sum(got) / len(got)) +
                             (" (%s)" % " ".join("%.2f" % (100 * g) for g in got) if len(got) > 1 else ""))
            print("| %s | %s | %s |" % (a, lv, " | ".join(cells)))


if __name__ == "__main__":
    main()
