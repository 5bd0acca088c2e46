"""Models as the engine takes them: a TorchScript file. A ScriptModule is
saved to one, an nn.Module traced first (torch.jit.trace at the input
size), each with the rsicam.json extra file the engine reads its
preprocessing from (tools/rsicam_meta.py writes the same)."""
import json
import os

from . import _rsicam
from ._rsicam import UsageError

EXTRA_FILE = "rsicam.json"
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def _metadata(input_size, mean, std, labels):
    meta = {"input_size": list(input_size or (224, 224)),
            "mean": list(mean or IMAGENET_MEAN),
            "std": list(std or IMAGENET_STD)}
    if labels is not None:
        meta["labels"] = [str(label) for label in labels]
    return meta


def model_file(model, workdir, input_size=None, mean=None, std=None,
               labels=None):
    """(path of a TorchScript file, the name records give it). A module is
    saved into workdir; a file is used where it is."""
    if isinstance(model, (str, os.PathLike)):
        path = os.fspath(model)
        return path, path
    torch = _torch()
    if torch is None or not isinstance(model, torch.nn.Module):
        raise UsageError(f"model: expected a file path, a "
                         f"torch.jit.ScriptModule or a torch.nn.Module, got "
                         f"{type(model).__name__}")
    name = f"<{type(model).__name__}>"
    if not isinstance(model, torch.jit.ScriptModule):
        h, w = input_size or (224, 224)
        was_training = model.training
        # traced in eval mode (batch norm's running statistics, no
        # dropout), as the model is meant to be explained; left as it was
        model.eval()
        try:
            with torch.no_grad():
                example = torch.zeros(1, 3, h, w)
                scripted = torch.jit.trace(model, example, check_trace=False)
        except Exception as e:
            raise _rsicam.ModelError(f"model {name}: cannot trace it at "
                                     f"{h}x{w}: {e}") from e
        finally:
            model.train(was_training)
    else:
        scripted = model
    path = os.path.join(workdir, "model.pt")
    meta = _metadata(input_size, mean, std, labels)
    torch.jit.save(scripted, path,
                   _extra_files={EXTRA_FILE: json.dumps(meta)})
    return path, name


def layers(model, input_size=None):
    """Every module path of the model (what explain's layers= takes),
    depth first; a module is traced first, at input_size (224x224)."""
    import tempfile
    with tempfile.TemporaryDirectory(prefix="rsicam-") as workdir:
        path, _ = model_file(model, workdir, input_size)
        paths, _ = _rsicam.module_paths(path)
    return paths
