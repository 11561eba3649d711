"""
The visibility likelihood's solves (I + c K) u = g in float64 (numpy, scipy for the deflation), on the normal
equations that `scripts/radio-cg-bench.ts FILE.uvfits --dump PREFIX` writes (PREFIX.json: grid side n and flux scale
a; PREFIX.beam.f64: K's kernel at every pixel offset, [2n-1, 2n-1]; PREFIX.dirty.f64: d, [n, n]):

    python3 scripts/radio-cg-analysis.py PREFIX iterations [--sigmas 30,3,0.3,0.03,0.01] [--deflate 50,200]
    python3 scripts/radio-cg-analysis.py PREFIX accuracy [--sigmas 10,1,0.3,0.1,0.03,0.01]
    python3 scripts/radio-cg-analysis.py PREFIX eigen

`eigen` (small grids: K is dense, N x N): K's eigendecomposition by numpy's eigh, written as PREFIX.values.f64 and
PREFIX.vectors.f32 (row-major, column j the j-th eigenvector) for `radio-eval.ts --eigen PREFIX`.

`iterations`: cold conjugate gradients to a relative residual of 1e-3 (at most 2000 iterations) for g = d - a K x_p,
x_p = sigma z, with each preconditioner: none; T. Chan's circulant on the image grid; P (I + c C+)^-1 P^T with C the
circulant embedding of K on grids of (2n-1), 2n and 2(2n-1) per axis (negative eigenvalues clamped at 0); deflation
by K's k leading eigenvectors (scipy eigsh, tol 1e-6): (I - V V^T) + V (I + c L)^-1 V^T.
`accuracy`: for x_p = x0 + sigma z (x0 the dirty image scaled to a peak of 3 prior units), a reference solve to
1e-11, then solves to 1e-3 (capped at 30 and not), 1e-4 and 1e-5: iterations, and the error each leaves in the
denoiser's likelihood term sigma^2 a u (prior units; rms and largest pixel), beside that term itself.
"""
import json
import sys
import time

import numpy as np

prefix, mode = sys.argv[1], sys.argv[2]


def opt(name, default):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


meta = json.load(open(prefix + '.json'))
n, a = meta['n'], meta['a']
beam = np.fromfile(prefix + '.beam.f64').reshape(2 * n - 1, 2 * n - 1)
dirty = np.fromfile(prefix + '.dirty.f64').reshape(n, n) if mode != 'eigen' else None
P0 = 2 * n - 1


def embedded_spectrum(p):
    k = np.zeros((p, p))
    idx = np.arange(-(n - 1), n) % p
    k[np.ix_(idx, idx)] = beam
    return np.real(np.fft.fft2(k))


H0 = np.fft.rfft2(np.fft.ifft2(embedded_spectrum(P0)).real)


def K(x):
    return np.fft.irfft2(np.fft.rfft2(x, s=(P0, P0)) * H0, s=(P0, P0))[:n, :n]


def pcg(c, b, pre, tol, maxit, u0=None):
    u = np.zeros_like(b) if u0 is None else u0.copy()
    r = b - (u + c * K(u))
    z = pre(r, c)
    p = z.copy()
    rz = np.sum(r * z)
    bn = np.linalg.norm(b)
    for it in range(maxit):
        if np.linalg.norm(r) / bn <= tol:
            return u, it, np.linalg.norm(r) / bn
        q = p + c * K(p)
        al = rz / np.sum(p * q)
        u += al * p
        r -= al * q
        z = pre(r, c)
        rzn = np.sum(r * z)
        p = z + (rzn / rz) * p
        rz = rzn
    return u, maxit, np.linalg.norm(r) / bn


def none(r, c):
    return r


def embedded(p):
    lam = np.maximum(embedded_spectrum(p), 0)

    def pre(r, c):
        x = np.zeros((p, p))
        x[:n, :n] = r
        return np.real(np.fft.ifft2(np.fft.fft2(x) / (1 + c * lam)))[:n, :n]

    return pre


def tchan():
    kk = np.zeros((n, n))
    for i in range(2 * n - 1):
        oi = i - (n - 1)
        for j in range(2 * n - 1):
            oj = j - (n - 1)
            kk[oi % n, oj % n] += (n - abs(oi)) / n * (n - abs(oj)) / n * beam[i, j]
    lam = np.maximum(np.real(np.fft.fft2(kk)), 0)
    return lambda r, c: np.real(np.fft.ifft2(np.fft.fft2(r) / (1 + c * lam)))


if mode == 'eigen':
    i, j = np.divmod(np.arange(n * n), n)
    dense = beam[(i[:, None] - i[None, :]) + n - 1, (j[:, None] - j[None, :]) + n - 1]
    t = time.time()
    lam, V = np.linalg.eigh(dense)
    lam.astype(np.float64).tofile(prefix + '.values.f64')
    V.astype(np.float32).tofile(prefix + '.vectors.f32')
    print(json.dumps({'eigh': n * n, 'seconds': round(time.time() - t, 1), 'above1e-6': int((lam > 1e-6 * lam.max()).sum())}))
    sys.exit(0)
rng = np.random.default_rng(1)
print(json.dumps({'prefix': prefix, 'n': n, 'a': a, 'lambdaMaxEmbedding': float(embedded_spectrum(P0).max()), 'lambdaMinEmbedding': float(embedded_spectrum(P0).min())}))
if mode == 'iterations':
    pres = {'none': none, 'circulant (image grid)': tchan(), 'embedded 2n-1': embedded(P0), 'embedded 2n': embedded(2 * n), 'embedded 2(2n-1)': embedded(2 * P0)}
    ks = [int(v) for v in opt('--deflate', '').split(',') if v]
    if ks:
        from scipy.sparse.linalg import LinearOperator, eigsh

        t = time.time()
        lam, V = eigsh(LinearOperator((n * n, n * n), matvec=lambda v: K(v.reshape(n, n)).ravel(), dtype=float), k=max(ks), which='LA', tol=1e-6)
        order = np.argsort(-lam)
        lam, V = lam[order], V[:, order]
        print(json.dumps({'eigsh': max(ks), 'seconds': round(time.time() - t, 1)}))
        for k in ks:
            Vk, lk = V[:, :k], lam[:k]

            def pre(r, c, Vk=Vk, lk=lk):
                y = Vk.T @ r.ravel()
                return (r.ravel() - Vk @ y + Vk @ (y / (1 + c * lk))).reshape(n, n)

            pres[f'deflation {k}'] = pre
    for s in [float(v) for v in opt('--sigmas', '30,3,0.3,0.03,0.01').split(',')]:
        c = a * a * s * s
        b = dirty - a * K(s * rng.standard_normal((n, n)))
        print(json.dumps({'sigma': s, **{name: pcg(c, b, pre, 1e-3, 2000)[1] for name, pre in pres.items()}}), flush=True)
elif mode == 'accuracy':
    x0 = dirty / np.abs(dirty).max() * 3
    for s in [float(v) for v in opt('--sigmas', '10,1,0.3,0.1,0.03,0.01').split(',')]:
        c = a * a * s * s
        g = dirty - a * K(x0 + s * rng.standard_normal((n, n)))
        uref, it, res = pcg(c, g, none, 1e-11, 20000)
        move = s * s * a * uref
        row = {'sigma': s, 'reference': {'iterations': it, 'residual': res}, 'term': {'rms': np.sqrt(np.mean(move ** 2)), 'max': np.abs(move).max()}}
        for tol, cap in [(1e-3, 30), (1e-3, 10000), (1e-4, 10000), (1e-5, 10000)]:
            u, it, res = pcg(c, g, none, tol, cap)
            e = s * s * a * (u - uref)
            row[f'{tol:g}/{cap}'] = {'iterations': it, 'residual': res, 'errorRms': np.sqrt(np.mean(e ** 2)), 'errorMax': np.abs(e).max()}
        print(json.dumps(row), flush=True)
