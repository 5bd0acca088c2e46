"""Helpers shared by the Fashion-MNIST canvas training tools."""
import json
import os
import random
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist_canvas  # noqa: E402

CLASS_NAMES = fmnist_canvas.CLASS_NAMES


def fix_hash_seed():
    """Re-run this script under PYTHONHASHSEED=0 unless already so.

    torch.jit.script writes a module's constants in Python set order, which
    follows string hashing; with a fixed hash seed a rerun writes a
    byte-identical model file, not only identical weights.
    """
    if os.environ.get("PYTHONHASHSEED") != "0":
        env = dict(os.environ, PYTHONHASHSEED="0")
        sys.stdout.flush()
        os.execve(sys.executable, [sys.executable] + sys.argv, env)


def set_determinism(seed, threads):
    """Seed every RNG and ask torch for deterministic kernels.

    The thread count is fixed too: CPU reductions may sum in an order that
    depends on it, so a rerun is bit-identical only with the same count.
    """
    torch.set_num_threads(int(threads))
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    try:
        torch.use_deterministic_algorithms(True)
    except Exception as exc:  # pragma: no cover - depends on torch build
        print("warning: deterministic algorithms unavailable: %s" % exc)


def make_canvas_set(split, seed, count, start=0, log_every=10000):
    """Canvases start..start+count-1 as a uint8 tensor [N,3,96,96] plus
    int64 labels [N] and boxes [N,4]."""
    t0 = time.time()
    images = np.empty((count, 96, 96, 3), dtype=np.uint8)
    labels = np.empty(count, dtype=np.int64)
    boxes = np.empty((count, 4), dtype=np.int64)
    for k in range(count):
        c, l, b = fmnist_canvas.make_canvas(split, start + k, seed)
        images[k] = c
        labels[k] = l
        boxes[k] = b
        if log_every and (k + 1) % log_every == 0:
            print("  %s canvases: %d/%d (%.0f s)" % (split, k + 1, count,
                                                     time.time() - t0),
                  flush=True)
    x = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    return x, torch.from_numpy(labels), torch.from_numpy(boxes)


def channel_stats(x_uint8):
    """Per-channel mean and std of a uint8 [N,3,H,W] tensor, in [0,1]
    units, computed in float64 with numpy (order-independent of threads)."""
    a = x_uint8.numpy()
    n = a.shape[0] * a.shape[2] * a.shape[3]
    s = a.sum(axis=(0, 2, 3), dtype=np.float64)
    s2 = (a.astype(np.float64) ** 2).sum(axis=(0, 2, 3))
    mean = s / n / 255.0
    var = s2 / n / 255.0 ** 2 - mean ** 2
    return mean, np.sqrt(var)


def normalise(x_uint8, mean, std):
    """uint8 [N,3,H,W] -> float32 (x/255 - mean)/std."""
    x = x_uint8.float().div_(255.0)
    m = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    return (x - m) / s


def read_samples_csv(path):
    """Rows of a samples.csv as dicts with int label and box."""
    rows = []
    with open(path) as f:
        header = f.readline().strip().split(",")
        if header != ["image", "label", "x0", "y0", "x1", "y1"]:
            raise ValueError("%s: unexpected header %r" % (path, header))
        for line in f:
            line = line.strip()
            if not line:
                continue
            parts = line.split(",")
            rows.append({"image": parts[0], "label": int(parts[1]),
                         "box": tuple(int(v) for v in parts[2:6])})
    return rows


def load_samples(folder):
    """uint8 [N,3,96,96] tensor and labels of a samples folder."""
    from PIL import Image

    rows = read_samples_csv(os.path.join(folder, "samples.csv"))
    imgs = []
    for r in rows:
        with Image.open(os.path.join(folder, r["image"])) as im:
            imgs.append(np.asarray(im.convert("RGB"), dtype=np.uint8))
    x = torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).contiguous()
    y = torch.tensor([r["label"] for r in rows], dtype=torch.int64)
    return x, y, rows


def write_stats(path, stats):
    """A training tool's measured numbers: indented JSON in path, echoed."""
    with open(path, "w") as f:
        json.dump(stats, f, indent=2)
        f.write("\n")
    print(json.dumps(stats, indent=2))
