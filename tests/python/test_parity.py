"""Parity: rsicam's maps against the independent Python reference.

Random-weight torchvision ResNet50 (scripted: exercises the inlining of
_forward_impl) and VGG19 (traced), exported at test time, one 224x224 image,
50 steps, every variant and method, both score kinds. compare.py asserts cam
correlation >= 0.999 and heatmaps (0..255) within 1 level. Then the
completeness check: plain / logit / VGG19 features.36, the gap is <= 2% of
|score_image - score_baseline| at 50 steps and at 200.

That the gap also shrinks as steps grow is asserted in test_completeness.py
on a smooth network. On a ReLU network like this VGG19 it does not shrink
monotonically: every ReLU or max-pool switch between two path points adds
an error of either sign (measured on this model: 0.41%, 0.17%, 0.62%,
0.50%, 0.13% at 25, 50, 100, 200, 400 steps).
"""
import json
import os
import shutil
import subprocess
import sys
import unittest

import numpy as np

ROOT = os.environ.get("RSICAM_SOURCE_DIR", os.getcwd())
RSICAM = os.environ["RSICAM_BIN"]
PY = sys.executable
TMP = os.path.join(os.environ.get("RSICAM_TEST_TMP", "/tmp/rsicam-test"),
                   "parity")
STEPS = 50
CASES = [  # arch, export mode, layers
    ("resnet50", "script", "layer4,layer4.2.conv3,layer3"),
    ("vgg19", "trace", "features.36,features.27"),
]


def run(*args, env=None):
    print("$", " ".join(args), flush=True)
    subprocess.run(args, check=True, env=env)


# A given batch: --batch auto measures per model, head mode and machine, and
# the batch moves a map's last float bits (the kernels block by rows), so
# the frozen head and the plain forward must run the same batch to be
# compared to rounding (on a CI machine, whose two measurements may have
# chosen different batches, the gaps moved by 1.3e-6).
BATCH = ("--batch", "8")
# every map the reference computes
MAPS = ("--method", "rsi,gradcam", "--variant", "relu,guided,plain",
        "--score", "softmax,logit")


def explain(model, layers, out, steps, extra=(), env=None):
    run(RSICAM, "explain", "--model", model, "--image", image(), "--layer",
        layers, "--steps", str(steps), "--out", out, "--threads", "2",
        "--quiet", *BATCH, *extra, env=env)


def gap_bound(r):
    """How far the frozen head may move a record's completeness gap
    (ig_sum - d) / d, d = score_image - score_baseline: the issue's 1e-6,
    or where that is finer than float32 can resolve, four float32 roundings
    of each quantity the gap is made of. On a softmax record whose layer
    does not complete (layer4.2.conv3: gap 0.94, d 0.10, scores 0.48 and
    0.38) one rounding of the scores alone moves the gap by 1.9e-6; batch
    norm folding, which this guards against, moved gaps by 1.2e-4."""
    eps = 2.0 ** -23
    si, sb, ig = r["score_image"], r["score_baseline"], r["ig_sum"]
    d = abs(si - sb)
    gap = abs(r["completeness_rel"])
    rounding = eps * (abs(ig) + (1 + gap) * (abs(si) + abs(sb))) / d
    return max(1e-6, 4 * rounding)


def image():
    return os.path.join(TMP, "img.png")


def results(out):
    with open(os.path.join(out, "results.jsonl")) as f:
        return [json.loads(line) for line in f]


class Parity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        shutil.rmtree(TMP, ignore_errors=True)
        os.makedirs(TMP)
        run(PY, os.path.join(ROOT, "tests/reference/make_image.py"), image())
        for arch, mode, _ in CASES:
            run(PY, os.path.join(ROOT, "tools/export_torchvision.py"),
                "--arch", arch, "--random-weights", "--mode", mode, "--out",
                os.path.join(TMP, arch + ".pt"))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(TMP, ignore_errors=True)

    def test_maps_match_reference(self):
        for arch, _, layers in CASES:
            with self.subTest(arch=arch):
                model = os.path.join(TMP, arch + ".pt")
                ref = os.path.join(TMP, "ref-" + arch)
                got = os.path.join(TMP, "got-" + arch)
                run(PY, os.path.join(ROOT, "tests/reference/rsi_reference.py"),
                    "--arch", arch, "--model", model, "--image", image(),
                    "--layers", layers, "--steps", str(STEPS), "--out", ref)
                explain(model, layers, got, STEPS, MAPS)
                rc = subprocess.run(
                    [PY, os.path.join(ROOT, "tests/reference/compare.py"),
                     "--ref", ref, "--got", got, "--min-corr", "0.999",
                     "--max-levels", "1"]).returncode
                self.assertEqual(rc, 0, "maps differ from the reference")
                self.check_frozen_head(model, layers, got, ref)
                if arch == "vgg19":
                    self.check_completeness(model, got)

    def check_frozen_head(self, model, layers, got, ref):
        """The frozen head (the default) against the whole forward as
        written (RSICAM_HEAD=plain): maps correlate >= 0.9999 and the
        completeness gaps, relative to score(image) - score(baseline), move
        by at most gap_bound() (issue #19's 1e-6, or float32's resolution
        where that is coarser). The frozen head keeps every
        operator (no batch norm folding, which moved these gaps by 1.2e-4
        on ResNet50 when it was the default), and aten runs these
        convolutions on oneDNN as the frozen head does: measured
        2026-12-02, both models' maps equal the plain forward's bit for
        bit. Printed, so that a change shows."""
        plain = got + "-plain"
        print("$ RSICAM_HEAD=plain ...", flush=True)
        explain(model, layers, plain, STEPS, MAPS,
                env=dict(os.environ, RSICAM_HEAD="plain"))
        worst = 1.0
        for name in sorted(os.listdir(plain)):
            if not name.endswith(".cam.npy"):
                continue
            a = np.load(os.path.join(plain, name)).astype(np.float64).ravel()
            b = np.load(os.path.join(got, name)).astype(np.float64).ravel()
            if a.std() == 0 and b.std() == 0:
                continue
            corr = np.corrcoef(a, b)[0, 1]
            worst = min(worst, corr)
            self.assertGreaterEqual(corr, 0.9999, name)
        with open(os.path.join(ref, "reference.jsonl")) as f:
            reference = {(r["layer"], r["score"]): r
                         for r in map(json.loads, f)}
        moved = allowed = worst_share = 0.0
        for r, s in zip(results(plain), results(got)):
            if "completeness_rel" not in r:
                continue
            m = abs(r["completeness_rel"] - s["completeness_rel"])
            moved = max(moved, m)
            worst_share = max(worst_share, m / gap_bound(r))
            # the plain forward's own distance from the reference, as a
            # share of the score change the gap is measured against
            x = reference[(r["layer"], r["score"])]
            allowed = max(allowed, (abs(r["score_image"] - x["score_image"]) +
                                    abs(r["score_baseline"] -
                                        x["score_baseline"])) /
                          abs(r["score_image"] - r["score_baseline"]))
        print(f"frozen head vs plain, {os.path.basename(model)}: min cam "
              f"correlation {worst:.7f}; completeness gaps moved by at most "
              f"{moved:.2e} ({worst_share:.2f} of the bound), the plain "
              f"forward's scores are {allowed:.2e} from the reference's "
              f"(both relative to the score change)")
        self.assertLessEqual(worst_share, 1.0)

    def check_completeness(self, model, got50):
        def gap(out):
            (rec,) = [r for r in results(out)
                      if r["layer"] == "features.36" and r["variant"] ==
                      "plain" and r["score"] == "logit"]
            diff = rec["score_image"] - rec["score_baseline"]
            return abs(rec["ig_sum"] - diff) / abs(diff)

        got200 = os.path.join(TMP, "got-vgg19-200")
        explain(model, "features.36", got200, 200,
                ("--variant", "plain", "--score", "logit"))
        g50, g200 = gap(got50), gap(got200)
        print(f"completeness gap, VGG19 features.36 plain/logit: "
              f"{g50:.3%} at 50 steps, {g200:.3%} at 200 steps")
        self.assertLessEqual(g50, 0.02)
        self.assertLessEqual(g200, 0.02)


if __name__ == "__main__":
    unittest.main(verbosity=2)
