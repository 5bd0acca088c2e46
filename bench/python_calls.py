#!/usr/bin/env python3
"""Times rsicam's Python API over several calls, side by side.

A notebook explains images one call at a time. Each rsicam.explain call
loads the model, freezes the part before the layers and runs its first
forwards cold; an rsicam.Explainer does that once. And a Python process
runs without the command's huge-page allocator and executor unless it
calls rsicam.use_command_settings(). Each repetition runs, in fresh
processes and in rotated order, both settings ("plain", "command"); each
process times one rsicam.explain call, then an Explainer's --calls calls
(one image each). The report gives the medians and, per repetition, the
Explainer's later calls against rsicam.explain and against the plain
process.

    bench/python_calls.py --model resnet50 --layer layer4 --reps 3

Models and the image come from bench/run's work folder (BUILD/bench-work).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# One process: explain() once, then an Explainer's calls; prints seconds.
PROCESS = r"""
import json, sys, time
sys.path.insert(0, sys.argv[1])
import rsicam
settings, model, layer, image = sys.argv[2:6]
steps, threads, calls = map(int, sys.argv[6:9])
if settings == "command":
    rsicam.use_command_settings()
kw = dict(layers=layer, steps=steps, threads=threads)
start = time.monotonic()
rsicam.explain(model, image, **kw)
once = time.monotonic() - start
times = []
with rsicam.Explainer(model, **kw) as explainer:
    for _ in range(calls):
        start = time.monotonic()
        explainer.explain(image)
        times.append(time.monotonic() - start)
print(json.dumps({"explain": once, "explainer": times}))
"""

SETTINGS = ("plain", "command")


def one_process(args, settings, model, image):
    python = os.path.join(args.build, "python")
    env = dict(os.environ)
    env.setdefault("RSICAM_PLUGIN_PATH", os.path.join(args.build, "plugins"))
    proc = subprocess.run(
        [sys.executable, "-c", PROCESS, python, settings, model, args.layer,
         image, str(args.steps), str(args.threads), str(args.calls)],
        capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        sys.exit("python_calls: %s: %s" % (settings, proc.stderr.strip()))
    return json.loads(proc.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="resnet50")
    ap.add_argument("--layer", default="layer4")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--calls", type=int, default=4,
                    help="an Explainer's calls per process (at least 2)")
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    args = ap.parse_args()
    if args.calls < 2:
        sys.exit("python_calls: --calls: at least 2 (the first and a later "
                 "one), got %d" % args.calls)
    work = os.path.join(args.build, "bench-work")
    model = os.path.join(work, args.model + ".pt")
    image = os.path.join(work, "bench-224.png")
    for path in (model, image, os.path.join(args.build, "python")):
        if not os.path.exists(path):
            sys.exit("python_calls: %s is missing: build rsicam with "
                     "Python's headers and run bench/run once" % path)
    runs = {s: [] for s in SETTINGS}
    for rep in range(args.reps):
        order = SETTINGS[rep % 2:] + SETTINGS[:rep % 2]
        for s in order:
            r = one_process(args, s, model, image)
            runs[s].append(r)
            print("%d %s explain %.3f explainer %s" % (
                rep + 1, s, r["explain"],
                " ".join("%.3f" % t for t in r["explainer"])), flush=True)

    def later(r):  # an Explainer's calls after its first
        return statistics.median(r["explainer"][1:])

    print("\n%s `%s`, %d steps, %d threads, %d repetitions (seconds, "
          "medians)\n" % (args.model, args.layer, args.steps, args.threads,
                          args.reps))
    print("| settings | rsicam.explain | Explainer, first call | "
          "Explainer, later calls | later / rsicam.explain |")
    print("| --- | --- | --- | --- | --- |")
    for s in SETTINGS:
        r = runs[s]
        print("| %s | %.3f | %.3f | %.3f | %.3f |" % (
            s, statistics.median(x["explain"] for x in r),
            statistics.median(x["explainer"][0] for x in r),
            statistics.median(later(x) for x in r),
            statistics.median(later(x) / x["explain"] for x in r)))
    ratios = [later(c) / later(p)
              for p, c in zip(runs["plain"], runs["command"])]
    print("\nlater calls, command settings / plain, per repetition: %s; "
          "median %.3f" % (", ".join("%.3f" % q for q in ratios),
                           statistics.median(ratios)))


if __name__ == "__main__":
    main()
