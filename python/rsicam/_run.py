"""rsicam.run and rsicam.plugins: experiments and the plugin listing."""
import csv
import os

from . import _rsicam


def plugins():
    """Every plugin found (as `rsicam plugins` lists them): dicts with kind,
    name, version, license, description, file and params (name, type,
    default, range, doc)."""
    return _rsicam.plugins()


def _override(key, value):
    if isinstance(value, (list, tuple)):
        value = "[" + ",".join(str(v) for v in value) + "]"
    elif isinstance(value, bool):
        value = "true" if value else "false"
    return f"{key}={value}"


def run(config, output=None, *, quiet=True, **overrides):
    """Runs an experiment file as `rsicam run CONFIG KEY=VALUE...` does
    (docs/experiments.md), output= overriding its output directory and
    keyword arguments its settings (steps=64; dotted keys as
    **{"baseline.blur.sigma": 8}). Returns summary.csv's rows as dicts.
    Problems in the file raise one UsageError listing them all."""
    items = [_override(k, v) for k, v in overrides.items()]
    if output is not None:
        items.append(_override("output", os.fspath(output)))
    out_dir, _failed = _rsicam.run(os.fspath(config), items, quiet)
    with open(os.path.join(out_dir, "summary.csv"), newline="",
              encoding="utf-8") as f:
        return list(csv.DictReader(f))
