"""lpact.io.term_size() asks the terminal itself (ioctl TIOCGWINSZ, no
`stty` in a shell): on a pseudo-terminal set to 101 columns and 33 rows it
returns 101, 33, and the views' width (show.width) follows it when COLUMNS
is unset; resized to 57 columns, both follow. Standard library only."""
import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "pylib"))
from lptest import ok, done  # noqa: E402

BUILD = os.environ.get("LPACT_BUILD", "build")
EXE = os.path.abspath(os.path.join(BUILD, "lpact"))


CODE = ("io.read('l'); local c, r = lpact.io.term_size(); "
        "print('size', c, r, 'width', require('lpact.show').width())")


def run(cols, rows):
    """Runs lpact -e CODE on a pty of cols x rows; returns its output."""
    pid, fd = pty.fork()
    if pid == 0:
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
        os.execve(EXE, [EXE, "-e", CODE], env)
    # the size is set on the pty, then a line lets the child ask
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    os.write(fd, b"go\n")
    out = b""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 1)
        if r:
            try:
                data = os.read(fd, 4096)
            except OSError:
                break
            if not data:
                break
            out += data
    os.waitpid(pid, 0)
    os.close(fd)
    return out.decode("utf-8", "replace")


def main():
    if not os.path.exists(EXE):
        print("1..0 # SKIP %s not built" % EXE)
        sys.exit(0)
    for cols, rows in ((101, 33), (57, 20)):
        out = run(cols, rows)
        ok("size\t%d\t%d\t" % (cols, rows) in out, "term_size on a %dx%d pty: %d, %d" % (cols, rows, cols, rows), out)
        ok(out.rstrip().endswith("width\t%d" % cols), "show.width follows it without COLUMNS", out)


main()
done()
