"""Memory faulted in on a second thread while the model loads
(core/torch/prefault.cpp).

On a CPU with rsicam's allocator, loading a model file of 16 MiB or more
maps a region of the file's size (at most RSICAM_PREFAULT_MB, default
512) that a thread faults in while the loading's blocks of 128 KiB and
more are carved from it; what is left is given back after the first
forward. On a model built here whose file holds 25 MiB:

- the maps and records are those of RSICAM_PREFAULT_MB=0 (no region) to
  the bit, and the trace says how much was mapped, faulted in and used
  (the weights: most of the file); with RSICAM_PREFAULT_MB=0, or a small
  model, it says nothing;
- a bad RSICAM_PREFAULT_MB is refused in one line that names it, exit
  code 2, no map written;
- a fork between loading and the first forward (a Python user's
  multiprocessing) leaves the copy without the region: its first forward
  neither waits for a thread it does not have (a hang) nor reports one,
  and its maps are the parent's.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import unittest

import numpy as np
import torch
from torch import nn

from python_api_env import BIN, CNN, PY_DIR, cli_maps, needs_rsicam, tmpdir

SIZE = 32
STEPS = 8
LINE = re.compile(r"trace: prefault: ([0-9.]+) MiB mapped while the model "
                  r"loaded, ([0-9.]+) MiB faulted in by a second thread, "
                  r"([0-9.]+) MiB used")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 256, 3, padding=1), nn.ReLU(),
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU(),  # 2.25 MiB
            nn.Conv2d(256, 256, 3, padding=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.classifier = nn.Linear(256 * 4 * 4, 1280)  # 20 MiB

    def forward(self, x):
        return self.classifier(torch.flatten(self.pool(self.features(x)), 1))


def explain(tmp, name, model, **env):
    out = os.path.join(tmp, name)
    shutil.rmtree(out, ignore_errors=True)
    proc = subprocess.run(
        [BIN, "explain", "--model", model, "--layer", "features.5",
         "--image", os.path.join(tmp, "image.png"), "--out", out, "--quiet",
         "--threads", "2", "--steps", str(STEPS), "--batch", "4",
         "--input-size", "%dx%d" % (SIZE, SIZE)],
        capture_output=True, text=True, timeout=300,
        env=dict(os.environ, RSICAM_TRACE="1", **env))
    return proc, out


def records(out):
    """The records less their seconds."""
    with open(os.path.join(out, "results.jsonl")) as f:
        records = [json.loads(line) for line in f]
    for r in records:
        r.pop("seconds", None)
    return records


# The fork: loads, forks before any forward, and has the copy explain the
# image, then the parent; the copy writes its stderr to a file of its own.
FORK = r"""
import os, sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import rsicam
model, image, out = sys.argv[2:5]
rsicam.use_command_settings()
ex = rsicam.Explainer(model, layers=["features.5"], steps=8, batch=4,
                      threads=1, input_size=(32, 32))
pid = os.fork()
if pid == 0:
    fd = os.open(os.path.join(out, "child.err"),
                 os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(fd, 2)
    try:
        np.save(os.path.join(out, "child.npy"), ex.explain(image)[0].cam)
        code = 0
    except BaseException as e:
        print(e, file=sys.stderr)
        code = 1
    os._exit(code)
# one after the other: the two share the Explainer's folder for its files
_, status = os.waitpid(pid, 0)
np.save(os.path.join(out, "parent.npy"), ex.explain(image)[0].cam)
sys.exit(os.waitstatus_to_exitcode(status))
"""


class PrefaultTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tmpdir("prefault")
        from PIL import Image
        rng = np.random.default_rng(5)
        Image.fromarray(rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8),
                        "RGB").save(os.path.join(cls.tmp, "image.png"))
        torch.manual_seed(5)
        cls.model = os.path.join(cls.tmp, "net.pt")
        torch.jit.script(Net().eval()).save(cls.model)
        assert os.path.getsize(cls.model) > 16 << 20

    def test_same_maps_and_a_trace_of_the_region(self):
        on, out_on = explain(self.tmp, "on", self.model)
        off, out_off = explain(self.tmp, "off", self.model,
                               RSICAM_PREFAULT_MB="0")
        self.assertEqual(on.returncode, 0, on.stderr)
        self.assertEqual(off.returncode, 0, off.stderr)
        lines = LINE.findall(on.stderr)
        self.assertEqual(len(lines), 1, on.stderr)
        mapped, faulted, used = map(float, lines[0])
        size = os.path.getsize(self.model) / 2**20
        self.assertTrue(size - 2 < mapped <= size, lines[0])
        self.assertLessEqual(faulted, mapped)
        self.assertGreater(used, 20, lines[0])  # the classifier's 20 MiB
        self.assertLessEqual(used, mapped)
        self.assertNotRegex(off.stderr, LINE)
        self.assertEqual(records(out_on), records(out_off))
        maps_on, maps_off = cli_maps(out_on), cli_maps(out_off)
        self.assertEqual(maps_on.keys(), maps_off.keys())
        self.assertTrue(maps_on)
        for key, (cam, heatmap) in maps_on.items():
            self.assertTrue(np.array_equal(cam, maps_off[key][0]), key)
            self.assertTrue(np.array_equal(heatmap, maps_off[key][1]), key)

    def test_a_small_model_has_no_region(self):
        out = os.path.join(self.tmp, "small")
        shutil.rmtree(out, ignore_errors=True)
        proc = subprocess.run(
            [BIN, "explain", "--model", CNN, "--image",
             os.path.join(self.tmp, "image.png"), "--out", out, "--quiet",
             "--steps", "4"],
            capture_output=True, text=True, timeout=300,
            env=dict(os.environ, RSICAM_TRACE="1"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("trace: head frozen", proc.stderr)
        self.assertNotRegex(proc.stderr, LINE)

    def test_a_bad_setting_is_refused(self):
        for bad in ("abc", "-5", "12MB", "99999999999999"):
            with self.subTest(bad=bad):
                proc, out = explain(self.tmp, "bad", self.model,
                                    RSICAM_PREFAULT_MB=bad)
                self.assertEqual(proc.returncode, 2, proc.stderr)
                # one line besides what RSICAM_TRACE asked for
                lines = [line for line in proc.stderr.strip().splitlines()
                         if not line.startswith("rsicam: trace:")]
                self.assertEqual(len(lines), 1, proc.stderr)
                self.assertIn("RSICAM_PREFAULT_MB", lines[0])
                self.assertIn("'%s'" % bad, lines[0])
                self.assertFalse(os.path.exists(out) and any(
                    f.endswith((".npy", ".png")) for f in os.listdir(out)))

    @needs_rsicam
    def test_a_fork_before_the_first_forward(self):
        out = os.path.join(self.tmp, "fork")
        shutil.rmtree(out, ignore_errors=True)
        os.makedirs(out)
        env = dict(os.environ, RSICAM_TRACE="1")
        env.pop("RSICAM_SMALL_PAGES", None)
        env.pop("RSICAM_PREFAULT_MB", None)
        proc = subprocess.run(
            [sys.executable, "-c", FORK, PY_DIR, self.model,
             os.path.join(self.tmp, "image.png"), out],
            capture_output=True, text=True, timeout=300, env=env)
        with open(os.path.join(out, "child.err")) as f:
            child = f.read()
        self.assertEqual(proc.returncode, 0, proc.stderr + child)
        self.assertRegex(proc.stderr, LINE)  # the parent had the region
        self.assertIn("trace: head frozen", child)  # the copy ran
        self.assertNotRegex(child, LINE)  # ... without it
        self.assertTrue(np.array_equal(
            np.load(os.path.join(out, "parent.npy")),
            np.load(os.path.join(out, "child.npy"))))


if __name__ == "__main__":
    unittest.main()
