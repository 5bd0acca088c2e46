#!/usr/bin/env python3
"""Fashion-MNIST canvases: one item, tinted and scaled, among clutter.

Each canvas is a 96x96 RGB uint8 image holding one Fashion-MNIST item at a
random size (28..64 px), position and colour, drawn over a tinted background
with a few faint fragments of *other* items and pixel noise.  The item's
bounding box is the tight box of its nonzero pixels after scaling, in canvas
pixel coordinates: x0, y0 inclusive, x1, y1 exclusive.

Canvases are deterministic: canvas ``i`` of a split depends only on
(split, seed, i), never on how many canvases are generated, in which order,
on thread counts or on dictionary ordering.  Every random draw comes from a
numpy Generator seeded with the tuple (seed, split code, i), and resizing
and blending are element-wise numpy operations (no BLAS, no fused
multiply-add), so the bytes are the same wherever numpy is the same.

The "train" split composes items of Fashion-MNIST's training set, the
"test" split those of its t10k set.

CLI:

    tools/rsicam-python tools/fmnist_canvas.py --split test --count 36 \\
        --seed 7 --out DIR

writes DIR/0000.png ... and DIR/samples.csv (image,label,x0,y0,x1,y1).
"""
import argparse
import colorsys
import gzip
import os
import struct
import sys

import numpy as np

CANVAS = 96
ITEM_MIN, ITEM_MAX = 28, 64          # item side length in pixels, inclusive
DATA_DIR = os.environ.get("FMNIST_DIR", "/usr/share/datasets/fashion-mnist")
CLASS_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
SPLITS = {"train": ("train", 1), "test": ("t10k", 2)}   # file prefix, code

_cache = {}


def _read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != 0x08:
        raise ValueError("%s: not an unsigned-byte IDX file" % path)
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    arr = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if arr.size != int(np.prod(dims)):
        raise ValueError("%s: size mismatch" % path)
    return arr.reshape(dims)


def load_split(split, data_dir=None):
    """Return (images uint8 [N,28,28], labels int64 [N]) of a split."""
    if split not in SPLITS:
        raise ValueError("split must be one of %s" % sorted(SPLITS))
    data_dir = data_dir or DATA_DIR
    key = (split, data_dir)
    if key not in _cache:
        prefix = SPLITS[split][0]
        images = _read_idx(os.path.join(data_dir,
                                        prefix + "-images-idx3-ubyte.gz"))
        labels = _read_idx(os.path.join(data_dir,
                                        prefix + "-labels-idx1-ubyte.gz"))
        if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
            raise ValueError("unexpected Fashion-MNIST shapes in " + data_dir)
        _cache[key] = (images, labels.astype(np.int64))
    return _cache[key]


def _item_order(split, seed, n):
    """A seeded permutation of the split's items (canvas i uses item
    order[i % n]), so consecutive canvases cover the split evenly."""
    key = ("order", split, seed, n)
    if key not in _cache:
        rng = np.random.default_rng([seed, SPLITS[split][1], 0x5eed])
        _cache[key] = rng.permutation(n)
    return _cache[key]


def _axis_weights(n_in, n_out):
    """Bilinear (half-pixel centres, edge clamped) source indices/weights."""
    src = (np.arange(n_out, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5
    src = np.clip(src, 0.0, n_in - 1.0)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    w = src - i0
    return i0, i1, w


def resize_bilinear(img, out_h, out_w):
    """Resize a 2-D float array with bilinear interpolation, element-wise."""
    img = np.asarray(img, dtype=np.float64)
    y0, y1, wy = _axis_weights(img.shape[0], out_h)
    x0, x1, wx = _axis_weights(img.shape[1], out_w)
    rows = img[y0, :] * (1.0 - wy)[:, None] + img[y1, :] * wy[:, None]
    return rows[:, x0] * (1.0 - wx)[None, :] + rows[:, x1] * wx[None, :]


def _colour(rng, s_lo, s_hi, v_lo, v_hi):
    h = rng.uniform(0.0, 1.0)
    s = rng.uniform(s_lo, s_hi)
    v = rng.uniform(v_lo, v_hi)
    return np.array(colorsys.hsv_to_rgb(h, s, v), dtype=np.float64)


def _blend(canvas, alpha, colour, y, x):
    """Alpha-blend a solid colour with per-pixel alpha at (y, x)."""
    h, w = alpha.shape
    region = canvas[y:y + h, x:x + w, :]
    a = alpha[:, :, None]
    canvas[y:y + h, x:x + w, :] = region * (1.0 - a) + colour[None, None, :] * a


def make_canvas(split, index, seed, data_dir=None, return_mask=False):
    """Canvas ``index`` of ``split`` for ``seed``.

    Returns (canvas uint8 [96,96,3], label int, box (x0,y0,x1,y1)); with
    return_mask=True also a bool [96,96] mask of the item's nonzero pixels.
    """
    images, labels = load_split(split, data_dir)
    n = images.shape[0]
    index = int(index)
    if index < 0:
        raise ValueError("index must be >= 0")
    item = int(_item_order(split, seed, n)[index % n])
    rng = np.random.default_rng([int(seed), SPLITS[split][1], index])

    # Background: a dark-to-mid tint with a gentle linear gradient.
    bg = _colour(rng, 0.0, 0.8, 0.0, 0.45)
    grad = rng.uniform(-0.12, 0.12, size=3)
    angle = rng.uniform(0.0, 2.0 * np.pi)
    yy, xx = np.mgrid[0:CANVAS, 0:CANVAS].astype(np.float64) / (CANVAS - 1)
    ramp = (np.cos(angle) * (xx - 0.5) + np.sin(angle) * (yy - 0.5))
    canvas = bg[None, None, :] + ramp[:, :, None] * grad[None, None, :]

    # Clutter: faint fragments (crops) of other items.
    n_frag = int(rng.integers(2, 6))
    for _ in range(n_frag):
        other = int(rng.integers(0, n))
        if other == item:
            other = (other + 1) % n
        ch = int(rng.integers(8, 17))
        cw = int(rng.integers(8, 17))
        cy = int(rng.integers(0, 28 - ch + 1))
        cx = int(rng.integers(0, 28 - cw + 1))
        scale = rng.uniform(1.0, 1.6)
        fh, fw = int(round(ch * scale)), int(round(cw * scale))
        crop = images[other, cy:cy + ch, cx:cx + cw].astype(np.float64) / 255.0
        frag = resize_bilinear(crop, fh, fw) * rng.uniform(0.12, 0.35)
        colour = _colour(rng, 0.0, 1.0, 0.5, 1.0)
        fy = int(rng.integers(0, CANVAS - fh + 1))
        fx = int(rng.integers(0, CANVAS - fw + 1))
        _blend(canvas, frag, colour, fy, fx)

    # The item: scaled, tinted, placed fully inside the canvas.
    size = int(rng.integers(ITEM_MIN, ITEM_MAX + 1))
    aspect = rng.uniform(0.9, 1.1)
    ih = int(min(ITEM_MAX, max(ITEM_MIN, round(size * aspect))))
    iw = size
    flip = bool(rng.integers(0, 2))
    src = images[item].astype(np.float64)
    if flip:
        src = src[:, ::-1]
    resized = np.clip(np.rint(resize_bilinear(src, ih, iw)), 0, 255)
    resized = resized.astype(np.uint8)
    strength = rng.uniform(0.75, 1.0)
    colour = _colour(rng, 0.15, 1.0, 0.65, 1.0)
    iy = int(rng.integers(0, CANVAS - ih + 1))
    ix = int(rng.integers(0, CANVAS - iw + 1))
    _blend(canvas, resized.astype(np.float64) / 255.0 * strength, colour,
           iy, ix)

    # Noise, then quantise.
    sigma = rng.uniform(0.01, 0.05)
    canvas = canvas + rng.normal(0.0, sigma, size=canvas.shape)
    canvas = np.clip(np.rint(canvas * 255.0), 0, 255).astype(np.uint8)

    nz = resized > 0
    rows = np.flatnonzero(nz.any(axis=1))
    cols = np.flatnonzero(nz.any(axis=0))
    if rows.size == 0:               # an all-black item: box is its frame
        box = (ix, iy, ix + iw, iy + ih)
    else:
        box = (ix + int(cols[0]), iy + int(rows[0]),
               ix + int(cols[-1]) + 1, iy + int(rows[-1]) + 1)
    label = int(labels[item])
    if return_mask:
        mask = np.zeros((CANVAS, CANVAS), dtype=bool)
        mask[iy:iy + ih, ix:ix + iw] = nz
        return canvas, label, box, mask
    return canvas, label, box


def iter_canvases(split, seed, start=0, count=None, data_dir=None):
    """Yield (canvas, label, box) for indices start, start+1, ..."""
    i = start
    while count is None or i < start + count:
        yield make_canvas(split, i, seed, data_dir)
        i += 1


def make_batch(split, seed, indices, data_dir=None):
    """(uint8 [B,96,96,3], int64 labels [B], int64 boxes [B,4])."""
    canvases, labels, boxes = [], [], []
    for i in indices:
        c, l, b = make_canvas(split, i, seed, data_dir)
        canvases.append(c)
        labels.append(l)
        boxes.append(b)
    return (np.stack(canvases), np.array(labels, dtype=np.int64),
            np.array(boxes, dtype=np.int64).reshape(-1, 4))


def write_samples(out_dir, split, count, seed, start=0, data_dir=None):
    """Write NNNN.png files and samples.csv into out_dir."""
    from PIL import Image

    os.makedirs(out_dir, exist_ok=True)
    lines = ["image,label,x0,y0,x1,y1"]
    for k in range(count):
        canvas, label, box = make_canvas(split, start + k, seed, data_dir)
        name = "%04d.png" % k
        # Fixed encoder settings and no metadata: byte-identical files.
        Image.fromarray(canvas, mode="RGB").save(
            os.path.join(out_dir, name), format="PNG", optimize=False,
            compress_level=9)
        lines.append("%s,%d,%d,%d,%d,%d" % ((name, label) + tuple(box)))
    with open(os.path.join(out_dir, "samples.csv"), "w", newline="\n") as f:
        f.write("\n".join(lines) + "\n")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--split", choices=sorted(SPLITS), default="test")
    p.add_argument("--count", type=int, default=36)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--start", type=int, default=0,
                   help="index of the first canvas (default 0)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--data-dir", default=None,
                   help="Fashion-MNIST folder (default %s or $FMNIST_DIR)"
                   % DATA_DIR)
    args = p.parse_args(argv)
    if args.count < 0 or args.start < 0:
        p.error("--count and --start must be >= 0")
    write_samples(args.out, args.split, args.count, args.seed, args.start,
                  args.data_dir)
    print("wrote %d canvases to %s" % (args.count, args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
