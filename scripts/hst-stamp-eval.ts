/**
 * White against correlated against a learned noise model on a real HST stamp (docs/sampling.md, *Measured on real
 * HST stamps*):
 *   node --import tsx scripts/hst-stamp-eval.ts --stamp FILE[:HDU] --psf FILE[:HDU] --sky x0,y0,x1,y1
 *        [--crop x0,y0,w,h] [--psf-size S] [--noise-prior DIR] [--models white,correlated,learned,learned-corr]
 *        [--prior models/galaxy-64] [--n 16] [--steps 500] [--seed 1] [--name NAME]
 *        [--train-noise FILE[:HDU]:x0,y0,x1,y1] [--rescale-noise-prior] [--reuse]
 *
 * Coordinates are 0-based pixels of the stamp, x the column (FITS axis 1), y the row (axis 2); boxes x0,y0,x1,y1
 * with x1, y1 exclusive.
 * The data: the stamp cut to --crop (lower-left corner x0, y0, width w, height h; default the whole stamp), in its
 * own units. The forward model: its PSF (--psf), cut to --psf-size × --psf-size around its brightest pixel (odd;
 * default the whole PSF) and normalised to unit sum, as one `psf` stage.
 * The blank sky: the box --sky of the stamp. Its median B and MAD σ (1.4826 × the median absolute deviation) are
 * the sky level and the white model's σ; the correlated model measures its spectrum there (--noise-region when the
 * box lies inside the crop, else --noise-image with the box cut out).
 * The noise models (`skyscore reconstruct`, pc, N samples × K levels, seed S):
 *  - white: --noise σ (the sky box's MAD σ: the issue's "σ from the stamp's border");
 *  - correlated: --noise-model correlated with the sky box;
 *  - learned: --noise-model learned --noise-prior DIR, a noise prior trained (`skyscore train --kind noise`, the small
 *    network of scripts/make-noise-fixture.ts, 1200 steps) on a noise-only image in the same units (--train-noise:
 *    the box of that file is cut out and trained on once, cached in .scratch/hst-eval/); --rescale-noise-prior scales
 *    it to the sky box's MAD σ (one training for stamps whose noise differs in level only);
 *  - learned-corr: the same with the sky box's spectrum as its Gaussian part (--noise-region or --noise-image beside
 *    --noise-prior: docs/sampling.md, *A learned noise prior*).
 * Sky pixels: the stamp smoothed by a 5×5 box mean (clipped at the edges); a pixel of the crop is a source pixel
 * where the smoothed stamp exceeds the smoothed sky box's median by 3 of its MAD σ, and the source pixels are
 * dilated by 3 pixels (a 7×7 square); the sky is every other pixel of the crop.
 * Sky peaks: local maxima (8 neighbours) among the sky pixels more than 8 σ above B (σ, B: the sky box's, the same
 * absolute level for the data, every posterior sample and the mean), counted in the data, in each sample and in the
 * mean; the same above B + 3σ (faint peaks); and above each image's own sky median + 8 of its own sky MAD σ ("own").
 * Per model: the peaks, χ²/pixel (report.json), the diagnostics' spectral ratio, KS distance and warnings, wall and
 * CPU time with the load. One JSON line per run, then a Markdown table.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cliTimed, find, localMaxima, madSigma, readImage, ROOT, writeImage } from './noise-eval-common.js';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const nums = (s: string) => s.split(',').map(Number);
const fileHdu = (s: string): [string, number | undefined] => {
  const m = /^(.*?)(?::(\d+))?$/.exec(s)!;
  return [path.resolve(m[1]!), m[2] === undefined ? undefined : Number(m[2])];
};

const stampSpec = arg('stamp', '');
const psfSpec = arg('psf', '');
const skySpec = arg('sky', '');
if (!stampSpec || !psfSpec || !skySpec) throw new Error('--stamp, --psf and --sky are required');
const [stampFile, stampHdu] = fileHdu(stampSpec);
const stamp = readImage(stampFile, stampHdu);
const [SX, SY] = stamp.shape as [number, number]; // FITS order: NAXIS1 (x), NAXIS2 (y)
const [cx0, cy0, cw, ch] = nums(arg('crop', `0,0,${SX},${SY}`)) as [number, number, number, number];
if (cx0 < 0 || cy0 < 0 || cx0 + cw > SX || cy0 + ch > SY) throw new Error(`--crop outside the ${SX}×${SY} stamp`);
const [bx0, by0, bx1, by1] = nums(skySpec) as [number, number, number, number];
const models = arg('models', 'white,correlated,learned').split(',');
const priorSpec = arg('prior', 'models/galaxy-64');
const nSamples = Number(arg('n', '16'));
const steps = arg('steps', '500');
const seed = arg('seed', '1');
const name = arg('name', `${path.basename(stampFile, '.fits')}${stampHdu === undefined ? '' : `-${stampHdu}`}-${cx0}_${cy0}_${cw}_${ch}`);
const SCRATCH = path.join(ROOT, '.scratch', 'hst-eval');
const dir = path.join(SCRATCH, name);
mkdirSync(dir, { recursive: true });

const at = (x: number, y: number) => stamp.data[y * SX + x]!;

// ---- the data, the PSF, the forward model
const obs = new Float64Array(cw * ch);
for (let i = 0; i < ch; i++) for (let j = 0; j < cw; j++) obs[i * cw + j] = at(cx0 + j, cy0 + i);
const obsFile = path.join(dir, 'obs.fits');
writeImage(obsFile, obs, [cw, ch]); // FITS axis order

const [psfFile, psfHdu] = fileHdu(psfSpec);
const psfImg = readImage(psfFile, psfHdu);
const [PX, PY] = psfImg.shape as [number, number];
let peakK = 0;
for (let k = 1; k < psfImg.data.length; k++) if (psfImg.data[k]! > psfImg.data[peakK]!) peakK = k;
const psfSize = Number(arg('psf-size', '0'));
let psf: Float64Array;
let psfShape: [number, number];
if (psfSize > 0) {
  if (psfSize % 2 !== 1) throw new Error('--psf-size must be odd');
  const h = (psfSize - 1) / 2;
  const py = Math.floor(peakK / PX);
  const px = peakK % PX;
  psf = new Float64Array(psfSize * psfSize);
  for (let i = 0; i < psfSize; i++) {
    for (let j = 0; j < psfSize; j++) {
      const y = py - h + i;
      const x = px - h + j;
      psf[i * psfSize + j] = y >= 0 && y < PY && x >= 0 && x < PX ? psfImg.data[y * PX + x]! : 0;
    }
  }
  psfShape = [psfSize, psfSize];
} else {
  psf = Float64Array.from(psfImg.data);
  psfShape = [PX, PY];
}
let psfSum = 0;
for (const v of psf) psfSum += v;
const psfKept = psfSize > 0 ? psfSum / Array.from(psfImg.data).reduce((a, b) => a + b, 0) : 1;
for (let k = 0; k < psf.length; k++) psf[k]! /= psfSum;
writeImage(path.join(dir, 'psf.fits'), psf, psfShape);
const mJson = path.join(dir, 'M.json');
writeFileSync(mJson, JSON.stringify({ shape: [ch, cw], operators: [{ type: 'psf', fits: 'psf.fits', hdu: 0 }] }, null, 2));

// ---- the blank sky: level, σ, the noise image
const skyVals: number[] = [];
for (let y = by0; y < by1; y++) for (let x = bx0; x < bx1; x++) skyVals.push(at(x, y));
const { median: B, sigma } = madSigma(skyVals.filter(Number.isFinite));
const skyInCrop = bx0 >= cx0 && by0 >= cy0 && bx1 <= cx0 + cw && by1 <= cy0 + ch;
const skyImage = path.join(dir, 'sky.fits');
writeImage(skyImage, Float64Array.from(skyVals), [bx1 - bx0, by1 - by0]);

// ---- the sky pixels of the crop
const smooth = new Float64Array(SX * SY);
for (let y = 0; y < SY; y++) {
  for (let x = 0; x < SX; x++) {
    let s = 0;
    let c = 0;
    for (let a = Math.max(0, y - 2); a <= Math.min(SY - 1, y + 2); a++) {
      for (let b = Math.max(0, x - 2); b <= Math.min(SX - 1, x + 2); b++) {
        if (Number.isFinite(at(b, a))) {
          s += at(b, a);
          c++;
        }
      }
    }
    smooth[y * SX + x] = c ? s / c : NaN;
  }
}
const smoothSky: number[] = [];
for (let y = by0; y < by1; y++) for (let x = bx0; x < bx1; x++) smoothSky.push(smooth[y * SX + x]!);
const sm = madSigma(smoothSky);
const source = new Uint8Array(cw * ch);
for (let i = 0; i < ch; i++) for (let j = 0; j < cw; j++) if (smooth[(cy0 + i) * SX + cx0 + j]! > sm.median + 3 * sm.sigma) source[i * cw + j] = 1;
const sky: boolean[] = new Array(cw * ch).fill(true);
for (let i = 0; i < ch; i++) {
  for (let j = 0; j < cw; j++) {
    if (!source[i * cw + j]) continue;
    for (let a = Math.max(0, i - 3); a <= Math.min(ch - 1, i + 3); a++) for (let b = Math.max(0, j - 3); b <= Math.min(cw - 1, j + 3); b++) sky[a * cw + b] = false;
  }
}
const skyCount = sky.filter(Boolean).length;
writeImage(path.join(dir, 'sky-mask.fits'), sky.map(Number), [cw, ch]);

/**
 * Sky peaks of an [ch, cw] image: above B + 8σ (the data's sky), above B + 3σ (faint ones), and above its own sky
 * median + 8 of its own sky MAD σ.
 */
function peaks(img: ArrayLike<number>): { abs: number; abs3: number; own: number } {
  const vals: number[] = [];
  for (let k = 0; k < img.length; k++) if (sky[k]) vals.push(img[k]!);
  const own = madSigma(vals);
  return {
    abs: localMaxima(img, ch, cw, sky, B + 8 * sigma),
    abs3: localMaxima(img, ch, cw, sky, B + 3 * sigma),
    own: localMaxima(img, ch, cw, sky, own.median + 8 * own.sigma),
  };
}
const dataPeaks = peaks(obs);
console.error(
  `${name}: crop ${cw}×${ch} at (${cx0}, ${cy0}); sky box ${bx0},${by0},${bx1},${by1}: B ${B.toPrecision(3)}, σ_MAD ${sigma.toPrecision(3)}; ` +
    `sky pixels ${skyCount} of ${cw * ch}; PSF ${psfShape.join('×')} (${(100 * psfKept).toFixed(1)} % of its sum); data sky peaks > 8σ ${dataPeaks.abs}, > 3σ ${dataPeaks.abs3} (own MAD: ${dataPeaks.own})`,
);

// ---- the learned noise prior
let noisePrior = arg('noise-prior', '');
const trainSpec = arg('train-noise', '');
if (!noisePrior && trainSpec && models.some((m) => m.startsWith('learned'))) {
  const m = /^(.*?)(?::(\d+))?:(-?\d+),(-?\d+),(-?\d+),(-?\d+)$/.exec(trainSpec);
  if (!m) throw new Error('--train-noise FILE[:HDU]:x0,y0,x1,y1');
  const img = readImage(path.resolve(m[1]!), m[2] === undefined ? undefined : Number(m[2]));
  const [tx0, ty0, tx1, ty1] = [m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number];
  const tag = `${path.basename(m[1]!, '.fits')}-${tx0}_${ty0}_${tx1}_${ty1}`;
  noisePrior = path.join(SCRATCH, `noise-prior-${tag}`);
  if (!existsSync(path.join(noisePrior, 'model.json'))) {
    const nx = img.shape[0]!;
    const cut = new Float64Array((tx1 - tx0) * (ty1 - ty0));
    for (let y = ty0; y < ty1; y++) for (let x = tx0; x < tx1; x++) cut[(y - ty0) * (tx1 - tx0) + x - tx0] = img.data[y * nx + x]!;
    const f = path.join(SCRATCH, `noise-train-${tag}.fits`);
    writeImage(f, cut, [tx1 - tx0, ty1 - ty0]);
    const t = cliTimed(
      ['train', '--kind', 'noise', '--data', f, '--out', noisePrior, '--nf', '16', '--ch-mult', '1', '--res-blocks', '1', '--no-attention',
        '--steps', '1200', '--warmup', '100', '--batch', '16', '--patch', '16', '--patches', '4096', '--lr', '1e-3', '--ema', '0.99',
        '--val-every', '250', '--checkpoint-every', '250', '--log-every', '100', '--seed', '1'],
      false,
    );
    console.error(`noise prior trained in ${t.wall.toFixed(0)} s (CPU ${t.cpu.toFixed(0)} s, load ${t.load.toFixed(1)})`);
  }
}

// --rescale-noise-prior: the prior's units scaled by the sky box's MAD σ over its training noise's MAD σ (exact: the
// network sees (n − offset)/scale), for a stamp whose noise has the same shape at another level
if (noisePrior && process.argv.includes('--rescale-noise-prior')) {
  const meta = JSON.parse(readFileSync(path.join(noisePrior, 'model.json'), 'utf8')) as {
    normalisation: { offset: number; scale: number };
    noisePrior: { statistics: Record<string, number> };
  };
  const factor = sigma / meta.noisePrior.statistics.madSigma!;
  const np = path.join(dir, 'noise-prior-rescaled');
  cpSync(noisePrior, np, { recursive: true });
  meta.normalisation.offset *= factor;
  meta.normalisation.scale *= factor;
  for (const k of ['mean', 'std', 'madSigma']) meta.noisePrior.statistics[k]! *= factor;
  writeFileSync(path.join(np, 'model.json'), JSON.stringify(meta, null, 2));
  console.error(`noise prior rescaled by ${factor.toFixed(3)} (the sky's MAD σ over its training noise's)`);
  noisePrior = np;
}

// ---- the runs
interface Row {
  stamp: string;
  model: string;
  samplePeaks: number[];
  samplePeaksOwn: number[];
  samplePeaks3: number[];
  meanPeaks: number;
  meanPeaks3: number;
  dataPeaks3: number;
  meanPeaksOwn: number;
  dataPeaks: number;
  dataPeaksOwn: number;
  chi2PerPixel: number;
  spectralRatio: number | null;
  ks: number | null;
  warnings: number;
  wall: number;
  cpu: number;
  load: number;
}
const rows: Row[] = [];
const priorSlug = path.basename(priorSpec).replace(/[^A-Za-z0-9_-]/g, '_');
for (const model of models) {
  const out = path.join(dir, `${model}-${priorSlug}-${nSamples}x${steps}-s${seed}`);
  const args = ['reconstruct', '--obs', obsFile, '--model', mJson, '--prior', priorSpec, '--out', out, '--n', String(nSamples), '--steps', steps,
    '--seed', seed, '--sampler', 'pc', '--quiet'];
  if (model === 'white') args.push('--noise', String(sigma));
  else if (model === 'correlated') {
    args.push('--noise-model', 'correlated');
    if (skyInCrop) args.push('--noise-region', [bx0 - cx0, by0 - cy0, bx1 - cx0, by1 - cy0].join(','));
    else args.push('--noise-image', skyImage);
  } else if (model === 'learned' || model === 'learned-corr') {
    if (!noisePrior) throw new Error('learned: --noise-prior DIR or --train-noise FILE:box');
    args.push('--noise-model', 'learned', '--noise-prior', noisePrior);
    // learned-corr: the learned noise with its Gaussian part's spectrum measured on the sky box, as the correlated model's
    if (model === 'learned-corr') {
      if (skyInCrop) args.push('--noise-region', [bx0 - cx0, by0 - cy0, bx1 - cx0, by1 - cy0].join(','));
      else args.push('--noise-image', skyImage);
    }
  } else throw new Error(`unknown noise model ${model}`);
  let t: { wall: number; cpu: number; load: number };
  try {
    // --reuse: a run already in its folder is analysed again, not rerun (its times then not known: NaN)
    t = process.argv.includes('--reuse') && existsSync(path.join(out, 'report.json')) ? { wall: NaN, cpu: NaN, load: NaN } : cliTimed(args);
  } catch (e) {
    // a run that fails (e.g. chains that diverge) is a result: recorded, and the others go on
    console.log(JSON.stringify({ stamp: name, model, failed: (e as Error).message.split('\n')[0] }));
    continue;
  }
  const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as Record<string, unknown>;
  const mean = readImage(path.join(out, 'posterior-mean.fits')).data;
  const samples = readImage(path.join(out, 'posterior-samples.fits')).data;
  const per = cw * ch;
  const sp = Array.from({ length: nSamples }, (_, k) => peaks(samples.subarray(k * per, (k + 1) * per)));
  const mp = peaks(mean);
  const diag = (report.noiseDiagnostics ?? {}) as Record<string, unknown>;
  const row: Row = {
    stamp: name,
    model,
    samplePeaks: sp.map((p) => p.abs),
    samplePeaksOwn: sp.map((p) => p.own),
    samplePeaks3: sp.map((p) => p.abs3),
    meanPeaks: mp.abs,
    meanPeaks3: mp.abs3,
    dataPeaks3: dataPeaks.abs3,
    meanPeaksOwn: mp.own,
    dataPeaks: dataPeaks.abs,
    dataPeaksOwn: dataPeaks.own,
    chi2PerPixel: Number(report.chi2PerPixel),
    spectralRatio: typeof diag.spectralRatio === 'number' ? diag.spectralRatio : null,
    ks: typeof diag.ksDistance === 'number' ? diag.ksDistance : null,
    warnings: Array.isArray(diag.warnings) ? diag.warnings.length : 0,
    ...t,
  };
  rows.push(row);
  const lik = (report.likelihood ?? {}) as Record<string, unknown>;
  console.log(JSON.stringify({ ...row, n: nSamples, steps, sigma, B, skyPixels: skyCount, fluxScale: find(report, 'fluxScale'), method: lik.method, cgCapped: lik.cgCapped, cgSolves: lik.cgSolves, warningTexts: diag.warnings }));
}

const f = (v: number | null, d: number) => (v === null || !Number.isFinite(v) ? '—' : v.toFixed(d));
const range = (v: number[]) => (v.length ? `${Math.min(...v)}–${Math.max(...v)} (${(v.reduce((a, b) => a + b, 0) / v.length).toFixed(1)})` : '—');
console.log(`\n| stamp | model | sky peaks > 8σ: samples (their mean) / mean / data | > 3σ: samples / mean / data | own 8 MAD: samples / mean / data | χ²/pixel | spectral ratio | KS | warnings | wall / CPU (s), load |`);
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.stamp} | ${r.model} | ${range(r.samplePeaks)} / ${r.meanPeaks} / ${r.dataPeaks} | ${range(r.samplePeaks3)} / ${r.meanPeaks3} / ${r.dataPeaks3} | ${range(r.samplePeaksOwn)} / ${r.meanPeaksOwn} / ${r.dataPeaksOwn} | ${f(r.chi2PerPixel, 2)} | ${f(r.spectralRatio, 2)} | ${f(r.ks, 3)} | ${r.warnings} | ${f(r.wall, 0)} / ${f(r.cpu, 0)}, ${f(r.load, 1)} |`);
}
