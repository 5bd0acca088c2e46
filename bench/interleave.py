#!/usr/bin/env python3
"""Times `rsicam explain` variants side by side, interleaved.

Each repetition runs every (variant, layers) pair once, in the same order,
so that a machine's drifting load touches all of them alike; the report is
each run's pass (results.jsonl "seconds": image read to the sums, cold, a
fresh process) and the median per pair. A variant is NAME[=SETTING...]:
SETTING is ENV=VALUE (an environment variable for that run) or bin=PATH
(another rsicam binary, e.g. a copy built from an earlier commit).

    bench/interleave.py --model resnet50 --layers layer4 \\
        simple=RSICAM_EXECUTOR=simple profiling=RSICAM_EXECUTOR=profiling

Models and the image come from bench/run's work folder (BUILD/bench-work).
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def variant(text):
    name, _, rest = text.partition("=")
    env, binary = {}, None
    for setting in filter(None, rest.split(",")):
        key, eq, value = setting.partition("=")
        if not eq:
            raise argparse.ArgumentTypeError(
                "variant '%s': '%s' is not ENV=VALUE or bin=PATH" %
                (text, setting))
        if key == "bin":
            binary = value
        else:
            env[key] = value
    return name, env, binary


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("variants", nargs="+", type=variant,
                    help="NAME[=ENV=VALUE,...,bin=PATH]")
    ap.add_argument("--model", default="resnet50",
                    help="resnet50 or vgg19 (bench-work's exports)")
    ap.add_argument("--layers", action="append",
                    help="--layer value; repeat for several (layer4)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--batch", default="8")
    ap.add_argument("--precision", default="fp32", choices=("fp32", "bf16"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = ap.parse_args()
    work = os.path.join(args.build, "bench-work")
    model = os.path.join(work, args.model + ".pt")
    image = os.path.join(work, "bench-224.png")
    for path in (model, image):
        if not os.path.exists(path):
            sys.exit("interleave: %s is missing: run bench/run once to "
                     "export the models and the image" % path)
    base_env = dict(os.environ)
    base_env.setdefault("RSICAM_PLUGIN_PATH",
                        os.path.join(args.build, "plugins"))
    layer_sets = args.layers or ["layer4"]
    passes = {}
    scratch = tempfile.mkdtemp(prefix="rsicam-interleave-")
    try:
        for rep in range(1, args.reps + 1):
            for name, env, binary in args.variants:
                for layers in layer_sets:
                    out = os.path.join(scratch, "out")
                    shutil.rmtree(out, ignore_errors=True)
                    cmd = [binary or os.path.join(args.build, "rsicam"),
                           "explain", "--model", model, "--image", image,
                           "--layer", layers, "--steps", str(args.steps),
                           "--batch", args.batch, "--precision",
                           args.precision, "--threads",
                           str(args.threads), "--out", out, "--quiet"]
                    p = subprocess.run(cmd, env=dict(base_env, **env),
                                       capture_output=True, text=True)
                    if p.returncode != 0:
                        sys.exit("interleave: %s failed:\n%s" %
                                 (" ".join(cmd), p.stderr))
                    with open(os.path.join(out, "results.jsonl")) as f:
                        s = json.loads(f.readline())["seconds"]
                    passes.setdefault((name, layers), []).append(s)
                    print("%d %s %s %.3f" % (rep, name, layers, s),
                          flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("\n| variant | layers | pass s (runs) | median |")
    print("| --- | --- | --- | --- |")
    for (name, layers), runs in passes.items():
        print("| %s | `%s` | %s | %.3f |" % (
            name, layers, ", ".join("%.3f" % r for r in runs),
            statistics.median(runs)))


if __name__ == "__main__":
    main()
