#!/usr/bin/env python3
"""Writes tests/fixtures/onnx-prior/: a small score network defined and exported by PyTorch, as a SkyScore ONNX prior.

The network predicts the noise (output kind "epsilon"): x [batch, 1, H, W] and sigma [batch] in, eps [batch, 1, H, W]
out, H and W multiples of 2 (one 2x down-sampling). Its weights are random (seed 0): it is a fixture of the ONNX
prior contract (docs/onnx-priors.md), not a useful prior. expected.json holds inputs and PyTorch's outputs for the
tests. Needs PyTorch (Debian: apt-get install python3-torch); run with the Python that has it:

    /usr/bin/python3 scripts/make-onnx-prior-fixture.py [OUT_DIR]
"""
import json
import math
import os
import sys

import torch
from torch import nn

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', 'tests', 'fixtures', 'onnx-prior')


class SmallScoreNet(nn.Module):
    """Fourier features of log sigma -> MLP; conv encoder, 2x average pool, conv, nearest up-sampling, skip, conv."""

    def __init__(self, ch=16, emb=16):
        super().__init__()
        self.register_buffer('freqs', torch.randn(emb // 2) * 4.0)
        self.mlp = nn.Sequential(nn.Linear(emb, 32), nn.SiLU(), nn.Linear(32, ch))
        self.conv_in = nn.Conv2d(1, ch, 3, padding=1)
        self.norm = nn.GroupNorm(4, ch)
        self.down = nn.Conv2d(ch, ch, 3, padding=1)
        self.mid = nn.Conv2d(ch, ch, 3, padding=1)
        self.up = nn.Conv2d(2 * ch, ch, 3, padding=1)
        self.conv_out = nn.Conv2d(ch, 1, 3, padding=1)

    def forward(self, x, sigma):
        p = torch.log(sigma)[:, None] * self.freqs[None, :] * (2 * math.pi)
        e = self.mlp(torch.cat([torch.sin(p), torch.cos(p)], dim=1))[:, :, None, None]
        h0 = nn.functional.silu(self.norm(self.conv_in(x) + e))
        h = nn.functional.avg_pool2d(h0, 2)
        h = nn.functional.silu(self.mid(nn.functional.silu(self.down(h))))
        h = nn.functional.interpolate(h, scale_factor=2.0, mode='nearest')
        h = nn.functional.silu(self.up(torch.cat([h, h0], dim=1)))
        return self.conv_out(h)


def main():
    torch.manual_seed(0)
    net = SmallScoreNet().eval()
    os.makedirs(OUT, exist_ok=True)
    x = torch.randn(2, 1, 8, 10)
    sigma = torch.tensor([0.05, 3.0])
    torch.onnx.export(
        net,
        (x, sigma),
        os.path.join(OUT, 'score.onnx'),
        input_names=['x', 'sigma'],
        output_names=['eps'],
        dynamic_axes={'x': {0: 'batch', 2: 'height', 3: 'width'}, 'sigma': {0: 'batch'}, 'eps': {0: 'batch', 2: 'height', 3: 'width'}},
        opset_version=17,
        do_constant_folding=True,
    )
    meta = {
        'kind': 'onnx',
        'file': 'score.onnx',
        'output': 'epsilon',
        'imageShape': [16, 16],
        'channels': 1,
        'sizeMultiple': 2,
        'sde': {'type': 've', 'sigmaMin': 0.01, 'sigmaMax': 20},
        'normalisation': {'offset': 0, 'scale': 1},
        'data': {'source': 'none: random weights (a test fixture of the ONNX prior contract)', 'peakPrior': 1.0},
        'name': 'onnx-fixture',
        'description': 'A small PyTorch score network with random weights, exported by torch.onnx.export (scripts/make-onnx-prior-fixture.py).',
        'license': 'BSD-3-Clause',
    }
    with open(os.path.join(OUT, 'model.json'), 'w') as f:
        json.dump(meta, f, indent=2)
        f.write('\n')
    # expected outputs for the tests: a batch of 3 at 6x8 (another size than the export's) and sigma across the range
    g = torch.Generator().manual_seed(1)
    xe = torch.randn(3, 1, 6, 8, generator=g)
    se = torch.tensor([0.01, 0.5, 20.0])
    with torch.no_grad():
        eps = net(xe, se)
    expected = {
        'torch': torch.__version__,
        'x': xe.flatten().tolist(),
        'shape': [3, 6, 8],
        'sigma': se.tolist(),
        'eps': eps.flatten().tolist(),
    }
    with open(os.path.join(OUT, 'expected.json'), 'w') as f:
        json.dump(expected, f)
        f.write('\n')
    print(f"wrote {OUT}: score.onnx ({os.path.getsize(os.path.join(OUT, 'score.onnx'))} bytes), model.json, expected.json")


if __name__ == '__main__':
    main()
