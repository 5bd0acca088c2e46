"""The frozen head: the network before the first layer runs frozen.

rsicam cuts the exposed forward at its first requested layer: the head
(what no layer's delta reaches) runs without gradient, frozen (parameters
as constants) and, on a CPU in float32, on oneDNN; the tail is
differentiated as before. RSICAM_HEAD=folded also folds batch norm into
the convolutions; RSICAM_HEAD=plain runs the whole forward as written.
Here, on a small residual network with batch norm built at test time
(scripted, so the layer rewrite inlines nested calls):

- the head really is cut and frozen (RSICAM_DEBUG_GRAPH shows the two
  graphs: oneDNN convolutions in float32, none in bf16; batch norm kept,
  except folded; in float32 the relus inside the convolutions, batch norms
  and residual sums before them, unless their input is read again; the
  tail starts at the layer);
- at a block, inside a residual block (the tail then also reads the
  block's shortcut from the head) and at several layers, frozen or folded,
  the maps correlate with the plain forward's and the completeness gaps
  move by at most 1e-6 (this net's convolutions are too small for aten to
  use oneDNN, so even the frozen head rounds apart; on ResNet50, where aten
  uses oneDNN too, test_parity.py finds the frozen head's maps equal to
  the plain forward's); bf16 gives the plain forward's maps within bf16's
  rounding;
- a head with a loop (a batch norm inside it, on a convolution's output
  made before it) gives the plain forward's maps;
- a forward that changes module state before the layers cannot be frozen:
  one line says so and the maps are those of the plain forward, bit for bit;
- a weight that is NaN or Inf before the layers is refused as the plain
  forward refuses it (oneDNN's relu and max pooling would hide the NaN);
- a bf16 head pools through oneDNN (rsicam::head_max_pool2d), aten's
  maxima bit for bit, unless a weight is NaN;
- where aten runs bfloat16 convolutions on oneDNN, a bf16 head runs its
  rows channels-last, and the maps are the plain forward's bit for bit;
- a bf16 head's rows run with the weights of the convolutions before the
  first layer cast to bf16 once (the trace counts them), not those that
  run after it in float32 (a shortcut's), to the plain forward's bits;
- RSICAM_HEAD with an unknown value is an error naming it.
(The parity fixtures, ResNet50 and VGG19, are compared in test_parity.py.)
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import unittest

import numpy as np
import torch
from torch import nn

RSICAM = os.environ["RSICAM_BIN"]
TMP = os.path.join(os.environ.get("RSICAM_TEST_TMP", "/tmp/rsicam-test"),
                   "frozen_head")
SIZE = 48


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self.conv2 = nn.Conv2d(c, c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)

    def forward(self, x):
        y = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(x + self.bn2(self.conv2(y)))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 16, 3, stride=2, padding=1),
                                  nn.BatchNorm2d(16), nn.ReLU())
        self.blocks = nn.Sequential(Block(16), Block(16), Block(16))
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(
            self.blocks(self.stem(x)), 1), 1))


class Pooled(Net):
    """Net with max pooling in its stem."""

    def __init__(self):
        super().__init__()
        self.stem.append(nn.MaxPool2d(3, 2, 1))


class Down(nn.Module):
    """A block that halves the resolution, its shortcut's convolution run
    after the block's own (as torchvision's ResNet orders them)."""

    def __init__(self, c):
        super().__init__()
        self.conv1 = nn.Conv2d(c, 2 * c, 3, stride=2, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(2 * c)
        self.conv2 = nn.Conv2d(2 * c, 2 * c, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(2 * c)
        self.down = nn.Sequential(nn.Conv2d(c, 2 * c, 1, stride=2,
                                            bias=False), nn.BatchNorm2d(2 * c))

    def forward(self, x):
        y = self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(x)))))
        return torch.relu(y + self.down(x))


class Downsampled(Net):
    """Net whose last block halves the resolution."""

    def __init__(self):
        super().__init__()
        self.blocks[2] = Down(16)
        self.fc = nn.Linear(32, 5)


class Looped(Net):
    """Net whose stem's batch norm and relu run three times in a loop on
    the convolution's output, made before the loop (libtorch's conversion
    to oneDNN's layouts leaves a loop's body as written, so the batch norm
    stays aten's there; were it converted, rsicam must not run it in place,
    or it would normalise its own output again at every turn)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1)
        self.norm = nn.BatchNorm2d(16)

    def forward(self, x):
        y = self.stem(x)
        z = torch.zeros_like(y)
        for _ in range(3):
            z = z + torch.relu(self.norm(y))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(
            self.blocks(z), 1), 1))


class Tapped(Net):
    """Net whose stem's convolution is read by its relu and again after
    it: that relu cannot run inside the convolution."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 16, 3, stride=2, padding=1)

    def forward(self, x):
        y = self.stem(x)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(
            self.blocks(torch.relu(y) + y), 1), 1))


class Counting(nn.Module):
    """Changes its own state before the layers: not freezable."""

    def __init__(self):
        super().__init__()
        self.net = Net()
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        return self.net(x)


def made(make):
    """make() with random weights and batch-norm statistics measured on
    random inputs (random statistics would make the output independent of
    the input), the same in every run."""
    torch.manual_seed(11)
    net = make().train()
    with torch.no_grad():
        for _ in range(4):
            net(torch.randn(8, 3, SIZE, SIZE))
    return net.eval()


def save(net, path):
    meta = {"input_size": [SIZE, SIZE], "mean": [0.5] * 3, "std": [0.25] * 3}
    torch.jit.save(torch.jit.script(net), path,
                   _extra_files={"rsicam.json": json.dumps(meta)})


TRACE = {"RSICAM_TRACE": "1"}
# whether the build runs relus inside oneDNN's calls (test_onednn_relu.py)
FUSED = os.environ.get("RSICAM_ONEDNN_RELU", "ON") == "ON"


def fused_relus(n):
    """The trace's words for n relus run inside oneDNN's calls."""
    return (", %d relus run inside oneDNN's convolutions, batch norms and "
            "sums" % n) if FUSED else ""


def explain(model, layers, out, head, extra=(), env=None):
    env = dict(os.environ, RSICAM_HEAD=head, RSICAM_DEBUG_GRAPH="1",
               **(env or {}))
    args = [RSICAM, "explain", "--model", model, "--image", image(),
            "--layer", layers, "--steps", "24", "--out", out, "--quiet",
            # one batch for every head: --batch auto measures each head
            # apart, and rows per forward change the last bits
            "--batch", "8",
            "--threads", "2", "--method", "rsi,gradcam", "--variant",
            "relu,guided,plain", "--score", "softmax,logit", *extra]
    p = subprocess.run(args, env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed:\n{p.stderr}")
    return p.stderr


def image():
    return os.path.join(TMP, "img.png")


def records(out):
    with open(os.path.join(out, "results.jsonl")) as f:
        return [json.loads(line) for line in f]


def graph(stderr, title):
    """The text of one graph that RSICAM_DEBUG_GRAPH printed."""
    start = stderr.index("rsicam: " + title + ":")
    end = stderr.find("rsicam: ", start + 1)
    return stderr[start:end if end >= 0 else len(stderr)]


def bf16_convs_on_onednn():
    """aten's own test (and rsicam's) for running bfloat16 convolutions on
    oneDNN: AVX512 BW, VL and DQ."""
    with open("/proc/cpuinfo") as f:
        flags = set(next((line for line in f if line.startswith("flags")),
                         "").split())
    return torch.backends.mkldnn.is_available() and \
        {"avx512bw", "avx512vl", "avx512dq"} <= flags


class FrozenHead(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        shutil.rmtree(TMP, ignore_errors=True)
        os.makedirs(TMP)
        save(made(Net), os.path.join(TMP, "net.pt"))
        save(made(Counting), os.path.join(TMP, "counting.pt"))
        save(made(Looped), os.path.join(TMP, "looped.pt"))
        save(made(Pooled), os.path.join(TMP, "pooled.pt"))
        save(made(Downsampled), os.path.join(TMP, "downsampled.pt"))
        save(made(Tapped), os.path.join(TMP, "tapped.pt"))
        rng = np.random.default_rng(5)
        from PIL import Image
        Image.fromarray((rng.random((SIZE, SIZE, 3)) * 255).astype("uint8"),
                        "RGB").save(image())

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(TMP, ignore_errors=True)

    def same_bits(self, frozen, plain):
        """Every map file (.npy) of plain is frozen's, byte for byte."""
        maps = sorted(glob.glob(os.path.join(plain, "*.npy")))
        self.assertGreater(len(maps), 0)
        for f in maps:
            name = os.path.basename(f)
            with open(f, "rb") as a, \
                    open(os.path.join(frozen, name), "rb") as b:
                self.assertEqual(a.read(), b.read(), name)

    def same_maps(self, frozen, plain, min_corr, max_gap_change):
        """Every map of frozen correlates with plain's; the completeness
        gaps (relative to the score change) move by at most
        max_gap_change."""
        cams = sorted(glob.glob(os.path.join(plain, "*.cam.npy")))
        self.assertGreater(len(cams), 0)
        compared = 0
        for f in cams:
            a = np.load(f).astype(np.float64).ravel()
            b = np.load(os.path.join(frozen, os.path.basename(f)))
            b = b.astype(np.float64).ravel()
            if a.std() == 0 or b.std() == 0:
                self.assertTrue(np.allclose(a, b, atol=1e-6 * abs(a).max()),
                                os.path.basename(f))
                continue
            corr = np.corrcoef(a, b)[0, 1]
            self.assertGreaterEqual(corr, min_corr, os.path.basename(f))
            compared += 1
        self.assertGreater(compared, len(cams) // 2)
        for r, s in zip(records(plain), records(frozen)):
            self.assertEqual((r["layer"], r["method"], r["score"]),
                             (s["layer"], s["method"], s["score"]))
            if "completeness_rel" in r:
                self.assertLessEqual(
                    abs(r["completeness_rel"] - s["completeness_rel"]),
                    max_gap_change, (r["layer"], r["variant"], r["score"]))

    def test_head_is_frozen(self):
        net = os.path.join(TMP, "net.pt")
        err = explain(net, "blocks.2", os.path.join(TMP, "structure"),
                      "frozen", env=TRACE)
        # its one-time cost, once, in the trace: the stem's relu, each
        # block's first and each residual sum's run inside the oneDNN call
        # before them (test_onednn_relu.py)
        fused = FUSED
        self.assertEqual(len(re.findall(
            r"rsicam: trace: head frozen and its convolutions prepacked%s in "
            r"[\d.]+ ms\n" % fused_relus(7), err)), 1, err)
        head, tail = graph(err, "frozen head"), graph(err, "tail")
        self.assertIn("batch_norm", head)  # not folded
        self.assertIn("prim::mkldnn_convolution", head)
        if fused:
            self.assertEqual(head.count("rsicam::onednn_batch_norm_("), 7)
            self.assertEqual(head.count("rsicam::onednn_add_relu_("), 3)
            self.assertNotIn("aten::batch_norm", head)
            self.assertNotIn("aten::relu", head)
        # the tail reads the last block's output and runs only the pooling
        # and the classifier
        self.assertNotIn("conv", tail)
        self.assertIn("aten::linear", tail)
        err = explain(net, "blocks.2", os.path.join(TMP, "structurefold"),
                      "folded", env=TRACE)
        head = graph(err, "frozen head")
        self.assertNotIn("batch_norm", head)
        # the stem's and each block's first convolution with the relu
        # after it (batch norm folded away), the second before the sum
        self.assertIn("prim::mkldnn_convolution", head)
        self.assertIn(fused_relus(7), err)
        if fused:
            self.assertEqual(head.count("rsicam::onednn_conv_relu("), 4)
            self.assertEqual(head.count("rsicam::onednn_add_relu_("), 3)
            self.assertNotIn("aten::relu", head)
        err = explain(net, "blocks.2", os.path.join(TMP, "structure16"),
                      "folded", ("--precision", "bf16"), env=TRACE)
        # no oneDNN conversion under bf16, channels-last rows where aten's
        # bfloat16 convolutions are oneDNN's; the stem's weight and bias
        # and each block convolution's (batch norm folded into it: a
        # bias) cast to bf16 once
        layout = ", channels-last" if bf16_convs_on_onednn() else ""
        self.assertEqual(len(re.findall(
            r"rsicam: trace: head frozen%s, 14 weights cast to bf16 in "
            r"[\d.]+ ms\n" % layout, err)), 1, err)
        head = graph(err, "frozen head")
        self.assertNotIn("batch_norm", head)
        self.assertNotIn("mkldnn", head)

    def test_head_is_frozen_under_every_executor(self):
        # without graph optimisation ("simple") libtorch inlines one level
        # of calls at a time; the nested blocks must still be inlined, also
        # when the model already ran whole before its layers were exposed
        # (--labels counts its classes), which caches each submodule's
        # graph as that executor prepares it
        net = os.path.join(TMP, "net.pt")
        labels = os.path.join(TMP, "labels.txt")
        with open(labels, "w") as f:
            f.write("a\nb\nc\nd\ne\n")
        for executor in ("profiling", "legacy", "simple"):
            for extra in ((), ("--labels", labels)):
                with self.subTest(executor=executor, extra=extra):
                    err = explain(net, "blocks.2",
                                  os.path.join(TMP, executor + str(len(extra))),
                                  "frozen", extra,
                                  env={"RSICAM_EXECUTOR": executor})
                    self.assertNotIn(
                        "the whole forward runs with gradients", err)
                    self.assertIn("prim::mkldnn_convolution",
                                  graph(err, "frozen head"))

    def test_maps_as_plain(self):
        net = os.path.join(TMP, "net.pt")
        for name, layers, extra in (
                ("block", "blocks.1", ()),
                ("inside", "blocks.2.conv2", ()),
                ("several", "blocks.2,blocks.0.conv1,blocks.1", ()),
                ("bf16", "blocks.1,blocks.2.conv2", ("--precision", "bf16"))):
            with self.subTest(case=name):
                outs = {head: os.path.join(TMP, f"{name}-{head}")
                        for head in ("frozen", "folded", "plain")}
                for head, out in outs.items():
                    err = explain(net, layers, out, head, extra)
                    self.assertEqual("rsicam: frozen head:" in err,
                                     head != "plain", head)
                if name == "bf16":
                    for head in ("frozen", "folded"):
                        self.same_maps(outs[head], outs["plain"], 0.999, 1e-2)
                else:  # oneDNN's kernels round apart from aten's here
                    for head in ("frozen", "folded"):
                        self.same_maps(outs[head], outs["plain"], 0.9999,
                                       1e-6)

    def test_relu_apart_where_its_input_is_read_again(self):
        tapped = os.path.join(TMP, "tapped.pt")
        frozen, plain = (os.path.join(TMP, "tapped-" + head)
                         for head in ("frozen", "plain"))
        err = explain(tapped, "blocks.2", frozen, "frozen", env=TRACE)
        head = graph(err, "frozen head")
        # each block's two relus inside oneDNN's calls, the stem's not
        self.assertIn(fused_relus(6), err)
        self.assertNotIn("onednn_conv_relu", head)
        self.assertEqual(head.count("aten::relu("), 1)
        explain(tapped, "blocks.2", plain, "plain")
        self.same_maps(frozen, plain, 0.9999, 1e-6)

    def test_batch_norm_in_a_loop(self):
        looped = os.path.join(TMP, "looped.pt")
        frozen, plain = (os.path.join(TMP, "looped-" + head)
                         for head in ("frozen", "plain"))
        err = explain(looped, "blocks.1", frozen, "frozen")
        self.assertIn("prim::Loop", graph(err, "frozen head"))
        explain(looped, "blocks.1", plain, "plain")
        self.same_maps(frozen, plain, 0.9999, 1e-6)

    def test_unfreezable_head_falls_back(self):
        model = os.path.join(TMP, "counting.pt")
        frozen = os.path.join(TMP, "counting-frozen")
        plain = os.path.join(TMP, "counting-plain")
        err = explain(model, "net.blocks.1", frozen, "frozen", env=TRACE)
        self.assertIn("the whole forward runs with gradients", err)
        self.assertNotIn("head frozen", err)
        self.assertIn("prim::SetAttr", err)
        self.assertNotIn("rsicam: frozen head:", err)
        explain(model, "net.blocks.1", plain, "plain")
        self.same_bits(frozen, plain)

    def test_bf16_head_pools_on_onednn(self):
        # a bf16 head keeps aten's kernels but pools through oneDNN
        # (rsicam::head_max_pool2d), unless a weight is NaN (oneDNN's
        # pooling would hide it); float32 heads pool on oneDNN anyway
        pooled = os.path.join(TMP, "pooled.pt")
        bf16 = ("--precision", "bf16")
        head = graph(explain(pooled, "blocks.1", os.path.join(TMP, "pool16"),
                             "frozen", bf16), "frozen head")
        self.assertIn("rsicam::head_max_pool2d", head)
        self.assertNotIn("aten::max_pool2d", head)
        head = graph(explain(pooled, "blocks.1", os.path.join(TMP, "pool32"),
                             "frozen"), "frozen head")
        self.assertNotIn("head_max_pool2d", head)
        net = made(Pooled)
        with torch.no_grad():
            net.blocks[0].conv1.weight[0, 0, 0, 0] = float("nan")
        save(net, os.path.join(TMP, "pooled-nan.pt"))
        p = subprocess.run(
            [RSICAM, "explain", "--model", os.path.join(TMP, "pooled-nan.pt"),
             "--image", image(), "--layer", "blocks.1", "--out",
             os.path.join(TMP, "pool-nan"), "--quiet", *bf16],
            env=dict(os.environ, RSICAM_DEBUG_GRAPH="1"),
            capture_output=True, text=True)
        self.assertEqual(p.returncode, 4, p.stderr)
        self.assertIn("aten::max_pool2d", graph(p.stderr, "frozen head"))
        self.assertNotIn("head_max_pool2d", p.stderr)

    def test_bf16_head_runs_channels_last(self):
        # where aten runs bfloat16 convolutions on oneDNN (its test: AVX512
        # BW, VL and DQ), the bf16 head's rows enter it channels-last:
        # the maps are still the plain forward's, bit for bit, at a block
        # and inside one (the tail then also reads the shortcut), with each
        # path's float32 ends run as written
        pooled = os.path.join(TMP, "pooled.pt")
        bf16 = ("--precision", "bf16")
        onednn = bf16_convs_on_onednn()
        outs = {head: os.path.join(TMP, f"nhwc-{head}")
                for head in ("frozen", "plain")}
        err = explain(pooled, "blocks.1,blocks.2.conv2", outs["frozen"],
                      "frozen", bf16, env=TRACE)
        self.assertEqual("rsicam: trace: head frozen, channels-last" in err,
                         onednn)
        explain(pooled, "blocks.1,blocks.2.conv2", outs["plain"], "plain",
                bf16)
        if onednn:
            self.same_bits(outs["frozen"], outs["plain"])
        else:  # nothing to hold to the bit, but the runs made maps
            self.assertTrue(glob.glob(os.path.join(outs["plain"], "*.npy")))
        self.assertNotIn("channels-last", explain(
            pooled, "blocks.1", os.path.join(TMP, "nhwc-fp32"), "frozen",
            env=TRACE))

    def test_bf16_shortcut_after_the_layer(self):
        # a layer inside a block whose shortcut runs after it: the
        # shortcut reads the block's input, made in bfloat16 before the
        # layer, and runs after it in float32 like the rest of the network
        # after the first layer, frozen or not, to the same bits; its
        # weight stays float32 where those before the layer are cast to
        # bf16 (the stem's weight and bias, two blocks' four, the layer's
        # block's two)
        model = os.path.join(TMP, "downsampled.pt")
        outs = {head: os.path.join(TMP, f"shortcut-{head}")
                for head in ("frozen", "plain")}
        said = {head: explain(model, "blocks.2.conv2", out, head,
                              ("--precision", "bf16"), env=TRACE)
                for head, out in outs.items()}
        self.same_bits(outs["frozen"], outs["plain"])
        self.assertRegex(said["frozen"],
                         r"head frozen[\w, -]*, 8 weights cast to bf16 in")

    def test_head_max_pool2d_gives_atens_maxima(self):
        # the operator itself, registered in this process by rsicam's
        # Python package: aten's maxima bit for bit, in aten's layout
        sys.path.insert(0, os.path.join(os.path.dirname(RSICAM), "python"))
        try:
            import rsicam  # noqa: F401  (registers rsicam's operators)
        except ImportError as e:
            self.skipTest(f"rsicam's Python package not built: {e}")
        pool = torch.ops.rsicam.head_max_pool2d
        torch.manual_seed(3)
        for dtype in (torch.bfloat16, torch.float32):
            x = torch.randn(3, 5, 17, 18).to(dtype)
            for k, s, p, d, ceil in (([3, 3], [2, 2], [1, 1], [1, 1], False),
                                     ([2, 2], [], [0, 0], [1, 1], False),
                                     ([3, 2], [2, 1], [1, 0], [1, 1], True),
                                     ([3, 3], [1, 1], [0, 0], [2, 2], False)):
                for layout in (torch.contiguous_format, torch.channels_last):
                    with self.subTest(dtype=dtype, k=k, s=s, ceil=ceil, d=d,
                                      layout=layout):
                        xl = x.contiguous(memory_format=layout)
                        got = pool(xl, k, s, p, d, ceil)
                        want = nn.functional.max_pool2d(xl, k, s or None, p,
                                                        d, ceil)
                        self.assertTrue(torch.equal(got, want))
                        self.assertEqual(got.stride(), want.stride())

    def test_non_finite_weight_refused_as_written(self):
        # a NaN or Inf weight before the layers gives NaN logits as the
        # model is written; oneDNN's relu makes NaN 0 (and its max pooling
        # makes it the lowest float), so a head on oneDNN would hide it and
        # give a map where the plain forward is refused
        for bad in (float("nan"), float("inf")):
            net = made(Net)
            with torch.no_grad():
                net.stem[0].weight[2, 1, 1, 1] = bad
            model = os.path.join(TMP, f"bad-{bad}.pt")
            save(net, model)
            for head in ("frozen", "folded", "plain"):
                with self.subTest(weight=bad, head=head):
                    p = subprocess.run(
                        [RSICAM, "explain", "--model", model, "--image",
                         image(), "--layer", "blocks.1", "--steps", "4",
                         "--out", os.path.join(TMP, f"bad-{bad}-{head}"),
                         "--quiet"],
                        env=dict(os.environ, RSICAM_HEAD=head),
                        capture_output=True, text=True)
                    self.assertEqual(p.returncode, 4, p.stderr)
                    self.assertIn("the model produced NaN or Inf", p.stderr)

    def test_unknown_head_mode(self):
        p = subprocess.run(
            [RSICAM, "explain", "--model", os.path.join(TMP, "net.pt"),
             "--image", image(), "--layer", "blocks.1", "--out",
             os.path.join(TMP, "bad"), "--quiet"],
            env=dict(os.environ, RSICAM_HEAD="thawed"), capture_output=True,
            text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("RSICAM_HEAD", p.stderr)
        self.assertIn("thawed", p.stderr)
        self.assertIn("frozen, folded or plain", p.stderr)
        self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
