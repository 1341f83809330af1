#!/usr/bin/python3
"""safetensors_to_torch.py IN.safetensors OUT.pt

Converts a safetensors file (for instance one written by lpact's
model:save_safetensors) to a PyTorch state_dict saved with torch.save, for
model.load_state_dict(torch.load(OUT.pt)). Names are kept ("1.weight");
lpact's learned quantization levels ("2.levels") come along as plain
tensors: load with strict=False, or read them for your own layer. Needs
numpy and torch only.
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
    arrays, _meta = st_numpy.read(argv[1])
    sd = {name: torch.from_numpy(a) for name, a in arrays.items()}
    tmp = argv[2] + ".tmp"
    torch.save(sd, tmp)
    os.replace(tmp, argv[2])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
