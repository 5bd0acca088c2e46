"""The command's option values from Python's: plugin specs, name lists."""
from ._rsicam import METHODS, SCORES, VARIANTS, UsageError

# METHODS, VARIANTS and SCORES are the engine's names in bit order: its
# table of map kinds (core/src/engine/map_kinds.c) is their one source.


def name_bits(option, values, names):
    """("relu", "plain") -> the engine's bit set (bit i for names[i])."""
    if isinstance(values, str):
        values = values.split(",")
    bits = 0
    for value in values:
        if value not in names:
            raise UsageError(f"{option}: unknown value '{value}' (one of "
                             f"{', '.join(names)})")
        bits |= 1 << names.index(value)
    if not bits:
        raise UsageError(f"{option}: no value given")
    return bits


def _escape(text):
    # the parameter syntax's separators, as the command escapes a file name
    return text.replace("\\", "\\\\").replace(",", "\\,")


def plugin_spec(option, spec):
    """"name", "name:k=v,..." or (name, {k: v}) -> "name:k=v,..."."""
    if isinstance(spec, str):
        return spec
    if (isinstance(spec, (tuple, list)) and len(spec) == 2
            and isinstance(spec[0], str) and isinstance(spec[1], dict)):
        name, params = spec
        if not params:
            return name
        items = []
        for key, value in params.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            items.append(f"{key}={_escape(str(value))}")
        return f"{name}:{','.join(items)}"
    raise UsageError(f"{option}: expected \"name\", \"name:k=v,...\" or "
                     f"(name, {{k: v}}), got {spec!r}")


def layer_list(layers):
    """None, "layer4,layer3" or a list of module paths."""
    if layers is None:
        return None
    if isinstance(layers, str):
        layers = layers.split(",")
    layers = [str(name) for name in layers if str(name)]
    if not layers:
        raise UsageError("layers: no layer given")
    return layers


def class_list(classes):
    """None, a class index or a list of them."""
    if classes is None:
        return None
    if hasattr(classes, "__index__"):  # one: int, numpy's, torch's
        classes = [classes]
    out = []
    for c in classes:
        if isinstance(c, bool) or not hasattr(c, "__index__") or int(c) < 0:
            raise UsageError(f"classes: expected class indices >= 0, got "
                             f"{c!r}")
        out.append(int(c))
    return out


def steps_options(steps, tol, max_steps):
    """(steps, tol, max_steps) as the engine takes them: steps="auto"
    starts at 4 steps with tol 0.01 and intervals down to 1/256."""
    if steps == "auto":
        tol = 0.01 if tol is None else float(tol)
        if not 0 < tol < 1:
            raise UsageError(f"tol: expected a number in (0, 1), got {tol}")
        max_steps = 256 if max_steps is None else max_steps
        if isinstance(max_steps, bool) or not isinstance(max_steps, int) \
                or max_steps < 4:
            raise UsageError(f"max_steps: expected an integer >= 4, got "
                             f"{max_steps!r}")
        return 4, tol, max_steps
    if tol is not None or max_steps is not None:
        raise UsageError("explain: tol and max_steps go with steps=\"auto\"")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise UsageError(f"steps: expected an integer >= 1 or \"auto\", got "
                         f"{steps!r}")
    return steps, 0.0, 256


def top_k_value(top_k):
    """The top predictions to explain: 1 to 32 (the engine's limit)."""
    if isinstance(top_k, bool) or not hasattr(top_k, "__index__") or \
            not 1 <= int(top_k) <= 32:
        raise UsageError(f"top_k: expected an integer in [1, 32], got "
                         f"{top_k!r}")
    return int(top_k)


def batch_value(batch):
    if batch == "auto":
        return 0
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise UsageError(f"batch: expected an integer >= 1 or \"auto\", got "
                         f"{batch!r}")
    return batch


def triple(option, values):
    if values is None:
        return None
    values = tuple(float(v) for v in values)
    if len(values) != 3:
        raise UsageError(f"{option}: expected 3 numbers, got {len(values)}")
    if option == "std" and min(values) <= 0:
        raise UsageError("std: values must be > 0")
    return values


def size_pair(size):
    if size is None:
        return None
    if isinstance(size, int):
        size = (size, size)
    h, w = (int(v) for v in size)
    if not (1 <= h <= 16384 and 1 <= w <= 16384):
        raise UsageError(f"input_size: expected (H, W) within 1..16384, got "
                         f"{tuple(size)}")
    return h, w
