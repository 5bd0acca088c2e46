"""bench/trace_summary.py on a made-up trace whose answers are known:
device busy time counts overlapping kernels once, blocking runtime calls
count as host waits (their Async forms do not), both category spellings
Kineto has used are read, and --forwards divides every figure."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

ROOT = os.environ.get("RSICAM_SOURCE_DIR", ".")
sys.path.insert(0, os.path.join(ROOT, "bench"))
import trace_summary  # noqa: E402


def ev(cat, name, ts, dur):
    return {"ph": "X", "cat": cat, "name": name, "ts": ts, "dur": dur}


EVENTS = [
    ev("cpu_op", "aten::conv2d", 0, 40),
    ev("Operator", "aten::conv2d", 100, 40),      # the older spelling
    ev("cpu_op", "aten::sub", 50, 5),
    ev("kernel", "conv_kernel", 10, 30),          # device: 10-40
    ev("Kernel", "conv_kernel", 30, 30),          # overlaps: 10-60
    ev("gpu_memcpy", "Memcpy DtoH", 150, 10),     # 150-160
    ev("cuda_runtime", "cudaStreamSynchronize", 120, 35),
    ev("cuda_runtime", "cudaMemcpyAsync", 118, 2),  # does not block
    {"ph": "i", "name": "marker", "ts": 500},      # not a complete event
    {"ph": "X", "cat": "python_function", "name": "x", "ts": 900, "dur": 1},
]


class TraceSummary(unittest.TestCase):
    def test_known_answers(self):
        s = trace_summary.summarize(EVENTS)
        self.assertAlmostEqual(s["span_ms"], 0.160)       # 0 .. 160 us
        self.assertAlmostEqual(s["device_busy_ms"], 0.060)
        self.assertAlmostEqual(s["device_idle_ms"], 0.100)
        self.assertAlmostEqual(s["host_sync_ms"], 0.035)
        self.assertEqual(s["kernels"][0], {"name": "conv_kernel", "ms": 0.060,
                                           "calls": 2})
        self.assertEqual([r["name"] for r in s["host_ops"]],
                         ["aten::conv2d", "aten::sub"])
        self.assertEqual(s["host_ops"][0]["calls"], 2)

    def test_per_forward_and_command_line(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.json")
            with open(path, "w") as f:
                json.dump({"traceEvents": EVENTS}, f)
            out = subprocess.run(
                [sys.executable, os.path.join(ROOT, "bench", "trace_summary.py"),
                 path, "--forwards", "2"], stdout=subprocess.PIPE, text=True,
                check=True).stdout
            self.assertIn("span 0.08 ms per forward; device busy 0.03 ms, "
                          "idle 0.05 ms", out)
            self.assertIn("| conv_kernel | 0.030 | 1.0 |", out)
            bad = subprocess.run(
                [sys.executable, os.path.join(ROOT, "bench", "trace_summary.py"),
                 os.path.join(d, "missing.json")], stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True)
            self.assertEqual(bad.returncode, 1)
            self.assertIn("missing.json", bad.stderr)
            self.assertEqual(bad.stderr.count("\n"), 1)


if __name__ == "__main__":
    unittest.main()
