"""Cost per row of one forward and backward at several row counts.

Loads a TorchScript model, runs forward and a backward to the input (the
first output's column summed, as a score) at each ROWS count, two untimed
calls each, then five timed rounds with the order reversed every other
round, and prints each count's median milliseconds per row and its ratio
to the first count's. Asks whether a forward of some row counts costs
more per row than its neighbours (for instance an odd count split over
two threads); bench/results/2026-12-06-cpu-cd8a995-followups.md.

    tools/rsicam-python bench/rows_cost.py build/bench-work/resnet50.pt \\
        --rows 8,9,10 [--threads 2] [--rounds 5] [--size 224]
"""
import argparse
import statistics
import time

import torch


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model", help="a TorchScript file")
    p.add_argument("--rows", default="8,9,10",
                   help="comma list of row counts (default 8,9,10)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--size", type=int, default=224)
    a = p.parse_args()
    try:
        rows = [int(r) for r in a.rows.split(",")]
    except ValueError:
        p.error("--rows: '%s' is not a comma list of counts" % a.rows)
    if not rows or min(rows) < 1:
        p.error("--rows: counts must be >= 1")
    if a.rounds < 1:
        p.error("--rounds must be >= 1")
    torch.set_num_threads(a.threads)
    try:
        model = torch.jit.load(a.model).eval()
    except (RuntimeError, ValueError) as e:
        p.error("%s: not a TorchScript model (%s)"
                % (a.model, str(e).splitlines()[0]))

    def seconds(n):
        x = torch.rand(n, 3, a.size, a.size, requires_grad=True)
        start = time.perf_counter()
        model(x)[:, 0].sum().backward()
        return time.perf_counter() - start

    for n in rows:
        seconds(n)
        seconds(n)
    runs = {n: [] for n in rows}
    for r in range(a.rounds):
        for n in rows if r % 2 == 0 else rows[::-1]:
            runs[n].append(seconds(n))
    first = statistics.median(runs[rows[0]]) / rows[0]
    print("| rows | ms a row | of %d rows' |" % rows[0])
    print("| --- | --- | --- |")
    for n in rows:
        per_row = statistics.median(runs[n]) / n
        print("| %d | %.1f | %.3f |" % (n, 1e3 * per_row, per_row / first))


if __name__ == "__main__":
    main()
