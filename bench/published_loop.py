"""The published RSI-Grad-CAM loop (PyTorch notebooks of Lucas, Lerma, Furst,
Raicu 2022: github.com/mlerma54/RSIGradCAM, RSI_Grad_CAM_pytorch.ipynb and the
ResNet50/VGG19 variants), re-written for timing; not a reference for maps.

What it does, as the notebooks do:
  - an EAGER torchvision model (get_model(ARCH, weights=None)) with the
    weights of the TorchScript file (load_state_dict of its state_dict()),
    eval mode, every parameter requires_grad = True;
  - a forward hook on the layer keeps its output and registers a tensor hook
    that keeps the gradient reaching it;
  - the m + 1 path points x_i = b + (i/m)(x - b) (black baseline,
    normalised) are made as one batch, then, ONE POINT AT A TIME: forward
    (batch of 1), softmax, loss = score of the class, loss.backward() (a
    full backward: parameter gradients included, accumulating, as in the
    notebooks, which never call zero_grad), append the activation and
    relu(gradient) to Python lists;
  - stack the lists, trapezoid Riemann-Stieltjes sum, weights = spatial mean,
    map = relu(mean_k w_k A_m^k), bilinear resize to the input size, min-max
    normalise.

Timed: "seconds" from reading the image to the finished map (the same span
as the "seconds" field of rsicam's results.jsonl, which also starts at the
image read and excludes process start and model load); "loop_seconds" for
the m + 1 forward/backward pairs alone; "load_seconds" for building the
model. Prints one JSON line; max RSS from getrusage.

    published_loop.py --arch resnet50 --model resnet50.pt --layer layer4 \\
        --image img.png [--steps 50] [--threads 2] [--class C]
"""
import argparse
import json
import resource
import sys
import time

T_START = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
import torchvision  # noqa: E402
from PIL import Image  # noqa: E402

T_IMPORTED = time.perf_counter()

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", required=True, help="torchvision name (resnet50, vgg19)")
    p.add_argument("--model", required=True, help="TorchScript file (export_torchvision)")
    p.add_argument("--layer", required=True, help="module path (layer4, features.36)")
    p.add_argument("--image", required=True, help="RGB image of the model's input size")
    p.add_argument("--steps", type=int, default=50, help="m (default 50): m + 1 points")
    p.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    p.add_argument("--class", dest="cls", type=int, default=None,
                   help="class (default: the top class at the image)")
    p.add_argument("--save", default=None, help="write the heatmap as .npy here")
    p.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    p.add_argument("--warmup", type=int, default=0,
                   help="untimed maps before the timed one (default 0; on a GPU "
                        "the first map pays for CUDA and cuDNN start-up)")
    return p.parse_args(argv)


def load_model(arch, path):
    extra = {"rsicam.json": ""}
    scripted = torch.jit.load(path, _extra_files=extra)
    meta = json.loads(extra["rsicam.json"]) if extra["rsicam.json"] else {}
    model = torchvision.models.get_model(arch, weights=None)
    model.load_state_dict(scripted.state_dict(), strict=True)
    del scripted
    model.eval()
    for prm in model.parameters():
        prm.requires_grad = True  # as the notebooks do
    return model, meta


class Hooked:
    """Forward hook keeping the layer output, tensor hook keeping its gradient."""

    def __init__(self, model, layer):
        self.act = None
        self.grad = None
        model.get_submodule(layer).register_forward_hook(self._forward)

    def _forward(self, module, inputs, output):
        self.act = output
        if output.requires_grad:  # not in the no-grad class-picking forward
            output.register_hook(self._backward)

    def _backward(self, grad):
        self.grad = grad


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def read_image(path, meta, device):
    h, w = meta.get("input_size", [224, 224])
    mean = torch.tensor(meta.get("mean", IMAGENET_MEAN)).view(3, 1, 1)
    std = torch.tensor(meta.get("std", IMAGENET_STD)).view(3, 1, 1)
    img = Image.open(path).convert("RGB")
    if img.size != (w, h):
        img = img.resize((w, h), Image.BILINEAR)
    x = torch.from_numpy(np.asarray(img, dtype=np.float32) / 255.0).permute(2, 0, 1)
    x = (x - mean) / std
    baseline = (torch.zeros_like(x) - mean) / std
    return x.to(device), baseline.to(device)


def rsi_grad_cam(model, hooked, x, baseline, cls, steps):
    alphas = torch.linspace(0.0, 1.0, steps + 1, device=x.device)[:, None, None, None]
    points = baseline[None] + alphas * (x - baseline)[None]
    acts, grads = [], []
    t0 = time.perf_counter()
    for i in range(steps + 1):
        out = F.softmax(model(points[i:i + 1]), dim=-1)
        loss = out[:, cls]
        loss.backward()
        acts.append(hooked.act)
        grads.append(F.relu(hooked.grad))
    sync(x.device)
    loop_seconds = time.perf_counter() - t0
    a = torch.stack(acts)  # [m+1, 1, K, h, w]
    g = torch.stack(grads)
    ig = torch.sum((g[:-1] + g[1:]) / 2.0 * (a[1:] - a[:-1]), dim=0)  # [1, K, h, w]
    w = torch.mean(ig, dim=[0, 2, 3])
    last = hooked.act.detach()
    cam = F.relu(torch.mean(last * w[None, :, None, None], dim=1))  # [1, h, w]
    heat = F.interpolate(cam[None], size=x.shape[1:], mode="bilinear",
                         align_corners=False)[0, 0]
    heat = (heat - heat.min()) / (heat.max() - heat.min() + 1e-8)
    return heat.detach(), loop_seconds


def main(argv):
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    t0 = time.perf_counter()
    model, meta = load_model(args.arch, args.model)
    device = torch.device(args.device)
    model.to(device)
    hooked = Hooked(model, args.layer)
    load_seconds = time.perf_counter() - t0

    for _ in range(args.warmup + 1):
        t0 = time.perf_counter()
        x, baseline = read_image(args.image, meta, device)
        cls = args.cls
        if cls is None:
            with torch.no_grad():
                cls = int(model(x[None]).argmax(dim=1))
        heat, loop_seconds = rsi_grad_cam(model, hooked, x, baseline, cls,
                                          args.steps)
        heat = heat.cpu()
        seconds = time.perf_counter() - t0
    if args.save:
        np.save(args.save, heat.numpy().astype(np.float32))
    print(json.dumps({
        "impl": "published-loop (eager torchvision, state_dict from the TorchScript file)",
        "arch": args.arch, "layer": args.layer, "steps": args.steps,
        "device": str(device), "warmup": args.warmup,
        "threads": torch.get_num_threads(), "class": cls,
        "seconds": round(seconds, 6), "loop_seconds": round(loop_seconds, 6),
        "load_seconds": round(load_seconds, 6),
        "import_seconds": round(T_IMPORTED - T_START, 6),
        "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "heat_min": float(heat.min()), "heat_max": float(heat.max()),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
