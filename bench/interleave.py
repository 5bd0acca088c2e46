#!/usr/bin/env python3
"""Times `rsicam explain` variants side by side, interleaved.

Each repetition runs every (variant, layers) pair once, the order rotated
from one repetition to the next, so that a machine's drifting load touches
all of them alike; the report is each run's pass (results.jsonl "seconds":
image read to the sums, cold, a fresh process) and whole command (process
start to exit), their medians per pair, and the median over repetitions of
each pair's pass over the first pair's in the same repetition (the figure
to read for a few percent), and the steady pace: each run's median time
between forwards after its first (RSICAM_TRACE), less moved by a burst
of load on a shared host than a whole pass, and the median over
repetitions of its ratio to the first pair's. A variant is NAME[=SETTING...]:
SETTING is ENV=VALUE (an environment variable for that run), bin=PATH
(another rsicam binary, e.g. a copy built from an earlier commit) or
batch=B (that run's --batch instead of --batch's).

    bench/interleave.py --model resnet50 --layers layer4 \\
        simple=RSICAM_EXECUTOR=simple profiling=RSICAM_EXECUTOR=profiling

Models and the image come from bench/run's work folder (BUILD/bench-work).
"""
import argparse
import collections
import os
import statistics
import sys

import bench  # bench/bench.py: one `rsicam explain`, timed

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# One run: its pass and whole command (seconds) and its steady pace (the
# median milliseconds between forwards; None where the trace gave none).
Run = collections.namedtuple("Run", "pass_s command_s forward_ms")


def variant(text):
    name, _, rest = text.partition("=")
    env, binary, batch = {}, None, None
    for setting in filter(None, rest.split(",")):
        key, eq, value = setting.partition("=")
        if not eq:
            raise argparse.ArgumentTypeError(
                "variant '%s': '%s' is not ENV=VALUE, bin=PATH or batch=B" %
                (text, setting))
        if key == "bin":
            binary = value
        elif key == "batch":
            batch = value
        else:
            env[key] = value
    return name, env, binary, batch


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("variants", nargs="+", type=variant,
                    help="NAME[=ENV=VALUE,...,bin=PATH,batch=B]")
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
    ap.add_argument("--pause", type=float, default=0,
                    help="seconds to sleep before each run (bench/run's "
                         "--pause): 3 or more, and every run's memory is "
                         "new to it")
    args = ap.parse_args()
    bench.PAUSE = args.pause
    work = os.path.join(args.build, "bench-work")
    model = os.path.join(work, args.model + ".pt")
    image = os.path.join(work, "bench-224.png")
    for path in (model, image):
        if not os.path.exists(path):
            sys.exit("interleave: %s is missing: run bench/run once to "
                     "export the models and the image" % path)
    base_env = {}
    if "RSICAM_PLUGIN_PATH" not in os.environ:
        base_env["RSICAM_PLUGIN_PATH"] = os.path.join(args.build, "plugins")
    spec = {"steps": args.steps, "batch": args.batch,
            "threads": args.threads, "precision": args.precision}
    layer_sets = args.layers or ["layer4"]
    pairs = [(v, layers) for v in args.variants for layers in layer_sets]
    runs = {}  # (name, layers) -> [Run, ...], in repetition order
    for rep in range(1, args.reps + 1):
        k = (rep - 1) % len(pairs)  # rotated: no pair always runs first
        for (name, env, binary, batch), layers in pairs[k:] + pairs[:k]:
            try:
                # its outputs in a folder of its own under work, removed
                recs, wall, _, said = bench.explain_once(
                    binary or os.path.join(args.build, "rsicam"), model,
                    layers, [image], dict(spec, batch=batch or spec["batch"]),
                    work, dict(base_env, **env))
            except bench.RunFailed as e:
                sys.exit("interleave: variant %s, layers %s: %s" %
                         (name, layers, e))
            r = Run(recs[0]["seconds"], wall, said["forward_ms"])
            runs.setdefault((name, layers), []).append(r)
            print("%d %s %s %.3f %.3f %s" % (rep, name, layers, r.pass_s,
                                             r.command_s, bench.fmt(r.forward_ms, 1)),
                  flush=True)
    # a change that moves work out of the pass (into start-up, say) shows
    # in the command and not in the pass. Against the first pair, the
    # median of each repetition's own ratio: runs minutes apart meet
    # different loads, one repetition's runs a similar one
    first = runs[(pairs[0][0][0], pairs[0][1])]
    print("\n| variant | layers | pass s (runs) | median | command s (runs) "
          "| median | pass / first's, per repetition | median "
          "| forward ms (runs) | median | forward / first's, median |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for (name, layers), r in runs.items():
        passes = [x.pass_s for x in r]
        ratios = [x.pass_s / f.pass_s for x, f in zip(r, first)]
        paces = [x.forward_ms for x in r if x.forward_ms is not None]
        pace_ratios = [x.forward_ms / f.forward_ms for x, f in zip(r, first)
                       if x.forward_ms is not None and f.forward_ms is not None]
        print("| %s | `%s` | %s | %.3f | %s | %.3f | %s | %.3f | %s | %s | %s |" % (
            name, layers, ", ".join("%.3f" % p for p in passes),
            statistics.median(passes),
            ", ".join("%.3f" % x.command_s for x in r),
            statistics.median(x.command_s for x in r),
            ", ".join("%.3f" % q for q in ratios), statistics.median(ratios),
            ", ".join("%.1f" % p for p in paces) or "-",
            bench.fmt(statistics.median(paces) if paces else None, 1),
            bench.fmt(statistics.median(pace_ratios) if pace_ratios else None)))

if __name__ == "__main__":
    main()
