"""Would torch.jit.freeze / optimize_for_inference pay? A measurement only.

Times no-grad forward passes at one batch size through a TorchScript file
and through frozen / optimized copies of it, interleaved, in one process:

  whole   the file's module as loaded (what rsicam's floor runs)
  frozen  torch.jit.freeze(module) (weights folded in as constants,
          conv+batchnorm folded)
  ofi     torch.jit.optimize_for_inference(frozen) (on CPU with MKL-DNN:
          conv layout conversions, fusions)

and, for a torchvision ResNet, the same three for the part BEFORE a layer
(default layer4: conv1 ... layer3), the part rsicam runs without autograd,
which is what freezing could speed up without touching the differentiated
tail. Prints one JSON line with median seconds per batch and the ratios, and
the largest absolute logit difference of the frozen copies (they must give
the same numbers).

    freeze_probe.py --arch resnet50 --model resnet50.pt [--batch 16]
                    [--threads 2] [--reps 5] [--warmup 3]
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torchvision


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", default="resnet50")
    p.add_argument("--model", required=True)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--reps", type=int, default=5, help="timed batches per variant")
    p.add_argument("--warmup", type=int, default=3,
                   help="untimed batches per variant first (profiling runs)")
    p.add_argument("--prefix-until", default="layer4",
                   help="ResNet child the prefix stops before ('' to skip)")
    return p.parse_args(argv)


def prefix_module(arch, scripted, until):
    """conv1 ... (the child before `until`) of the eager model, traced."""
    model = torchvision.models.get_model(arch, weights=None)
    model.load_state_dict(scripted.state_dict(), strict=True)
    model.eval()
    children = []
    for name, child in model.named_children():
        if name == until:
            break
        children.append(child)
    else:
        raise SystemExit("freeze_probe: %s has no child %r" % (arch, until))
    return torch.nn.Sequential(*children).eval()


def variants(module, example):
    frozen = torch.jit.freeze(module.eval())
    out = {"whole": module, "frozen": frozen}
    try:
        out["ofi"] = torch.jit.optimize_for_inference(torch.jit.freeze(module.eval()))
    except Exception as e:  # noqa: BLE001
        print("freeze_probe: optimize_for_inference failed: %s" % e, file=sys.stderr)
    return out


def time_variants(mods, x, reps, warmup):
    with torch.no_grad():
        ref = mods["whole"](x)
        diffs = {k: float((m(x) - ref).abs().max()) for k, m in mods.items()}
        for _ in range(warmup):
            for m in mods.values():
                m(x)
        times = {k: [] for k in mods}
        for r in range(reps):
            keys = list(mods)
            keys = keys[r % len(keys):] + keys[:r % len(keys)]  # rotate order
            for k in keys:
                t0 = time.perf_counter()
                mods[k](x)
                times[k].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"median_seconds": {k: round(v, 5) for k, v in med.items()},
            "ratio_to_whole": {k: round(v / med["whole"], 3) for k, v in med.items()},
            "max_abs_diff": diffs}


def main(argv):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    scripted = torch.jit.load(args.model).eval()
    x = torch.randn(args.batch, 3, 224, 224)
    result = {"arch": args.arch, "batch": args.batch, "threads": torch.get_num_threads(),
              "reps": args.reps, "warmup": args.warmup,
              "mkldnn": torch.backends.mkldnn.is_available()}
    result["model"] = time_variants(variants(scripted, x), x, args.reps, args.warmup)
    if args.prefix_until and args.arch.startswith("resnet"):
        eager = prefix_module(args.arch, scripted, args.prefix_until)
        traced = torch.jit.trace(eager, x[:1])
        result["prefix_until"] = args.prefix_until
        result["prefix"] = time_variants(variants(traced, x), x, args.reps, args.warmup)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
