"""Write a deterministic smooth-but-textured RGB PNG (the parity test input).

    make_image.py OUT.png [--seed N] [--size H W]

The picture is a sum, per channel, of coarse random fields upsampled
bilinearly (smooth structure at a few scales), fine stripes (20-40 cycles per
image, one orientation per channel), a few soft coloured discs and some pixel
noise, stretched to 0..1 and pushed towards 0 and 1 by a smooth S-curve
(--contrast), then rounded to 0..255. Only numpy and PIL; the same seed and
size give the same bytes. Default 224x224, the models' input size, so that
neither the reference nor rsicam resizes it.

Why so much contrast and texture: the parity test uses random-weight models
and the black baseline. Such models respond to input energy, and the
normalised black image (about -2 in every channel) is a strong input: a
low-contrast image gives smaller activations than the baseline at most
channels, the class score falls along the path, and the relu/plain
RSI-Grad-CAM maps come out all zero (trivially equal in a comparison). With
the defaults, seed 0, and the seed-0 random ResNet50/VGG19 exports, the top
class score rises from baseline to image (logit and softmax) and every map
of layer3/layer4/layer4.2.conv3 and features.27/features.36 is non-constant.
"""
import argparse
import sys

import numpy as np
from PIL import Image


def upsample(coarse, h, w):
    """Bilinear upsample of a [gh, gw] grid to [h, w] (grid corners at the image corners)."""
    gh, gw = coarse.shape
    ys = np.linspace(0, gh - 1, h)
    xs = np.linspace(0, gw - 1, w)
    y0 = np.clip(np.floor(ys).astype(int), 0, gh - 2)
    x0 = np.clip(np.floor(xs).astype(int), 0, gw - 2)
    fy = (ys - y0)[:, None]
    fx = (xs - x0)[None, :]
    a = coarse[y0][:, x0]
    b = coarse[y0][:, x0 + 1]
    c = coarse[y0 + 1][:, x0]
    d = coarse[y0 + 1][:, x0 + 1]
    return (a * (1 - fy) * (1 - fx) + b * (1 - fy) * fx
            + c * fy * (1 - fx) + d * fy * fx)


def make_image(h=224, w=224, seed=0, contrast=12.0, stripe_amp=0.6, stripe_freq=(20, 40),
               noise=0.15):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    yy /= h
    xx /= w
    img = np.zeros((h, w, 3))
    for ch in range(3):
        field = np.zeros((h, w))
        for grid, amp in ((3, 1.0), (6, 0.6), (12, 0.35), (28, 0.2)):
            field += amp * upsample(rng.standard_normal((grid, grid)), h, w)
        # stripes: one random orientation and frequency per channel
        theta = rng.uniform(0, np.pi)
        freq = rng.uniform(*stripe_freq)
        field += stripe_amp * np.sin(2 * np.pi * freq * (xx * np.cos(theta) + yy * np.sin(theta))
                              + rng.uniform(0, 2 * np.pi))
        img[:, :, ch] = field
    # soft discs (shared across channels, random colours)
    for _ in range(5):
        cy, cx = rng.uniform(0.15, 0.85, size=2)
        r = rng.uniform(0.06, 0.18)
        dist = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
        mask = 1.0 / (1.0 + np.exp((dist - r) / 0.01))
        img += mask[:, :, None] * rng.uniform(-2.5, 2.5, size=3)[None, None, :]
    img += noise * rng.standard_normal((h, w, 3))
    lo, hi = np.percentile(img, 1), np.percentile(img, 99)
    img = np.clip((img - lo) / (hi - lo), 0, 1)
    if contrast > 0:  # smooth S-curve towards 0 and 1, ends fixed
        s = lambda t: 1.0 / (1.0 + np.exp(-contrast * (t - 0.5)))  # noqa: E731
        img = (s(img) - s(0.0)) / (s(1.0) - s(0.0))
    return np.round(img * 255).astype(np.uint8)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", help="output PNG path")
    p.add_argument("--seed", type=int, default=0, help="default 0")
    p.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), default=(224, 224),
                   help="default 224 224")
    p.add_argument("--contrast", type=float, default=12.0,
                   help="S-curve steepness, 0 for none (default 12)")
    args = p.parse_args(argv)
    if args.contrast < 0:
        p.error("--contrast must be >= 0")
    if min(args.size) < 2:
        p.error("--size must be at least 2x2")
    Image.fromarray(make_image(args.size[0], args.size[1], args.seed, args.contrast), "RGB").save(args.out)
    print("make_image: wrote %s (%dx%d, seed %d)" % (args.out, args.size[0], args.size[1], args.seed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
