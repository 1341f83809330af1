"""What the Python tests share: TAP output (ok, skip, done) and a program
driven through a real pseudo-terminal (Session). Standard library only.

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "pylib"))
    from lptest import ok, skip, done, Session
"""
import os
import pty
import re
import select
import signal
import sys
import time

# escape sequences a terminal program writes: CSI, charset and keypad modes, bells
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\x1b[=>]|[\x07\x0e\x0f]")

count = 0
failed = 0


def ok(cond, name, diag=None):
    """One check: an `ok` or `not ok` line; a failure's diag (its last 3,000
    characters) goes to stderr, which prove shows."""
    global count, failed
    count += 1
    print(("ok %d - %s" if cond else "not ok %d - %s") % (count, name))
    if not cond:
        failed += 1
        if diag is not None:
            for line in str(diag)[-3000:].splitlines():
                print("#   " + line, file=sys.stderr)
    sys.stdout.flush()
    return cond


def skip(why):
    """One check skipped, with the reason."""
    global count
    count += 1
    print("ok %d # SKIP %s" % (count, why))
    sys.stdout.flush()


def done():
    """The plan; exit status 1 when a check failed."""
    print("1..%d" % count)
    sys.stdout.flush()
    sys.exit(1 if failed else 0)


def clean(data):
    """Terminal output without escape sequences and carriage returns."""
    return ANSI.sub(b"", data).replace(b"\r", b"")


class Session:
    """One program on a pty (argv[0] is the executable). .raw holds every
    byte read, .seen the cleaned text up to the last match, .buf the cleaned
    but unmatched rest, .last the text a failed expect() saw."""

    def __init__(self, argv, env, blocked=()):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            os.execve(argv[0], list(argv), env)
        self.buf = b""
        self.raw = b""
        self.seen = b""
        self.last = b""
        self.start = time.monotonic()

    def read(self, timeout):
        """Reads what arrives within timeout seconds; False on none or EOF."""
        r, _, _ = select.select([self.fd], [], [], timeout)
        if not r:
            return False
        try:
            data = os.read(self.fd, 65536)
        except OSError:   # EIO: the other side is closed
            return False
        if not data:
            return False
        self.buf += data
        self.raw += data
        return True

    def expect(self, pattern, timeout=5.0):
        """Waits until pattern (a regex on the cleaned text) appears, then
        drops the text up to the end of the match. Returns the match, or
        None at the timeout or when the program's output ends."""
        deadline = time.monotonic() + timeout
        pat = re.compile(pattern.encode() if isinstance(pattern, str) else pattern, re.S)
        while True:
            text = clean(self.buf)
            m = pat.search(text)
            if m:
                self.seen += text[:m.end()]
                self.buf = text[m.end():]
                return m
            left = deadline - time.monotonic()
            if left <= 0 or not self.read(left):
                text = clean(self.buf)
                m = pat.search(text)
                if m:
                    self.seen += text[:m.end()]
                    self.buf = text[m.end():]
                    return m
                self.last = text
                return None

    def send(self, s):
        os.write(self.fd, s.encode() if isinstance(s, str) else s)

    def wait(self, timeout=5.0):
        """The exit status, reading output meanwhile; killed after timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.read(0.05)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return status
        os.kill(self.pid, signal.SIGKILL)
        return os.waitpid(self.pid, 0)[1]
