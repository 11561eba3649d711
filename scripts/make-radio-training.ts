/**
 * The radio prior's training cube (models/radio-64/README.md):
 *   node --import tsx scripts/make-radio-training.ts [--n N] [--crops M] [--seed S] [--size 64] [--compact-peak LO,HI] --out CUBE.fits
 *
 * N synthetic radio sources (src-shared/radio/synth-sources.ts, generator seeded by S) followed by M random crops
 * and rescalings (cropRescale) of the two real extended-emission images of the data folder's radio/ directory —
 * the PURIFY galaxy-cluster model (purify_cluster.fits) and the Spitzer 8 µm image of 30 Doradus
 * (purify_30dor_spitzer8um.fits), half each — as one float32 cube (NAXIS3 = N + M). purify_M31.fits is never
 * read: it is the held-out truth of the radio evaluation (scripts/radio-eval.ts).
 * --compact-peak LO,HI: the brightness rule's compact sources (peak > 15 × their 99.5th percentile) get peaks
 * log-uniform in [LO, HI] prior units instead of 15 × the drawn percentile target ([4.5, 18]); the other images, and
 * the generator's stream, are unchanged (synth-sources.ts `BrightnessRule.compactPeak`). Without it the cube is
 * models/radio-64's, bit for bit.
 * Prints the morphology counts.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { readImage2d } from '../src-main/forward-model-files.js';
import { writeFits } from '../src-shared/fits/writer.js';
import { FitsHeader } from '../src-shared/fits/header.js';
import { Rng } from '../src-shared/diffusion/nn/rng.js';
import { DEFAULT_BRIGHTNESS, cropRescale, synthRadioImages, withCompactPeak, type BrightnessRule } from '../src-shared/radio/synth-sources.js';

const DATA = path.resolve(import.meta.dirname, '..', '..', 'shared', 'data');
const arg = (name: string, def: string | null) => {
  const i = process.argv.indexOf(`--${name}`);
  if (i > 0) return process.argv[i + 1]!;
  if (def === null) throw new Error(`--${name} is required`);
  return def;
};
const n = Number(arg('n', '5000'));
const crops = Number(arg('crops', '1000'));
const seed = Number(arg('seed', '1'));
const size = Number(arg('size', '64'));
const out = arg('out', null);
const compact = arg('compact-peak', '');
const rule: BrightnessRule = compact === '' ? DEFAULT_BRIGHTNESS : withCompactPeak(...(compact.split(',').map(Number) as [number, number]));
const REAL = ['purify_cluster.fits', 'purify_30dor_spitzer8um.fits'];

const rng = new Rng(seed);
const { images, morphologies } = synthRadioImages(rng, n, size, rule);
const npix = size * size;
const cube = new Float32Array((n + crops) * npix);
cube.set(images);
const counts: Record<string, number> = {};
for (const m of morphologies) counts[m] = (counts[m] ?? 0) + 1;
const real = await Promise.all(REAL.map((f) => readImage2d(path.join(DATA, 'radio', f))));
for (let k = 0; k < crops; k++) {
  const which = k % REAL.length;
  const img = real[which];
  cube.set(cropRescale(img.data, img.shape[0], img.shape[1], rng, size, 0.2, rule), (n + k) * npix);
  counts[REAL[which]] = (counts[REAL[which]] ?? 0) + 1;
}
const h = new FitsHeader();
h.set('OBJECT', 'radio-like training images', 'SkyScore scripts/make-radio-training.ts');
h.set('SYNTHN', n, 'synthetic sources (src-shared/radio/synth-sources.ts)');
h.set('CROPN', crops, 'crops of purify_cluster and purify_30dor_spitzer8um');
h.set('SEED', seed, 'generator seed');
if (rule.compactPeak) {
  h.set('CPEAKLO', rule.compactPeak.lo, 'compact sources: peak log-uniform from');
  h.set('CPEAKHI', rule.compactPeak.hi, 'compact sources: peak log-uniform to');
}
writeFileSync(out, writeFits([{ data: cube, shape: [size, size, n + crops], header: h, bitpix: -32 }]));
console.log(JSON.stringify({ out, images: n + crops, size, seed, compactPeak: rule.compactPeak ?? null, counts }));
