#!/usr/bin/env python3
"""SkyScore's U-Net score model (src-shared/diffusion/nn/unet.ts) in PyTorch, built from a model folder's model.json and
weights (tfjs weight format, float32 or float16): the PyTorch CPU reference of `skyscore bench`, and a third
implementation the tests can compare with.

    python3 scripts/torch-unet.py bench MODEL_DIR [--batch 16] [--size 64] [--threads T] [--seconds 5]
        prints one JSON line: score evaluations per second on the CPU (torch.no_grad, float32)
    python3 scripts/torch-unet.py eval MODEL_DIR IN.f32 SIGMA.f32 OUT.f32 --batch B --ny NY --nx NX
        s(x, sigma) for x [B, NY, NX] and sigma [B] (raw little-endian float32 files)

Needs PyTorch (Debian: apt-get install python3-torch) and NumPy.
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def groups_for(c):
    return max(1, min(c // 4, 32))


def read_params(model_dir):
    meta = json.load(open(os.path.join(model_dir, 'model.json')))
    raw = open(os.path.join(model_dir, meta['weights']['file']), 'rb').read()
    params, off = {}, 0
    for group in meta['weights']['manifest']:
        for w in group['weights']:
            n = int(np.prod(w['shape'])) if w['shape'] else 1
            half = (w.get('quantization') or {}).get('dtype') == 'float16'
            dt, width = (np.float16, 2) if half else (np.float32, 4)
            a = np.frombuffer(raw, dtype=np.dtype(dt).newbyteorder('<'), count=n, offset=off).astype(np.float32)
            params[w['name']] = torch.from_numpy(a.reshape(w['shape']).copy())
            off += n * width
    return meta, params


class Unet(torch.nn.Module):
    """The same walk as unet.ts (down path with skips, middle with optional attention, up path, output), NCHW."""

    def __init__(self, arch, params):
        super().__init__()
        self.arch = arch
        p = {}
        for k, v in params.items():
            if k.endswith('.w') and v.dim() == 4:
                v = v.permute(3, 2, 0, 1).contiguous()  # [k, k, cin, cout] -> [cout, cin, k, k]
            p[k] = v
        self.p = p

    def conv(self, x, name):
        w = self.p[name + '.w']
        return F.conv2d(x, w, self.p[name + '.b'], padding=(w.shape[-1] - 1) // 2)

    def gn(self, x, name, act):
        g = self.p[name + '.gamma']
        h = F.group_norm(x, groups_for(g.shape[0]), g, self.p[name + '.beta'], eps=1e-6)
        return F.silu(h) if act else h

    def dense(self, x, name):
        return x @ self.p[name + '.w'] + self.p[name + '.b']

    def res(self, x, tact, name, cin, cout):
        h = self.conv(self.gn(x, name + '.norm0', True), name + '.conv0')
        h = h + self.dense(tact, name + '.temb')[:, :, None, None]
        h = self.conv(self.gn(h, name + '.norm1', True), name + '.conv1')
        skip = x if cin == cout else self.conv(x, name + '.skip')
        return (skip + h) * math.sqrt(0.5)

    def attn(self, x, name):
        n, c, hh, ww = x.shape
        qkv = self.conv(self.gn(x, name + '.norm', False), name + '.qkv').reshape(n, 3 * c, hh * ww)
        q, k, v = qkv[:, :c], qkv[:, c:2 * c], qkv[:, 2 * c:]
        att = torch.softmax(q.transpose(1, 2) @ k / math.sqrt(c), dim=-1)  # [n, queries, keys]
        o = (v @ att.transpose(1, 2)).reshape(n, c, hh, ww)
        return (x + self.conv(o, name + '.proj')) * math.sqrt(0.5)

    def forward(self, x, sigma):
        a = self.arch
        proj = torch.log(sigma)[:, None] * (self.p['fourier.W'] * (2 * math.pi))[None, :]
        temb = self.dense(torch.cat([torch.sin(proj), torch.cos(proj)], 1), 'temb.0')
        tact = F.silu(self.dense(F.silu(temb), 'temb.1'))
        L = len(a['chMult'])
        h = self.conv(x[:, None], 'conv_in')
        ch = a['nf']
        hs = [(h, ch)]
        for i in range(L):
            for r in range(a['numResBlocks']):
                out = a['nf'] * a['chMult'][i]
                h = self.res(h, tact, f'down.{i}.res.{r}', ch, out)
                ch = out
                hs.append((h, ch))
            if i < L - 1:
                h = self.conv(F.avg_pool2d(h, 2), f'down.{i}.down.conv')
                hs.append((h, ch))
        h = self.res(h, tact, 'mid.res.0', ch, ch)
        if a['attention']:
            h = self.attn(h, 'mid.attn')
        h = self.res(h, tact, 'mid.res.1', ch, ch)
        for i in range(L - 1, -1, -1):
            for r in range(a['numResBlocks'] + 1):
                out = a['nf'] * a['chMult'][i]
                skip, sch = hs.pop()
                h = self.res(torch.cat([h, skip], 1), tact, f'up.{i}.res.{r}', ch + sch, out)
                ch = out
            if i > 0:
                h = self.conv(F.interpolate(h, scale_factor=2.0, mode='nearest'), f'up.{i}.up.conv')
        h = self.conv(self.gn(h, 'out.norm', True), 'out.conv')
        return h[:, 0] / sigma[:, None, None]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=['bench', 'eval'])
    ap.add_argument('model_dir')
    ap.add_argument('files', nargs='*')
    ap.add_argument('--batch', type=int, default=16)
    ap.add_argument('--size', type=int, default=64)
    ap.add_argument('--ny', type=int)
    ap.add_argument('--nx', type=int)
    ap.add_argument('--threads', type=int, default=os.cpu_count())
    ap.add_argument('--seconds', type=float, default=5.0)
    o = ap.parse_args()
    torch.set_num_threads(o.threads)
    meta, params = read_params(o.model_dir)
    net = Unet(meta['arch'], params).eval()
    with torch.no_grad():
        if o.mode == 'eval':
            xin, sin, out = o.files
            x = torch.from_numpy(np.fromfile(xin, dtype='<f4').reshape(o.batch, o.ny, o.nx))
            s = torch.from_numpy(np.fromfile(sin, dtype='<f4'))
            net(x, s).numpy().astype('<f4').tofile(out)
            return
        g = torch.Generator().manual_seed(0)
        x = torch.randn(o.batch, o.size, o.size, generator=g) * 0.5
        s = torch.full((o.batch,), 0.3)
        net(x, s)
        reps, t0 = 0, time.perf_counter()
        while True:
            net(x, s)
            reps += 1
            dt = time.perf_counter() - t0
            if dt >= o.seconds and reps >= 2:
                break
        print(json.dumps({'evalsPerSecond': reps * o.batch / dt, 'msPerBatch': 1000 * dt / reps, 'batch': o.batch, 'size': o.size,
                          'threads': torch.get_num_threads(), 'torch': torch.__version__}))


if __name__ == '__main__':
    sys.exit(main())
