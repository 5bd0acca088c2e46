"""One map: what rsicam explained, the arrays, and how it looks."""
import io

import numpy as np

from . import _rsicam


class Explanation:
    """One heatmap of one image: a layer, method, variant, score and class.

    image        the image's path, or "<array N>" / "<PIL N>" / "<tensor N>"
    layer, method, variant, score, cls, label, probability
    cam          float32 [h, w]: the map at the layer's resolution, before
                 upsampling and normalisation (the command's STEM.cam.npy)
    heatmap      float32 [H, W] in [0, 1] at the model's input size
                 (STEM.heatmap.npy)
    record       the dict a results.jsonl line holds (its file names None:
                 the files were temporary)
    """

    def __init__(self, record, cam, heatmap, input_pixels):
        self.record = record
        self.image = record["image"]
        self.layer = record["layer"]
        self.method = record["method"]
        self.variant = record["variant"]
        self.score = record["score"]
        self.cls = record["class"]
        self.label = record["label"]
        self.probability = record["probability"]
        self.cam = cam
        self.heatmap = heatmap
        self._input_pixels = input_pixels

    @property
    def input(self):
        """The image at the model's input size, float32 H x W x 3 in
        [0, 1], as the engine saw it."""
        return self._input_pixels()

    def overlay(self, alpha=0.5):
        """The heatmap through the jet colormap over the image, RGB uint8
        H x W x 3: the command's STEM.png."""
        pixels = np.ascontiguousarray(self.input, dtype=np.float32)
        heat = np.ascontiguousarray(self.heatmap, dtype=np.float32)
        data = _rsicam.overlay(pixels, heat, float(alpha))
        return np.frombuffer(data, np.uint8).reshape(heat.shape + (3,))

    def _repr_png_(self):
        from PIL import Image
        out = io.BytesIO()
        Image.fromarray(self.overlay()).save(out, format="PNG")
        return out.getvalue()

    def __repr__(self):
        name = self.label if self.label is not None else self.cls
        what = (self.method if self.method == "gradcam"
                else f"{self.method}-{self.variant}")
        return (f"<Explanation {self.image} {self.layer} {what} "
                f"{self.score} class {name} p={self.probability}>")
