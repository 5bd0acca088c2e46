#!/usr/bin/env python3
"""rsicam.Explainer: a model opened once for many calls.

Its calls give the maps rsicam.explain gives for the same images, bit for
bit, while the part before the layers is frozen once; a call may ask for
classes of its own; an image that fails mid-call leaves nothing queued
for the next call, which goes on with the same engine; the maps' files do
not pile up (the engine's drop() and close() remove those written ahead);
a closed Explainer raises and leaves no folder. And
rsicam.use_command_settings() gives the process the command's allocator
and executor (as the --batch auto cache key records) with the same maps.

Run: tools/rsicam-python tests/python/test_python_explainer.py
"""
import json
import os
import shutil
import subprocess
import sys
import unittest

import numpy as np

from python_api_env import CNN, PY_DIR, needs_rsicam, rsicam, sample, tmpdir

KW = dict(layers=["features.17"], methods=("rsi", "gradcam"), steps=8,
          batch=3)


def maps(explanations):
    return [(e.image, e.layer, e.method, e.cls, e.cam, e.heatmap)
            for e in explanations]


@needs_rsicam
class ExplainerTest(unittest.TestCase):
    def assert_same_maps(self, got, want):
        self.assertEqual(len(got), len(want))
        for g, w in zip(maps(got), maps(want)):
            self.assertEqual(g[:4], w[:4])
            self.assertTrue(np.array_equal(g[4], w[4]), g[:4])
            self.assertTrue(np.array_equal(g[5], w[5]), g[:4])

    def test_calls_give_explains_maps(self):
        calls = [[sample(0)], [sample(1), sample(2)], [sample(3)]]
        with rsicam.Explainer(CNN, **KW) as explainer:
            for images in calls:
                got = explainer.explain(images)
                self.assert_same_maps(got, rsicam.explain(CNN, images, **KW))
            # the maps' files are removed at the end of each call
            self.assertEqual(os.listdir(explainer._out_dir), [])

    def test_failed_image_leaves_nothing_queued(self):
        with rsicam.Explainer(CNN, **KW) as explainer:
            engine = explainer._engine
            with self.assertRaises(rsicam.InputError) as cm:
                explainer.explain([sample(0), "missing.png", sample(1)])
            self.assertEqual([e.image for e in cm.exception.explanations],
                             [sample(0)] * 2)
            # the next call explains its own image, not the one left over,
            # with the model as it was loaded
            got = explainer.explain(sample(2))
            self.assert_same_maps(got, rsicam.explain(CNN, sample(2), **KW))
            self.assertIs(explainer._engine, engine)

    def test_classes_per_call(self):
        with rsicam.Explainer(CNN, **KW) as explainer:
            images = [sample(0), sample(1)]
            got = explainer.explain(images, classes=[2, 5])
            self.assertEqual([e.cls for e in got], [2, 2, 5, 5] * 2)
            self.assert_same_maps(
                got, rsicam.explain(CNN, images, classes=[2, 5], **KW))
            # the next call has the Explainer's choice again: the top one
            got = explainer.explain(images)
            self.assert_same_maps(got, rsicam.explain(CNN, images, **KW))
            self.assertNotIn(got[0].cls, (2, 5))
            with self.assertRaises(rsicam.ModelError) as cm:
                explainer.explain(sample(0), classes=np.int64(10))
            self.assertIn("class 10 out of range: the model has 10 classes",
                          str(cm.exception))
            with self.assertRaises(rsicam.UsageError) as cm:
                explainer.explain(sample(0), classes=range(33))
            self.assertIn("at most 32 classes per image (33 asked)",
                          str(cm.exception))
            with self.assertRaises(rsicam.UsageError):
                explainer.explain(sample(0), classes=[-1])
            # a class twice would write its maps twice over the same files
            with self.assertRaises(rsicam.UsageError) as cm:
                explainer.explain(sample(0), classes=[4, 2, 4])
            self.assertEqual(str(cm.exception),
                             f"image '{sample(0)}': class 4: asked twice")
            got = explainer.explain(sample(2), classes=7)
            self.assertEqual([e.cls for e in got], [7, 7])

    def test_top_k(self):
        got = rsicam.explain(CNN, sample(0), top_k=3, layers="features.17",
                             steps=8, batch=3)
        self.assertEqual(len(got), 3)
        probabilities = [e.probability for e in got]
        self.assertEqual(probabilities, sorted(probabilities, reverse=True))
        top = rsicam.explain(CNN, sample(0), layers="features.17", steps=8,
                             batch=3)
        self.assertEqual(got[0].cls, top[0].cls)
        # a call's own classes go over the Explainer's top k
        with rsicam.Explainer(CNN, top_k=2, **KW) as explainer:
            self.assertEqual(len(explainer.explain(sample(0))), 2 * 2)
            self.assertEqual([e.cls for e in explainer.explain(
                sample(0), classes=4)], [4, 4])
        for bad in (0, 33, 1.5, True, "2"):
            with self.assertRaises(rsicam.UsageError):
                rsicam.Explainer(CNN, top_k=bad)

    def test_closed(self):
        explainer = rsicam.Explainer(CNN, **KW)
        workdir = explainer._workdir
        self.assertTrue(os.path.isdir(workdir))
        explainer.close()
        self.assertFalse(os.path.exists(workdir))
        with self.assertRaises(rsicam.UsageError) as cm:
            explainer.explain(sample(0))
        self.assertEqual((cm.exception.code, str(cm.exception)),
                         (2, "explainer: closed"))
        explainer.close()  # twice is harmless
        # a bad option fails before anything is made
        with self.assertRaises(rsicam.UsageError):
            rsicam.Explainer(CNN, steps=0)
        with self.assertRaises(rsicam.UsageError) as cm:
            rsicam.Explainer(CNN, classes=[3, 3])
        self.assertEqual(str(cm.exception), "explain: class 3: asked twice")


def files_of(out_dir):
    """The map files in out_dir, by the stem they were queued with."""
    return sorted({f.split(".", 1)[0] for f in os.listdir(out_dir)})


@needs_rsicam
class EngineDropTest(unittest.TestCase):
    """The engine's drop() (rsi_explainer_drop_queued) and close(): images
    queued and never returned leave nothing behind, the map files written
    ahead for them included. Two steps and eight points per forward put
    four images in one forward, so the first next() walks all four and
    starts writing the maps of all."""

    def engine(self, name):
        out = tmpdir("drop-" + name)
        shutil.rmtree(out)
        engine = rsicam._rsicam.Explainer(
            model=CNN, out_dir=out, model_name="cnn", layers=["features.17"],
            steps=2, batch=8)
        for i in range(4):
            engine.queue(sample(i), "s%d" % i)
        self.assertEqual(json.loads(engine.next())[0]["image"], sample(0))
        return engine, out

    def test_drop(self):
        engine, out = self.engine("drop")
        engine.drop()
        self.assertEqual(files_of(out), ["s0"])
        with self.assertRaises(rsicam.UsageError):  # nothing left queued
            engine.next()
        # the explainer takes new images as before
        engine.queue(sample(5), "s5")
        self.assertEqual(json.loads(engine.next())[0]["image"], sample(5))
        self.assertEqual(files_of(out), ["s0", "s5"])
        engine.close()
        self.assertEqual(files_of(out), ["s0", "s5"])

    def test_close(self):
        engine, out = self.engine("close")
        engine.close()
        self.assertEqual(files_of(out), ["s0"])


SCRIPT = r"""
import glob, json, os, sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import rsicam
settings = rsicam.use_command_settings() if sys.argv[2] == "1" else None
model, out, images = sys.argv[3], sys.argv[4], sys.argv[5:]
# --batch auto measures and caches, keyed by the settings in force
rsicam.explain(model, images[0], layers="features.17", steps=8)
(cache,) = glob.glob(os.path.join(os.environ["RSICAM_CACHE_DIR"], "*.json"))
with open(cache) as f:
    print(json.dumps({"settings": settings, "key": json.load(f)["key"]}))
# the maps, at a batch of their own (the maps' last bits follow the batch)
print("explainer:", file=sys.stderr, flush=True)
with rsicam.Explainer(model, layers="features.17", steps=8, batch=4) as ex:
    for i, image in enumerate(images):
        for j, e in enumerate(ex.explain(image)):
            np.save(os.path.join(out, "%d-%d.npy" % (i, j)), e.cam)
"""


@needs_rsicam
class CommandSettingsTest(unittest.TestCase):
    def run_script(self, name, use_settings):
        out = tmpdir("settings-" + name)
        shutil.rmtree(out)
        os.makedirs(os.path.join(out, "cache"))
        env = dict(os.environ, RSICAM_TRACE="1",
                   RSICAM_CACHE_DIR=os.path.join(out, "cache"))
        env.pop("RSICAM_SMALL_PAGES", None)
        proc = subprocess.run(
            [sys.executable, "-c", SCRIPT, PY_DIR, use_settings, CNN, out,
             sample(0), sample(1), sample(2)],
            capture_output=True, text=True, env=env)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        # three calls, one model: its head frozen once
        explainer = proc.stderr.split("explainer:\n", 1)[1]
        self.assertEqual(explainer.count("trace: head frozen"), 1,
                         proc.stderr)
        arrays = {f: np.load(os.path.join(out, f))
                  for f in sorted(os.listdir(out)) if f.endswith(".npy")}
        self.assertEqual(len(arrays), 3)
        return json.loads(proc.stdout), arrays

    def test_command_settings(self):
        plain, plain_maps = self.run_script("plain", "0")
        tuned, tuned_maps = self.run_script("tuned", "1")
        self.assertIsNone(plain["settings"])
        self.assertEqual(tuned["settings"],
                         {"huge_pages": True, "executor": "auto"})
        self.assertIn("|executor profiling|", plain["key"])
        self.assertIn("|huge pages 0|", plain["key"])
        self.assertIn("|executor simple|", tuned["key"])
        self.assertIn("|huge pages 1|", tuned["key"])
        self.assertEqual(plain_maps.keys(), tuned_maps.keys())
        for f in plain_maps:
            self.assertTrue(np.array_equal(plain_maps[f], tuned_maps[f]), f)


if __name__ == "__main__":
    unittest.main()
