#!/usr/bin/python3
"""same_output.py EXPECTED ACTUAL: do two rsicam experiment output
directories hold the same results?

Compared: every results.jsonl record, in order, apart from its timing
("seconds"); every file under maps/ and montages/, byte for byte, and the
same set of them; summary.csv byte for byte. Prints each difference (the
first few) and exits 1 when there is one, 0 when none.
"""
import json
import os
import sys

TIMING_FIELDS = ("seconds",)
BYTE_TREES = ("maps", "montages")
BYTE_FILES = ("summary.csv",)


def records(directory):
    path = os.path.join(directory, "results.jsonl")
    with open(path, encoding="utf-8") as f:
        out = []
        for n, line in enumerate(f, 1):
            record = json.loads(line)
            for field in TIMING_FIELDS:
                record.pop(field, None)
            out.append((n, record))
    return out


def files_under(directory, tree):
    root = os.path.join(directory, tree)
    found = set()
    for dirpath, _, names in os.walk(root):
        for name in names:
            found.add(os.path.relpath(os.path.join(dirpath, name), directory))
    return found


def same_bytes(a, b):
    with open(a, "rb") as fa, open(b, "rb") as fb:
        return fa.read() == fb.read()


def differences(expected, actual):
    want, got = records(expected), records(actual)
    if len(want) != len(got):
        yield f"results.jsonl: {len(want)} records expected, {len(got)} found"
    for (n, a), (_, b) in zip(want, got):
        if a != b:
            keys = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
            yield f"results.jsonl:{n}: differs in {', '.join(keys)}"
    names = set(BYTE_FILES)
    for tree in BYTE_TREES:
        a, b = files_under(expected, tree), files_under(actual, tree)
        for name in sorted(a - b):
            yield f"{name}: missing"
        for name in sorted(b - a):
            yield f"{name}: not expected"
        names |= a & b
    if not any(name.startswith("maps" + os.sep) for name in names):
        yield "maps/: no map files to compare"
    for name in sorted(names):
        if not same_bytes(os.path.join(expected, name),
                          os.path.join(actual, name)):
            yield f"{name}: bytes differ"


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: same_output.py EXPECTED_DIR ACTUAL_DIR")
    expected, actual = sys.argv[1:]
    try:
        found = list(differences(expected, actual))
    except (OSError, ValueError) as e:
        sys.exit(f"same_output: {e}")
    for line in found[:10]:
        print(f"same_output: {actual} vs {expected}: {line}", file=sys.stderr)
    if len(found) > 10:
        print(f"same_output: ... {len(found) - 10} more", file=sys.stderr)
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
