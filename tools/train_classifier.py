#!/usr/bin/env python3
"""Train the small Fashion-MNIST canvas CNN and export it as TorchScript.

    tools/rsicam-python tools/train_classifier.py [--out-dir examples/models]

Writes, in --out-dir:
  fmnist_cnn.pt          scripted classifier + rsicam.json metadata
  fmnist_cnn_t20.pt      the same network with logits x20 ("saturated"),
                         same layer paths, metadata "temperature": 20
  fmnist_cnn.stats.json  what was measured (accuracies, counts, seconds)

Everything is seeded (canvases, weights, shuffling, augmentation) and torch
runs with deterministic algorithms and a fixed thread count (--threads), so
a rerun with the same arguments reproduces the same model as far as torch's
CPU kernels allow.
"""
import argparse
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist_common as fc  # noqa: E402
import rsicam_meta  # noqa: E402

DEFAULT_LAYER = "features.17"      # ReLU of the last conv block, 96 x 12 x 12
CHANNEL_PERMS = [(0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1),
                 (2, 1, 0)]


def conv_block(cin, cout, pool):
    layers = [nn.Conv2d(cin, cout, 3, padding=1, bias=False),
              nn.BatchNorm2d(cout), nn.ReLU(inplace=False)]
    if pool:
        layers.append(nn.MaxPool2d(2))
    return layers


class FmnistCNN(nn.Module):
    """features (96 -> 12 px) then global average pool + linear.

    features.0-3    conv 3->16, BN, ReLU, maxpool   96 -> 48
    features.4-7    conv 16->32, BN, ReLU, maxpool  48 -> 24
    features.8-11   conv 32->64, BN, ReLU, maxpool  24 -> 12
    features.12-14  conv 64->96, BN, ReLU           12
    features.15-17  conv 96->96, BN, ReLU           12
    classifier      AdaptiveAvgPool2d(1), Flatten, Linear(96, 10)
    """

    def __init__(self, num_classes=10):
        super().__init__()
        self.features = nn.Sequential(
            *conv_block(3, 16, True), *conv_block(16, 32, True),
            *conv_block(32, 64, True), *conv_block(64, 96, False),
            *conv_block(96, 96, False))
        self.classifier = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(1), nn.Linear(96, num_classes))

    def forward(self, x):
        return self.classifier(self.features(x))


class Tempered(nn.Module):
    """The same `features` and `classifier` submodules, logits x T."""

    def __init__(self, base, temperature):
        super().__init__()
        self.features = base.features
        self.classifier = base.classifier
        self.temperature = float(temperature)

    def forward(self, x):
        return self.classifier(self.features(x)) * self.temperature


def augment(xb, gen):
    """Per-sample random channel permutation and horizontal flip (uint8)."""
    n = xb.shape[0]
    perm_idx = torch.randint(0, len(CHANNEL_PERMS), (n,), generator=gen)
    flip = torch.randint(0, 2, (n,), generator=gen).bool()
    perms = torch.tensor(CHANNEL_PERMS, dtype=torch.int64)[perm_idx]
    idx = perms.view(n, 3, 1, 1).expand(n, 3, xb.shape[2], xb.shape[3])
    out = torch.gather(xb, 1, idx)
    out[flip] = out[flip].flip(3)
    return out


@torch.no_grad()
def predict(model, x_uint8, mean, std, batch=250):
    model.eval()
    preds = []
    for i in range(0, x_uint8.shape[0], batch):
        logits = model(fc.normalise(x_uint8[i:i + batch], mean, std))
        preds.append(logits.argmax(1))
    return torch.cat(preds)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    p.add_argument("--out-dir", default=os.path.join(root, "examples", "models"))
    p.add_argument("--samples", default=os.path.join(root, "examples", "samples"),
                   help="samples folder to score (samples.csv + PNGs)")
    p.add_argument("--seed", type=int, default=0, help="torch seed")
    p.add_argument("--train-seed", type=int, default=1,
                   help="canvas seed of the train split")
    p.add_argument("--train-count", type=int, default=40000)
    p.add_argument("--test-seed", type=int, default=7,
                   help="canvas seed of the test split (the samples' seed)")
    p.add_argument("--test-count", type=int, default=10000)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)

    fc.set_determinism(args.seed, args.threads)
    t_start = time.time()
    print("generating %d train canvases (seed %d)" % (args.train_count,
                                                      args.train_seed), flush=True)
    x_train, y_train, _ = fc.make_canvas_set("train", args.train_seed,
                                             args.train_count)
    print("generating %d test canvases (seed %d)" % (args.test_count,
                                                     args.test_seed), flush=True)
    x_test, y_test, _ = fc.make_canvas_set("test", args.test_seed,
                                           args.test_count)
    mean, std = fc.channel_stats(x_train)
    mean = [round(float(v), 4) for v in mean]
    std = [round(float(v), 4) for v in std]
    print("train mean %s std %s" % (mean, std), flush=True)
    t_data = time.time() - t_start

    torch.manual_seed(args.seed)
    model = FmnistCNN()
    gen = torch.Generator().manual_seed(args.seed + 1)
    steps_per_epoch = (args.train_count + args.batch - 1) // args.batch
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch,
        pct_start=0.2)

    t_train0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(args.train_count, generator=gen)
        tot_loss, correct, seen = 0.0, 0, 0
        t_ep = time.time()
        for s in range(steps_per_epoch):
            idx = order[s * args.batch:(s + 1) * args.batch]
            xb = fc.normalise(augment(x_train[idx], gen), mean, std)
            yb = y_train[idx]
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            tot_loss += float(loss) * yb.numel()
            correct += int((logits.argmax(1) == yb).sum())
            seen += yb.numel()
            if (s + 1) % 50 == 0:
                print("  epoch %d step %d/%d loss %.4f acc %.4f (%.0f s)"
                      % (epoch + 1, s + 1, steps_per_epoch, tot_loss / seen,
                         correct / seen, time.time() - t_ep), flush=True)
        quick = min(2000, args.test_count)
        acc = float((predict(model, x_test[:quick], mean, std)
                     == y_test[:quick]).float().mean())
        print("epoch %d: loss %.4f train acc %.4f test acc (first %d) %.4f "
              "(%.0f s)" % (epoch + 1, tot_loss / seen, correct / seen, quick,
                            acc, time.time() - t_ep), flush=True)
    t_train = time.time() - t_train0

    model.eval()
    test_pred = predict(model, x_test, mean, std)
    test_acc = float((test_pred == y_test).float().mean())
    print("test accuracy on %d canvases: %.4f" % (args.test_count, test_acc))

    os.makedirs(args.out_dir, exist_ok=True)
    meta = dict(input_size=(96, 96), mean=mean, std=std,
                labels=fc.CLASS_NAMES, default_layer=DEFAULT_LAYER,
                model="fmnist_cnn",
                description="Fashion-MNIST item on a 96x96 cluttered canvas "
                            "(tools/fmnist_canvas.py); input is RGB pixels/255 "
                            "normalised with mean/std")
    scripted = torch.jit.script(model)
    path = os.path.join(args.out_dir, "fmnist_cnn.pt")
    rsicam_meta.save(scripted, path, **meta)
    t20 = Tempered(model, 20.0).eval()
    path20 = os.path.join(args.out_dir, "fmnist_cnn_t20.pt")
    rsicam_meta.save(torch.jit.script(t20), path20, temperature=20, **meta)

    # Check the exported files, and score the committed samples with them.
    loaded, lmeta = rsicam_meta.load(path)
    loaded20, _ = rsicam_meta.load(path20)
    with torch.no_grad():
        xs = fc.normalise(x_test[:64], mean, std)
        ref = model(xs)
        got = loaded(xs)
        got20 = loaded20(xs)
    assert torch.allclose(ref, got, atol=1e-5), "exported model differs"
    assert torch.allclose(got20, got * 20, rtol=1e-5, atol=1e-4)
    assert lmeta["default_layer"] == DEFAULT_LAYER

    samples_acc, samples_count = None, 0
    if os.path.isfile(os.path.join(args.samples, "samples.csv")):
        xs_u8, ys, _ = fc.load_samples(args.samples)
        samples_count = int(ys.numel())
        samples_acc = float((predict(loaded, xs_u8, mean, std) == ys)
                            .float().mean())
        print("accuracy on %d samples in %s: %.4f"
              % (samples_count, args.samples, samples_acc))
    else:
        print("no samples at %s: samples_accuracy not measured" % args.samples)

    stats = {"test_accuracy": round(test_acc, 4),
             "test_count": args.test_count,
             "test_split": "test", "test_seed": args.test_seed,
             "samples_accuracy": (None if samples_acc is None
                                  else round(samples_acc, 4)),
             "samples_count": samples_count,
             "train_count": args.train_count, "train_seed": args.train_seed,
             "epochs": args.epochs, "seed": args.seed,
             "threads": args.threads,
             "data_seconds": round(t_data, 1),
             "train_seconds": round(t_train, 1),
             "total_seconds": round(time.time() - t_start, 1),
             "mean": mean, "std": std, "default_layer": DEFAULT_LAYER,
             "torch": torch.__version__}
    fc.write_stats(os.path.join(args.out_dir, "fmnist_cnn.stats.json"), stats)
    return 0


if __name__ == "__main__":
    fc.fix_hash_seed()
    sys.exit(main())
