#!/usr/bin/env python3
"""The Fashion-MNIST canvas generator is deterministic and its boxes fit.

Run: tools/rsicam-python tests/python/test_canvas.py
"""
import filecmp
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOOLS = os.path.join(ROOT, "tools")
sys.path.insert(0, TOOLS)
import fmnist_canvas as fc  # noqa: E402

SAMPLES = os.path.join(ROOT, "examples", "samples")
HAVE_DATA = all(os.path.isfile(os.path.join(fc.DATA_DIR, f)) for f in (
    "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"))


@unittest.skipUnless(HAVE_DATA, "Fashion-MNIST not found in " + fc.DATA_DIR)
class CanvasTest(unittest.TestCase):
    def test_same_seed_same_bytes(self):
        for split in ("train", "test"):
            a = [fc.make_canvas(split, i, 7) for i in range(8)]
            fc._cache.clear()                 # reload data, recompute order
            b = [fc.make_canvas(split, i, 7) for i in range(8)]
            for (ca, la, ba), (cb, lb, bb) in zip(a, b):
                self.assertEqual(ca.dtype, np.uint8)
                self.assertEqual(ca.shape, (96, 96, 3))
                self.assertEqual(ca.tobytes(), cb.tobytes())
                self.assertEqual((la, ba), (lb, bb))

    def test_independent_of_count_and_order(self):
        batch, labels, boxes = fc.make_batch("test", 3, range(10))
        for i in (9, 4, 0):                   # alone, in another order
            c, l, b = fc.make_canvas("test", i, 3)
            self.assertEqual(c.tobytes(), batch[i].tobytes())
            self.assertEqual(l, labels[i])
            self.assertEqual(b, tuple(boxes[i]))
        gen = fc.iter_canvases("test", 3, start=6, count=2)
        self.assertEqual(next(gen)[0].tobytes(), batch[6].tobytes())

    def test_different_seeds_differ(self):
        for split in ("train", "test"):
            a = [fc.make_canvas(split, i, 7) for i in range(6)]
            b = [fc.make_canvas(split, i, 8) for i in range(6)]
            for (ca, _, _), (cb, _, _) in zip(a, b):
                self.assertNotEqual(ca.tobytes(), cb.tobytes())
            self.assertNotEqual([x[1:] for x in a], [x[1:] for x in b])
        # and the splits draw on different data
        self.assertNotEqual(fc.make_canvas("train", 0, 7)[0].tobytes(),
                            fc.make_canvas("test", 0, 7)[0].tobytes())

    def test_boxes_inside_and_tight(self):
        for split in ("train", "test"):
            for i in range(40):
                canvas, label, box, mask = fc.make_canvas(split, i, 11,
                                                          return_mask=True)
                x0, y0, x1, y1 = box
                self.assertTrue(0 <= x0 < x1 <= 96 and 0 <= y0 < y1 <= 96, box)
                self.assertTrue(0 <= label < 10)
                self.assertTrue(mask.any())
                inside = np.zeros_like(mask)
                inside[y0:y1, x0:x1] = True
                self.assertFalse((mask & ~inside).any(), "item outside box")
                # tight: the item touches every edge of its box
                self.assertTrue(mask[y0, x0:x1].any() and
                                mask[y1 - 1, x0:x1].any())
                self.assertTrue(mask[y0:y1, x0].any() and
                                mask[y0:y1, x1 - 1].any())
                w, h = x1 - x0, y1 - y0
                self.assertLessEqual(max(w, h), fc.ITEM_MAX)
                self.assertGreaterEqual(max(w, h), 8)

    def test_labels_cover_classes(self):
        _, labels, _ = fc.make_batch("train", 1, range(200))
        self.assertEqual(sorted(set(labels.tolist())), list(range(10)))

    def run_cli(self, out, seed, count=12):
        subprocess.run([sys.executable, os.path.join(TOOLS, "fmnist_canvas.py"),
                        "--split", "test", "--count", str(count), "--seed",
                        str(seed), "--out", out], check=True,
                       stdout=subprocess.DEVNULL)

    def test_cli_byte_identical(self):
        from PIL import Image

        with tempfile.TemporaryDirectory() as d1, \
                tempfile.TemporaryDirectory() as d2, \
                tempfile.TemporaryDirectory() as d3:
            self.run_cli(d1, 7)
            self.run_cli(d2, 7)
            self.run_cli(d3, 8)
            names = sorted(os.listdir(d1))
            self.assertEqual(names, sorted(os.listdir(d2)))
            self.assertEqual(len(names), 13)
            self.assertIn("samples.csv", names)
            match, mismatch, errors = filecmp.cmpfiles(d1, d2, names,
                                                       shallow=False)
            self.assertEqual((mismatch, errors), ([], []))
            with open(os.path.join(d1, "samples.csv")) as f:
                lines = f.read().splitlines()
            self.assertEqual(lines[0], "image,label,x0,y0,x1,y1")
            self.assertEqual(len(lines), 13)
            for k, line in enumerate(lines[1:]):
                name, label, *box = line.split(",")
                c, l, b = fc.make_canvas("test", k, 7)
                self.assertEqual(name, "%04d.png" % k)
                self.assertEqual((int(label), tuple(map(int, box))), (l, b))
                with Image.open(os.path.join(d1, name)) as im:
                    self.assertEqual(im.mode, "RGB")
                    self.assertEqual(np.asarray(im).tobytes(), c.tobytes())
            _, mismatch, _ = filecmp.cmpfiles(d1, d3, names, shallow=False)
            self.assertGreater(len(mismatch), 6)

    @unittest.skipUnless(os.path.isfile(os.path.join(SAMPLES, "samples.csv")),
                         "no examples/samples")
    def test_committed_samples_regenerate(self):
        """examples/samples holds what the CLI makes with --seed 7 --count 36
        (pixels and csv compared; PNG bytes may vary with the zlib version)."""
        from PIL import Image

        with open(os.path.join(SAMPLES, "samples.csv")) as f:
            lines = f.read().splitlines()
        self.assertEqual(lines[0], "image,label,x0,y0,x1,y1")
        self.assertEqual(len(lines), 37)
        for k, line in enumerate(lines[1:]):
            c, l, b = fc.make_canvas("test", k, 7)
            self.assertEqual(line, "%04d.png,%d,%d,%d,%d,%d" % ((k, l) + b))
            with Image.open(os.path.join(SAMPLES, "%04d.png" % k)) as im:
                self.assertEqual(im.mode, "RGB")
                self.assertEqual(np.asarray(im).tobytes(), c.tobytes())

if __name__ == "__main__":
    unittest.main()
