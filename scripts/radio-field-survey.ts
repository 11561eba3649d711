/**
 * The posterior's default grid from the source's extent (src-shared/radio/field.ts) on UVFITS files, with the extent
 * from every component of the survey's CLEAN (the rule before the islands) beside the one the rule now takes (the
 * components in detected islands, or the amplitudes' fall-off where the survey does not resolve the source, `rule`):
 *   node --import tsx scripts/radio-field-survey.ts FILE.uvfits [FILE.uvfits …]
 * One JSON line per file (angles in arcseconds). docs/radio.md, *The survey on sparse data*, quotes it.
 */
import { readFileSync } from 'node:fs';
import { defaultProduct, readUvfits, selectVisibilities } from '../src-shared/radio/uvfits.js';
import { extentRadiusPixels, posteriorGeometry, shortDetected, sourceExtent, surveyClean } from '../src-shared/radio/field.js';
import { ARCSEC } from '../src-shared/radio/grid.js';

const as = (x: number) => +(x / ARCSEC).toPrecision(4);
for (const f of process.argv.slice(2)) {
  const uv = readUvfits(new Uint8Array(readFileSync(f)), f);
  const vis = selectVisibilities(uv, defaultProduct(uv.meta), f);
  let freqMin = Infinity;
  for (const x of uv.meta.freqs) freqMin = Math.min(freqMin, x);
  const opts = { freqMin, dishDiameter: uv.meta.dishDiameter };
  const t0 = performance.now();
  const ext = sourceExtent(vis, opts);
  const seconds = (performance.now() - t0) / 1e3;
  const after = posteriorGeometry(vis, { ...opts, extent: ext });
  // the survey's CLEAN again (the same arithmetic), every component counted
  const { grid, threshold, clean: r } = surveyClean(vis, opts);
  let sw = 0;
  for (const w of vis.weight) sw += w;
  const radiusAll = extentRadiusPixels(r.model, grid.nx, grid.ny) * grid.cell;
  const before = posteriorGeometry(vis, { ...opts, extent: { ...ext, radius: radiusAll } });
  console.log(
    JSON.stringify({
      file: f.split(/[\\/]/).pop(),
      product: vis.product,
      visibilities: vis.n,
      survey: `${grid.nx}² × ${as(grid.cell)}`,
      thresholdJy: +threshold.toPrecision(3),
      noiseWeightsJy: +(1 / Math.sqrt(sw)).toPrecision(3),
      noiseResidualJy: +ext.noise.toPrecision(3),
      iterations: r.iterations,
      components: ext.components,
      converged: ext.converged,
      islands: ext.islands,
      negativeIslands: ext.negativeIslands,
      smallIslands: ext.smallIslands,
      smallIslandsFluxJy: +ext.smallFlux.toPrecision(3),
      dropped: ext.dropped,
      droppedFluxJy: +ext.droppedFlux.toPrecision(3),
      cleanFluxJy: +ext.flux.toPrecision(3),
      shortBaselineFluxJy: +ext.amplitude.shortFlux.toPrecision(3),
      shortBaselineNoiseJy: +ext.amplitude.shortNoise.toPrecision(3),
      shortDetected: shortDetected(ext.amplitude),
      negativeShare: +ext.negativeShare.toFixed(4),
      halfAmplitudeMlambda: +(ext.amplitude.halfUv / 1e6).toPrecision(4),
      amplitudeFwhm: as(ext.amplitude.fwhm),
      amplitudeResolved: ext.amplitude.resolved,
      rule: ext.rule,
      extentBefore: as(radiusAll),
      extentAfter: as(ext.radius),
      gridBefore: `${before.size}² × ${as(before.cell)}`,
      gridAfter: `${after.size}² × ${as(after.cell)}`,
      surveySeconds: +seconds.toFixed(2),
    }),
  );
}
