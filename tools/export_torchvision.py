"""Export a torchvision classification model to TorchScript with rsicam metadata.

The file written is an ordinary TorchScript archive (torch.jit.save) carrying
one extra file, rsicam.json (see tools/rsicam_meta.py): input size, ImageNet
mean/std, the 1000 class names from torchvision's weights metadata, and a few
informational keys (arch, weights, mode, note).
"""
import argparse
import contextlib
import io
import os
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rsicam_meta  # noqa: E402

DEFAULT_LOGIT_STD = 3.0
CALIBRATION_IMAGES = 4

EPILOG = """\
pretrained weights (the default) are downloaded by torchvision into its cache
($TORCH_HOME, default ~/.cache/torch); without network the tool says so and
exits with status 2: use --random-weights there.

--random-weights: torch.manual_seed(SEED), then the torchvision model is built
with weights=None (torchvision's own random initialisation) and put in eval
mode. That initialisation gives logits of very different scales: for a seed-0
ResNet50 their standard deviation over the classes is ~10-30 (softmax close to
saturation on noise images), for VGG19 ~0.03 (softmax almost uniform, so the
post-softmax score barely moves along a path). Both make a post-softmax parity
test weak, so the final nn.Linear layer (weight and bias) is then multiplied
by one factor chosen so that the logits' std over the classes, median over %d
deterministic calibration images (smooth random images plus a little noise,
generated from SEED), is --logit-std (default %g). The model stays a plain
torchvision model with different last-layer values; the factor is recorded in
the metadata's "note". --logit-std 0 keeps torchvision's initialisation as is.
Pretrained weights are never rescaled.

The tool checks that the exported module gives the eager model's logits, that
they are finite and that they are not all equal; it fails otherwise.
""" % (CALIBRATION_IMAGES, DEFAULT_LOGIT_STD)


class ExportError(Exception):
    pass


def parse_args(argv):
    p = argparse.ArgumentParser(
        prog="export_torchvision",
        description="Export a torchvision classification model to "
                    "TorchScript with rsicam metadata (rsicam.json).",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--arch", required=True,
                   help="torchvision classification model name "
                        "(resnet50, vgg19, ...); --list shows them")
    p.add_argument("--out", required=False, help="output .pt file")
    p.add_argument("--random-weights", action="store_true",
                   help="random weights instead of pretrained (no download)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed for --random-weights (default 0)")
    p.add_argument("--mode", choices=("script", "trace"), default="trace",
                   help="torch.jit.trace with a 1x3xHxW example (default) "
                        "or torch.jit.script")
    p.add_argument("--input-size", type=int, nargs=2, metavar=("H", "W"),
                   default=(224, 224),
                   help="input size recorded in the metadata and used for "
                        "the trace example (default 224 224)")
    p.add_argument("--logit-std", type=float, default=DEFAULT_LOGIT_STD,
                   help="with --random-weights: rescale the last Linear "
                        "layer to this logit std (0: no rescaling; "
                        "default %(default)s)")
    p.add_argument("--list", action="store_true",
                   help="list the classification architectures and exit")
    if "--list" in argv:
        print("\n".join(classification_models()))
        sys.exit(0)
    args = p.parse_args(argv)
    if not args.out:
        p.error("--out is required")
    if args.input_size[0] <= 0 or args.input_size[1] <= 0:
        p.error("--input-size must be positive")
    if args.logit_std < 0:
        p.error("--logit-std must be >= 0")
    return args


def classification_models():
    return sorted(torchvision.models.list_models(module=torchvision.models))


def default_weights(arch):
    try:
        return torchvision.models.get_model_weights(arch).DEFAULT
    except Exception:  # noqa: BLE001 - some archs have no weights enum
        return None


def build_pretrained(arch, weights):
    if weights is None:
        raise ExportError("%s has no pretrained weights in torchvision %s; "
                          "use --random-weights" % (arch, torchvision.__version__))
    print("export_torchvision: loading pretrained %s (%s)" % (weights, weights.url),
          file=sys.stderr)
    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            state = weights.get_state_dict(progress=False)
    except Exception as e:  # noqa: BLE001 - any download failure
        reason = str(getattr(e, "reason", e)) or type(e).__name__
        print("export_torchvision: cannot download the pretrained weights for "
              "%s from %s (%s); without network use --random-weights"
              % (arch, weights.url, reason), file=sys.stderr)
        sys.exit(2)
    del state  # now in torchvision's cache; get_model applies arch-specific
    # settings that go with the weights (e.g. inception_v3's transform_input)
    with contextlib.redirect_stderr(captured):
        return torchvision.models.get_model(arch, weights=weights)


def calibration_batch(seed, size):
    """Smooth-but-textured random images in [0, 1], deterministic in seed."""
    g = torch.Generator().manual_seed(seed + 12345)
    h, w = size
    coarse = torch.rand(CALIBRATION_IMAGES, 3, 7, 7, generator=g)
    smooth = torch.nn.functional.interpolate(coarse, size=(h, w), mode="bilinear",
                                             align_corners=False)
    noise = torch.rand(CALIBRATION_IMAGES, 3, h, w, generator=g) - 0.5
    return (smooth + 0.1 * noise).clamp(0, 1)


def normalise(x, mean, std):
    return (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


def last_linear(model):
    found = None
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            found = (name, module)
    return found


def rescale_logits(model, inputs, target_std):
    """Multiply the last Linear layer so that the median logit std is target_std."""
    found = last_linear(model)
    if found is None:
        raise ExportError("no nn.Linear layer to rescale; use --logit-std 0")
    name, linear = found
    with torch.no_grad():
        before = model(inputs)
        check_logits(before, "before rescaling")
        current = before.std(dim=1).median().item()
        factor = target_std / current
        linear.weight.mul_(factor)
        if linear.bias is not None:
            linear.bias.mul_(factor)
        after = model(inputs)
    note = ("random weights (torch.manual_seed then torchvision init); "
            "last Linear layer '%s' (weight and bias) multiplied by %.6g so the "
            "median logit std over %d calibration images is %g (was %.4g)"
            % (name, factor, inputs.shape[0], target_std, current))
    return note, after


def check_logits(logits, what):
    if not torch.isfinite(logits).all():
        raise ExportError("logits %s are not finite" % what)
    if (logits.max(dim=1).values - logits.min(dim=1).values).min().item() == 0:
        raise ExportError("logits %s are all equal" % what)


def export(args):
    torch.set_num_threads(min(2, torch.get_num_threads()))
    archs = classification_models()
    if args.arch not in archs:
        raise ExportError("unknown classification architecture %r "
                          "(torchvision %s has: %s)"
                          % (args.arch, torchvision.__version__, ", ".join(archs)))
    weights = default_weights(args.arch)
    labels = weights.meta.get("categories") if weights is not None else None
    size = tuple(args.input_size)
    mean, std = rsicam_meta.IMAGENET_MEAN, rsicam_meta.IMAGENET_STD
    inputs = normalise(calibration_batch(args.seed, size), mean, std)
    extra = {"arch": args.arch, "mode": args.mode,
             "torchvision": torchvision.__version__}

    if args.random_weights:
        torch.manual_seed(args.seed)
        model = torchvision.models.get_model(args.arch, weights=None).eval()
        extra["weights"] = "random (seed %d)" % args.seed
        if args.logit_std > 0:
            note, logits = rescale_logits(model, inputs, args.logit_std)
        else:
            note = ("random weights (torch.manual_seed then torchvision init), "
                    "not rescaled")
            with torch.no_grad():
                logits = model(inputs)
        extra["note"] = note
    else:
        model = build_pretrained(args.arch, weights).eval()
        extra["weights"] = str(weights)
        with torch.no_grad():
            logits = model(inputs)
    check_logits(logits, "of the model")

    if labels is not None and len(labels) != logits.shape[1]:
        labels = None
    example = inputs[:1].clone()
    with torch.no_grad():
        if args.mode == "trace":
            module = torch.jit.trace(model, example)
        else:
            module = torch.jit.script(model)
    module.eval()
    with torch.no_grad():
        got = module(inputs)
    if not torch.allclose(got, logits, rtol=1e-4, atol=1e-4 * logits.abs().max().item()):
        raise ExportError("the %s module's output differs from the eager model's "
                          "(max abs diff %g)" % (args.mode, (got - logits).abs().max().item()))

    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    meta = rsicam_meta.save(module, args.out, input_size=size, mean=mean, std=std,
                            labels=labels, **extra)
    probs = logits.softmax(dim=1)
    print("export_torchvision: wrote %s (%s, %s, %s, %dx%d, %d classes%s)"
          % (args.out, args.arch, meta["weights"], args.mode, size[0], size[1],
             logits.shape[1], "" if labels else ", no labels"))
    print("export_torchvision: calibration logits std %s, max softmax %s"
          % (", ".join("%.3g" % v for v in logits.std(dim=1).tolist()),
             ", ".join("%.3g" % v for v in probs.max(dim=1).values.tolist())))
    if "note" in meta:
        print("export_torchvision: note: %s" % meta["note"])


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        export(args)
    except ExportError as e:
        print("export_torchvision: error: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
