"""--steps auto: refining the path where the error is, reusing every point.

On the shipped classifier and a few committed samples:
  - with a loose tolerance every map meets it (completeness gap <= tol),
    with points = steps + 1 (each point computed once, none repeated
    across refinements);
  - its maps agree with 256-step maps (cam correlation >= 0.999);
  - a tighter tolerance uses more steps in all; --max-steps caps them;
  - under bf16 each path's ends run once, in float32, and the image's own
    row (which chooses the classes) stands for the last point: an image's
    points less one go through the model besides that row;
  - a path with its own points (sequence) and --tol without --steps auto
    are refused with a usage error.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import unittest

import numpy as np

ROOT = os.environ.get("RSICAM_SOURCE_DIR", ".")
RSICAM = os.environ["RSICAM_BIN"]
TMP = os.path.join(os.environ.get("RSICAM_TEST_TMP", "/tmp/rsicam-test"),
                   "adaptive")
MODEL = os.path.join(ROOT, "examples", "models", "fmnist_cnn.pt")
IMAGES = sorted(glob.glob(os.path.join(ROOT, "examples", "samples", "*.png")))[:6]


def explain(out, *extra, check=True, env=None):
    shutil.rmtree(out, ignore_errors=True)
    cmd = [RSICAM, "explain", "--model", MODEL, "--out", out, "--quiet",
           "--threads", "2", "--score", "softmax,logit",
           "--variant", "relu,plain"] + list(extra)
    for im in IMAGES:
        cmd += ["--image", im]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env=env)
    if check:
        assert proc.returncode == 0, proc.stderr
        with open(os.path.join(out, "results.jsonl")) as f:
            return [json.loads(line) for line in f if line.strip()]
    return proc


class AdaptiveSteps(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(TMP, exist_ok=True)
        cls.loose = explain(os.path.join(TMP, "loose"), "--steps", "auto",
                            "--tol", "0.05")
        cls.tight = explain(os.path.join(TMP, "tight"), "--steps", "auto",
                            "--tol", "0.002", "--max-steps", "64")

    def test_each_map_converged_or_capped(self):
        for r in self.loose:
            self.assertEqual(r["status"], "ok")
            self.assertEqual(r["tol"], 0.05)
            self.assertEqual(r["points"], r["steps"] + 1)
            self.assertLessEqual(r["completeness_rel"], 0.05, r["cam"])
        for r in self.tight:
            self.assertEqual(r["tol"], 0.002)
            self.assertEqual(r["points"], r["steps"] + 1)
            self.assertLessEqual(r["steps"], 64)

    def test_tighter_tolerance_more_steps(self):
        loose = {r["cam"]: r["steps"] for r in self.loose}
        tight = {r["cam"]: r["steps"] for r in self.tight}
        self.assertEqual(sorted(loose), sorted(tight))
        self.assertGreater(sum(tight.values()), sum(loose.values()))

    def test_maps_agree_with_many_steps(self):
        out = os.path.join(TMP, "fixed256")
        explain(out, "--steps", "256")
        for r in self.loose:
            a = np.load(os.path.join(TMP, "loose", r["cam"])).ravel()
            b = np.load(os.path.join(out, r["cam"])).ravel()
            if b.std() == 0:
                self.assertLess(float(np.abs(a - b).max()), 1e-6, r["cam"])
                continue
            self.assertGreater(float(np.corrcoef(a, b)[0, 1]), 0.999, r["cam"])

    def test_bf16_runs_each_path_end_once_in_float32(self):
        # refining adds mid points only: the ends, run once, stay float32
        out = os.path.join(TMP, "bf16")
        proc = explain(out, "--steps", "auto",
                       "--tol", "0.05", "--precision", "bf16", check=False,
                       env=dict(os.environ, RSICAM_TRACE="1"))
        self.assertEqual(proc.returncode, 0, proc.stderr)
        runs = [tuple(map(int, f)) for f in re.findall(
            r"trace: forward: (\d+) points and (\d+) image row\(s\) .*, "
            r"(\d+) in float32", proc.stderr)]
        self.assertGreater(len(runs), len(IMAGES))
        self.assertEqual(sum(f for _, _, f in runs), 2 * len(IMAGES))
        # the image's row is its path's last point
        with open(os.path.join(out, "results.jsonl")) as f:
            points = {r["image"]: r["points"] for r in map(json.loads, f)}
        self.assertEqual(len(points), len(IMAGES))
        self.assertEqual(sum(r for _, r, _ in runs), len(IMAGES))
        self.assertEqual(sum(p for p, _, _ in runs),
                         sum(points.values()) - len(IMAGES))

    def test_experiment_config(self):
        out = os.path.join(TMP, "xp")
        shutil.rmtree(out, ignore_errors=True)
        cfg = os.path.join(TMP, "auto.yaml")
        with open(cfg, "w") as f:
            f.write("model: %s\nimages: [%s]\nsteps: [auto]\ntol: 0.05\n"
                    "output: %s\n" % (MODEL, ", ".join(IMAGES[:3]), out))
        p = subprocess.run([RSICAM, "run", cfg, "--quiet"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(out, "results.jsonl")) as f:
            recs = [json.loads(line) for line in f if line.strip()]
        self.assertEqual(len(recs), 3)
        for r in recs:
            self.assertEqual(r["tol"], 0.05)
            self.assertLessEqual(r["completeness_rel"], 0.05)
        with open(os.path.join(out, "summary.csv")) as f:
            rows = f.read().splitlines()
        steps_col = rows[0].split(",").index("steps")
        self.assertEqual({r.split(",")[steps_col] for r in rows[1:]}, {"auto"})

    def test_refusals(self):
        seq = os.path.join(TMP, "seq.txt")
        with open(seq, "w") as f:
            f.write("%s\n%s\n" % (IMAGES[1], IMAGES[0]))
        p = explain(os.path.join(TMP, "seq"), "--steps", "auto", "--path",
                    "sequence:points=" + seq, check=False)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("adaptive steps need a path", p.stderr)
        # one line per image, each naming it
        errors = [l for l in p.stderr.splitlines() if "adaptive" in l]
        self.assertEqual(len(errors), len(IMAGES), p.stderr)
        self.assertTrue(all("image '" in l for l in errors), p.stderr)
        p = explain(os.path.join(TMP, "tol"), "--tol", "0.01", check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--tol and --max-steps go with --steps auto", p.stderr)
        p = explain(os.path.join(TMP, "tol0"), "--steps", "auto", "--tol", "0",
                    check=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--tol: expected a number in (0, 1)", p.stderr)


if __name__ == "__main__":
    unittest.main()
