#!/usr/bin/env python3
"""rsicam's Python inputs and errors: a path, a numpy array (uint8, float,
a stack), a PIL image and a torch tensor of the same picture give the same
maps; bad inputs raise the rsicam.Error subclass of the command's exit
code with its message; plugins(), layers(), overlay() and run() answer as
the command does.

Run: tools/rsicam-python tests/python/test_python_inputs.py
"""
import os
import shutil
import unittest

import numpy as np

from python_api_env import (CNN, ROOT, SAMPLES, cli, needs_rsicam, rsicam,
                            sample, tmpdir)

KW = dict(layers=["features.17"], methods=("rsi", "gradcam"), steps=8)


def maps(explanations):
    return [(e.cam, e.heatmap) for e in explanations]


@needs_rsicam
class InputsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        from PIL import Image
        cls.pil = Image.open(sample(2))
        cls.pil.load()
        cls.u8 = np.asarray(cls.pil.convert("RGB"))
        cls.want = maps(rsicam.explain(CNN, sample(2), **KW))

    def assert_same(self, got, exact=True):
        self.assertEqual(len(got), len(self.want))
        for (cam, heat), (wcam, wheat) in zip(maps(got), self.want):
            if exact:
                self.assertTrue(np.array_equal(cam, wcam))
                self.assertTrue(np.array_equal(heat, wheat))
            else:
                self.assertTrue(np.allclose(heat, wheat, atol=1e-4))

    def test_same_picture_same_maps(self):
        import torch
        self.assertEqual(self.u8.shape[2], 3)
        self.assert_same(rsicam.explain(CNN, self.u8, **KW))
        self.assert_same(rsicam.explain(CNN, [self.pil], **KW))
        chw = torch.from_numpy(self.u8.copy()).permute(2, 0, 1)
        self.assert_same(rsicam.explain(CNN, chw, **KW))
        self.assert_same(rsicam.explain(CNN, self.u8[:, :, ::-1],
                                        channel_order="BGR", **KW))
        # float pixels skip the 8-bit step: equal to rounding
        self.assert_same(rsicam.explain(CNN, self.u8 / 255.0, **KW),
                         exact=False)
        self.assert_same(rsicam.explain(CNN, chw.float() / 255, **KW),
                         exact=False)

    def test_a_stack_is_several_images(self):
        import torch
        stack = np.stack([self.u8, self.u8])
        got = rsicam.explain(CNN, stack, **KW)
        self.assertEqual([e.image for e in got],
                         ["<array 0>"] * 2 + ["<array 1>"] * 2)
        # images sharing a forward agree to rounding, not to the bit
        self.assertTrue(np.allclose(got[0].heatmap, got[2].heatmap,
                                    atol=1e-5))
        self.assert_same(got[2:], exact=False)
        nchw = torch.from_numpy(stack).permute(0, 3, 1, 2)
        self.assert_same(rsicam.explain(CNN, nchw, **KW)[:2], exact=False)

    def test_explanation(self):
        e = rsicam.explain(CNN, sample(2), **KW)[0]
        self.assertEqual(e.heatmap.shape, (96, 96))
        self.assertEqual(e.heatmap.dtype, np.float32)
        self.assertEqual(e.record["class"], e.cls)
        self.assertEqual(e.label, e.record["label"])
        self.assertIsInstance(e.label, str)
        self.assertGreater(e.probability, 0)
        self.assertEqual(e.input.shape, (96, 96, 3))
        over = e.overlay()
        self.assertEqual((over.shape, over.dtype), ((96, 96, 3), np.uint8))
        # the command's STEM.png is the same overlay
        from PIL import Image
        out = tmpdir("overlay")
        shutil.rmtree(out)
        rc, err = cli("explain", "--model", CNN, "--out", out, "--quiet",
                      "--steps", "8", "--layer", "features.17", sample(2))
        self.assertEqual(rc, 0, err)
        png = [f for f in os.listdir(out) if f.endswith(".png")]
        self.assertEqual(len(png), 1)
        want = np.asarray(Image.open(os.path.join(out, png[0])))
        self.assertTrue(np.array_equal(over, want))
        self.assertTrue(e._repr_png_().startswith(b"\x89PNG"))


@needs_rsicam
class ErrorsTest(unittest.TestCase):
    def assert_raises(self, cls, code, *args, **kwargs):
        with self.assertRaises(cls) as cm:
            rsicam.explain(*args, **kwargs)
        self.assertEqual(getattr(cm.exception, "code", code), code)
        self.assertIsInstance(cm.exception, rsicam.Error)
        return str(cm.exception)

    def test_bad_inputs_raise_their_class(self):
        missing = os.path.join(SAMPLES, "missing.png")
        msg = self.assert_raises(rsicam.InputError, 3, CNN, missing)
        rc, err = cli("explain", "--model", CNN, "--out", tmpdir("bad"),
                      "--quiet", missing)
        self.assertEqual((rc, err.strip()), (3, f"rsicam: {msg}"))
        notes = os.path.join(ROOT, "README.md")
        self.assert_raises(rsicam.InputError, 3, CNN, notes)
        self.assert_raises(rsicam.InputError, 3, CNN, np.zeros((4, 4, 2)))
        self.assert_raises(rsicam.InputError, 3, CNN, np.full((4, 4), 1.5))
        self.assert_raises(rsicam.InputError, 3, CNN, np.zeros((0, 4, 3)))
        self.assert_raises(rsicam.InputError, 3, CNN, [object()])
        self.assert_raises(rsicam.ModelError, 4, "no-such-model.pt",
                           sample(0))
        self.assert_raises(rsicam.ModelError, 4, notes, sample(0))
        msg = self.assert_raises(rsicam.ModelError, 4, CNN, sample(0),
                                 layers="features.99")
        self.assertIn("features.99", msg)
        self.assert_raises(rsicam.ModelError, 4, CNN, sample(0), classes=10)
        self.assert_raises(rsicam.UsageError, 2, CNN, sample(0),
                           variants=("nope",))
        self.assert_raises(rsicam.UsageError, 2, CNN, sample(0), steps=0)
        self.assert_raises(rsicam.UsageError, 2, CNN, sample(0), tol=0.1)
        self.assert_raises(rsicam.UsageError, 2, CNN, sample(0),
                           baseline="blur:sigma=abc")
        self.assert_raises(rsicam.UsageError, 2, CNN, sample(0),
                           device="tpu")
        self.assert_raises(rsicam.UsageError, 2, CNN, sample(0),
                           channel_order="GBR")
        msg = self.assert_raises(rsicam.PluginError, 5, CNN, sample(0),
                                 path="nosuch")
        rc, err = cli("explain", "--model", CNN, "--out", tmpdir("bad"),
                      "--quiet", "--path", "nosuch", sample(0))
        self.assertEqual((rc, err.strip()), (5, f"rsicam: {msg}"))

    def test_done_images_are_kept_with_the_error(self):
        with self.assertRaises(rsicam.InputError) as cm:
            rsicam.explain(CNN, [sample(0), "missing.png", sample(1)],
                           steps=4)
        self.assertEqual([e.image for e in cm.exception.explanations],
                         [sample(0)])


@needs_rsicam
class ListingsTest(unittest.TestCase):
    def test_plugins(self):
        found = {(p["kind"], p["name"]): p for p in rsicam.plugins()}
        for key in [("model", "torchscript"), ("baseline", "zero"),
                    ("baseline", "blur"), ("path", "linear")]:
            self.assertIn(key, found)
        sigma = [q for q in found[("baseline", "blur")]["params"]
                 if q["name"] == "sigma"]
        self.assertEqual(len(sigma), 1)
        self.assertEqual(sigma[0]["type"], "float")

    def test_layers(self):
        names = rsicam.layers(CNN)
        self.assertIn("features.17", names)
        self.assertIn("classifier.2", names)
        with self.assertRaises(rsicam.ModelError):
            rsicam.layers("no-such-model.pt")

    def test_run(self):
        out = tmpdir("run")
        shutil.rmtree(out)
        config = os.path.join(out + "-config.yaml")
        with open(config, "w") as f:
            f.write(f"model: {CNN}\nlayers: [features.17]\n"
                    f"methods: [rsi-relu, gradcam]\nsteps: [8]\n"
                    f"images: [{sample(0)}, {sample(1)}]\n"
                    f"metrics: [completeness]\n")
        rows = rsicam.run(config, output=out, steps=[8, 4])
        self.assertTrue(rows)
        self.assertTrue(os.path.exists(os.path.join(out, "results.jsonl")))
        with self.assertRaises(rsicam.UsageError) as cm:
            rsicam.run(config, output=out, steps="many", methods="[nope]")
        self.assertIn("problems in", str(cm.exception))


if __name__ == "__main__":
    unittest.main(verbosity=2)
