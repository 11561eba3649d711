/**
 * The learned noise prior the tests use (tests/fixtures/noise-mixture/): i.i.d. noise of a known, strongly
 * non-Gaussian density — per pixel a two-component Gaussian mixture, 0.9·N(0, 0.02²) + 0.1·N(0, 0.12²) (an
 * impulsive, heavy-tailed noise: σ 0.0424, excess kurtosis 16.3) — drawn on a 256×256 image with a fixed seed and
 * learned by `skyscore train --kind noise` with a small network.
 * With `--correlated` the noise is that mixture m filtered along x, n_ij = m_ij + ½ m_i,j+1 (neighbour correlation
 * 0.4 along x, none along y, still heavy-tailed), learned into tests/fixtures/noise-mixture-corr/.
 * Run: node --import tsx scripts/make-noise-fixture.ts [steps] [--correlated]   (about 5 minutes on two CPU cores)
 */
import { mkdtempSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { writeFits } from '../src-shared/fits/index.js';
import { Rng } from '../src-shared/diffusion/nn/rng.js';
import { MIXTURE_NOISE, drawMixtureNoise } from '../tests/helpers/mixture-noise.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const correlated = process.argv.includes('--correlated');
const OUT = path.join(ROOT, 'tests', 'fixtures', correlated ? 'noise-mixture-corr' : 'noise-mixture');
const steps = process.argv.slice(2).find((a) => !a.startsWith('--')) ?? '1200';

const n = 256;
let noise = drawMixtureNoise(new Rng(20261205), n * n, MIXTURE_NOISE);
if (correlated) {
  const m = drawMixtureNoise(new Rng(20261206), n * (n + 1), MIXTURE_NOISE);
  noise = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) noise[i * n + j] = m[i * (n + 1) + j] + 0.5 * m[i * (n + 1) + j + 1];
}
const dir = mkdtempSync(path.join(tmpdir(), 'noise-fixture-'));
const file = path.join(dir, 'mixture-noise.fits');
writeFileSync(file, writeFits([{ data: noise, shape: [n, n], bitpix: -32 }]));
for (const f of ['model.json', 'weights.bin', 'checkpoint.bin', 'train-log.jsonl']) if (existsSync(path.join(OUT, f))) rmSync(path.join(OUT, f));
const args = ['--import', 'tsx', path.join(ROOT, 'src-main/cli/main.ts'), 'train', '--kind', 'noise', '--data', file, '--out', OUT,
  '--nf', '16', '--ch-mult', '1', '--res-blocks', '1', '--no-attention', '--steps', steps, '--warmup', '100', '--batch', '16',
  '--patch', '16', '--patches', '4096', '--lr', '1e-3', '--ema', '0.99', '--val-every', '250', '--checkpoint-every', '250', '--log-every', '50', '--seed', '1'];
execFileSync(process.execPath, args, { stdio: 'inherit', cwd: ROOT });
rmSync(path.join(OUT, 'checkpoint.bin'));
rmSync(dir, { recursive: true });
