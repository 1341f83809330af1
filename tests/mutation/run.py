#!/usr/bin/env python3
"""tests/mutation/run.py — mutation testing of lpact, run by hand (minutes).

Each mutant (tests/mutation/mutants.py) changes ONE line of interp/core,
interp/bind or stdlib: a comparison flipped, a bound off by one, a branch
dropped, a constant changed. The script copies HEAD (git archive) into a
scratch folder, builds it once, checks that every covering test passes
there, then for each mutant applies it, rebuilds what changed (make knows),
runs the mutant's covering tests and restores the line. A mutant is

  killed      a covering test failed (or timed out, or the build failed);
  survived    every covering test passed: a test is missing;
  equivalent  listed with the reason the change cannot alter behaviour
              (not run, not counted);
  stale       its line is no longer in the file (the code moved on):
              reported so the list is kept up to date, not counted.

Score = killed / (killed + survived).

  python3 tests/mutation/run.py             # every mutant
  python3 tests/mutation/run.py 3 17 40     # these (numbers from --list)
  python3 tests/mutation/run.py --list      # the list, numbered
  nice -n 10 python3 tests/mutation/run.py  # kinder to a shared machine
Options: --keep (leave the scratch folder), --jobs N (make -j, default 2).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
from mutants import MUTANTS  # noqa: E402

TEST_TIMEOUT = 300


def sh(cmd, cwd, timeout=None):
    p = subprocess.run(cmd, cwd=cwd, shell=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=timeout, text=True, errors="replace")
    return p.returncode, p.stdout


def run_test(work, test):
    """True when the test passes in the scratch tree (exit 0, no 'not ok')."""
    path = test if test.startswith("build/") else os.path.join("tests", test)
    try:
        rc, out = sh("LPACT_BUILD=build sh tests/run %s" % path, work, timeout=TEST_TIMEOUT)
    except subprocess.TimeoutExpired:
        return False, "timeout"
    bad = [l for l in out.splitlines() if l.startswith("not ok")]
    return rc == 0 and not bad, (bad[0] if bad else "exit %d" % rc)


def main(argv):
    jobs = 2
    keep = "--keep" in argv
    if "--jobs" in argv:
        jobs = int(argv[argv.index("--jobs") + 1])
    chosen = [int(a) for a in argv if a.isdigit() and not (argv.index(a) > 0 and argv[argv.index(a) - 1] == "--jobs")]
    if "--list" in argv:
        for i, m in enumerate(MUTANTS, 1):
            tag = "equivalent" if m.get("equivalent") else "          "
            print("%3d %s %s: %s -> %s" % (i, tag, m["file"], m["old"].strip(), m["new"].strip()))
        return 0
    for i, m in enumerate(MUTANTS, 1):
        if m["old"] == m["new"]:
            print("mutant %d changes nothing" % i)
            return 2
    work = tempfile.mkdtemp(prefix="lpact-mutation-")
    try:
        sh("git archive HEAD | tar -x -C %s" % work, ROOT)
        rc, out = sh("make -j%d BUILD=build all" % jobs, work)
        if rc != 0:
            print(out[-3000:])
            print("mutation: the unmutated tree does not build")
            return 2
        todo = [(i, m) for i, m in enumerate(MUTANTS, 1) if not chosen or i in chosen]
        tests = sorted({t for _, m in todo if not m.get("equivalent") for t in m["tests"]})
        print("baseline: %d covering tests" % len(tests), flush=True)
        for t in tests:
            ok, why = run_test(work, t)
            if not ok:
                print("mutation: %s fails before any mutation (%s)" % (t, why))
                return 2
        counts = {"killed": 0, "survived": 0, "equivalent": 0, "stale": 0}
        survivors = []
        t0 = time.time()
        for i, m in todo:
            f = os.path.join(work, m["file"])
            if m.get("equivalent"):
                counts["equivalent"] += 1
                print("%3d equivalent  %s: %s  (%s)" % (i, m["file"], m["old"].strip(), m["equivalent"]), flush=True)
                continue
            src = open(f).read()
            lines = src.split("\n")
            hits = [k for k, l in enumerate(lines) if m["old"] in l]
            if len(hits) != 1:
                counts["stale"] += 1
                print("%3d stale       %s: '%s' found on %d lines" % (i, m["file"], m["old"].strip(), len(hits)), flush=True)
                continue
            k = hits[0]
            lines[k] = lines[k].replace(m["old"], m["new"], 1)
            open(f, "w").write("\n".join(lines))
            try:
                status, why = "survived", ""
                if m["file"].endswith(".c") or m["file"].endswith(".h"):
                    rc, out = sh("make -j%d BUILD=build all" % jobs, work)
                    if rc != 0:
                        status, why = "killed", "does not build"
                if status == "survived":
                    for t in m["tests"]:
                        ok, why = run_test(work, t)
                        if not ok:
                            status, why = "killed", "%s: %s" % (t, why)
                            break
            finally:
                open(f, "w").write(src)
                if m["file"].endswith(".c") or m["file"].endswith(".h"):
                    os.utime(f, (time.time() + 1, time.time() + 1))   # newer than the mutant's objects
                    sh("make -j%d BUILD=build all" % jobs, work)
            counts[status] += 1
            if status == "survived":
                survivors.append((i, m))
            print("%3d %-10s  %s:%d: %s -> %s  %s" % (i, status, m["file"], k + 1, m["old"].strip(), m["new"].strip(),
                                                       why[:80]), flush=True)
        live = counts["killed"] + counts["survived"]
        print("\nmutants: %d run, %d killed, %d survived, %d equivalent (explained above), %d stale; %.0f s"
              % (live, counts["killed"], counts["survived"], counts["equivalent"], counts["stale"], time.time() - t0))
        if live:
            print("score: %.1f%% of the non-equivalent mutants killed" % (100.0 * counts["killed"] / live))
        for i, m in survivors:
            print("survived %d: %s: %s -> %s (%s)" % (i, m["file"], m["old"].strip(), m["new"].strip(), m.get("why", "")))
        return 0 if not survivors else 1
    finally:
        if keep:
            print("scratch tree kept in", work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
