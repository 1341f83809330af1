"""Every lesson walked through on a real pseudo-terminal, twice: once with
the right answers to the end, once with a wrong answer, :hint, :skip and
:quit, then resumed in a new session at the step where it stopped and
finished. Every line a lesson prints fits 80 columns. Standard library
only (pty)."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "pylib"))
from lptest import ok, done, Session  # noqa: E402

BUILD = os.environ.get("LPACT_BUILD", "build")
EXE = os.path.abspath(os.path.join(BUILD, "lpact-repl"))
LPACT = os.path.abspath(os.path.join(BUILD, "lpact"))
PROMPT = r"\nlpact> "


class Lesson(Session):
    """lpact-repl --lesson NAME on a pty."""

    def __init__(self, env, name):
        super().__init__([EXE, "--lesson", name], env)

    def expect(self, pattern, timeout=10.0):
        return super().expect(pattern, timeout)

    def close(self):
        self.send("\x04")
        return self.wait(10.0)


def lessons():
    """The shipped lessons' steps (answers, wrong answers, hints), from the
    engine itself."""
    code = ('local j, L = require "lpact.json", require "lpact.lesson" local out = {} '
            'for _, e in ipairs(L.list()) do local l = L.load(e.name) local steps = {} '
            'for i, s in ipairs(l.steps) do steps[i] = {answer = s.answer, wrong = s.wrong or j.null, '
            'hint = s.hint} end out[#out + 1] = {name = l.name, steps = steps} end print(j.encode(out))')
    return json.loads(subprocess.check_output([LPACT, "-e", code]))


def too_wide(text):
    """The lines of lesson output wider than 80 columns (the prompt lines,
    which echo what was typed, excepted)."""
    bad = []
    for line in text.decode("utf-8", "replace").split("\n"):
        if line.startswith("lpact> ") or line.startswith("   ..> "):
            continue
        if len(line) > 80:
            bad.append(line)
    return bad


def answer(s, text, step, total, name):
    """Types an answer and waits for the verdict and what follows it."""
    s.send(text + "\r")
    m = s.expect(r"✓ Right\.")
    if not m:
        return False
    if step < total:
        return s.expect(r"── %s · step %d of %d ─.*?» .*?" % (name, step + 1, total) + PROMPT) is not None
    return s.expect(r"Lesson complete: .*?" + PROMPT) is not None


def second_walk(name, steps):
    """A wrong answer, :hint, :skip, :quit, then a resume in a new session;
    stops at the first failure (the rest would only wait for it)."""
    n = len(steps)
    s = Lesson(env, name)
    seq = [
        (None, r"── %s · step 1 of %d ─.*?" % (name, n) + PROMPT, "a finished lesson starts again at step 1"),
        (steps[0]["wrong"], r"✗ Not quite: [^\n]+\.\n  \(:hint for a hint, :skip to go on\)" + PROMPT,
         "a wrong answer is refused, with the reason"),
        (":hint", r"Hint: " + re.escape(steps[0]["hint"].split("\n")[0]) + r".*?" + PROMPT, ":hint shows the hint"),
        (":skip", r"Skipped\. One answer: .*?── %s · step 2 of %d ─.*?" % (name, n) + PROMPT,
         ":skip goes on to step 2"),
        (steps[1]["answer"], r"✓ Right\..*?── %s · step 3 of %d ─.*?" % (name, n) + PROMPT, "step 2 answered"),
        (":quit", r"Lesson '%s' left at step 3 of %d" % (name, n) + r".*?" + PROMPT, ":quit leaves at step 3"),
        ("2 * 21", r"\n42" + PROMPT, "the REPL goes on after :quit"),
    ]
    for text, pattern, what in seq:
        if text is not None:
            s.send(text + "\r")
        good = s.expect(pattern) is not None
        ok(good, "%s: %s" % (name, what), s.last)
        if not good:
            s.close()
            return
    ok(b"Right" not in s.buf and b"Not quite" not in s.buf, "%s: ... and judges nothing after :quit" % name)
    s.close()

    s = Lesson(env, name)
    good = s.expect(r"Resuming at step 3 of %d\..*?── %s · step 3 of %d ─.*?" % (n, name, n) + PROMPT) is not None
    ok(good, "%s: a new session resumes at step 3" % name, s.last)
    for i in range(3, n + 1):
        if not good:
            break
        good = answer(s, steps[i - 1]["answer"], i, n, name)
    ok(good, "%s: the resumed lesson runs to its end" % name, s.last)
    ok(re.search(r"Lesson complete: %d of %d steps answered, 1 skipped\." % (n - 1, n),
                 s.seen.decode("utf-8", "replace")) is not None, "%s: one step counted as skipped" % name)
    s.close()
    wide = too_wide(s.seen)
    ok(not wide, "%s: every line fits 80 columns (second walk)" % name, "\n".join(wide))


# under the build folder, which no one else cleans
state = tempfile.mkdtemp(prefix="lessons-pty-", dir=os.path.abspath(BUILD))
env = {"HOME": state, "XDG_STATE_HOME": state + "/state", "TERM": "xterm", "INPUTRC": "/dev/null",
       "PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "COLUMNS": "80", "LINES": "24",
       "NO_COLOR": "1"}
if os.environ.get("LPACT_PATH"):
    env["LPACT_PATH"] = os.environ["LPACT_PATH"]

try:
    all_lessons = lessons()
    ok(len(all_lessons) >= 7, "at least seven lessons to walk")
    for lesson in all_lessons:
        name, steps = lesson["name"], lesson["steps"]
        n = len(steps)

        # 1. right answers, start to end
        s = Lesson(env, name)
        good = s.expect(r"── %s · step 1 of %d ─.*?» .*?" % (name, n) + PROMPT) is not None
        ok(good, "%s: the lesson starts at step 1 on a terminal" % name, s.last)
        for i, st in enumerate(steps, 1):
            if not good:
                break
            good = answer(s, st["answer"], i, n, name)
            ok(good, "%s: step %d accepts %s" % (name, i, st["answer"][:40]), s.last)
        if good:
            ok(re.search(r"Lesson complete: %d of %d steps answered, 0 skipped\." % (n, n),
                         s.seen.decode("utf-8", "replace")) is not None, "%s: complete, nothing skipped" % name)
        s.send("1 + 1\r")
        ok(s.expect(r"\n2" + PROMPT) is not None, "%s: after the lesson the prompt works as usual" % name, s.last)
        s.close()
        wide = too_wide(s.seen)
        ok(not wide, "%s: every line fits 80 columns" % name, "\n".join(wide))

        # 2. a wrong answer, :hint, :skip, :quit, and a resume
        second_walk(name, steps)

    try:
        with open(os.path.join(state, "state", "lpact", "lessons.json")) as f:
            progress = json.load(f)
    except (OSError, ValueError) as e:
        progress = {"error": str(e)}
    ok(all(progress.get(l["name"], {}).get("done") is True for l in all_lessons),
       "the progress file records every lesson as done", progress)
    ok(os.stat(os.path.join(state, "state", "lpact", "lessons.json")).st_mode & 0o777 in (0o644, 0o600, 0o664),
       "the progress file is a plain user file")
finally:
    shutil.rmtree(state, ignore_errors=True)

done()
