#!/usr/bin/env python3
"""The frozen head's relus inside oneDNN's calls (core/torch/onednn_relu.cpp).

In a float32 head on a CPU, libtorch runs batch norm, residual sums and
relus on oneDNN tensors, each a pass of its own; rsicam replaces a batch
norm on a convolution's output (in place, with the relu after it where
there is one) and an in-place sum followed by a relu with one oneDNN call
each. The maps must not move, so each operator must give what the pair it
replaces gives, bit for bit. Here, against libtorch's own operators on the
same oneDNN tensors:

- rsicam::onednn_batch_norm_ with and without its relu, on 4-D and 5-D
  tensors, channel counts that fill oneDNN's blocks of 16 and that do not,
  values around zero (the relu's edge), large ones and negative zeros;
  it writes into its input and returns it;
- rsicam::onednn_add_relu_, which writes relu(a + b) into a, for operands
  in the same layout and in another (b plain, a blocked);
- rsicam::onednn_conv_relu, relu(convolution) with the relu as the
  convolution's post-op, against libtorch's prim::mkldnn_convolution
  (torch.mkldnn_convolution) and a relu: VGG's and ResNet's shapes
  (3x3, 1x1 and 7x7, strides 1 and 2, with and without bias), dilation,
  groups, depthwise, channels that do not fill a block, 3-D, the weights
  prepacked as the frozen head holds them and as they are;
- tensors not in oneDNN's layout run as aten runs them.

The graph-level counterpart (which nodes are replaced, the trace's count)
is in test_frozen_head.py; the maps on ResNet50 and VGG19 in
test_parity.py. Skipped where the build has no such operators
(RSICAM_ONEDNN_RELU=OFF: a libtorch that does not link the system's
oneDNN); where the build says it has them, their absence is a failure.
"""
import os
import unittest

import torch

from python_api_env import needs_rsicam, rsicam  # noqa: F401 (registers)

BUILT = os.environ.get("RSICAM_ONEDNN_RELU", "ON") == "ON"


def stats(c, gen):
    weight = torch.randn(c, generator=gen)
    bias = torch.randn(c, generator=gen)
    mean = torch.randn(c, generator=gen)
    var = torch.rand(c, generator=gen) + 0.1
    return weight, bias, mean, var


def activations(shape, gen):
    """Values of every kind a relu meets: around zero, negative zeros,
    large, and exact zeros."""
    x = torch.randn(shape, generator=gen)
    flat = x.view(-1)
    flat[::7] *= 1e-6
    flat[1::11] = -0.0
    flat[2::13] = 0.0
    flat[3::17] *= 1e4
    return x


def blocked(x):
    """x as a oneDNN tensor in the blocked layout a convolution gives
    (to_mkldnn() keeps the plain one): x through a 1x1 convolution whose
    weight is the identity, which every value crosses unchanged."""
    c, spatial = x.shape[1], x.dim() - 2
    eye = torch.eye(c).view(c, c, *[1] * spatial).to_mkldnn()
    return torch.mkldnn_convolution(x.to_mkldnn(), eye, None, [0] * spatial,
                                    [1] * spatial, [1] * spatial, 1)


def same_bits(a, b):
    return torch.equal(a.view(torch.int32), b.view(torch.int32))


@needs_rsicam
@unittest.skipUnless(BUILT, "built without RSICAM_ONEDNN_RELU")
class OnednnRelu(unittest.TestCase):
    SHAPES = [(8, 64, 14, 14), (3, 16, 7, 7), (2, 24, 5, 5), (1, 3, 9, 4),
              (2, 32, 3, 5, 5)]

    def test_batch_norm_with_and_without_relu(self):
        gen = torch.Generator().manual_seed(3)
        eps = 1e-5
        for shape in self.SHAPES:
            x = activations(shape, gen)
            w, b, m, v = stats(shape[1], gen)
            params = [t.to_mkldnn() for t in (w, b, m, v)]
            for relu in (False, True):
                with self.subTest(shape=shape, relu=relu):
                    want = torch.batch_norm(blocked(x), *params, False, 0.1,
                                            eps, False)
                    if relu:
                        want = want.relu_()
                    xm = blocked(x)
                    got = torch.ops.rsicam.onednn_batch_norm_(xm, *params, eps, relu)
                    self.assertTrue(same_bits(got.to_dense(),
                                              want.to_dense()))
                    # in place: the input holds the result
                    self.assertTrue(same_bits(xm.to_dense(), got.to_dense()))
                    if relu:
                        self.assertGreaterEqual(got.to_dense().min().item(),
                                                0.0)

    def test_add_relu(self):
        gen = torch.Generator().manual_seed(5)
        for shape in self.SHAPES:
            a, b = activations(shape, gen), activations(shape, gen)
            with self.subTest(shape=shape):
                want = blocked(a).add_(blocked(b)).relu_().to_dense()
                am = blocked(a)
                got = torch.ops.rsicam.onednn_add_relu_(am, blocked(b))
                self.assertTrue(same_bits(got.to_dense(), want))
                self.assertTrue(same_bits(am.to_dense(), want))
                # aten's dense pair gives the same values (blocked() may
                # turn a negative zero into a positive one)
                self.assertTrue(torch.equal(want, torch.relu(a + b)))

    # (batch, in, out, size, kernel, stride, padding, dilation, groups,
    # bias)
    CONVS = [(2, 3, 64, 32, 3, 1, 1, 1, 1, True),     # VGG's first
             (2, 64, 64, 32, 3, 1, 1, 1, 1, True),
             (9, 64, 128, 16, 3, 1, 1, 1, 1, True),    # 9 rows: a tail
             (2, 512, 512, 7, 3, 1, 1, 1, 1, True),
             (2, 3, 64, 40, 7, 2, 3, 1, 1, True),      # ResNet's stem
             (2, 64, 256, 14, 1, 1, 0, 1, 1, True),
             (2, 256, 128, 14, 1, 2, 0, 1, 1, False),
             (2, 32, 32, 12, 3, 1, 2, 2, 4, True),
             (2, 24, 40, 9, 3, 2, 1, 1, 1, True),      # padded blocks
             (2, 32, 32, 12, 3, 1, 1, 1, 32, False)]   # depthwise

    def conv_pair(self, x, w, b, stride, padding, dilation, groups):
        """libtorch's convolution and relu, and rsicam's one call."""
        want = torch.mkldnn_convolution(x, w, b, padding, stride, dilation,
                                        groups).relu_()
        got = torch.ops.rsicam.onednn_conv_relu(x, w, b, stride, padding,
                                                dilation, groups)
        return got, want

    def test_conv_relu(self):
        gen = torch.Generator().manual_seed(11)
        reorder = torch._C._nn.mkldnn_reorder_conv2d_weight
        for n, ci, co, size, k, s, p, d, g, has_bias in self.CONVS:
            x = activations((n, ci, size, size), gen)
            w = torch.randn(co, ci // g, k, k, generator=gen) * 0.2
            b = torch.randn(co, generator=gen).to_mkldnn() if has_bias \
                else None
            s2, p2, d2 = [s, s], [p, p], [d, d]
            weights = {"prepacked": reorder(w.to_mkldnn(), p2, s2, d2, g),
                       "plain": w.to_mkldnn()}
            inputs = {"blocked": blocked(x), "plain": x.to_mkldnn()}
            for wname, wm in weights.items():
                for xname, xm in inputs.items():
                    with self.subTest(conv=(n, ci, co, size, k, s, p, d, g,
                                            has_bias), weight=wname,
                                      input=xname):
                        got, want = self.conv_pair(xm, wm, b, s2, p2, d2, g)
                        self.assertTrue(got.is_mkldnn)
                        self.assertEqual(got.shape, want.shape)
                        self.assertTrue(same_bits(got.to_dense(),
                                                  want.to_dense()))
                        self.assertGreaterEqual(got.to_dense().min().item(),
                                                0.0)

    def test_conv3d_relu(self):
        gen = torch.Generator().manual_seed(13)
        x = activations((2, 16, 6, 7, 8), gen)
        w = torch.randn(32, 16, 3, 3, 3, generator=gen) * 0.2
        b = torch.randn(32, generator=gen).to_mkldnn()
        wm = torch._C._nn.mkldnn_reorder_conv3d_weight(
            w.to_mkldnn(), [1] * 3, [1] * 3, [1] * 3, 1)
        got, want = self.conv_pair(blocked(x), wm, b, [1] * 3, [1] * 3,
                                   [1] * 3, 1)
        self.assertEqual(got.shape, (2, 32, 6, 7, 8))
        self.assertTrue(same_bits(got.to_dense(), want.to_dense()))

    def test_conv_relu_refuses_as_aten_does(self):
        """Operands that do not fit get aten's own error, which names
        what is wrong (oneDNN would only fail to build its primitive)."""
        gen = torch.Generator().manual_seed(17)
        x = blocked(activations((1, 3, 8, 8), gen))
        for w, b, pad in ((torch.randn(4, 1, 3, 3), None, 1),  # channels
                          (torch.randn(4, 3, 11, 11), None, 0),  # kernel
                          (torch.randn(4, 3, 3, 3), torch.randn(5), 1)):
            wm = w.to_mkldnn()
            bm = b.to_mkldnn() if b is not None else None
            with self.subTest(weight=tuple(w.shape)):
                with self.assertRaises(RuntimeError) as aten:
                    torch.mkldnn_convolution(x, wm, bm, [pad] * 2, [1, 1],
                                             [1, 1], 1)
                with self.assertRaises(RuntimeError) as ours:
                    torch.ops.rsicam.onednn_conv_relu(x, wm, bm, [1, 1],
                                                      [pad] * 2, [1, 1], 1)
                self.assertEqual(str(ours.exception).splitlines()[0],
                                 str(aten.exception).splitlines()[0])

    def test_operands_in_other_layouts(self):
        """An operand in oneDNN's plain layout beside a blocked one (it is
        reordered first); tensors not in oneDNN's layout as aten runs
        them."""
        gen = torch.Generator().manual_seed(7)
        a, b = activations((2, 16, 6, 6), gen), activations((2, 16, 6, 6), gen)
        want = torch.relu(a + b)
        got = torch.ops.rsicam.onednn_add_relu_(blocked(a), b.to_mkldnn())
        self.assertTrue(same_bits(
            got.to_dense(), blocked(a).add_(b.to_mkldnn()).relu_().to_dense()))
        self.assertTrue(torch.equal(got.to_dense(), want))
        got = torch.ops.rsicam.onednn_add_relu_(a.clone(), b)
        self.assertTrue(same_bits(got, want))
        w, bias, m, v = stats(16, gen)
        got = torch.ops.rsicam.onednn_batch_norm_(a.clone(), w, bias, m, v, 1e-5, True)
        want = torch.relu(torch.batch_norm(a, w, bias, m, v, False, 0.1, 1e-5,
                                           False))
        self.assertTrue(same_bits(got, want))
        w = torch.randn(8, 16, 3, 3, generator=gen)
        got = torch.ops.rsicam.onednn_conv_relu(a, w, None, [1, 1], [1, 1],
                                                [1, 1], 1)
        want = torch.mkldnn_convolution(a, w, None, [1, 1], [1, 1], [1, 1],
                                        1).relu_()
        self.assertFalse(got.is_mkldnn)
        self.assertTrue(same_bits(got, want))

    def test_registered(self):
        self.assertTrue(hasattr(torch.ops.rsicam, "onednn_batch_norm_"))
        self.assertTrue(hasattr(torch.ops.rsicam, "onednn_add_relu_"))
        self.assertTrue(hasattr(torch.ops.rsicam, "onednn_conv_relu"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
