"""Completeness converges: sum(IG) -> score(image) - score(baseline).

On a smooth network (softplus activations, average pooling) the trapezoid
rule's error falls like 1/m^2, so quadrupling the steps must cut the
completeness gap by well over 4x. (ReLU networks converge too, but not
monotonically: see test_parity.py.) Plain variant, logit score (the model's
softmax saturates: its score would not move along the path), at a layer
every input-to-output path crosses.
"""
import json
import os
import shutil
import subprocess
import sys
import unittest

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.join(os.environ.get("RSICAM_SOURCE_DIR", "."),
                                "tools"))
import rsicam_meta  # noqa: E402

RSICAM = os.environ["RSICAM_BIN"]
TMP = os.path.join(os.environ.get("RSICAM_TEST_TMP", "/tmp/rsicam-test"),
                   "completeness")


class Smooth(torch.nn.Module):
    def __init__(self):
        super().__init__()
        act = torch.nn.Softplus
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 16, 3, padding=1), act(),
            torch.nn.AvgPool2d(2),
            torch.nn.Conv2d(16, 32, 3, padding=1), act(),
            torch.nn.AvgPool2d(2),
            torch.nn.Conv2d(32, 32, 3, padding=1), act())
        self.head = torch.nn.Sequential(
            torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
            torch.nn.Linear(32, 16), act(), torch.nn.Linear(16, 5))

    def forward(self, x):
        return self.head(self.features(x))


class Completeness(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        shutil.rmtree(TMP, ignore_errors=True)
        os.makedirs(TMP)
        torch.manual_seed(3)
        model = Smooth().eval()
        # Large enough score changes along the path that float32 rounding
        # (about 1e-6 of the change here) stays far below the 1/m^2 error.
        with torch.no_grad():
            model.features[0].weight.mul_(3)
            model.head[4].weight.mul_(300)
        cls.model = os.path.join(TMP, "smooth.pt")
        rsicam_meta.save(torch.jit.script(model), cls.model,
                         input_size=(32, 32), mean=(0.5, 0.5, 0.5),
                         std=(0.25, 0.25, 0.25))
        rng = np.random.default_rng(3)
        cls.image = os.path.join(TMP, "img.png")
        Image.fromarray((rng.random((32, 32, 3)) * 255).astype("uint8")).save(
            cls.image)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(TMP, ignore_errors=True)

    def gap(self, steps, score):
        out = os.path.join(TMP, f"{score}-{steps}")
        subprocess.run([RSICAM, "explain", "--model", self.model, "--image",
                        self.image, "--layer", "features.4", "--variant",
                        "plain", "--score", score, "--steps", str(steps),
                        "--out", out, "--quiet"], check=True)
        with open(os.path.join(out, "results.jsonl")) as f:
            (rec,) = [json.loads(line) for line in f]
        diff = rec["score_image"] - rec["score_baseline"]
        self.assertGreater(abs(diff), 1e-4, "the path must change the score")
        return abs(rec["ig_sum"] - diff) / abs(diff)

    def test_gap_shrinks_like_one_over_m_squared(self):
        for score in ("logit",):
            gaps = [self.gap(m, score) for m in (2, 8, 32)]
            print(score, "gaps at 2, 8, 32 steps:", gaps)
            self.assertLess(gaps[1], gaps[0] / 4)
            self.assertLess(gaps[2], gaps[1] / 4)
            self.assertLess(gaps[2], 1e-4)


if __name__ == "__main__":
    unittest.main(verbosity=2)
