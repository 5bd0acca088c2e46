"""Where a run's time went, from a libtorch profiler trace (RSICAM_PROFILE).

    trace_summary.py TRACE.json [--forwards N]

Reads the Chrome trace that rsicam writes with RSICAM_PROFILE=FILE (from
the end of its first forward to its end) and prints, per forward when
--forwards says how many the trace holds (rsicam's RSICAM_TRACE stream
line):
  - the span, and how much of it the GPU was busy (kernels, copies and
    sets, overlaps counted once) or idle;
  - the time the host spent blocked in synchronising CUDA calls;
  - the kernels and the host operators that took the most time, with
    their call counts: the model's convolutions against the engine's
    small per-image operations.
Event categories are matched in both spellings Kineto has used
("kernel" / "Kernel", "cpu_op" / "Operator", ...).
"""
import argparse
import json
import sys
from collections import defaultdict

DEVICE = {"kernel", "gpu_memcpy", "gpu_memset", "memcpy", "memset"}
RUNTIME = {"cuda_runtime", "runtime", "cuda_driver"}
HOST_OPS = {"cpu_op", "operator"}
# runtime calls that wait for the device
SYNCS = ("cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaEventSynchronize",
         "cudaMemcpy")


def union_length(intervals):
    """Total length covered by [start, end) intervals."""
    total, end = 0.0, None
    for s, e in sorted(intervals):
        if end is None or s > end:
            total += e - s
            end = e
        elif e > end:
            total += e - end
            end = e
    return total


def top(durations, counts, n):
    return [{"name": k, "ms": durations[k] / 1e3, "calls": counts[k]}
            for k in sorted(durations, key=durations.get, reverse=True)[:n]]


def summarize(events, n_top=12):
    """Summary of a trace's complete ("X") events; times in ms."""
    spans, device = [], []
    kernel_us, kernel_n = defaultdict(float), defaultdict(int)
    op_us, op_n = defaultdict(float), defaultdict(int)
    sync_us = 0.0
    for ev in events:
        if ev.get("ph") != "X" or "dur" not in ev:
            continue
        cat = str(ev.get("cat", "")).lower()
        start, dur = float(ev["ts"]), float(ev["dur"])
        name = ev.get("name", "?")
        if cat in DEVICE:
            device.append((start, start + dur))
            kernel_us[name] += dur
            kernel_n[name] += 1
        elif cat in RUNTIME:
            if name.startswith(SYNCS) and not name.endswith("Async"):
                sync_us += dur
        elif cat in HOST_OPS:
            op_us[name] += dur
            op_n[name] += 1
        else:
            continue
        spans.append((start, start + dur))
    if not spans:
        raise ValueError("no timed events in the trace")
    span = max(e for _, e in spans) - min(s for s, _ in spans)
    busy = union_length(device)
    return {"span_ms": span / 1e3, "device_busy_ms": busy / 1e3,
            "device_idle_ms": (span - busy) / 1e3 if device else None,
            "host_sync_ms": sync_us / 1e3,
            "kernels": top(kernel_us, kernel_n, n_top),
            "host_ops": top(op_us, op_n, n_top)}


def load(path):
    with open(path) as f:
        data = json.load(f)
    return data["traceEvents"] if isinstance(data, dict) else data


def markdown(s, forwards=1):
    per = "per forward" if forwards > 1 else "in all"
    f = float(forwards)
    lines = ["span %.2f ms %s; device busy %s, idle %s; host blocked in "
             "syncs %.2f ms" % (
                 s["span_ms"] / f, per,
                 "%.2f ms" % (s["device_busy_ms"] / f) if s["kernels"] else "-",
                 "%.2f ms" % (s["device_idle_ms"] / f)
                 if s["device_idle_ms"] is not None else "-",
                 s["host_sync_ms"] / f), ""]
    for title, rows in (("device kernels and copies", s["kernels"]),
                        ("host operators (nested ones counted again)",
                         s["host_ops"])):
        if not rows:
            continue
        lines += ["| %s | ms %s | calls %s |" % (title, per, per),
                  "| --- | --- | --- |"]
        lines += ["| %s | %.3f | %.1f |" % (r["name"][:90], r["ms"] / f,
                                            r["calls"] / f) for r in rows]
        lines.append("")
    return "\n".join(lines)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("trace")
    p.add_argument("--forwards", type=int, default=1,
                   help="forwards the trace holds: figures per forward")
    args = p.parse_args(argv)
    try:
        s = summarize(load(args.trace))
    except (OSError, ValueError, KeyError) as e:
        sys.exit("trace_summary: %s: %s" % (args.trace, e))
    print(markdown(s, max(1, args.forwards)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
