"""The plugin scanner forks while rsicam runs a single thread.

plugin_scan.c tries the plugin files in a fork of rsicam that is not
followed by exec: the copy has only the thread that forked, and any lock
another thread held at that moment stays held in it for good. A copy that
then waits on such a lock (in dlopen, a constructor, malloc) never ends,
and rsicam waits on it: a CI run hung for the Check suite's 120 s on
`rsicam explain` with a bad --path parameter, while libvips started on a
thread of its own during the scan (image.c, rsi_vips_init_ahead).

The test reads the order of events from strace: each thread created and
ended, and each fork, in one `rsicam explain` that scans the shipped
plugins and the test plugins. At every fork no thread other than the
main one may be alive. The race itself is rare (one hang in hundreds of
CI commands), so the order, which is the same in every run, is what the
test holds rsicam to.
"""
import os
import re
import shutil
import subprocess
import unittest

from python_api_env import BIN, CNN, sample, tmpdir

PLUGINS = os.environ.get("RSICAM_TEST_PLUGIN_DIR", "")

CALL = re.compile(r"^(\d+) +clone3?\((.*)\) += (\d+)$")
UNFINISHED = re.compile(r"^(\d+) +clone3?\((.*) <unfinished \.\.\.>$")
RESUMED = re.compile(r"^(\d+) +<\.\.\. clone3? resumed>(.*)\) += (\d+)$")
EXITED = re.compile(r"^(\d+) +\+\+\+ (exited|killed)")


def events(trace):
    """("clone", pid, arguments, new id) and ("exit", pid), in the order
    strace saw them; a call that another thread's line interrupted
    ("<unfinished ...>", "<... clone resumed>") is joined up."""
    pending = {}
    for line in trace.splitlines():
        if m := CALL.match(line):
            yield "clone", int(m[1]), m[2], int(m[3])
        elif m := UNFINISHED.match(line):
            pending[int(m[1])] = m[2]
        elif m := RESUMED.match(line):
            pid = int(m[1])
            yield "clone", pid, pending.pop(pid, "") + m[2], int(m[3])
        elif m := EXITED.match(line):
            yield "exit", int(m[1])


def forks_and_live_threads(trace):
    """[(fork's pid, threads alive then)] of the process that began the
    trace, from `strace -f -e trace=clone,clone3` output."""
    main = int(trace.split(maxsplit=1)[0])
    live, forks = set(), []
    for event in events(trace):
        if event[0] == "exit":
            live.discard(event[1])
        elif event[1] != main:
            continue
        elif "CLONE_THREAD" in event[2]:
            live.add(event[3])
        else:
            forks.append((event[3], sorted(live)))
    return forks


class ScannerFork(unittest.TestCase):
    def setUp(self):
        if not shutil.which("strace"):
            self.fail("strace is missing (tools/setup installs it)")

    def traced(self, *args):
        out = tmpdir("scanner_fork")
        log = os.path.join(out, "strace.txt")
        shutil.rmtree(os.path.join(out, "maps"), ignore_errors=True)
        cmd = ["strace", "-f", "-q", "-o", log, "-e",
               "trace=execve,clone,clone3", "-e", "signal=none", BIN, *args]
        # OpenBLAS starts workers as it loads, before rsicam runs, one per
        # core but one; rsicam joins them before the scan (openblas.cpp),
        # but strace may print a joined thread's end after the next fork:
        # without them, every thread in the trace is rsicam's own.
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                           env=env)
        with open(log) as f:
            trace = f.read()
        if "Operation not permitted" in p.stderr and not trace:
            self.skipTest(f"strace cannot trace here: {p.stderr.strip()}")
        return p, trace

    def check(self, trace):
        forks = forks_and_live_threads(trace)
        self.assertTrue(forks, "no fork seen: was the scanner run?\n" + trace)
        for child, threads in forks:
            self.assertEqual(threads, [],
                             f"fork {child} with threads {threads} alive:\n"
                             + trace)

    def test_explain_scans_with_one_thread(self):
        out = os.path.join(tmpdir("scanner_fork"), "maps")
        p, trace = self.traced(
            "explain", "--model", CNN, "--out", out, "--quiet", "--steps",
            "2", "--plugin-path", os.path.join(PLUGINS, "set", "good"),
            sample(0))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.check(trace)

    def test_bad_parameter_scans_with_one_thread(self):
        """The command that hung: a path parameter out of range ends the
        run right after the scan, while libvips may still be starting."""
        out = os.path.join(tmpdir("scanner_fork"), "maps")
        p, trace = self.traced(
            "explain", "--model", CNN, "--out", out, "--quiet",
            "--plugin-path", os.path.join(PLUGINS, "midrun", "failing"),
            "--path", "failing:fail_at=0", sample(0))
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("parameter 'fail_at'", p.stderr)
        self.check(trace)


if __name__ == "__main__":
    unittest.main()
