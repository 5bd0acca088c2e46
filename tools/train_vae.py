#!/usr/bin/env python3
"""Train a small convolutional VAE of the Fashion-MNIST canvases and export
it as one TorchScript module.

    tools/rsicam-python tools/train_vae.py [--out-dir examples/models]

The exported module works on pixels in [0, 1] (its rsicam.json says mean
[0,0,0], std [1,1,1]) and exposes:

  encode(x: [N,3,96,96]) -> z     the posterior mean, [N, 8, 12, 12]
  decode(z: [N,8,12,12]) -> x     images in [0, 1] (sigmoid output)
  forward(x) = decode(encode(x))

Writes fmnist_vae.pt and fmnist_vae.stats.json in --out-dir.  Seeds,
deterministic algorithms and a fixed thread count make reruns reproduce the
model as far as torch's CPU kernels allow.
"""
import argparse
import os
import sys
import time

import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fmnist_common as fc  # noqa: E402
import rsicam_meta  # noqa: E402
from train_classifier import augment  # noqa: E402

LATENT_CHANNELS = 8


class FmnistVAE(nn.Module):
    """96x96x3 -> 8x12x12 latent (mean, log-variance) -> 96x96x3.

    The decoder upsamples with nearest-neighbour + 3x3 conv rather than
    ConvTranspose2d: torch 1.13 runs CPU transposed convolution with
    aten::slow_conv_transpose2d, which made a training step ~6.5x slower.
    """

    def __init__(self, latent=LATENT_CHANNELS):
        super().__init__()
        act = nn.LeakyReLU(0.1)
        self.encoder = nn.Sequential(
            nn.Conv2d(3, 32, 4, stride=2, padding=1), act,     # 48
            nn.Conv2d(32, 48, 4, stride=2, padding=1), act,    # 24
            nn.Conv2d(48, 64, 4, stride=2, padding=1), act)    # 12
        self.to_mu = nn.Conv2d(64, latent, 3, padding=1)
        self.to_logvar = nn.Conv2d(64, latent, 3, padding=1)
        self.decoder = nn.Sequential(
            nn.Conv2d(latent, 64, 3, padding=1), act,                     # 12
            nn.Upsample(scale_factor=2.0, mode="nearest"),
            nn.Conv2d(64, 48, 3, padding=1), act,                         # 24
            nn.Upsample(scale_factor=2.0, mode="nearest"),
            nn.Conv2d(48, 32, 3, padding=1), act,                         # 48
            nn.Upsample(scale_factor=2.0, mode="nearest"),
            nn.Conv2d(32, 3, 3, padding=1),                               # 96
            nn.Sigmoid())

    def posterior(self, x):
        h = self.encoder(x)
        return self.to_mu(h), self.to_logvar(h)

    @torch.jit.export
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """Latent mean of images x in [0, 1], [N,3,96,96] -> [N,8,12,12]."""
        return self.to_mu(self.encoder(x))

    @torch.jit.export
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] of latents z, [N,8,12,12] -> [N,3,96,96]."""
        return self.decoder(z)

    def forward(self, x):
        return self.decode(self.encode(x))


def vae_loss(model, x, sigma, beta, gen):
    mu, logvar = model.posterior(x)
    eps = torch.randn(mu.shape, generator=gen)
    z = mu + eps * torch.exp(0.5 * logvar)
    recon = model.decode(z)
    n = x.shape[0]
    rec = ((recon - x) ** 2).sum() / (2.0 * sigma * sigma) / n
    kl = 0.5 * (mu * mu + logvar.exp() - 1.0 - logvar).sum() / n
    mse = float(((recon - x) ** 2).mean())
    return rec + beta * kl, float(rec), float(kl), mse


@torch.no_grad()
def recon_mse(model, x_uint8, batch=250):
    model.eval()
    tot, n = 0.0, 0
    for i in range(0, x_uint8.shape[0], batch):
        x = x_uint8[i:i + batch].float() / 255.0
        tot += float(((model(x) - x) ** 2).sum())
        n += x.numel()
    return tot / n


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.dirname(here)
    p.add_argument("--out-dir", default=os.path.join(root, "examples", "models"))
    p.add_argument("--seed", type=int, default=0, help="torch seed")
    p.add_argument("--train-seed", type=int, default=1,
                   help="canvas seed of the train split")
    p.add_argument("--train-count", type=int, default=20000)
    p.add_argument("--test-seed", type=int, default=7)
    p.add_argument("--test-count", type=int, default=2000)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--sigma", type=float, default=0.02,
                   help="Gaussian decoder std in pixel units (recon weight)")
    p.add_argument("--beta", type=float, default=1.0)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)

    fc.set_determinism(args.seed, args.threads)
    t_start = time.time()
    print("generating %d train canvases (seed %d)" % (args.train_count,
                                                      args.train_seed), flush=True)
    x_train, _, _ = fc.make_canvas_set("train", args.train_seed,
                                       args.train_count)
    x_test, _, _ = fc.make_canvas_set("test", args.test_seed, args.test_count)
    t_data = time.time() - t_start

    torch.manual_seed(args.seed)
    model = FmnistVAE()
    gen = torch.Generator().manual_seed(args.seed + 1)
    steps_per_epoch = (args.train_count + args.batch - 1) // args.batch
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=args.lr, total_steps=args.epochs * steps_per_epoch,
        pct_start=0.15)

    t_train0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        order = torch.randperm(args.train_count, generator=gen)
        t_ep = time.time()
        acc = [0.0, 0.0, 0.0, 0]
        for s in range(steps_per_epoch):
            idx = order[s * args.batch:(s + 1) * args.batch]
            x = augment(x_train[idx], gen).float() / 255.0
            loss, rec, kl, mse = vae_loss(model, x, args.sigma, args.beta, gen)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            acc[0] += rec
            acc[1] += kl
            acc[2] += mse
            acc[3] += 1
            if (s + 1) % 50 == 0:
                k = acc[3]
                print("  epoch %d step %d/%d rec %.1f kl %.1f mse %.5f (%.0f s)"
                      % (epoch + 1, s + 1, steps_per_epoch, acc[0] / k,
                         acc[1] / k, acc[2] / k, time.time() - t_ep),
                      flush=True)
        print("epoch %d: test recon mse %.5f (%.0f s)"
              % (epoch + 1, recon_mse(model, x_test), time.time() - t_ep),
              flush=True)
    t_train = time.time() - t_train0

    model.eval()
    mse = recon_mse(model, x_test)
    psnr = 10.0 * torch.log10(torch.tensor(1.0 / mse)).item()
    print("test recon mse %.5f (PSNR %.2f dB) on %d canvases"
          % (mse, psnr, args.test_count))

    os.makedirs(args.out_dir, exist_ok=True)
    path = os.path.join(args.out_dir, "fmnist_vae.pt")
    scripted = torch.jit.script(model)
    rsicam_meta.save(
        scripted, path, input_size=(96, 96), mean=[0.0, 0.0, 0.0],
        std=[1.0, 1.0, 1.0], labels=None, model="fmnist_vae",
        latent_shape=[LATENT_CHANNELS, 12, 12],
        description="convolutional VAE of the Fashion-MNIST canvases: "
                    "encode(x) -> latent mean [N,8,12,12], decode(z) -> "
                    "pixels in [0,1] [N,3,96,96], forward = decode(encode(x)); "
                    "input is RGB pixels/255 (mean 0, std 1)")

    loaded, _ = rsicam_meta.load(path)
    with torch.no_grad():
        x = x_test[:16].float() / 255.0
        z = loaded.encode(x)
        assert tuple(z.shape) == (16, LATENT_CHANNELS, 12, 12), z.shape
        assert torch.allclose(loaded.decode(z), loaded(x), atol=1e-6)
        assert torch.allclose(loaded(x), model(x), atol=1e-5)

    stats = {"test_recon_mse": round(mse, 6), "test_psnr_db": round(psnr, 2),
             "test_count": args.test_count, "test_seed": args.test_seed,
             "latent_shape": [LATENT_CHANNELS, 12, 12],
             "train_count": args.train_count, "train_seed": args.train_seed,
             "epochs": args.epochs, "seed": args.seed, "sigma": args.sigma,
             "beta": args.beta, "threads": args.threads,
             "data_seconds": round(t_data, 1),
             "train_seconds": round(t_train, 1),
             "total_seconds": round(time.time() - t_start, 1),
             "torch": torch.__version__}
    fc.write_stats(os.path.join(args.out_dir, "fmnist_vae.stats.json"), stats)
    return 0


if __name__ == "__main__":
    fc.fix_hash_seed()
    sys.exit(main())
