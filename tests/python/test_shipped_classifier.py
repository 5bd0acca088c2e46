#!/usr/bin/env python3
"""The shipped Fashion-MNIST classifiers load, carry sane metadata and score
the committed samples as examples/models/fmnist_cnn.stats.json says.

Run: tools/rsicam-python tests/python/test_shipped_classifier.py
"""
import json
import os
import sys
import unittest

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
import fmnist_common as fc  # noqa: E402
import rsicam_meta  # noqa: E402

MODELS = os.path.join(ROOT, "examples", "models")
SAMPLES = os.path.join(ROOT, "examples", "samples")
CNN = os.path.join(MODELS, "fmnist_cnn.pt")
CNN_T20 = os.path.join(MODELS, "fmnist_cnn_t20.pt")
STATS = os.path.join(MODELS, "fmnist_cnn.stats.json")


def module_paths(module):
    return {name for name, _ in module.named_modules() if name}


class ShippedClassifierTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(2)
        cls.model, cls.meta = rsicam_meta.load(CNN)
        cls.model20, cls.meta20 = rsicam_meta.load(CNN_T20)
        with open(STATS) as f:
            cls.stats = json.load(f)
        cls.x_u8, cls.y, cls.rows = fc.load_samples(SAMPLES)
        cls.x = fc.normalise(cls.x_u8, cls.meta["mean"], cls.meta["std"])
        with torch.no_grad():
            cls.logits = cls.model(cls.x)
            cls.logits20 = cls.model20(cls.x)

    def test_file_sizes(self):
        for path in (CNN, CNN_T20):
            self.assertLessEqual(os.path.getsize(path), 10 * 1024 * 1024)

    def test_metadata_sane(self):
        m = self.meta
        self.assertEqual(m["input_size"], [96, 96])
        self.assertEqual(len(m["mean"]), 3)
        self.assertEqual(len(m["std"]), 3)
        for v in m["mean"]:
            self.assertTrue(0.0 <= v <= 1.0)
        for v in m["std"]:
            self.assertTrue(0.0 < v <= 1.0)
        self.assertEqual(m["labels"], fc.CLASS_NAMES)
        self.assertEqual(len(m["labels"]), 10)
        self.assertEqual(m["mean"], self.stats["mean"])
        self.assertEqual(m["std"], self.stats["std"])
        self.assertNotIn("temperature", m)
        self.assertIn(m["default_layer"], module_paths(self.model))

    def test_default_layer_is_12x12(self):
        layer = self.meta["default_layer"]
        self.assertTrue(layer.startswith("features."))
        upto = int(layer.split(".")[1])
        with torch.no_grad():
            h = self.x[:2]
            for i, sub in enumerate(self.model.features.children()):
                h = sub(h)
                if i == upto:
                    break
        self.assertEqual(tuple(h.shape[2:]), (12, 12))
        self.assertGreaterEqual(float(h.min()), 0.0)   # a ReLU output

    def test_samples_accuracy_matches_stats(self):
        self.assertEqual(tuple(self.logits.shape), (len(self.rows), 10))
        acc = float((self.logits.argmax(1) == self.y).float().mean())
        self.assertEqual(self.stats["samples_count"], len(self.rows))
        self.assertAlmostEqual(acc, self.stats["samples_accuracy"], delta=0.02)
        self.assertGreaterEqual(acc, 0.7)
        self.assertGreaterEqual(self.stats["test_accuracy"], 0.8)
        self.assertGreaterEqual(self.stats["test_count"], 1000)

    def test_readme_states_the_stats(self):
        with open(os.path.join(MODELS, "README.md")) as f:
            text = f.read()
        self.assertIn("%.2f%%" % (100 * self.stats["test_accuracy"]), text)
        self.assertIn("%d/%d" % (round(self.stats["samples_accuracy"] *
                                       self.stats["samples_count"]),
                                 self.stats["samples_count"]), text)

    def test_t20_is_20x_with_same_layers(self):
        self.assertEqual(self.meta20.get("temperature"), 20)
        rest = {k: v for k, v in self.meta20.items() if k != "temperature"}
        self.assertEqual(rest, self.meta)
        self.assertTrue(torch.equal(self.logits20.argmax(1),
                                    self.logits.argmax(1)))
        self.assertTrue(torch.allclose(self.logits20, 20 * self.logits,
                                       rtol=1e-4, atol=1e-4))
        self.assertEqual(module_paths(self.model20), module_paths(self.model))
        a = dict(self.model.named_parameters())
        b = dict(self.model20.named_parameters())
        self.assertEqual(sorted(a), sorted(b))
        for name in a:
            self.assertTrue(torch.equal(a[name], b[name]), name)
        # saturation: the t20 softmax is much closer to one-hot
        p = self.logits.softmax(1).max(1).values.mean()
        p20 = self.logits20.softmax(1).max(1).values.mean()
        self.assertGreater(float(p20), float(p))


VAE = os.path.join(MODELS, "fmnist_vae.pt")


@unittest.skipUnless(os.path.isfile(VAE), "no examples/models/fmnist_vae.pt")
class ShippedVAETest(unittest.TestCase):
    """The shipped VAE's interface: encode/decode/forward and metadata."""

    def test_encode_decode(self):
        torch.set_num_threads(2)
        self.assertLessEqual(os.path.getsize(VAE), 10 * 1024 * 1024)
        vae, meta = rsicam_meta.load(VAE)
        self.assertEqual(meta["input_size"], [96, 96])
        self.assertEqual(meta["mean"], [0.0, 0.0, 0.0])
        self.assertEqual(meta["std"], [1.0, 1.0, 1.0])
        x_u8, _, _ = fc.load_samples(SAMPLES)
        x = x_u8.float() / 255.0
        with torch.no_grad():
            z = vae.encode(x)
            y = vae.decode(z)
            f = vae(x)
        self.assertEqual(list(z.shape[1:]), meta["latent_shape"])
        self.assertEqual(tuple(y.shape), tuple(x.shape))
        self.assertTrue(torch.allclose(y, f, atol=1e-6))
        self.assertGreaterEqual(float(y.min()), 0.0)
        self.assertLessEqual(float(y.max()), 1.0)
        # a modest reconstruction: much better than predicting the mean image
        mse = float(((y - x) ** 2).mean())
        base = float(((x - x.mean(dim=(2, 3), keepdim=True)) ** 2).mean())
        self.assertLess(mse, 0.5 * base)


if __name__ == "__main__":
    unittest.main()
