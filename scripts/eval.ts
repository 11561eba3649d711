/**
 * The evaluation harness of the galaxy priors (model cards, docs/sampling.md):
 * `npm run eval -- [--prior P] [--n-images N | --all] [--samples N] [--steps K] [--sampler S] [--seed S] [--out DIR] [--backend B] [--workers N] [--truth FITS|DIR ... [--hdu N]] [--flux-scale F] [--symmetrise] [--denoise draw|mean|none] [--no-denoise] [--no-rao-blackwell]`.
 * --truth measures on other images instead of the validation split: a FITS file (every image HDU, every plane of a
 * cube; any units) or a folder of them, repeatable; the images may differ in size. See src-main/evaluation.ts for
 * what it measures.
 * Writes DIR/eval.json and DIR/eval.md (default DIR: tmp/eval, git-ignored) and prints the table.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { evalMarkdown, runEvaluation } from '../src-main/evaluation.js';
import { isBackendName } from '../src-main/engine/backend.js';
import { isSamplerName } from '../src-shared/diffusion/samplers/index.js';
import { isDenoiseMode } from '../src-shared/diffusion/samplers/spec.js';
import { writeFileAtomic } from '../src-main/io.js';

const USAGE =
  'usage: npm run eval -- [--prior P] [--n-images N | --all] [--samples N] [--steps K] [--sampler S] [--seed S] [--out DIR] [--backend B] [--workers N] [--truth FITS|DIR ... [--hdu N]] [--flux-scale F] [--symmetrise] [--denoise draw|mean|none] [--no-denoise] [--no-rao-blackwell]';
const options = {
    prior: { type: 'string' },
    'n-images': { type: 'string' },
    all: { type: 'boolean' },
    samples: { type: 'string' },
    steps: { type: 'string' },
    sampler: { type: 'string' },
    seed: { type: 'string' },
    out: { type: 'string' },
    backend: { type: 'string' },
    workers: { type: 'string' },
    truth: { type: 'string', multiple: true },
    hdu: { type: 'string' },
    'flux-scale': { type: 'string' },
    symmetrise: { type: 'boolean' },
    'no-denoise': { type: 'boolean' },
    denoise: { type: 'string' },
    'no-rao-blackwell': { type: 'boolean' },
    help: { type: 'boolean' },
} as const;
let values: ReturnType<typeof parseArgs<{ options: typeof options }>>['values'];
try {
  values = parseArgs({ options }).values;
} catch (e) {
  process.stderr.write(`eval: ${(e as Error).message}\n${USAGE}\n`);
  process.exit(2);
}
if (values.help) {
  process.stdout.write(USAGE + '\n');
  process.exit(0);
}
function int(name: string, v: string | undefined, min: number): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`eval: --${name} must be an integer ≥ ${min}, got '${v}'\n`);
    process.exit(2);
  }
  return n;
}
const backend = values.backend ?? 'auto';
if (backend !== 'auto' && !isBackendName(backend)) {
  process.stderr.write(`eval: unknown --backend '${backend}'\n`);
  process.exit(2);
}
if (values.sampler !== undefined && !isSamplerName(values.sampler)) {
  process.stderr.write(`eval: unknown --sampler '${values.sampler}'\n`);
  process.exit(2);
}
const out = values.out ?? 'tmp/eval';
const FITS_NAME = /\.(fits?|fts)(\.gz)?$|\.fz$/i;
let truth: { files: Array<{ name: string; bytes: Uint8Array }>; hdu?: number } | undefined;
if (values.truth !== undefined) {
  const files: Array<{ name: string; bytes: Uint8Array }> = [];
  for (const given of values.truth) {
    try {
      // a folder: its FITS files in name order (not its subfolders)
      const names = (await fs.stat(given)).isDirectory()
        ? (await fs.readdir(given, { withFileTypes: true }))
            .filter((e) => e.isFile() && FITS_NAME.test(e.name))
            .map((e) => path.join(given, e.name))
            .sort()
        : [given];
      if (!names.length) throw new Error('no FITS files (.fits, .fit, .fts, .fz, .gz of those) in it');
      for (const name of names) files.push({ name, bytes: new Uint8Array(await fs.readFile(name)) });
    } catch (e) {
      process.stderr.write(`eval: cannot read --truth ${given}: ${(e as Error).message}\n`);
      process.exit(2);
    }
  }
  truth = { files, hdu: int('hdu', values.hdu, 0) };
} else if (values.hdu !== undefined) {
  process.stderr.write('eval: --hdu goes with --truth\n');
  process.exit(2);
}
const denoise = values['no-denoise'] ? 'none' : values.denoise;
if (denoise !== undefined && !isDenoiseMode(denoise)) {
  process.stderr.write(`eval: --denoise must be mean, draw or none, got '${denoise}'\n`);
  process.exit(2);
}
let fluxScale: number | undefined;
if (values['flux-scale'] !== undefined) {
  fluxScale = Number(values['flux-scale']);
  if (!(fluxScale > 0) || !Number.isFinite(fluxScale)) {
    process.stderr.write(`eval: --flux-scale must be a positive number, got '${values['flux-scale']}'\n`);
    process.exit(2);
  }
}
const report = await runEvaluation({
  prior: values.prior,
  nImages: values.all ? Infinity : int('n-images', values['n-images'], 1),
  samples: int('samples', values.samples, 2),
  steps: int('steps', values.steps, 1),
  sampler: values.sampler as never,
  seed: int('seed', values.seed, 0),
  backend: backend as never,
  workers: int('workers', values.workers, 1),
  truth,
  fluxScale,
  samplerOptions: { ...(values.symmetrise ? { symmetrise: true } : {}), ...(denoise !== undefined ? { denoise } : {}), ...(values['no-rao-blackwell'] ? { raoBlackwell: false } : {}) },
  log: (l) => process.stderr.write(l + '\n'),
});
const md = evalMarkdown(report);
await fs.mkdir(out, { recursive: true });
await writeFileAtomic(path.join(out, 'eval.json'), JSON.stringify(report, null, 2) + '\n');
await writeFileAtomic(path.join(out, 'eval.md'), md);
process.stdout.write(md + `\neval: wrote ${path.join(out, 'eval.json')} and ${path.join(out, 'eval.md')}\n`);
