#!/usr/bin/python3
"""The PyTorch side of scripts/bench/train_vs_torch.sh: trains the same MLP
784-256-128-10 (ReLU) or cnn_small (conv16-pool-conv32-pool-fc128-fc10) as
lpact's model zoo on Fashion-MNIST with Adam (lr 1e-3), batch 128, a fixed
seed, and prints one line per epoch and a summary line:

    epoch 1 loss 0.5123 train_acc 0.8201 test_acc 0.8512 seconds 1.234
    result model=mlp seconds_per_epoch=1.234 test_acc=0.8512

Data: Debian's dataset-fashion-mnist (gzip IDX), read with gzip + numpy
(no torchvision, no download). Pixels scaled to [0, 1], as lpact's loader
does. Run with Debian's /usr/bin/python3 (python3-torch, PyTorch 1.13).
"""
import argparse
import gzip
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    if magic >> 8 != 0x08:
        sys.exit(f"{path}: not an unsigned-byte IDX file (magic 0x{magic:08x})")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(dirname, limit=None):
    def images(name):
        x = read_idx(os.path.join(dirname, name)).astype(np.float32) / 255.0
        return torch.from_numpy(x.reshape(-1, 1, 28, 28).copy())

    def labels(name):
        return torch.from_numpy(read_idx(os.path.join(dirname, name)).astype(np.int64))

    xtr, ytr = images("train-images-idx3-ubyte.gz"), labels("train-labels-idx1-ubyte.gz")
    xte, yte = images("t10k-images-idx3-ubyte.gz"), labels("t10k-labels-idx1-ubyte.gz")
    if limit:
        xtr, ytr, xte, yte = xtr[:limit], ytr[:limit], xte[:limit], yte[:limit]
    return xtr, ytr, xte, yte


def mlp():
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 256), nn.ReLU(),
                         nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))


def cnn_small():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(32 * 7 * 7, 128), nn.ReLU(), nn.Linear(128, 10))


def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return correct / len(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="mlp", choices=["mlp", "cnn_small"])
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--normalize", type=int, default=0, help="1: standardise with the training set's mean and std")
    ap.add_argument("--data", default=os.environ.get("LPACT_DATA", "/usr/share/datasets/fashion-mnist"))
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    xtr, ytr, xte, yte = load(args.data, args.limit or None)
    if args.normalize:
        mean, std = xtr.mean().item(), xtr.std().item()
        xtr, xte = (xtr - mean) / std, (xte - mean) / std
    model = {"mlp": mlp, "cnn_small": cnn_small}[args.model]()
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    n = len(xtr)
    times = []
    acc = 0.0
    for epoch in range(1, args.epochs + 1):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        total_loss, correct = 0.0, 0
        for i in range(0, n, args.batch):
            idx = perm[i:i + args.batch]
            xb, yb = xtr[idx], ytr[idx]
            opt.zero_grad(set_to_none=True)
            out = model(xb)
            loss = F.cross_entropy(out, yb)
            loss.backward()
            opt.step()
            total_loss += loss.item() * len(idx)
            correct += (out.argmax(1) == yb).sum().item()
        seconds = time.perf_counter() - t0
        times.append(seconds)
        acc = evaluate(model, xte, yte)
        print(f"epoch {epoch} loss {total_loss / n:.4f} train_acc {correct / n:.4f} "
              f"test_acc {acc:.4f} seconds {seconds:.3f}", flush=True)
    print(f"result model={args.model} seconds_per_epoch={sum(times) / len(times):.3f} test_acc={acc:.4f}")


if __name__ == "__main__":
    main()
