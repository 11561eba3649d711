/** skyscore forward / simulate end to end: real images, FITS headers, reproducibility, and bad input (exit 2). */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCliAsync } from '../helpers/cli.js';
import { main } from '../../src-main/cli/main.js';
import { dataPath } from '../helpers/data.js';
import { readFitsImage, writeFits } from '../../src-shared/fits/index.js';
import { dot, randn, refConvolve, relErr } from '../unit/operators-ref.js';
import { FORWARD_MODEL_EXAMPLE as LENS_CHAIN } from '../helpers/forward-model-example.js';

let dir = '';
const p = (f: string): string => path.join(dir, f);
const read = (f: string) => readFitsImage(new Uint8Array(readFileSync(f)));
const m31 = () => read(dataPath('radio', 'purify_M31.fits'));

function writeImage(file: string, data: Float32Array, nx: number, ny: number): void {
  writeFileSync(file, writeFits([{ data, shape: [nx, ny] }]));
}


beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-ops-'));
  // PSF from a real HST PSF library (HDU 3: 37×39, even/odd), referenced relative to the JSON file
  writeFileSync(
    p('psf.json'),
    JSON.stringify({ shape: [256, 256], operators: [{ type: 'psf', fits: path.relative(dir, dataPath('psf', 'hst_acs_f814w_cosmos_psf_library.fits')), hdu: 3 }] }),
  );
  writeFileSync(p('chain.json'), JSON.stringify(LENS_CHAIN));
  writeImage(p('mask.fits'), Float32Array.from(randn(96 * 96, 1), (v) => (v > -1 ? 1 : 0)), 96, 96);
  const src = randn(64 * 64, 2);
  src[5] = NaN; // reported and taken as 0
  writeImage(p('src.fits'), src, 64, 64);
  writeImage(p('data.fits'), randn(96 * 96, 3), 96, 96);
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('skyscore forward', () => {
  it('convolves a real radio image with a real HST PSF as the definition does, keeping the WCS and recording provenance', async () => {
    const r = await runCliAsync(['forward', '--model', p('psf.json'), '--in', dataPath('radio', 'purify_M31.fits'), '--out', p('psf.fits'), '--backend', 'wasm']);
    expect(r.stderr).not.toMatch(/skyscore: (?!note)/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/forward: wrote .*psf\.fits: A x with A = psf, 256×256/);
    const out = read(p('psf.fits'));
    const x = m31();
    expect(out.shape).toEqual(x.shape); // [256, 256, 1]: the input's axes, degenerate one included
    expect(out.bitpix).toBe(-32);
    const h = readFitsImage(new Uint8Array(readFileSync(dataPath('psf', 'hst_acs_f814w_cosmos_psf_library.fits'))), 3);
    const [kx, ky] = h.shape;
    let sum = 0;
    for (const v of h.data) sum += v;
    const want = refConvolve(x.data, 256, 256, Float64Array.from(h.data, (v) => v / sum), ky, kx);
    expect(relErr(out.data, want)).toBeLessThan(1e-5);
    expect(out.header.get('CTYPE1')).toBe('RA---SIN');
    expect(out.header.get('CDELT2')).toBe(x.header.get('CDELT2'));
    expect(out.header.get('BUNIT')).toBe('JY/PIXEL');
    expect(out.header.get('SKYCMD')).toBe('forward');
    expect(out.header.get('SKYMODEL')).toMatch(/^[0-9a-f]{64}$/);
    expect(out.header.history().join(' ')).toMatch(/skyscore forward --model psf\.json --in purify_M31\.fits --out psf\.fits/);
  });

  it('lens → psf → mask: forward and --adjoint pass the dot-product test through FITS files; lens planes get a linear WCS', async () => {
    const [f, a] = await Promise.all([
      runCliAsync(['forward', '--model', p('chain.json'), '--in', p('src.fits'), '--out', p('y.fits'), '--backend', 'wasm']),
      runCliAsync(['forward', '--model', p('chain.json'), '--in', p('data.fits'), '--out', p('xt.fits'), '--adjoint', '--backend', 'wasm']),
    ]);
    expect(f.code).toBe(0);
    expect(a.code).toBe(0);
    expect(f.stderr).toMatch(/skyscore: note: 1 NaN\/infinite pixel in .*src\.fits masked \(1 of 4096\); they are treated as 0/);
    const y = read(p('y.fits'));
    const xt = read(p('xt.fits'));
    expect(y.shape).toEqual([96, 96]);
    expect(xt.shape).toEqual([64, 64]);
    const x = Float32Array.from(read(p('src.fits')).data, (v) => (Number.isFinite(v) ? v : 0));
    const d = read(p('data.fits')).data;
    const lhs = dot(y.data, d);
    const rhs = dot(x, xt.data);
    expect(Math.abs(lhs - rhs) / Math.sqrt(dot(y.data, y.data) * dot(d, d))).toBeLessThan(1e-5);
    expect(y.header.get('CTYPE1')).toBe('LINEAR');
    expect(y.header.get('CDELT1')).toBe(0.05);
    expect(y.header.get('CRPIX1')).toBe(48.5);
    expect(xt.header.get('CDELT1')).toBe(0.03);
    expect(xt.header.get('SKYADJ')).toBe(1);
  });
});

describe('skyscore simulate', () => {
  it('y = A x + n: reproducible by seed, noise of the requested σ', async () => {
    const args = (seed: number, out: string) => ['simulate', '--model', p('chain.json'), '--truth', p('src.fits'), '--noise', '0.25', '--seed', String(seed), '--out', p(out), '--backend', 'wasm'];
    const [a, b, c] = await Promise.all([runCliAsync(args(7, 's7a.fits')), runCliAsync(args(7, 's7b.fits')), runCliAsync(args(8, 's8.fits'))]);
    for (const r of [a, b, c]) expect(r.code, r.stderr).toBe(0);
    const s7a = read(p('s7a.fits'));
    expect(Array.from(read(p('s7b.fits')).data)).toEqual(Array.from(s7a.data));
    expect(Array.from(read(p('s8.fits')).data)).not.toEqual(Array.from(s7a.data));
    const ax = read(p('y.fits')).data; // A x from the forward test above
    const n = ax.length;
    let s2 = 0;
    let m = 0;
    for (let i = 0; i < n; i++) m += s7a.data[i] - ax[i];
    m /= n;
    for (let i = 0; i < n; i++) s2 += (s7a.data[i] - ax[i] - m) ** 2;
    s2 /= n - 1;
    // sample variance of n = 9216 Gaussian deviates: σ² ± σ²√(2/n); 5 standard errors
    expect(Math.abs(s2 - 0.0625)).toBeLessThan(5 * 0.0625 * Math.sqrt(2 / n));
    expect(Math.abs(m)).toBeLessThan((5 * 0.25) / Math.sqrt(n));
    expect(s7a.header.get('SKYSEED')).toBe(7);
    expect(s7a.header.history().join(' ')).toMatch(/--noise 0\.25 --seed 7/);
    // with an additive image b: simulate writes A x + b + n (the same noise for the seed), forward A x + b
    const bImg = Float32Array.from(randn(96 * 96, 4), (v) => 2 + v);
    writeImage(p('b.fits'), bImg, 96, 96);
    writeFileSync(p('chain-b.json'), JSON.stringify({ ...LENS_CHAIN, additive: { fits: 'b.fits' } }));
    const withB = await runCliAsync(['simulate', '--model', p('chain-b.json'), '--truth', p('src.fits'), '--noise', '0.25', '--seed', '7', '--out', p('s7b-add.fits'), '--backend', 'wasm']);
    expect(withB.code, withB.stderr).toBe(0);
    expect(withB.stdout).toMatch(/y = A x \+ b \+ n/);
    const fw = await runCliAsync(['forward', '--model', p('chain-b.json'), '--in', p('src.fits'), '--out', p('y-add.fits'), '--backend', 'wasm']);
    expect(fw.code, fw.stderr).toBe(0);
    const sb = read(p('s7b-add.fits')).data;
    const yb = read(p('y-add.fits')).data;
    for (let i = 0; i < n; i += 37) {
      expect(sb[i]).toBeCloseTo(s7a.data[i] + bImg[i], 4);
      expect(yb[i]).toBeCloseTo(ax[i] + bImg[i], 4);
    }
  });
});

/** Runs the CLI's main() in this process (bad input fails before any backend starts: milliseconds, not a process each). */
async function inProcess(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = '';
  const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    return { code: await main(args), stderr };
  } finally {
    spy.mockRestore();
  }
}

describe('bad input exits 2 with one skyscore: line naming what is wrong', () => {
  it('as a process, too', async () => {
    writeFileSync(p('bad.json'), JSON.stringify({ shape: [64, 64], operators: [{ type: 'psf', fwhmPx: 0 }] }));
    const r = await runCliAsync(['forward', '--model', p('bad.json'), '--in', p('src.fits'), '--out', p('o.fits')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^skyscore: bad\.json: operators\[0\] \(psf\): fwhmPx must be positive, got 0\n$/);
  });

  const cases: { name: string; model?: unknown; args?: string[]; msg: RegExp }[] = [
    { name: 'unknown operator', model: { shape: [64, 64], operators: [{ type: 'blur' }] }, msg: /bad\.json: operators\[0\]: unknown operator type 'blur'/ },
    { name: 'missing file', model: { shape: [64, 64], operators: [{ type: 'mask', fits: 'nope.fits' }] }, msg: /bad\.json: operators\[0\] \(mask\): cannot read 'nope\.fits': no such file/ },
    { name: 'unreadable file', model: { shape: [64, 64], operators: [{ type: 'mask', fits: 'chain.json' }] }, msg: /bad\.json: operators\[0\] \(mask\): cannot read 'chain\.json': / },
    { name: 'shape mismatch between stages', model: { ...LENS_CHAIN, operators: [LENS_CHAIN.operators[1], LENS_CHAIN.operators[2]] }, msg: /bad\.json: operators\[1\] \(mask\): shape mismatch: 'mask\.fits' is \[96, 96\] \(ny, nx\) but this stage's input is \[64, 64\]/ },
    { name: 'q outside (0, 1]', model: { ...LENS_CHAIN, operators: [{ ...LENS_CHAIN.operators[0], lens: { model: 'SIE', thetaE: 1, q: 1.5 } }] }, msg: /bad\.json: operators\[0\] \(lens\): lens\.q must be in \(0, 1\], got 1\.5/ },
    { name: 'non-positive FWHM', model: { shape: [64, 64], operators: [{ type: 'psf', fwhmPx: -2 }] }, msg: /bad\.json: operators\[0\] \(psf\): fwhmPx must be positive, got -2/ },
    { name: 'input of the wrong shape', args: ['forward', '--model', 'chain.json', '--in', 'data.fits', '--out', 'o.fits'], msg: /data\.fits: the image is 96×96 \(NAXIS1×NAXIS2\) but chain\.json expects 64×64/ },
    { name: 'non-positive σ', args: ['simulate', '--model', 'chain.json', '--truth', 'src.fits', '--noise', '0', '--seed', '1', '--out', 'o.fits'], msg: /simulate: --noise must be positive, got 0/ },
    { name: 'missing model', args: ['forward', '--model', 'missing.json', '--in', 'src.fits', '--out', 'o.fits'], msg: /missing\.json: no such file/ },
  ];
  it.each(cases)('$name', async (c) => {
    // the model sits beside mask.fits and chain.json (the cases run one after another)
    if (c.model) writeFileSync(path.join(dir, 'bad.json'), JSON.stringify(c.model));
    const args = (c.args ?? ['forward', '--model', 'bad.json', '--in', 'src.fits', '--out', 'o.fits']).map((a) => (/\.(json|fits)$/.test(a) ? p(a) : a));
    const r = await inProcess([...args, '--backend', 'cpu']);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^skyscore: /);
    expect(lines[0]).toMatch(c.msg);
  });
});
