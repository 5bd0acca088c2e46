"""A wide tail: `--batch auto` runs many points a forward, the head a few.

Where the network after the first layer is only pooling, flattening,
fully connected layers and pointwise operations, with at least 32 MiB of
weights (VGG19's classifier), each forward reads those weights twice
(forward and gradient) however many rows it takes. So once `--batch auto`
has chosen its batch B on a CPU, a forward takes up to 64 points and the
frozen head runs B + 1 rows at a time. On a small network built here,
whose classifier holds 36 MiB:

- at its last convolution the trace says the tail is wide, one image's 21
  points run in one forward, and the maps and records are those of
  `--batch 64` (the same forward, the head whole) to the bit, under fp32
  and bf16;
- at an earlier layer (a convolution follows) forwards keep the chosen
  batch;
- with a small classifier the tail is light but not wide: the same;
- a given `--batch` is kept as given;
- where the tail is wide, the calibration times each candidate's head
  alone (the tail, run on all of a forward's points, costs the same
  whatever the candidate) and its cache says so; elsewhere it times the
  whole run.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import unittest

import numpy as np
import torch
from torch import nn

RSICAM = os.environ["RSICAM_BIN"]
TMP = os.path.join(os.environ.get("RSICAM_TEST_TMP", "/tmp/rsicam-test"),
                   "wide_tail")
SIZE = 32
STEPS = 20
TRACE = re.compile(r"trace: forward: (\d+) points and (\d+) image row")
WIDE = "the network after the layer is wide"


class Net(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 16, 3, padding=1), nn.ReLU())
        self.pool = nn.AdaptiveAvgPool2d(16)
        self.classifier = nn.Sequential(
            nn.Linear(16 * 16 * 16, hidden), nn.ReLU(), nn.Dropout(),
            nn.Linear(hidden, 10))

    def forward(self, x):
        x = self.pool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def export(name, hidden):
    torch.manual_seed(3)
    net = Net(hidden).eval()
    with torch.no_grad():  # logits of a useful spread
        net.classifier[3].weight.mul_(40)
    path = os.path.join(TMP, name + ".pt")
    torch.jit.script(net).save(path)
    return path


def explain(name, model, layer, batch, *extra):
    out = os.path.join(TMP, name)
    shutil.rmtree(out, ignore_errors=True)
    cmd = [RSICAM, "explain", "--model", model, "--layer", layer,
           "--image", os.path.join(TMP, "image.png"), "--out", out,
           "--quiet", "--threads", "2", "--steps", str(STEPS),
           "--input-size", "%dx%d" % (SIZE, SIZE),
           "--batch", str(batch)] + list(extra)
    env = dict(os.environ, RSICAM_TRACE="1",
               RSICAM_CACHE_DIR=os.path.join(TMP, "cache-" + name))
    shutil.rmtree(env["RSICAM_CACHE_DIR"], ignore_errors=True)
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env=env)
    if proc.returncode != 0:
        raise AssertionError(proc.stderr)
    with open(os.path.join(out, "results.jsonl")) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    forwards = [tuple(map(int, f)) for f in TRACE.findall(proc.stderr)]
    return out, recs, forwards, proc.stderr


def calibration(name, err):
    """The trace's word for what the calibration timed, and its cache."""
    timed = re.search(r"trace: batch auto: \d+ for \d+ points; (ms per point"
                      r"(?: of the head)?):", err)
    assert timed, err
    files = glob.glob(os.path.join(TMP, "cache-" + name, "batch-*.json"))
    assert len(files) == 1, files
    with open(files[0]) as f:
        return timed.group(1), json.load(f)


def chosen_batch(err):
    m = re.search(r"trace: batch auto: (\d+) for", err)
    assert m, err
    return int(m.group(1))


class WideTail(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(TMP, exist_ok=True)
        from PIL import Image
        rng = np.random.default_rng(1)
        Image.fromarray(rng.integers(0, 256, (SIZE, SIZE, 3), dtype=np.uint8),
                        "RGB").save(os.path.join(TMP, "image.png"))
        cls.wide = export("wide", 2304)  # 4096 x 2304 floats: 36 MiB
        cls.narrow = export("narrow", 64)

    def assert_same_bits(self, a, b):
        (out_a, recs_a), (out_b, recs_b) = a, b
        self.assertEqual(len(recs_a), len(recs_b))
        for ra, rb in zip(recs_a, recs_b):
            self.assertEqual(ra["status"], "ok")
            for key in ("class", "score_image", "score_baseline", "ig_sum",
                        "completeness_gap"):
                self.assertEqual(ra[key], rb[key], key)
            np.testing.assert_array_equal(
                np.load(os.path.join(out_a, ra["cam"])),
                np.load(os.path.join(out_b, rb["cam"])))

    def test_wide_tail_one_forward_same_maps(self):
        for precision in ("fp32", "bf16"):
            out, recs, fw, err = explain("wide-auto-" + precision, self.wide,
                                         "features.3", "auto",
                                         "--precision", precision)
            self.assertIn(WIDE, err)
            b = chosen_batch(err)
            self.assertLess(b, STEPS)  # else the test shows nothing
            # one forward: the image's row and its 20 other points
            self.assertEqual(fw, [(STEPS, 1)], err)
            ref = explain("wide-64-" + precision, self.wide, "features.3",
                          64, "--precision", precision)
            self.assertNotIn(WIDE, ref[3])
            self.assertEqual(ref[2], [(STEPS, 1)])
            self.assert_same_bits((out, recs), ref[:2])

    def test_convolution_after_the_layer_keeps_the_batch(self):
        _, _, fw, err = explain("wide-early", self.wide, "features.1", "auto")
        self.assertNotIn(WIDE, err)
        b = chosen_batch(err)
        self.assertTrue(all(p <= b + 1 for p, _ in fw), (b, fw))
        self.assertEqual(sum(p for p, _ in fw), STEPS)

    def test_small_classifier_keeps_the_batch(self):
        _, _, fw, err = explain("narrow", self.narrow, "features.3", "auto")
        self.assertNotIn(WIDE, err)
        b = chosen_batch(err)
        self.assertTrue(all(p <= b + 1 for p, _ in fw), (b, fw))

    def test_calibration_times_the_head_alone_where_wide(self):
        for name, model, layer, wide in (
                ("cal-wide", self.wide, "features.3", True),
                ("cal-early", self.wide, "features.1", False),
                ("cal-narrow", self.narrow, "features.3", False)):
            _, _, _, err = explain(name, model, layer, "auto")
            timed, cache = calibration(name, err)
            self.assertEqual(timed, "ms per point of the head" if wide
                             else "ms per point", name)
            self.assertIs(cache["head_alone"], wide, name)
            self.assertIn("|wide tail %d|" % wide, cache["key"], name)
            self.assertTrue(all(ms > 0 for ms in cache["ms_per_point"].values()),
                            cache)

    def test_given_batch_kept(self):
        _, _, fw, err = explain("wide-given", self.wide, "features.3", 4)
        self.assertNotIn(WIDE, err)
        self.assertTrue(all(p <= 5 for p, _ in fw), fw)
        self.assertEqual(sum(p for p, _ in fw), STEPS)


if __name__ == "__main__":
    unittest.main()
