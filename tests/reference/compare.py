"""Compare rsicam's maps with the reference implementation's.

    compare.py --ref DIR1 --got DIR2 [--min-corr 0.999] [--max-levels 1]

Reads DIR1/reference.jsonl (rsi_reference.py) and DIR2/results.jsonl
(rsicam), matches records by (layer, method, variant, score) and checks, per
pair:
  - class equal;
  - steps equal, where both records give them;
  - score_image and score_baseline: |a - b| <= rtol * max(|a|, |b|) + atol;
  - cam arrays: same shape and Pearson correlation >= --min-corr (two
    constant arrays pass when np.allclose);
  - heatmaps scaled to 0..255 (round(h * 255)): same shape and at most
    --max-levels apart at every pixel.
ig_sum is printed (relative difference) and checked only with --ig-rtol.
Prints one line per pair and `N passed, M failed`; exit status 1 when a pair
failed or a reference record has no match in DIR2 (2 on unreadable input).
"""
import argparse
import json
import math
import os
import sys

import numpy as np

KEY_FIELDS = ("layer", "method", "variant", "score")


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog=__doc__.split("\n\n", 2)[2],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--ref", required=True, help="directory with reference.jsonl")
    p.add_argument("--got", required=True, help="directory with results.jsonl")
    p.add_argument("--ref-file", default="reference.jsonl", help="default reference.jsonl")
    p.add_argument("--got-file", default=None,
                   help="default results.jsonl (reference.jsonl when --got is --ref: "
                        "a self-check of the comparer)")
    p.add_argument("--min-corr", type=float, default=0.999, help="default 0.999")
    p.add_argument("--max-levels", type=int, default=1, help="default 1")
    p.add_argument("--score-rtol", type=float, default=1e-3, help="default 1e-3")
    p.add_argument("--score-atol", type=float, default=0.0, help="default 0")
    p.add_argument("--ig-rtol", type=float, default=None,
                   help="also fail when ig_sum differs relatively by more (default: report only)")
    return p.parse_args(argv)


def read_jsonl(path):
    records = []
    with open(path) as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except ValueError as e:
                raise SystemExit("compare: %s:%d: not JSON: %s" % (path, n, e))
    return records


def key(record):
    return tuple("" if record.get(k) is None else str(record.get(k)) for k in KEY_FIELDS)


def key_text(k):
    return "%s %s%s %s" % (k[0], k[1], "/" + k[2] if k[2] else "", k[3])


def load_array(base, name):
    if not name:
        raise ValueError("no file name")
    return np.load(os.path.join(base, name))  # join keeps an absolute name as is


def pearson(a, b):
    a = a.astype(np.float64).ravel()
    b = b.astype(np.float64).ravel()
    a = a - a.mean()
    b = b - b.mean()
    na, nb = math.sqrt(float(a @ a)), math.sqrt(float(b @ b))
    if na == 0 or nb == 0:
        return None
    return float(a @ b) / (na * nb)


def close(a, b, rtol, atol):
    return abs(a - b) <= rtol * max(abs(a), abs(b)) + atol


def rel(a, b):
    d = max(abs(a), abs(b))
    return 0.0 if d == 0 else abs(a - b) / d


def compare_pair(ref, got, ref_dir, got_dir, args):
    """Return (ok, text)."""
    problems, parts = [], []
    if ref.get("class") != got.get("class"):
        problems.append("class %s != %s" % (ref.get("class"), got.get("class")))
    if ref.get("steps") is not None and got.get("steps") is not None \
            and int(ref["steps"]) != int(got["steps"]):
        problems.append("steps %s != %s" % (ref["steps"], got["steps"]))
    for field in ("score_image", "score_baseline"):
        try:
            a, b = float(ref[field]), float(got[field])
        except (KeyError, TypeError, ValueError):
            problems.append("%s missing" % field)
            continue
        parts.append("%s rel %.2g" % (field, rel(a, b)))
        if not close(a, b, args.score_rtol, args.score_atol):
            problems.append("%s %.7g != %.7g" % (field, a, b))
    try:
        a, b = float(ref["ig_sum"]), float(got["ig_sum"])
        parts.append("ig_sum %.6g/%.6g rel %.2g" % (a, b, rel(a, b)))
        if args.ig_rtol is not None and not close(a, b, args.ig_rtol, 0.0):
            problems.append("ig_sum %.7g != %.7g" % (a, b))
    except (KeyError, TypeError, ValueError):
        if args.ig_rtol is not None:
            problems.append("ig_sum missing")

    try:
        cam_r = load_array(ref_dir, ref.get("cam"))
        cam_g = load_array(got_dir, got.get("cam"))
    except (OSError, ValueError) as e:
        problems.append("cam unreadable: %s" % e)
    else:
        if cam_r.shape != cam_g.shape:
            problems.append("cam shape %s != %s" % (cam_r.shape, cam_g.shape))
        else:
            r = pearson(cam_r, cam_g)
            if r is None:
                same = np.allclose(cam_r.astype(np.float64), cam_g.astype(np.float64))
                parts.append("cam constant (%s)" % ("equal" if same else "DIFFERENT"))
                if not same:
                    problems.append("cam constant in one and different")
            else:
                parts.append("cam corr %.6f" % r)
                if not r >= args.min_corr:
                    problems.append("cam corr %.6f < %g" % (r, args.min_corr))
    try:
        hm_r = load_array(ref_dir, ref.get("heatmap"))
        hm_g = load_array(got_dir, got.get("heatmap"))
    except (OSError, ValueError) as e:
        problems.append("heatmap unreadable: %s" % e)
    else:
        if hm_r.shape != hm_g.shape:
            problems.append("heatmap shape %s != %s" % (hm_r.shape, hm_g.shape))
        else:
            levels = np.abs(np.round(hm_r.astype(np.float64) * 255)
                            - np.round(hm_g.astype(np.float64) * 255))
            worst = float(levels.max()) if levels.size else 0.0
            if not np.isfinite(worst):
                worst = float("inf")
            parts.append("heatmap max %g levels (%d px > %d)"
                         % (worst, int((levels > args.max_levels).sum()), args.max_levels))
            if not worst <= args.max_levels:
                problems.append("heatmap differs by %g levels" % worst)
    text = "; ".join(parts)
    if problems:
        text += " -- " + "; ".join(problems)
    return not problems, text


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    ref_path = os.path.join(args.ref, args.ref_file)
    got_file = args.got_file
    if got_file is None:
        got_file = "results.jsonl"
        if os.path.realpath(args.got) == os.path.realpath(args.ref) and \
                not os.path.exists(os.path.join(args.got, got_file)):
            got_file = args.ref_file
            print("compare: note: --got is --ref; comparing %s with itself" % args.ref_file)
    got_path = os.path.join(args.got, got_file)
    try:
        refs = read_jsonl(ref_path)
        gots = read_jsonl(got_path)
    except OSError as e:
        print("compare: cannot read %s" % e, file=sys.stderr)
        return 2
    got_by_key = {}
    for g in gots:
        k = key(g)
        if k in got_by_key:
            print("compare: note: %s appears twice in %s; using the first" % (key_text(k), got_path))
            continue
        got_by_key[k] = g
    passed = failed = 0
    used = set()
    for r in refs:
        k = key(r)
        g = got_by_key.get(k)
        if g is None:
            failed += 1
            print("FAIL %s: no matching record in %s" % (key_text(k), got_path))
            continue
        used.add(k)
        ok, text = compare_pair(r, g, args.ref, args.got, args)
        passed += ok
        failed += not ok
        print("%s %s: %s" % ("ok  " if ok else "FAIL", key_text(k), text))
    extra = [k for k in got_by_key if k not in used]
    if extra:
        print("compare: note: %d record(s) in %s have no reference (not checked): %s"
              % (len(extra), got_path, ", ".join(key_text(k) for k in extra)))
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed or not refs else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BrokenPipeError:  # output piped into head: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
