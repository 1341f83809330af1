"""st_numpy — safetensors files read and written with NumPy, json and
struct only (no safetensors package): the helper behind
torch_to_safetensors.py and safetensors_to_torch.py.

A safetensors file is an 8-byte little-endian header length, a JSON header
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
{str: str}}, then the tensors' bytes, which must tile the data section."""
import json
import struct

import numpy as np

DTYPES = {"F32": "<f4", "F64": "<f8", "F16": "<f2", "I64": "<i8", "I32": "<i4",
          "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}


def write(path, arrays, metadata=None):
    """arrays: dict name -> numpy array (written in sorted name order)."""
    header, chunks, at = {}, [], 0
    rev = {np.dtype(v).str: k for k, v in DTYPES.items()}
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        key = np.dtype(a.dtype).newbyteorder("<").str if a.dtype.byteorder == ">" else a.dtype.str
        if key not in rev:
            raise SystemExit("%s: tensor %r has dtype %s, which safetensors_to/from here does not carry" % (path, name, a.dtype))
        b = a.astype(np.dtype(DTYPES[rev[key]])).tobytes()
        header[name] = {"dtype": rev[key], "shape": list(a.shape), "data_offsets": [at, at + len(b)]}
        chunks.append(b)
        at += len(b)
    if metadata:
        header["__metadata__"] = dict(metadata)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(chunks))
    import os
    os.replace(tmp, path)


def read(path):
    """-> (dict name -> numpy array, metadata dict). Checks the header."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 8:
        raise SystemExit("%s: truncated" % path)
    (n,) = struct.unpack("<Q", buf[:8])
    if n > len(buf) - 8:
        raise SystemExit("%s: header length %d runs past the file" % (path, n))
    header = json.loads(buf[8:8 + n])
    data = buf[8 + n:]
    meta = header.pop("__metadata__", {})
    out, spans = {}, []
    for name, rec in header.items():
        if set(rec) != {"dtype", "shape", "data_offsets"}:
            raise SystemExit("%s: tensor %r: fields %s" % (path, name, sorted(rec)))
        b, e = rec["data_offsets"]
        dt = np.dtype(DTYPES[rec["dtype"]])
        count = int(np.prod(rec["shape"], dtype=np.int64))
        if not (0 <= b <= e <= len(data)) or e - b != count * dt.itemsize:
            raise SystemExit("%s: tensor %r: bad data_offsets" % (path, name))
        spans.append((b, e))
        out[name] = np.frombuffer(data[b:e], dtype=dt).reshape(rec["shape"]).copy()
    spans.sort()
    at = 0
    for b, e in spans:
        if b != at:
            raise SystemExit("%s: tensors overlap or leave a gap at byte %d" % (path, b))
        at = e
    if at != len(data):
        raise SystemExit("%s: %d unexplained bytes after the tensors" % (path, len(data) - at))
    return out, meta
