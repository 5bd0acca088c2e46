"""rsicam.explain: the engine's explainer over paths, arrays, PIL images
and tensors, with the maps returned as numpy arrays."""
import functools
import json
import os
import shutil
import tempfile
import threading
import weakref

import numpy as np

from . import _rsicam, _specs
from ._explanation import Explanation
from ._inputs import image_sources
from ._model import model_file
from ._rsicam import UsageError

# The engine's plugin registry and libtorch's thread count are the
# process's: one explain at a time.
_engine_lock = threading.Lock()


def _load_maps(out_dir, record):
    cam = np.load(os.path.join(out_dir, record["cam"]))
    heatmap = np.load(os.path.join(out_dir, record["heatmap"]))
    record["cam"] = record["heatmap"] = None  # the files are temporary
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


class Explainer:
    """A model opened once, for images explained over many calls.

        with rsicam.Explainer("resnet50.pt", layers="layer4") as explainer:
            for batch in batches:
                maps = explainer.explain(batch)

    The options are rsicam.explain's (but channel_order, given per call;
    classes, given here, a call may also give for its images).
    rsicam.explain(model, images, **options) is one Explainer's one call:
    each loads the model, makes the part before the first layer an
    inference graph and runs its first forwards on memory new to the
    process; an Explainer does that once, so its later calls cost what a
    later image costs (ResNet50 `layer4`: 0.50-0.57 of an rsicam.explain
    call, bench/results/2026-12-05-cpu-python-calls.md). See also
    rsicam.use_command_settings().
    A call stopped by a failed image or Ctrl-C forgets the images it had
    queued; the next call goes on with the model as loaded.
    threads is the process's: the count of the Explainer made last holds.
    close() (or the end of a with block) frees the model at once.
    """

    def __init__(self, model, *, layers=None, classes=None, top_k=1, steps=50,
                 tol=None, max_steps=None, methods=("rsi",),
                 variants=("relu",), scores=("softmax",), baseline="zero",
                 path="linear", batch="auto", device="cpu", precision="fp32",
                 threads=0, input_size=None, mean=None, std=None,
                 labels=None):
        self._engine, self._closed = None, False
        options = dict(
            layers=_specs.layer_list(layers),
            methods=_specs.name_bits("methods", methods, _specs.METHODS),
            variants=_specs.name_bits("variants", variants, _specs.VARIANTS),
            scores=_specs.name_bits("scores", scores, _specs.SCORES),
            classes=_specs.class_list(classes),
            top_k=_specs.top_k_value(top_k),
            batch=_specs.batch_value(batch),
            baseline=_specs.plugin_spec("baseline", baseline),
            path=_specs.plugin_spec("path", path),
            device=str(device), precision=str(precision),
            threads=int(threads), input_size=_specs.size_pair(input_size),
            mean=_specs.triple("mean", mean), std=_specs.triple("std", std))
        options["steps"], options["tol"], options["max_steps"] = \
            _specs.steps_options(steps, tol, max_steps)
        self._workdir = tempfile.mkdtemp(prefix="rsicam-")
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._workdir,
                                         True)
        self._out_dir = os.path.join(self._workdir, "maps")
        self._stems = 0  # map files of every call in one folder
        try:
            path, name = model_file(model, self._workdir,
                                    options["input_size"], options["mean"],
                                    options["std"], labels)
            labels_file = None
            if labels is not None and isinstance(model, (str, os.PathLike)):
                labels_file = os.path.join(self._workdir, "labels.txt")
                with open(labels_file, "w", encoding="utf-8") as f:
                    f.writelines(f"{label}\n" for label in labels)
            with _engine_lock:
                self._engine = _rsicam.Explainer(
                    model=path, out_dir=self._out_dir, model_name=name,
                    labels_file=labels_file, **options)
            self._input_size = self._engine.info()["input_size"]
        except BaseException:
            self.close()
            raise

    def explain(self, images, *, classes=None, channel_order=None):
        """One Explanation per map: images x layers x methods/variants x
        scores x classes, image-major. classes: a class or classes for
        this call's images (default: the Explainer's). Errors as
        rsicam.explain's: the exception's .explanations holds the maps of
        the images done."""
        done = []
        try:
            if self._closed:
                raise UsageError("explainer: closed")
            classes = _specs.class_list(classes) or None
            sources = image_sources(images, channel_order)
            with _engine_lock:
                self._explain_into(done, sources, classes)
        except BaseException as e:
            e.explanations = done
            raise
        return done

    def _explain_into(self, done, sources, classes):
        height, width = self._input_size
        pixels, taken = [], 0
        try:
            for kind, value, image_name in sources:
                stem = f"{self._stems:06d}"  # two files may share a name
                self._stems += 1
                if kind == "path":
                    self._engine.queue(value, stem, classes)
                    pixels.append(_pixels_of(kind, value, image_name, height,
                                             width))
                    continue
                data, h, w = _rsicam.image_at(value, image_name, width,
                                              height)
                sized = np.frombuffer(data, np.float32).reshape(h, w, 3)
                self._engine.queue_image(sized, image_name, stem, classes)
                pixels.append(_pixels_of("pixels", sized, image_name, h, w))
            for i in range(len(sources)):
                # between images, Python sees Ctrl-C (KeyboardInterrupt)
                taken += 1  # explained or failed, next() takes it
                records = json.loads(self._engine.next())
                for record in records:
                    cam, heatmap = _load_maps(self._out_dir, record)
                    done.append(Explanation(record, cam, heatmap, pixels[i]))
        finally:
            if taken < len(pixels):
                # a call stopped partway: the next one starts afresh
                self._engine.drop()
            # nothing writes there now: the call's map files go
            for name in os.listdir(self._out_dir):
                os.remove(os.path.join(self._out_dir, name))

    def close(self):
        """Frees the model and the engine now; later calls raise."""
        engine, self._engine, self._closed = self._engine, None, True
        if engine is not None:
            with _engine_lock:
                engine.close()
        self._cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def explain(model, images, *, layers=None, classes=None, top_k=1, steps=50,
            tol=None, max_steps=None, methods=("rsi",), variants=("relu",),
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
    classes: a class or classes to explain (default: the top_k
    predictions, most probable first; top_k 1 to 32, default 1).
    steps: path steps, or "auto" (with tol, max_steps) for adaptive steps.
    baseline, path: "name", "name:k=v,..." or (name, {k: v}) (see
    rsicam.plugins()). The other options are `rsicam explain`'s.

    A failed image raises its rsicam.Error; Ctrl-C raises
    KeyboardInterrupt after the image being explained. Either way the
    exception's .explanations holds the maps of the images done. To
    explain images over several calls, keep an rsicam.Explainer instead:
    this opens the model for each call.
    """
    try:
        explainer = Explainer(
            model, layers=layers, classes=classes, top_k=top_k, steps=steps,
            tol=tol, max_steps=max_steps, methods=methods, variants=variants,
            scores=scores, baseline=baseline, path=path, batch=batch,
            device=device, precision=precision, threads=threads,
            input_size=input_size, mean=mean, std=std, labels=labels)
    except BaseException as e:
        e.explanations = []
        raise
    with explainer:
        return explainer.explain(images, channel_order=channel_order)
