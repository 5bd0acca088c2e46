"""rsicam.explain: the engine's explainer over paths, arrays, PIL images
and tensors, with the maps returned as numpy arrays."""
import functools
import json
import os
import shutil
import tempfile
import threading

import numpy as np

from . import _rsicam, _specs
from ._explanation import Explanation
from ._inputs import image_sources
from ._model import model_file

# The engine's plugin registry and libtorch's thread count are the
# process's: one explain at a time.
_engine_lock = threading.Lock()


def _load_maps(out_dir, record):
    cam = np.load(os.path.join(out_dir, record["cam"]))
    heatmap = np.load(os.path.join(out_dir, record["heatmap"]))
    record["cam"] = record["heatmap"] = None  # the files go with out_dir
    return cam, heatmap


def _pixels_of(kind, value, name, height, width):
    """A function giving the image at the model's size (read once)."""
    if kind == "pixels":
        return lambda: value

    @functools.lru_cache(maxsize=1)
    def read():
        data, h, w = _rsicam.image_at(value, name, width, height)
        return np.frombuffer(data, np.float32).reshape(h, w, 3)
    return read


def explain(model, images, *, layers=None, classes=None, steps=50, tol=None,
            max_steps=None, methods=("rsi",), variants=("relu",),
            scores=("softmax",), baseline="zero", path="linear",
            batch="auto", device="cpu", precision="fp32", threads=0,
            input_size=None, mean=None, std=None, labels=None,
            channel_order=None):
    """Explains images with RSI-Grad-CAM (and Grad-CAM with
    methods=("rsi", "gradcam")), one Explanation per map: images x layers
    x methods/variants x scores x classes, image-major.

    model: a TorchScript file, a torch.jit.ScriptModule or a
    torch.nn.Module (traced at input_size, default 224x224; mean, std and
    labels default to ImageNet's and none). images: one or a list of
    paths, numpy arrays (H x W x 3 uint8 or float in [0, 1]; N x H x W x 3
    for several), PIL images or torch tensors (C x H x W, N x C x H x W).
    channel_order: "RGB" (default) or "BGR" for arrays and tensors.
    classes: a class or classes to explain (default: the top prediction).
    steps: path steps, or "auto" (with tol, max_steps) for adaptive steps.
    baseline, path: "name", "name:k=v,..." or (name, {k: v}) (see
    rsicam.plugins()). The other options are `rsicam explain`'s.

    A failed image raises its rsicam.Error; Ctrl-C raises
    KeyboardInterrupt after the image being explained. Either way the
    exception's .explanations holds the maps of the images done.
    """
    options = dict(
        layers=_specs.layer_list(layers),
        methods=_specs.name_bits("methods", methods, _specs.METHODS),
        variants=_specs.name_bits("variants", variants, _specs.VARIANTS),
        scores=_specs.name_bits("scores", scores, _specs.SCORES),
        classes=_specs.class_list(classes),
        batch=_specs.batch_value(batch),
        baseline=_specs.plugin_spec("baseline", baseline),
        path=_specs.plugin_spec("path", path),
        device=str(device), precision=str(precision), threads=int(threads),
        input_size=_specs.size_pair(input_size),
        mean=_specs.triple("mean", mean), std=_specs.triple("std", std))
    options["steps"], options["tol"], options["max_steps"] = \
        _specs.steps_options(steps, tol, max_steps)
    sources = image_sources(images, channel_order)
    done = []
    workdir = tempfile.mkdtemp(prefix="rsicam-")
    try:
        with _engine_lock:
            _explain_into(done, workdir, model, sources, labels, options)
    except BaseException as e:
        e.explanations = done
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return done


def _explain_into(done, workdir, model, sources, labels, options):
    path, name = model_file(model, workdir, options["input_size"],
                            options["mean"], options["std"], labels)
    labels_file = None
    if labels is not None and isinstance(model, (str, os.PathLike)):
        labels_file = os.path.join(workdir, "labels.txt")
        with open(labels_file, "w", encoding="utf-8") as f:
            f.writelines(f"{label}\n" for label in labels)
    out_dir = os.path.join(workdir, "maps")
    explainer = _rsicam.Explainer(model=path, out_dir=out_dir,
                                  model_name=name, labels_file=labels_file,
                                  **options)
    try:
        height, width = explainer.info()["input_size"]
        pixels = []
        for i, (kind, value, image_name) in enumerate(sources):
            stem = f"{i:06d}"  # two files may share a name
            if kind == "path":
                explainer.queue(value, stem)
                pixels.append(_pixels_of(kind, value, image_name, height,
                                         width))
                continue
            data, h, w = _rsicam.image_at(value, image_name, width, height)
            sized = np.frombuffer(data, np.float32).reshape(h, w, 3)
            explainer.queue_image(sized, image_name, stem)
            pixels.append(_pixels_of("pixels", sized, image_name, h, w))
        for i in range(len(sources)):
            # between images, Python sees Ctrl-C (KeyboardInterrupt)
            for record in json.loads(explainer.next()):
                cam, heatmap = _load_maps(out_dir, record)
                done.append(Explanation(record, cam, heatmap, pixels[i]))
    finally:
        explainer.close()
