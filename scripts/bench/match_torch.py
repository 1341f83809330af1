#!/usr/bin/python3
"""The PyTorch half of scripts/bench/match_torch.lua: loads lpact's initial
weights into the same model, trains the same batches with Adam (lr 1e-3)
and prints both loss curves and the largest difference."""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_vs_torch as T  # noqa: E402

name, steps, wfile, lfile = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
torch.set_num_threads(1)
m = T.mlp() if name == "mlp" else T.cnn_small()
with open(wfile) as f:
    lines = f.read().splitlines()
for p, line in zip(m.parameters(), lines):
    vals = torch.tensor([float(v) for v in line.split()[1:]], dtype=torch.float32)
    with torch.no_grad():
        p.copy_(vals.view_as(p))
xtr, ytr, _, _ = T.load(os.environ.get("LPACT_DATA", "/usr/share/datasets/fashion-mnist"), 128 * steps)
opt = torch.optim.Adam(m.parameters(), lr=1e-3)
with open(lfile) as f:
    ours = [float(l.split()[1]) for l in f if l.strip()]
worst = 0.0
for i in range(steps):
    xb, yb = xtr[i * 128:(i + 1) * 128], ytr[i * 128:(i + 1) * 128]
    opt.zero_grad()
    loss = F.cross_entropy(m(xb), yb)
    loss.backward()
    opt.step()
    d = abs(loss.item() - ours[i])
    worst = max(worst, d)
    if i < 3 or (i + 1) % 10 == 0:
        print(f"step {i + 1:4d}  lpact {ours[i]:.7f}  torch {loss.item():.7f}  |diff| {d:.2e}")
print(f"{name}: {steps} steps, largest loss difference {worst:.2e}")
