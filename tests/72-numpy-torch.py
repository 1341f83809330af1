"""lpact's .npy and safetensors files against NumPy and PyTorch: NumPy
writes every dtype in C and Fortran order (versions 1.0 and 2.0) and lpact
reads the same numbers; lpact's format codes decode in NumPy, by the
formats' definitions written out here, to lpact's values bit for bit; an
MLP trained in PyTorch, converted by scripts/torch_to_safetensors.py, gives
the same logits in lpact (to 1e-5), and an lpact model converted by
scripts/safetensors_to_torch.py gives the same logits in PyTorch."""
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "pylib"))
from lptest import ok, skip, done  # noqa: E402

BUILD = os.environ.get("LPACT_BUILD", "build")
EXE = os.path.abspath(os.path.join(BUILD, "lpact"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

try:
    import numpy as np
except ImportError:
    print("1..0 # SKIP python3-numpy is not installed")
    sys.exit(0)


def lpact(code, cwd):
    r = subprocess.run([EXE, "-e", code], cwd=cwd, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise SystemExit("lpact failed: " + r.stderr)
    return r.stdout


tmp = tempfile.mkdtemp()
try:
    # --- NumPy writes, lpact reads and writes back as float32
    rng = np.random.default_rng(5)
    arrays = {
        "f32": rng.standard_normal((3, 4)).astype(np.float32),
        "f64": rng.standard_normal((2, 3, 2)),
        "i32": rng.integers(-1000, 1000, (5,), dtype=np.int32),
        "i64": rng.integers(-(2 ** 24), 2 ** 24, (2, 2), dtype=np.int64),
        "u8": np.arange(256, dtype=np.uint8).reshape(16, 16),
        "b": rng.integers(0, 2, (3, 3)).astype(bool),
    }
    names = []
    for k, a in arrays.items():
        np.save(os.path.join(tmp, k + "_c.npy"), a)
        np.save(os.path.join(tmp, k + "_f.npy"), np.asfortranarray(a))
        with open(os.path.join(tmp, k + "_v2.npy"), "wb") as f:
            np.lib.format.write_array(f, a, version=(2, 0))
        names += [k + "_c", k + "_f", k + "_v2"]
    ok(np.load(os.path.join(tmp, "f64_f.npy")).flags.f_contiguous, "NumPy wrote a Fortran-ordered file")
    lpact("for _, n in ipairs{%s} do local t = lpact.load_npy(n .. '.npy'); lpact.save_npy(t, n .. '.out.npy') end"
          % ",".join("'%s'" % n for n in names), tmp)
    for n in names:
        src = np.load(os.path.join(tmp, n + ".npy"))
        back = np.load(os.path.join(tmp, n + ".out.npy"))
        want = src.astype(np.float32)
        ok(back.dtype == np.float32 and back.shape == src.shape and np.array_equal(back, want),
           "%s: lpact reads NumPy's array" % n, (back, want))
    # dtypes lpact writes, read by NumPy
    out = lpact("local t = lpact.tensor{{-3, 0, 255}, {1, 2, 7}}; for _, d in ipairs(lpact.arrayfile.dtypes) do "
                "local v = d == 'bool' and lpact.tensor{{1, 0, 1}, {0, 0, 1}} or t; "
                "local ok, e = pcall(lpact.save_npy, v, 'w_' .. d .. '.npy', {dtype = d}); "
                "if not ok then print(d, e.msg) end end", tmp)
    for d in ["float32", "float64", "int32", "int64", "bool"]:
        a = np.load(os.path.join(tmp, "w_%s.npy" % d))
        want = [[1, 0, 1], [0, 0, 1]] if d == "bool" else [[-3, 0, 255], [1, 2, 7]]
        ok(a.dtype == np.dtype(d) and np.array_equal(a, np.array(want, dtype=d)), "NumPy reads lpact's %s" % d, a)
    ok(not os.path.exists(os.path.join(tmp, "w_uint8.npy")) and "uint8" in out and "-3, not a uint8" in out,
       "uint8 refuses -3 and leaves no file", out)

    # --- .npz: lpact writes, NumPy reads; NumPy writes (stored and
    # deflated), lpact reads; a damaged deflate stream is refused
    lpact("lpact.save_npz('l.npz', {w = lpact.tensor{{1, 2, 3}, {4, 5, 6}}, b = lpact.tensor{-0.5}})", tmp)
    d = np.load(os.path.join(tmp, "l.npz"))
    ok(sorted(d.files) == ["b", "w"] and np.array_equal(d["w"], np.arange(1, 7, dtype=np.float32).reshape(2, 3))
       and d["b"][0] == -0.5, "NumPy reads lpact's .npz", dict(d))
    big = rng.standard_normal((40, 30)).astype(np.float32)
    np.savez(os.path.join(tmp, "s.npz"), big=big, ints=np.arange(10, dtype=np.int64))
    np.savez_compressed(os.path.join(tmp, "c.npz"), big=np.asfortranarray(big), z=np.zeros((3, 0)))
    lpact("for _, n in ipairs{'s', 'c'} do local a = lpact.load_npz(n .. '.npz'); "
          "lpact.save_npy(a.big, n .. '_big.npy') end; "
          "local c = lpact.load_npz('c.npz'); assert(c.z:numel() == 0)", tmp)
    for n in ["s", "c"]:
        back = np.load(os.path.join(tmp, n + "_big.npy"))
        ok(np.array_equal(back, big), "lpact reads numpy.%s's archive" % ("savez" if n == "s" else "savez_compressed"))
    raw = bytearray(open(os.path.join(tmp, "c.npz"), "rb").read())
    raw[200] ^= 0x55
    open(os.path.join(tmp, "bad.npz"), "wb").write(bytes(raw))
    r = subprocess.run([EXE, "-e", "lpact.load_npz('bad.npz')"], cwd=tmp, capture_output=True, text=True)
    ok(r.returncode == 1 and r.stderr.count("\n") == 1 and ("CRC-32" in r.stderr or "damaged" in r.stderr),
       "a damaged deflated member: one line, status 1", r.stderr)

    # --- format codes: lpact writes codes (uint8) and values (float32) of
    # every code; NumPy decodes the codes by the definitions below.
    def decode(codes, E, M, bias, policy, signed=True):
        c = codes.astype(np.int64)
        sign = (c >> (E + M)) & 1 if signed else np.zeros_like(c)
        e = (c >> M) & ((1 << E) - 1)
        m = c & ((1 << M) - 1)
        mag = np.where(e == 0, m * 2.0 ** (1 - bias - M), (1 + m / 2.0 ** M) * 2.0 ** (e - bias))
        if policy == "ieee":
            top = e == (1 << E) - 1
            mag = np.where(top & (m == 0), np.inf, mag)
            mag = np.where(top & (m != 0), np.nan, mag)
        elif policy == "fn":
            mag = np.where((e == (1 << E) - 1) & (m == (1 << M) - 1), np.nan, mag)
        return np.where(sign == 1, -mag, mag).astype(np.float32)

    formats = [("fp8", 4, 3, 7, "fn"), ("e5m2", 5, 2, 15, "ieee"), ("fp6", 3, 2, 3, "fin"),
               ("e2m3", 2, 3, 1, "fin"), ("fp4", 2, 1, 1, "fin"), ("fp3", 1, 1, 0, "fin")]
    lpact("for _, n in ipairs{'fp8','e5m2','fp6','e2m3','fp4','fp3'} do local f = lpact.format(n); "
          "local c = {}; for i = 0, f.ncodes - 1 do c[#c + 1] = i end; "
          "local v = f:decode(lpact.tensor(c)); "
          "lpact.save_npy(f:encode(v), n .. '_codes.npy', {dtype = 'uint8'}); "
          "lpact.save_npy(v, n .. '_values.npy') end", tmp)
    for name, E, M, bias, pol in formats:
        vals = np.load(os.path.join(tmp, name + "_values.npy"))
        codes = np.arange(len(vals))
        mine = decode(codes, E, M, bias, pol)
        same = np.array_equal(mine.view(np.uint32)[~np.isnan(mine)], vals.view(np.uint32)[~np.isnan(vals)]) \
            and np.array_equal(np.isnan(mine), np.isnan(vals))
        ok(same, "%s: lpact's value of every code equals NumPy's decoding bit for bit" % name)
        enc = np.load(os.path.join(tmp, name + "_codes.npy"))
        fin = ~np.isnan(vals)
        back = decode(enc, E, M, bias, pol)
        ok(enc.dtype == np.uint8 and np.array_equal(back[fin].view(np.uint32), vals[fin].view(np.uint32)),
           "%s: lpact's uint8 codes decode in NumPy to its values" % name)

    # --- PyTorch round trips
    try:
        import torch
    except ImportError:
        skip("python3-torch is not installed")
        torch = None
    if torch is not None:
        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(20, 16), torch.nn.ReLU(),
                                  torch.nn.Linear(16, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
        x = torch.randn(64, 20)
        y = (x[:, 0] > 0).long() + (x[:, 1] > 0).long()
        opt = torch.optim.Adam(net.parameters(), lr=1e-2)
        for _ in range(60):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(net(x), y)
            loss.backward()
            opt.step()
        ok(loss.item() < 0.9, "PyTorch trained the MLP (loss %.3f)" % loss.item())
        torch.save(net.state_dict(), os.path.join(tmp, "net.pt"))
        xb = torch.randn(32, 20)
        np.save(os.path.join(tmp, "xb.npy"), xb.numpy())
        with torch.no_grad():
            want = net(xb).numpy()
        r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "torch_to_safetensors.py"),
                            os.path.join(tmp, "net.pt"), os.path.join(tmp, "net.safetensors")],
                           capture_output=True, text=True)
        ok(r.returncode == 0, "torch_to_safetensors.py runs", r.stderr)
        lpact("local m = lpact.models.mlp{20, 16, 8, 3, act = 'relu'}; "
              "m:get(5).name = 'tanh'; "
              "m:load_state('net.safetensors'); m:eval(); local x = lpact.load_npy('xb.npy'); "
              "local y = m:forward(x); lpact.save_npy(y.data or y, 'lp_logits.npy')", tmp)
        got = np.load(os.path.join(tmp, "lp_logits.npy"))
        err = float(np.max(np.abs(got - want)))
        ok(err <= 1e-5, "PyTorch -> lpact: logits agree to 1e-5 (max diff %.2e)" % err)

        # the reverse: lpact trains, PyTorch evaluates
        lpact("local m = lpact.models.mlp{20, 16, 8, 3, act = 'relu', seed = 4}; "
              "m:get(5).name = 'tanh'; "
              "local x = lpact.load_npy('xb.npy'); local y = lpact.tensor{}; "
              "local lab = {}; for i = 1, 32 do lab[i] = (x:get(i, 1) > 0 and 1 or 0) + (x:get(i, 2) > 0 and 1 or 0) end; "
              "y = lpact.tensor(lab); local opt = lpact.optim.Adam(m:parameters(), {lr = 1e-2}); "
              "for _ = 1, 20 do opt:zero_grad(); lpact.autograd.cross_entropy(m:forward(x), y):backward(); opt:step() end; "
              "m:eval(); local out = m:forward(x); lpact.save_npy(out.data or out, 'lp_logits2.npy'); "
              "m:save_safetensors('lp.safetensors')", tmp)
        r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "safetensors_to_torch.py"),
                            os.path.join(tmp, "lp.safetensors"), os.path.join(tmp, "lp.pt")],
                           capture_output=True, text=True)
        ok(r.returncode == 0, "safetensors_to_torch.py runs", r.stderr)
        net2 = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(20, 16), torch.nn.ReLU(),
                                   torch.nn.Linear(16, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
        res = net2.load_state_dict(torch.load(os.path.join(tmp, "lp.pt")), strict=True)
        ok(not res.missing_keys and not res.unexpected_keys, "PyTorch loads lpact's state_dict strictly")
        with torch.no_grad():
            out = net2(xb).numpy()
        ref = np.load(os.path.join(tmp, "lp_logits2.npy"))
        err = float(np.max(np.abs(out - ref)))
        ok(err <= 1e-5, "lpact -> PyTorch: logits agree to 1e-5 (max diff %.2e)" % err)
finally:
    shutil.rmtree(tmp)

done()
