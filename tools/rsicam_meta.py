"""The metadata rsicam reads from a TorchScript model file.

A model file carries one extra file, ``rsicam.json``, with the preprocessing
the model expects and its class names:

    {"input_size": [H, W], "mean": [r, g, b], "std": [r, g, b],
     "labels": ["class 0", "class 1", ...]}

Every key is optional; rsicam falls back to 224x224 and ImageNet mean/std.
"""
import json

import torch

EXTRA_FILE = "rsicam.json"
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def metadata(input_size=(224, 224), mean=IMAGENET_MEAN, std=IMAGENET_STD,
             labels=None, **extra):
    meta = {"input_size": [int(input_size[0]), int(input_size[1])],
            "mean": [float(v) for v in mean],
            "std": [float(v) for v in std]}
    if labels is not None:
        meta["labels"] = [str(label) for label in labels]
    meta.update(extra)
    return meta


def save(module, path, **meta_kwargs):
    """Save a scripted or traced module with its rsicam metadata."""
    meta = metadata(**meta_kwargs)
    torch.jit.save(module, path,
                   _extra_files={EXTRA_FILE: json.dumps(meta)})
    return meta


def load(path):
    """Load a module and its metadata (an empty dict when absent)."""
    files = {EXTRA_FILE: ""}
    module = torch.jit.load(path, map_location="cpu", _extra_files=files)
    text = files[EXTRA_FILE]
    return module, (json.loads(text) if text else {})
