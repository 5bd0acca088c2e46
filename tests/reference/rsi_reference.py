"""Independent reference implementation of RSI-Grad-CAM (and Grad-CAM).

Written from the formulas in DESIGN.md ("The method, exactly") with an EAGER
torchvision model and forward hooks -- no TorchScript graph rewriting -- so
that rsicam's maps can be checked against it (see compare.py, README.md).

    rsi_reference.py --arch resnet50 --model resnet50.pt --image img.png \\
        --layers layer4,layer4.2.conv3 --steps 50 --out DIR

The eager model is torchvision.models.get_model(ARCH, weights=None) with the
state_dict of the TorchScript file loaded into it (strict). Every map for every
layer, variant (relu, guided, plain), method (rsi, gradcam) and score
(softmax, logit) comes from one pass over the path. Output: DIR/reference.jsonl
and one .npy per cam (float32 [h,w]) and heatmap (float32 [H,W]).
"""
import argparse
import json
import os
import re
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import rsicam_meta  # noqa: E402

SCORES = ("softmax", "logit")
RSI_VARIANTS = ("relu", "guided", "plain")


class ReferenceError(Exception):
    pass


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                epilog="See tests/reference/README.md for the formulas.")
    p.add_argument("--arch", required=True, help="torchvision architecture (resnet50, vgg19, ...)")
    p.add_argument("--model", required=True, help="TorchScript file made by tools/export_torchvision")
    p.add_argument("--image", required=True, help="RGB image of exactly the model's input size")
    p.add_argument("--layers", required=True,
                   help="comma-separated module paths (layer4, layer4.2.conv3, features.36)")
    p.add_argument("--steps", type=int, default=50, help="m, path points are x_0..x_m (default 50)")
    p.add_argument("--batch", type=int, default=8, help="path points per forward/backward (default 8)")
    p.add_argument("--class", dest="cls", type=int, default=None,
                   help="target class (default: top softmax class at the image)")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = p.parse_args(argv)
    if args.steps < 1:
        p.error("--steps must be >= 1")
    if args.batch < 1:
        p.error("--batch must be >= 1")
    args.layers = [s.strip() for s in args.layers.split(",") if s.strip()]
    if not args.layers:
        p.error("--layers is empty")
    if len(set(args.layers)) != len(args.layers):
        p.error("--layers repeats a layer")
    return args


def load_model(arch, path):
    scripted, meta = rsicam_meta.load(path)
    state = scripted.state_dict()
    try:
        model = torchvision.models.get_model(arch, weights=None)
    except Exception as e:  # noqa: BLE001
        raise ReferenceError("cannot build torchvision model %r: %s" % (arch, e))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as e:
        text = " ".join(str(e).split())
        raise ReferenceError("the state_dict of %s does not fit torchvision %s (wrong --arch?): %s"
                             % (path, arch, text if len(text) < 300 else text[:300] + "..."))
    model.eval()
    for p in model.parameters():
        p.requires_grad_(False)
    # in-place ops after a hooked layer (VGG's ReLU(inplace=True) after a
    # conv) would overwrite the captured activation: turn them off
    for m in model.modules():
        if hasattr(m, "inplace") and isinstance(m.inplace, bool):
            m.inplace = False
    return model, scripted, meta


def load_image(path, meta):
    h, w = meta.get("input_size", [224, 224])
    mean = meta.get("mean", rsicam_meta.IMAGENET_MEAN)
    std = meta.get("std", rsicam_meta.IMAGENET_STD)
    img = Image.open(path).convert("RGB")
    if img.size != (w, h):
        raise ReferenceError("image %s is %dx%d (HxW), the model wants %dx%d; the reference "
                             "does not resize" % (path, img.size[1], img.size[0], h, w))
    x = torch.from_numpy(np.asarray(img, dtype=np.float32) / np.float32(255.0))
    x = x.permute(2, 0, 1).unsqueeze(0).contiguous()  # [1,3,H,W] in [0,1]
    mean_t = torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1)
    std_t = torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1)
    x = (x - mean_t) / std_t
    baseline = ((torch.zeros_like(x) - mean_t) / std_t)  # black image, normalised
    return x, baseline, (h, w), mean, std


class Hooks:
    """Forward hooks that capture each layer's output and make it a gradient target."""

    def __init__(self, model, layers):
        self.layers = layers
        self.acts = {}
        self.calls = {}
        self.handles = []
        for name in layers:
            try:
                module = model.get_submodule(name)
            except AttributeError:
                raise ReferenceError("no module %r in %s" % (name, type(model).__name__))
            self.handles.append(module.register_forward_hook(self._hook(name)))

    def _hook(self, name):
        def hook(module, inputs, output):
            if not isinstance(output, torch.Tensor):
                raise ReferenceError("layer %r returns %s, not a tensor" % (name, type(output).__name__))
            self.calls[name] = self.calls.get(name, 0) + 1
            if self.calls[name] > 1:
                raise ReferenceError("layer %r is called more than once per forward "
                                     "(a shared module); pick a module called once" % name)
            if output.dim() != 4:
                raise ReferenceError("layer %r outputs shape %s; RSI-Grad-CAM needs "
                                     "[N,K,h,w] feature maps" % (name, tuple(output.shape)))
            if not output.requires_grad:
                # nothing upstream requires grad (parameters don't), so this is
                # a leaf: the autograd graph starts here
                output.requires_grad_(True)
            self.acts[name] = output
        return hook

    def reset(self):
        self.acts = {}
        self.calls = {}

    def remove(self):
        for h in self.handles:
            h.remove()


def path_points(baseline, x, indices, m):
    pts = []
    for i in indices:
        if i == 0:
            pts.append(baseline)
        elif i == m:
            pts.append(x)
        else:
            pts.append(baseline + (i / m) * (x - baseline))
    return torch.cat(pts, dim=0)


class Accumulator:
    """Streaming trapezoid Riemann-Stieltjes sums for one (layer, score)."""

    def __init__(self):
        self.prev_a = None
        self.prev_g = None
        self.ig_raw = None   # sum (G_{i-1}+G_i)/2 (A_i - A_{i-1})
        self.ig_relu = None  # same with relu(G)
        self.a0 = None
        self.am = None
        self.gm = None

    def add(self, a, g):
        """a, g: float32 [K,h,w] at the next path point."""
        a64 = a.double()
        g64 = g.double()
        if self.prev_a is None:
            self.a0 = a64
            self.ig_raw = torch.zeros_like(a64)
            self.ig_relu = torch.zeros_like(a64)
        else:
            da = a64 - self.prev_a
            self.ig_raw += 0.5 * (self.prev_g + g64) * da
            self.ig_relu += 0.5 * (self.prev_g.clamp(min=0) + g64.clamp(min=0)) * da
        self.prev_a, self.prev_g = a64, g64
        self.am, self.gm = a64, g64


def cam_maps(acc):
    """The four maps of one (layer, score): dict (method, variant) -> cam float64 [h,w]."""
    am, a0 = acc.am, acc.a0
    maps = {}
    for variant, ig in (("relu", acc.ig_relu), ("plain", acc.ig_raw)):
        w = ig.mean(dim=(1, 2))
        maps[("rsi", variant)] = (w[:, None, None] * am).mean(dim=0).clamp(min=0)
    keep = (am > 0) & (acc.ig_raw > 0) & ((am - a0) > 0)
    w = (acc.ig_raw * keep).mean(dim=(1, 2))
    maps[("rsi", "guided")] = (w[:, None, None] * am).sum(dim=0).clamp(min=0)
    w = acc.gm.mean(dim=(1, 2))
    maps[("gradcam", "")] = (w[:, None, None] * am).sum(dim=0).clamp(min=0)
    return maps


def heatmap(cam, size):
    up = F.interpolate(cam[None, None], size=tuple(size), mode="bilinear",
                       align_corners=False)[0, 0]
    lo, hi = up.min(), up.max()
    if hi > lo:
        return (up - lo) / (hi - lo)
    return torch.zeros_like(up)


def safe_name(text):
    return re.sub(r"[^A-Za-z0-9._-]", "_", text)


def run(args):
    torch.set_num_threads(args.threads)
    t_start = time.perf_counter()
    model, scripted, meta = load_model(args.arch, args.model)
    x, baseline, size, mean, std = load_image(args.image, meta)

    with torch.no_grad():
        logits_eager = model(x)
        logits_script = scripted(x)
    eager_vs_script = (logits_eager - logits_script).abs().max().item()
    n_classes = logits_eager.shape[1]
    top = int(logits_eager.softmax(dim=1).argmax(dim=1).item())
    cls = top if args.cls is None else args.cls
    if not 0 <= cls < n_classes:
        raise ReferenceError("--class %d out of range (model has %d classes)" % (cls, n_classes))

    hooks = Hooks(model, args.layers)
    m = args.steps
    accs = {(layer, s): Accumulator() for layer in args.layers for s in SCORES}
    scores = {s: {} for s in SCORES}  # score kind -> {i: value}
    t_path = time.perf_counter()
    with torch.enable_grad():
        for start in range(0, m + 1, args.batch):
            idx = list(range(start, min(start + args.batch, m + 1)))
            hooks.reset()
            logits = model(path_points(baseline, x, idx, m))
            missing = [l for l in args.layers if l not in hooks.acts]
            if missing:
                raise ReferenceError("layer(s) %s never ran in the forward pass" % ", ".join(missing))
            acts = [hooks.acts[l] for l in args.layers]
            logit = logits[:, cls]
            soft = logits.softmax(dim=1)[:, cls]
            grads = {}
            for s, score, retain in (("logit", logit, True), ("softmax", soft, False)):
                g = torch.autograd.grad(score.sum(), acts, retain_graph=retain, allow_unused=True)
                for layer, gl in zip(args.layers, g):
                    if gl is None:
                        raise ReferenceError("the output does not depend on layer %r" % layer)
                grads[s] = g
            for j, i in enumerate(idx):
                scores["logit"][i] = float(logit[j])
                scores["softmax"][i] = float(soft[j])
                for s in SCORES:
                    for layer, a, g in zip(args.layers, acts, grads[s]):
                        accs[(layer, s)].add(a[j].detach(), g[j])
            del logits, acts, grads, logit, soft
    hooks.remove()
    path_seconds = time.perf_counter() - t_path

    os.makedirs(args.out, exist_ok=True)
    records = []
    for layer in args.layers:
        for s in SCORES:
            acc = accs[(layer, s)]
            ig_sum = float(acc.ig_raw.sum())
            s_img, s_base = scores[s][m], scores[s][0]
            maps = cam_maps(acc)
            for (method, variant) in [("rsi", v) for v in RSI_VARIANTS] + [("gradcam", "")]:
                cam = maps[(method, variant)]
                hm = heatmap(cam, size)
                stem = "%s.%s.%s" % (safe_name(layer),
                                     method + ("-" + variant if variant else ""), s)
                np.save(os.path.join(args.out, stem + ".cam.npy"), cam.float().numpy())
                np.save(os.path.join(args.out, stem + ".heatmap.npy"), hm.float().numpy())
                records.append({
                    "layer": layer, "method": method, "variant": variant, "score": s,
                    "class": cls, "score_image": s_img, "score_baseline": s_base,
                    "ig_sum": ig_sum, "steps": m,
                    "delta": ig_sum - (s_img - s_base),
                    "cam": stem + ".cam.npy", "heatmap": stem + ".heatmap.npy"})
    with open(os.path.join(args.out, "reference.jsonl"), "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
    total_seconds = time.perf_counter() - t_start
    info = {"arch": args.arch, "model": os.path.abspath(args.model),
            "image": os.path.abspath(args.image), "layers": args.layers, "steps": m,
            "batch": args.batch, "threads": args.threads, "class": cls, "top_class": top,
            "input_size": list(size), "mean": mean, "std": std,
            "eager_vs_torchscript_max_abs_logit_diff": eager_vs_script,
            "path_seconds": path_seconds, "total_seconds": total_seconds,
            "torch": torch.__version__, "torchvision": torchvision.__version__}
    with open(os.path.join(args.out, "reference_info.json"), "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")

    label = meta.get("labels", [None] * n_classes)[cls] if meta.get("labels") else None
    print("rsi_reference: %s class %d%s (top %d), %d steps, %d layers, eager-vs-TorchScript "
          "max |logit diff| %.3g" % (args.arch, cls, " (%s)" % label if label else "", top, m,
                                     len(args.layers), eager_vs_script))
    for layer in args.layers:
        for s in SCORES:
            r = next(r for r in records if r["layer"] == layer and r["score"] == s)
            diff = r["score_image"] - r["score_baseline"]
            rel = abs(r["delta"]) / abs(diff) if diff != 0 else float("inf")
            print("rsi_reference: %-16s %-7s score(x)=%.6g score(b)=%.6g sum(IG)=%.6g "
                  "delta=%.3g (%.3g%% of score(x)-score(b))"
                  % (layer, s, r["score_image"], r["score_baseline"], r["ig_sum"],
                     r["delta"], 100 * rel))
    print("rsi_reference: path %.2fs (%d points, batch %d, %d threads), total %.2fs; "
          "wrote %d maps to %s" % (path_seconds, m + 1, args.batch, args.threads,
                                   total_seconds, len(records), args.out))


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        run(args)
    except ReferenceError as e:
        print("rsi_reference: error: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
