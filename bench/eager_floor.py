"""The eager floor: m + 1 no-grad forwards through the eager torchvision
model (the TorchScript file's weights), in batches, timed as floor.c times
the TorchScript ones: the forward calls only, every pass separately (the
first one in the process is cold). Prints one JSON line.

    eager_floor.py --arch resnet50 --model resnet50.pt [--steps 50]
                   [--batch 8] [--threads 2] [--size 224] [--passes 2]
"""
import argparse
import json
import resource
import time

import torch

from published_loop import load_model


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--passes", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    t0 = time.perf_counter()
    model, _ = load_model(a.arch, a.model)
    for prm in model.parameters():
        prm.requires_grad = False
    load = time.perf_counter() - t0
    # a linear path from black to a fixed pseudo-random image, as floor.c
    gen = torch.Generator().manual_seed(1)
    image = torch.rand(1, 3, a.size, a.size, generator=gen)
    alphas = torch.linspace(0, 1, a.steps + 1).view(-1, 1, 1, 1)
    points = alphas * image
    batches = list(points.split(a.batch))
    passes = []
    with torch.no_grad():
        for _ in range(a.passes):
            t = time.perf_counter()
            for x in batches:
                model(x)
            passes.append(time.perf_counter() - t)
    print(json.dumps({
        "mode": "eager", "model": a.model, "steps": a.steps, "batch": a.batch,
        "threads": a.threads, "load_seconds": load, "pass_seconds": passes,
        "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))


if __name__ == "__main__":
    main()
