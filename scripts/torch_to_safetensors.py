#!/usr/bin/python3
"""torch_to_safetensors.py IN.pt OUT.safetensors

Converts a PyTorch state_dict (saved with torch.save(model.state_dict(),
IN.pt)) to a safetensors file lpact reads (lpact.load_safetensors,
model:load_state). Names are kept as PyTorch gives them ("1.weight");
lpact maps them onto its own Sequential numbering. Needs numpy and torch
only; float16/bfloat16 tensors are written as float32. Integer buffers
such as BatchNorm's num_batches_tracked are left out (lpact keeps none).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_numpy  # noqa: E402


def main(argv):
    if len(argv) != 3 or argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if len(argv) > 1 and argv[1] in ("-h", "--help") else 2
    import torch
    sd = torch.load(argv[1], map_location="cpu")
    if hasattr(sd, "state_dict"):
        sd = sd.state_dict()
    arrays = {}
    for name, t in sd.items():
        if name.endswith("num_batches_tracked"):
            continue
        t = t.detach().cpu()
        if t.dtype in (torch.float16, torch.bfloat16, torch.float64):
            t = t.float()
        arrays[name] = t.numpy()
    st_numpy.write(argv[2], arrays, {"format": "pt", "source": "torch " + torch.__version__})
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
