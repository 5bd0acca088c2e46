"""Adaptive steps on the shipped benchmark canvases: how many steps
`--steps auto --tol T` uses, and how close its maps come to 256-step maps.

    bench/adaptive.py [--build DIR] [--tols 0.05,0.02,0.01] [--fixed 8,16,50]

For each shipped classifier (fmnist_cnn, fmnist_cnn_t20) at its default
layer, over the 36 committed samples (examples/samples), zero baseline,
linear path, rsi relu, softmax and logit: one run at 256 steps as the
reference, one per tolerance, one per fixed step count. Per setting it
prints the mean and largest steps, the mean and smallest correlation of the
cam (the layer-resolution map) with the reference's, the share of maps at
correlation >= 0.99, and the time of the whole command. Markdown to stdout.
"""
import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
MODELS = ["fmnist_cnn", "fmnist_cnn_t20"]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--tols", default="0.05,0.02,0.01")
    p.add_argument("--fixed", default="8,16,50")
    p.add_argument("--reference-steps", type=int, default=256)
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args(argv)


def explain(args, model, steps_args, out):
    images = sorted(glob.glob(os.path.join(ROOT, "examples", "samples", "*.png")))
    cmd = [os.path.join(args.build, "rsicam"), "explain", "--model", model,
           "--out", out, "--score", "softmax,logit", "--quiet",
           "--threads", str(args.threads)] + steps_args
    for im in images:
        cmd += ["--image", im]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True)
    wall = time.perf_counter() - t0
    with open(os.path.join(out, "results.jsonl")) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    return {r["cam"]: r for r in recs}, wall


def corr(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    if a.std() == 0 or b.std() == 0:
        return 1.0 if np.allclose(a, b) else 0.0
    return float(np.corrcoef(a, b)[0, 1])


def main(argv):
    args = parse_args(argv)
    work = tempfile.mkdtemp(prefix="rsicam-adaptive-")
    rows = []
    try:
        for name in MODELS:
            model = os.path.join(ROOT, "examples", "models", name + ".pt")
            ref_dir = os.path.join(work, name + "-ref")
            ref, _ = explain(args, model, ["--steps", str(args.reference_steps)],
                             ref_dir)
            settings = [("auto, tol %s" % t, ["--steps", "auto", "--tol", t])
                        for t in args.tols.split(",")]
            settings += [("fixed %s" % m, ["--steps", m]) for m in args.fixed.split(",")]
            for label, extra in settings:
                d = os.path.join(work, name + "-" + label.replace(" ", "_").replace(",", ""))
                recs, wall = explain(args, model, extra, d)
                cs = [corr(np.load(os.path.join(d, cam)), np.load(os.path.join(ref_dir, cam)))
                      for cam in ref]
                steps = [recs[cam]["steps"] for cam in ref]
                rows.append((name, label, np.mean(steps), max(steps), np.mean(cs), min(cs),
                             np.mean([c >= 0.99 for c in cs]), wall))
                print("adaptive: %s %s done" % (name, label), file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("| model | steps | mean steps | max steps | mean corr | min corr | "
          "maps >= 0.99 | seconds (36 images) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        print("| %s | %s | %.1f | %d | %.5f | %.5f | %.0f%% | %.1f |"
              % (r[0], r[1], r[2], r[3], r[4], r[5], 100 * r[6], r[7]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
