"""Images as the engine takes them: a file path, or H x W x 3 pixels
(uint8, or float32 in [0, 1]) that it resizes exactly as it would a file's."""
import os

import numpy as np

from ._rsicam import InputError, UsageError


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _is_pil(obj):
    return type(obj).__module__.startswith("PIL.") and hasattr(obj, "convert")


def _rgb(array, name, channel_order):
    """HW, HW1 or HW3 (after channel_order) -> C-contiguous HW3."""
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3):
        raise InputError(f"image '{name}': expected H x W or H x W x 3 "
                         f"pixels, got shape {tuple(array.shape)}")
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    elif channel_order == "BGR":
        array = array[:, :, ::-1]
    if array.shape[0] < 1 or array.shape[1] < 1:
        raise InputError(f"image '{name}': empty ({array.shape[0]}x"
                         f"{array.shape[1]})")
    return np.ascontiguousarray(array)


def _pixels(array, name, channel_order):
    """uint8 stays uint8; floats must lie in [0, 1] and become float32."""
    array = _rgb(np.asarray(array), name, channel_order)
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.floating):
        raise InputError(f"image '{name}': expected uint8 or float pixels, "
                         f"got {array.dtype}")
    if not np.all(np.isfinite(array)):
        raise InputError(f"image '{name}': pixels are not all finite")
    if array.min() < 0 or array.max() > 1:
        raise InputError(f"image '{name}': float pixels must lie in [0, 1] "
                         f"(got {array.min():g}..{array.max():g})")
    return np.ascontiguousarray(array, dtype=np.float32)


def _tensor_images(tensor, index, channel_order):
    """CHW or NCHW tensors (uint8, or float in [0, 1]) -> HWC arrays."""
    t = tensor.detach().cpu()
    if t.dim() == 3:
        t = t.unsqueeze(0)
    if t.dim() != 4:
        raise InputError(f"image '<tensor {index}>': expected C x H x W or "
                         f"N x C x H x W, got shape {tuple(t.shape)}")
    out = []
    for k in range(t.shape[0]):
        name = f"<tensor {index + k}>"
        hwc = t[k].permute(1, 2, 0).numpy()
        out.append(("pixels", _pixels(hwc, name, channel_order), name))
    return out


def image_sources(images, channel_order=None):
    """images -> [(kind, value, name)]: kind "path" (value: the path) or
    "pixels" (value: H x W x 3 uint8 or float32). Accepts one image or a
    list: paths, numpy arrays (HWC, or NHWC for several), PIL images,
    torch tensors (CHW, or NCHW for several)."""
    if channel_order not in (None, "RGB", "BGR"):
        raise UsageError(f"channel_order: expected \"RGB\" or \"BGR\", got "
                         f"{channel_order!r}")
    torch = _torch()
    single = (isinstance(images, (str, os.PathLike)) or _is_pil(images)
              or isinstance(images, np.ndarray)
              or (torch is not None and isinstance(images, torch.Tensor)))
    if single:
        if isinstance(images, np.ndarray) and images.ndim == 4:
            images = list(images)
        elif not (torch is not None and isinstance(images, torch.Tensor)):
            images = [images]
    sources = []
    if torch is not None and isinstance(images, torch.Tensor):
        return _tensor_images(images, 0, channel_order)
    for image in images:
        index = len(sources)
        if isinstance(image, (str, os.PathLike)):
            sources.append(("path", os.fspath(image), os.fspath(image)))
        elif _is_pil(image):
            name = f"<PIL {index}>"
            rgb = np.asarray(image.convert("RGB"))
            sources.append(("pixels", _pixels(rgb, name, None), name))
        elif torch is not None and isinstance(image, torch.Tensor):
            sources.extend(_tensor_images(image, index, channel_order))
        elif isinstance(image, np.ndarray):
            name = f"<array {index}>"
            sources.append(("pixels", _pixels(image, name, channel_order),
                            name))
        else:
            raise InputError(f"image {index}: expected a path, a numpy "
                             f"array, a PIL image or a torch tensor, got "
                             f"{type(image).__name__}")
    if not sources:
        raise UsageError("explain: no image given")
    return sources
