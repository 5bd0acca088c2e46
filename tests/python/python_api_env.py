"""Shared by the test_python_*.py files: where the rsicam package, the
command and the shipped model are, and the import of rsicam itself.

The package is imported from the build tree (build/python, next to the
rsicam command ctest names in RSICAM_BIN); without it (no Python headers
when the tree was configured) the tests are skipped.
"""
import json
import os
import subprocess
import sys
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.abspath(os.environ.get("RSICAM_BIN",
                                    os.path.join(ROOT, "build", "rsicam")))
TMP = os.environ.get("RSICAM_TEST_TMP", os.path.join(ROOT, "build", "tmp"))
MODELS = os.path.join(ROOT, "examples", "models")
SAMPLES = os.path.join(ROOT, "examples", "samples")
CNN = os.path.join(MODELS, "fmnist_cnn.pt")
CNN_T20 = os.path.join(MODELS, "fmnist_cnn_t20.pt")
PY_DIR = os.path.join(os.path.dirname(BIN), "python")
sys.path.insert(0, PY_DIR)
sys.path.insert(0, os.path.join(ROOT, "tools"))

try:
    import rsicam  # noqa: F401
except ImportError as e:  # built without the Python headers
    rsicam = None
    IMPORT_ERROR = e

needs_rsicam = unittest.skipIf(rsicam is None,
                               f"rsicam not built in {PY_DIR}")


def sample(i):
    return os.path.join(SAMPLES, f"{i:04d}.png")


def tmpdir(name):
    path = os.path.join(TMP, "python_api", name)
    os.makedirs(path, exist_ok=True)
    return path


def cli(*args):
    """Runs the rsicam command; returns (exit code, stderr)."""
    p = subprocess.run([BIN, *args], capture_output=True, text=True)
    return p.returncode, p.stderr


def cli_maps(out_dir):
    """The command's maps in out_dir, by what they explain."""
    import numpy as np
    maps = {}
    with open(os.path.join(out_dir, "results.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            key = (r["image"], r["layer"], r["method"], r["variant"],
                   r["score"], r["class"])
            maps[key] = (np.load(os.path.join(out_dir, r["cam"])),
                         np.load(os.path.join(out_dir, r["heatmap"])))
    return maps


def key_of(explanation, image=None):
    e = explanation
    return (image or e.image, e.layer, e.method, e.variant, e.score, e.cls)
