"""The REPL driven through a real pseudo-terminal: prompt, printing of
values, Tab completion, multi-line input, errors, Ctrl-C (in a computation
and at the prompt), Ctrl-D, history on exit, terminal restored after a
fatal signal, HOME unset. Standard library only (pty, termios)."""
import ctypes
import fcntl
import os
import platform
import re
import signal
import struct
import shutil
import sys
import tempfile
import termios
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "pylib"))
from lptest import ok, skip, done, Session  # noqa: E402

BUILD = os.environ.get("LPACT_BUILD", "build")
EXE = os.path.abspath(os.path.join(BUILD, "lpact-repl"))


def repl(env, exe=EXE, blocked=()):
    """lpact-repl (or exe) on a pty, with these signals blocked."""
    return Session([exe], env, blocked)


home = tempfile.mkdtemp(prefix="lpact-repl-test-")
env = {"HOME": home, "TERM": "xterm", "INPUTRC": "/dev/null", "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
       "LANG": "C.UTF-8", "COLUMNS": "80", "LINES": "24"}
if os.environ.get("LPACT_PATH"):
    env["LPACT_PATH"] = os.environ["LPACT_PATH"]

try:
    s = repl(env)
    m = s.expect(r"lpact [0-9.]+[^\n]*\n.*?lpact> ")
    ok(m is not None, "a one-line banner, then the prompt", getattr(s, "last", None))
    ok(time.monotonic() - s.start < 5, "the prompt appears quickly")

    s.send("1 + 2\r")
    ok(s.expect(r"1 \+ 2\n3\nlpact> ") is not None, "an expression prints its value", getattr(s, "last", None))

    s.send("2^10, 'x', nil\r")
    ok(s.expect(r"1024\.0\tx\tnil\nlpact> ") is not None, "several values print on one line", getattr(s, "last", None))

    s.send("lpa\t")
    ok(s.expect(r"lpact") is not None, "Tab completes a global name", getattr(s, "last", None))
    s.send(".vers\t\r")
    ok(s.expect(r"\.version\n[0-9]+\.[0-9]+\.[0-9]+\nlpact> ") is not None,
       "Tab completes a table field", getattr(s, "last", None))

    s.send("io.stdout:fl\t")
    ok(s.expect(r"io\.stdout:flush\(") is not None, "Tab completes a userdata method through __index",
       getattr(s, "last", None))
    s.send(")\r")
    ok(s.expect(r"(true|file \(0x[0-9a-f]+\))\nlpact> ") is not None, "the completed call runs", getattr(s, "last", None))

    s.send("word = 'abc'\r")
    s.expect(r"lpact> ")
    s.send("word:upp\t")
    ok(s.expect(r"word:upper\(") is not None, "Tab completes a string method", getattr(s, "last", None))
    s.send(")\r")
    ok(s.expect(r"ABC\nlpact> ") is not None, "and it runs", getattr(s, "last", None))

    # Tab must not run user code: an __index function with a side effect.
    s.send("hits = 0; trap = setmetatable({}, {__index = function(t, k) hits = hits + 1 end})\r")
    s.expect(r"lpact> ")
    s.send("trap.ab\t\t\x15hits\r")
    ok(s.expect(r"hits\n0\nlpact> ") is not None, "Tab never calls an __index function", getattr(s, "last", None))

    # A Format's methods sit behind a C __index function (in its upvalue).
    s.send("f4 = lpact.format 'fp4'\r")
    s.expect(r"lpact> ")
    s.send("f4:deco\t")
    ok(s.expect(r"f4:decode\(") is not None, "Tab completes a Format method", getattr(s, "last", None))
    s.send("1)\r")
    ok(s.expect(r"\n0\.5\nlpact> ") is not None, "and the method runs", getattr(s, "last", None))
    s.send("lpact.mod\t\x15")
    ok(s.expect(r"lpact\.models") is not None, "Tab completes a lazy submodule of lpact", getattr(s, "last", None))
    s.expect(r"lpact> ")
    s.send("lpact.data.fashion_mn\t\x15")
    ok(s.expect(r"lpact\.data\.fashion_mnist\(") is not None, "Tab reaches into a submodule not loaded yet",
       getattr(s, "last", None))
    s.expect(r"lpact> ")
    s.send("levels 'e2m\t\t")
    ok(s.expect(r"e2m1\s+e2m3") is not None, "Tab lists format names inside a string", getattr(s, "last", None))
    s.send("\x15\r")
    s.expect(r"lpact> ")

    # A metatable whose __index is the table itself: Tab must not loop.
    s.send("cyc = setmetatable({abc = 1}, {}); getmetatable(cyc).__index = cyc\r")
    s.expect(r"lpact> ")
    s.send("cyc.ab\t\r")
    ok(s.expect(r"cyc\.abc\n1\nlpact> ") is not None, "Tab through an __index cycle", getattr(s, "last", None))

    s.send("function sq(x)\r")
    ok(s.expect(r"\.\.> ") is not None, "an incomplete chunk shows the continuation prompt",
       getattr(s, "last", None))
    s.send("  return x * x\r")
    s.expect(r"\.\.> ")
    s.send("end\r")
    s.expect(r"lpact> ")
    s.send("sq(7)\r")
    ok(s.expect(r"sq\(7\)\n49\nlpact> ") is not None, "a multi-line function definition works",
       getattr(s, "last", None))

    s.send("error('oops')\r")
    ok(s.expect(r"stdin:1: oops\n") is not None, "an error prints its message", getattr(s, "last", None))
    s.send("sq(5)\r")
    ok(s.expect(r"25\nlpact> ") is not None, "the session goes on after an error", getattr(s, "last", None))

    s.send("x = 1 +\r")
    s.expect(r"\.\.> ")
    s.send("\x03")
    ok(s.expect(r"lpact> ") is not None, "Ctrl-C in a continuation drops the chunk", getattr(s, "last", None))

    s.send("n = 0; while true do n = n + 1 end\r")
    time.sleep(0.4)
    s.send("\x03")
    ok(s.expect(r"interrupted!.*?lpact> ", 5) is not None, "Ctrl-C stops 'while true do end'",
       getattr(s, "last", None))
    s.send("n > 0, sq(3)\r")
    ok(s.expect(r"true\t9\nlpact> ") is not None, "the next line runs and the variables are kept",
       getattr(s, "last", None))

    # A training loop catches Ctrl-C itself (soft mode): it stops after the
    # current batch and returns its history; the prompt comes back on a
    # new line after the terminal's ^C.
    s.send("data = lpact.data.spirals{n = 300, classes = 3, seed = 1}; m = lpact.models.mlp{2, 16, 3}\r")
    s.expect(r"lpact> ")
    s.send("h = lpact.train.fit{model = m, data = data, epochs = 100000, batch = 32, verbose = false, progress = false}\r")
    time.sleep(0.5)
    s.send("\x03")
    ok(s.expect(r"\^C\nlpact> ", 10) is not None, "Ctrl-C stops a training loop after its batch", getattr(s, "last", None))
    s.send("h.interrupted, #h.epochs < 100000\r")
    ok(s.expect(r"\ntrue\ttrue\nlpact> ") is not None, "and its history says so", getattr(s, "last", None))

    s.send("garbage typed here")
    time.sleep(0.2)
    s.send("\x03")
    s.expect(r"lpact> ")
    s.send("6 * 7\r")
    ok(s.expect(r"\n42\nlpact> ") is not None, "Ctrl-C at the prompt clears the line", getattr(s, "last", None))

    # Ctrl-Z (ignored here: an orphaned process group is not stopped) must
    # leave a working prompt behind.
    s.send("\x1a")
    time.sleep(0.2)
    s.send("7 * 6\r")
    ok(s.expect(r"\n42\nlpact> ") is not None, "after Ctrl-Z the prompt still works", getattr(s, "last", None))

    # A new window size reaches COLUMNS (what the renderers fit to).
    fcntl.ioctl(s.fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 101, 0, 0))
    time.sleep(0.2)
    s.send("os.getenv 'COLUMNS'\r")
    ok(s.expect(r"\n101\nlpact> ") is not None, "a resized window updates COLUMNS", getattr(s, "last", None))

    attrs = termios.tcgetattr(s.fd)
    ok(not (attrs[3] & termios.ICANON), "readline has the terminal in raw mode at the prompt")

    s.send("\x04")
    status = s.wait()
    ok(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, "Ctrl-D exits with status 0", status)
    os.close(s.fd)

    hist_file = os.path.join(home, ".lpact_history")
    hist = open(hist_file).read() if os.path.exists(hist_file) else ""
    ok("sq(7)" in hist.split("\n"), "history is written on exit", hist)
    ok("function sq(x)\x1e  return x * x\x1eend" in hist.split("\n"), "a multi-line chunk is one history entry", hist)
    ok(oct(os.stat(hist_file).st_mode & 0o777) == "0o600", "the history file is private")

    # The history comes back in the next session (Up arrow).
    s = repl(env)
    s.expect(r"lpact> ")
    s.send("\x1b[A\r")
    ok(s.expect(r"os\.getenv 'COLUMNS'\n80\nlpact> ") is not None, "the next session recalls the history", getattr(s, "last", None))

    # A multi-line entry comes back whole, newlines and all: define a
    # function with a comment on its first line, recall it and run it again.
    s.send("function cube(x) -- a comment\r")
    s.expect(r"\.\.> ")
    s.send("return x^3 end\r")
    s.expect(r"lpact> ")
    s.send("cube = nil\r")
    s.expect(r"lpact> ")
    s.send("\x1b[A\x1b[A\r")
    s.expect(r"lpact> ")
    s.send("cube(2)\r")
    ok(s.expect(r"\n8\.0\nlpact> ") is not None, "a recalled multi-line chunk (with a comment) runs whole",
       getattr(s, "last", None))

    # A fatal signal at the prompt restores the terminal before dying.
    s.send("1\r")
    s.expect(r"\n1\nlpact> ")
    os.kill(s.pid, signal.SIGTERM)
    status = s.wait()
    ok(os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM, "SIGTERM ends the session", status)
    try:
        attrs = termios.tcgetattr(s.fd)
        ok(attrs[3] & termios.ICANON and attrs[3] & termios.ECHO, "the terminal is restored after SIGTERM")
    except termios.error as e:
        ok(False, "the terminal is restored after SIGTERM", e)
    os.close(s.fd)

    # Colours on a capable terminal; none with NO_COLOR.
    for no_color in (False, True):
        env3 = dict(env)
        if no_color:
            env3["NO_COLOR"] = "1"
        s = repl(env3)
        s.expect(r"lpact> ")
        s.raw = b""
        s.send("hist({1, 2, 2, 3})\r")
        s.expect(r"\]\s+\d+ [^\n]*\nlpact> ")
        coloured = b"\x1b[34m" in s.raw
        ok(coloured != no_color, "NO_COLOR set: no colour" if no_color else "colours on a terminal", s.raw[-300:])
        s.send("\x04")
        s.wait()
        os.close(s.fd)

    # `lpact` with no arguments on a terminal is the same REPL.
    s = repl(env, os.path.join(os.path.dirname(EXE), "lpact"))
    ok(s.expect(r"lpact> ") is not None, "lpact with no script on a terminal starts the REPL", getattr(s, "last", None))
    s.send("2 + 2\r")
    ok(s.expect(r"\n4\nlpact> ") is not None, "and evaluates", getattr(s, "last", None))
    s.send("\x04")
    s.wait()
    os.close(s.fd)

    # HOME unset: no history file, still a working session.
    env2 = dict(env)
    del env2["HOME"]
    s = repl(env2)
    s.expect(r"lpact> ")
    s.send("10 // 3\r")
    ok(s.expect(r"\n3\nlpact> ") is not None, "HOME unset: the REPL works", getattr(s, "last", None))
    s.send("\x04")
    status = s.wait()
    ok(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, "HOME unset: Ctrl-D exits cleanly", status)
    os.close(s.fd)

    def ctrl_c_then_sigterm(s, deliver, label):
        """At the prompt: a Ctrl-C must give a fresh prompt, then SIGTERM
        must end the session; deliver(sig) sends each."""
        s.expect(r"lpact> ")
        s.send("half typed")
        s.expect(r"half typed")
        deliver(signal.SIGINT)
        ok(s.expect(r"\nlpact> ") is not None, label + ": Ctrl-C still gives a fresh prompt", getattr(s, "last", None))
        deliver(signal.SIGTERM)
        status = s.wait()
        ok(os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM,
           label + ": SIGTERM still ends the session", status)
        os.close(s.fd)

    # Started with its signals blocked (a mask inherited from a supervisor):
    # the session still owns Ctrl-C at the prompt and SIGTERM.
    s = repl(env, blocked=(signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGTSTP))
    ctrl_c_then_sigterm(s, lambda sig: s.send("\x03") if sig == signal.SIGINT else os.kill(s.pid, sig),
                        "signals blocked at start")

    # A signal sent to the process may be handled on any thread that does
    # not block it (OpenBLAS has workers from the start). Send Ctrl-C and
    # then SIGTERM to such a thread directly: the prompt must still act.
    SYS_TGKILL = {"x86_64": 234, "aarch64": 131}.get(platform.machine())
    s = repl(env)
    s.expect(r"lpact> ")
    s.send("\r")
    others = []
    for tid in sorted(int(t) for t in os.listdir("/proc/%d/task" % s.pid)):
        status_text = open("/proc/%d/task/%d/status" % (s.pid, tid)).read()
        blk = int(re.search(r"SigBlk:\s*([0-9a-f]+)", status_text).group(1), 16)
        if tid != s.pid and not blk & (1 << (signal.SIGINT - 1)) and not blk & (1 << (signal.SIGTERM - 1)):
            others.append(tid)
    if SYS_TGKILL is None or not others:
        for _ in range(2):
            skip("no other thread takes signals here")
        s.send("\x04")
        s.wait()
        os.close(s.fd)
    else:
        libc = ctypes.CDLL(None, use_errno=True)
        ctrl_c_then_sigterm(s, lambda sig: libc.syscall(SYS_TGKILL, s.pid, others[0], sig), "signal on another thread")
finally:
    shutil.rmtree(home, ignore_errors=True)

done()
