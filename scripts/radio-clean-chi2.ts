/**
 * What an image model can reach on a UVFITS file's data: the χ² per visibility degree of freedom of CLEAN's own model
 * (Cotton–Schwab, natural weights, to 2σ and 1σ of the image noise) on a given grid, with the weights rescaled to the
 * data's scatter between successive visibilities four ways — one factor from the thermal check's robust or rms ratio,
 * or one per baseline — and the thermal check per product and per baseline:
 *   node --import tsx scripts/radio-clean-chi2.ts [SIZE:CELL_MAS] [FILE.uvfits]
 * (default 128:0.08 and the VLBA 43 GHz BL Lac file). docs/radio.md, *Fitting VLBA BL Lac to its noise*, quotes it.
 */
import { readFileSync } from 'node:fs';
import { readUvfits, selectVisibilities } from '../src-shared/radio/uvfits.js';
import { chooseMeasurement } from '../src-shared/radio/measurement.js';
import { dirtyBeam, doubleGrid } from '../src-shared/radio/imaging.js';
import { clean } from '../src-shared/radio/clean.js';
import { thermalCheck } from '../src-shared/radio/weighting.js';
import { ARCSEC } from '../src-shared/radio/grid.js';
const f = process.argv[3] ?? '../shared/data/uvfits/vlba43_BLLAC_2013may30.uvfits';
const uv = readUvfits(new Uint8Array(readFileSync(f)), f);
for (const p of ['RR', 'LL', 'I']) { const v = selectVisibilities(uv, p, f); console.log(p, v.n, thermalCheck(v)); }
const vis = selectVisibilities(uv, 'I', f);
const sub = (idx: number[]) => ({ n: idx.length, re: Float64Array.from(idx, (k) => vis.re[k]), im: Float64Array.from(idx, (k) => vis.im[k]), weight: Float64Array.from(idx, (k) => vis.weight[k]), time: Float64Array.from(idx, (k) => vis.time[k]), ant1: Int32Array.from(idx, (k) => vis.ant1[k]), ant2: Int32Array.from(idx, (k) => vis.ant2[k]), ifIndex: Int32Array.from(idx, (k) => vis.ifIndex[k]), chan: Int32Array.from(idx, (k) => vis.chan[k]) });
const byBl = new Map<string, number[]>();
for (let k = 0; k < vis.n; k++) { const key = `${vis.ant1[k]}-${vis.ant2[k]}`; if (!byBl.has(key)) byBl.set(key, []); byBl.get(key)!.push(k); }
const perBl = new Map<string, { pairs: number; ratio: number; robustRatio: number; uvd: number }>();
for (const [key, idx] of byBl) { const t = thermalCheck(sub(idx)); if (t) { let uvd = 0; for (const k of idx) uvd += Math.hypot(vis.u[k], vis.v[k]) / idx.length; perBl.set(key, { ...t, uvd }); } }
const rows = [...perBl.entries()].sort((a, b) => a[1].robustRatio - b[1].robustRatio);
for (const [k, t] of rows) console.log(k, t.pairs, t.ratio.toFixed(3), t.robustRatio.toFixed(3), (t.uvd / 1e6).toFixed(0) + 'Mλ');
const th = thermalCheck(vis)!;
const schemes: Record<string, Float64Array> = {
  globalRobust: Float64Array.from(vis.weight, (w) => w / th.robustRatio ** 2),
  globalMean: Float64Array.from(vis.weight, (w) => w / th.ratio ** 2),
  perBlRobust: Float64Array.from(vis.weight, (w, k) => { const t = perBl.get(`${vis.ant1[k]}-${vis.ant2[k]}`); return w / (t ? t.robustRatio : th.robustRatio) ** 2; }),
  perBlMean: Float64Array.from(vis.weight, (w, k) => { const t = perBl.get(`${vis.ant1[k]}-${vis.ant2[k]}`); return w / (t ? t.ratio : th.ratio) ** 2; }),
};
const [n, mas] = (process.argv[2] ?? '128:0.08').split(':').map(Number);
const grid = { nx: n, ny: n, cell: mas * 1e-3 * ARCSEC };
const A = chooseMeasurement(vis.u, vis.v, grid);
for (const [name, w] of Object.entries(schemes)) {
  let sw = 0; for (const x of w) sw += x;
  const big = dirtyBeam(vis.u, vis.v, w, doubleGrid(grid));
  for (const thr of [2, 1]) {
    const c = clean(A, vis.re, vis.im, w, big, { method: 'cotton-schwab', niter: 20000, gain: 0.1, threshold: thr / Math.sqrt(sw) });
    const m = A.forward(c.model);
    let c2 = 0; const z: number[] = [];
    for (let k = 0; k < vis.n; k++) { const q = w[k] * ((vis.re[k] - m.re[k]) ** 2 + (vis.im[k] - m.im[k]) ** 2); c2 += q; z.push(q / 2); }
    z.sort((a, b) => a - b);
    console.log(JSON.stringify({ name, n, mas, thr, chi2: +(c2 / (2 * vis.n)).toFixed(3), robustChi2: +(z[z.length >> 1] / Math.LN2).toFixed(3), iters: c.iterations }));
  }
}
