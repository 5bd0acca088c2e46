#!/usr/bin/env python3
"""rsicam.explain gives the command's maps: bit for bit from the same
TorchScript file (several layers, methods, variants, scores, classes,
baselines and paths, fixed and adaptive steps), and, from the shipped
classifier's architecture as a torch.nn.Module (traced on the fly), the
same maps as its TorchScript file (correlation >= 0.9999).

Run: tools/rsicam-python tests/python/test_python_parity.py
"""
import os
import shutil
import unittest

import numpy as np

from python_api_env import (CNN, CNN_T20, cli, cli_maps, key_of,
                            needs_rsicam, rsicam, sample, tmpdir)

# (model, CLI options, the same as explain() keyword arguments). Each names
# its batch: `--batch auto` is measured per setting that moves the best
# batch, huge pages among them, which the command uses and the module
# leaves to the user's torch session; and the batch moves last bits.
SETTINGS = [
    (CNN,
     ["--layer", "features.17,features.9", "--method", "rsi,gradcam",
      "--variant", "relu,guided,plain", "--score", "softmax,logit",
      "--steps", "16", "--batch", "8"],
     dict(layers=["features.17", "features.9"], methods=("rsi", "gradcam"),
          variants=("relu", "guided", "plain"), scores=("softmax", "logit"),
          steps=16, batch=8)),
    (CNN,
     ["--layer", "features.13", "--class", "3", "--steps", "12",
      "--baseline", "blur:sigma=4", "--path", "blur:sigma_max=6",
      "--batch", "4"],
     dict(layers="features.13", classes=3, steps=12,
          baseline=("blur", {"sigma": 4}), path="blur:sigma_max=6",
          batch=4)),
    (CNN_T20,
     ["--steps", "auto", "--tol", "0.05", "--baseline", "uniform:seed=7",
      "--score", "softmax,logit", "--batch", "5"],
     dict(steps="auto", tol=0.05, baseline="uniform:seed=7",
          scores=("softmax", "logit"), batch=5)),
]
IMAGES = [sample(0), sample(1), sample(5)]


@needs_rsicam
class CommandParityTest(unittest.TestCase):
    def test_maps_equal_the_commands_bit_for_bit(self):
        for n, (model, args, kwargs) in enumerate(SETTINGS):
            with self.subTest(setting=n):
                out = tmpdir(f"parity-{n}")
                shutil.rmtree(out)
                rc, err = cli("explain", "--model", model, "--out", out,
                              "--quiet", *args, *IMAGES)
                self.assertEqual(rc, 0, err)
                want = cli_maps(out)
                got = rsicam.explain(model, IMAGES, **kwargs)
                self.assertEqual(len(got), len(want))
                self.assertEqual({key_of(e) for e in got}, set(want))
                for e in got:
                    cam, heat = want[key_of(e)]
                    self.assertEqual(e.cam.dtype, np.float32)
                    self.assertTrue(np.array_equal(e.cam, cam), key_of(e))
                    self.assertTrue(np.array_equal(e.heatmap, heat),
                                    key_of(e))
                print(f"setting {n}: {len(got)} maps equal bit for bit")


def agreement(a, b):
    """Correlation of two maps; a flat one (Grad-CAM's can be) must equal
    the other, which counts as 1 (0 otherwise)."""
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 1.0 if np.allclose(a, b, atol=1e-6) else 0.0
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(np.corrcoef(a, b)[0, 1])


@needs_rsicam
class ModuleTest(unittest.TestCase):
    def test_nn_module_gives_the_files_maps(self):
        import torch
        import rsicam_meta
        from train_classifier import FmnistCNN
        scripted, meta = rsicam_meta.load(CNN)
        module = FmnistCNN(num_classes=len(meta["labels"]))
        module.load_state_dict(scripted.state_dict())
        module.train()  # explain() traces in eval mode and restores this
        kwargs = dict(layers=["features.17", "features.9"],
                      methods=("rsi", "gradcam"), scores=("softmax", "logit"),
                      steps=16)
        want = {key_of(e): e for e in rsicam.explain(CNN, IMAGES, **kwargs)}
        got = rsicam.explain(module, IMAGES,
                             input_size=meta["input_size"],
                             mean=meta["mean"], std=meta["std"],
                             labels=meta["labels"], **kwargs)
        self.assertTrue(module.training)
        self.assertEqual({key_of(e) for e in got}, set(want))
        worst = 1.0
        for e in got:
            w = want[key_of(e)]
            self.assertEqual(e.label, w.label)
            worst = min(worst, agreement(e.cam, w.cam),
                        agreement(e.heatmap, w.heatmap))
        print(f"nn.Module vs TorchScript file: min correlation {worst:.6f}")
        self.assertGreaterEqual(worst, 0.9999)
        # a ScriptModule is saved as it is
        got = rsicam.explain(torch.jit.script(module.eval()), IMAGES[:1],
                             input_size=meta["input_size"],
                             mean=meta["mean"], std=meta["std"], **kwargs)
        for e in got:
            self.assertGreaterEqual(
                agreement(e.heatmap, want[key_of(e)].heatmap), 0.9999)


if __name__ == "__main__":
    unittest.main(verbosity=2)
