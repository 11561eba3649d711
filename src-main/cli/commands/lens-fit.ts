import { createHash } from 'node:crypto';
import type { Command } from '../command.js';
import { parse, requireString, optionalString, numberFlag } from '../args.js';
import { UsageError } from '../errors.js';
import { checkOutputFolder, writeProductSet } from '../../io.js';
import { readImage2d, readNoiseArg, type ImageFile } from '../../forward-model-files.js';
import { checkNotSame } from './forward.js';
import { resultHeader, shapeText } from '../../reconstruct/headers.js';
import { writeFits } from '../../../src-shared/fits/index.js';
import { psfFromImage, cropKernelToImage, type PsfKernel } from '../../../src-shared/operators/psf.js';
import { sigmaArray } from '../../../src-shared/operators/noise.js';
import { lensCurves } from '../../../src-shared/operators/lens-curves.js';
import { parseForwardModel } from '../../../src-shared/operators/forward-model-spec.js';
import { annulusMask, fitLens, lightSubtracted, type LensFitResult } from '../../../src-shared/lensing/fit.js';
import { fluxReference, backgroundReference } from '../../../src-shared/diffusion/flux-reference.js';
import { REGULARISATION_KINDS, type RegularisationKind } from '../../../src-shared/lensing/inversion.js';

const PRODUCTS = [
  'lens.json',
  'model.json',
  'psf.fits',
  'mask.fits',
  'lens-light.fits',
  'light-subtracted.fits',
  'model-image.fits',
  'normalised-residual.fits',
  'source-inversion.fits',
  'critical-curves.json',
];

export const lensFitCommand: Command = {
  name: 'lens-fit',
  summary: 'fits a strong lens (SIE + shear, Sérsic light) by the Bayesian evidence of a pixelated-source inversion',
  usage: `usage: skyscore lens-fit --obs IMAGE.fits --noise-map SIGMA.fits|SIGMA --psf PSF.fits --pixel-scale ARCSEC
                        [--mask MASK.fits | --annulus R1,R2] [--source-size N] [--source-scale ARCSEC]
                        [--starts K] [--light N] [--out DIR] …

Fits the lens of a strong-lensing image: an SIE with external shear, the deflector's light as elliptical
Sérsic profiles, and the lensed source as pixels on its own grid, by maximising the Bayesian evidence of the
linear inversion (source and light amplitudes solved jointly, the regularisation strength by the evidence too),
from several starts; the parameters' errors are the Laplace approximation's plus the effects of the
regularisation strength, of the fit's source grid and of the optimiser's end (lens.json errorBudget). Progress on stderr.
Conventions (θE, q, φ, x0, y0, γ1, γ2): docs/forward-models.md; the method: docs/lensing.md.

  --obs IMAGE.fits       the observed image (data units); --hdu N picks its HDU
  --noise-map SIGMA      σ per pixel (a FITS map of the image's shape) or one number; NaN σ or NaN data
                         pixels are left out of the fit
  --psf PSF.fits         the PSF image (centre at pixel ⌊K/2⌋, normalised to unit sum), cropped to
                         --psf-size pixels (default 21, odd) around its centre
  --pixel-scale ARCSEC   the image's pixel scale (arcsec per pixel)
  --mask MASK.fits       1 where a pixel is fitted, 0 elsewhere (the image's shape)
  --annulus R1,R2        fit the pixels at R1 ≤ r ≤ R2 arcsec from the image centre (R1 may be 0: a disc)
                         default: every valid pixel
  --source-size N        side of the final source grid (default 64, the prior's size)
  --source-scale ARCSEC  its pixel scale (default: the rays of the arcs' annulus, 10 % margin)
  --fit-source-size N    side of the source grid while fitting (default 24)
  --starts K             starts of the mass search (default 3)
  --light N              Sérsic components of the deflector's light: 0, 1 (default) or 2
  --supersample S        ray-shooting sub-pixels per side (default 2)
  --regularisation R     gradient (default), curvature or identity
  --no-errors            skip the errors (faster)
  --out DIR              the products (a folder; default lens-fit)

Products in DIR: lens.json (every parameter as {"value", "error"}, logEvidence, chi2PerPixel), model.json
(the fitted forward model for 'skyscore reconstruct --obs IMAGE.fits --model DIR/model.json': lens, psf.fits,
mask.fits, the lens light lens-light.fits as its additive image and the source inversion's flux reference),
lens-light.fits, light-subtracted.fits, model-image.fits, normalised-residual.fits (the observation's grid and
WCS), source-inversion.fits (the source grid, a linear arcsec WCS), critical-curves.json (critical curves and
caustics, arcsec).`,
  async run(argv) {
    const cmd = 'lens-fit';
    const p = parse(
      argv,
      {
        obs: { type: 'string' },
        hdu: { type: 'string' },
        'noise-map': { type: 'string' },
        psf: { type: 'string' },
        'psf-size': { type: 'string' },
        'pixel-scale': { type: 'string' },
        mask: { type: 'string' },
        annulus: { type: 'string' },
        'source-size': { type: 'string' },
        'source-scale': { type: 'string' },
        'fit-source-size': { type: 'string' },
        starts: { type: 'string' },
        light: { type: 'string' },
        supersample: { type: 'string' },
        regularisation: { type: 'string' },
        'no-errors': { type: 'boolean' },
        out: { type: 'string' },
      },
      cmd,
    );
    if (p.positionals.length) throw new UsageError(`${cmd}: unexpected argument '${p.positionals[0]}'`);
    const obsPath = requireString(p, 'obs', cmd);
    const noiseArg = requireString(p, 'noise-map', cmd);
    const psfPath = requireString(p, 'psf', cmd);
    const scale = numberFlag(p, 'pixel-scale', cmd, { positive: true });
    const psfSize = numberFlag(p, 'psf-size', cmd, { default: 21, integer: true, min: 1, max: 255 });
    if (psfSize % 2 === 0) throw new UsageError(`${cmd}: --psf-size must be odd, got ${psfSize}`);
    const maskPath = optionalString(p, 'mask');
    const annulusArg = optionalString(p, 'annulus');
    if (maskPath !== undefined && annulusArg !== undefined) throw new UsageError(`${cmd}: give --mask or --annulus, not both`);
    const sourceSize = numberFlag(p, 'source-size', cmd, { default: 64, integer: true, min: 4, max: 128 });
    const sourceScale = optionalString(p, 'source-scale') === undefined ? undefined : numberFlag(p, 'source-scale', cmd, { positive: true });
    const fitSourceSize = numberFlag(p, 'fit-source-size', cmd, { default: 24, integer: true, min: 4, max: 64 });
    const starts = numberFlag(p, 'starts', cmd, { default: 3, integer: true, min: 1, max: 20 });
    const lightN = numberFlag(p, 'light', cmd, { default: 1, integer: true, min: 0, max: 2 });
    const supersample = numberFlag(p, 'supersample', cmd, { default: 2, integer: true, min: 1, max: 8 });
    const regArg = optionalString(p, 'regularisation') ?? 'gradient';
    if (!REGULARISATION_KINDS.includes(regArg as RegularisationKind)) throw new UsageError(`${cmd}: --regularisation must be one of ${REGULARISATION_KINDS.join(', ')}, got '${regArg}'`);
    const hdu = optionalString(p, 'hdu') === undefined ? undefined : numberFlag(p, 'hdu', cmd, { integer: true, min: 0 });
    const outDir = optionalString(p, 'out') ?? 'lens-fit';
    const inputs = [obsPath, psfPath, ...(maskPath ? [maskPath] : []), ...(Number.isFinite(Number(noiseArg)) ? [] : [noiseArg])];
    for (const f of inputs) checkNotSame(f, outDir, cmd);
    await checkOutputFolder(outDir, inputs, cmd, PRODUCTS);

    const obs = await readImage2d(obsPath, hdu);
    const shape = obs.shape;
    const { noise, text: noiseText } = await readNoiseArg(noiseArg, shape, '--noise-map', cmd);
    const sigma = sigmaArray(noise, shape);
    const psfImg = await readImage2d(psfPath);
    let psf: PsfKernel;
    try {
      psf = cropPsf(psfFromImage(psfImg.data, psfImg.shape), psfSize);
    } catch (e) {
      throw new UsageError(`${psfPath}: ${(e as Error).message.replace(/^psfFromImage: /, '')}`);
    }
    psf = cropKernelToImage(psf, shape);
    const image = { shape, scale };
    let mask: Uint8Array | null = null;
    if (maskPath) {
      const m = await readImage2d(maskPath);
      if (m.shape[0] !== shape[0] || m.shape[1] !== shape[1]) throw new UsageError(`${maskPath}: the mask is ${shapeText(m.shape)} but the image is ${shapeText(shape)}`);
      mask = new Uint8Array(m.data.length);
      for (let k = 0; k < m.data.length; k++) {
        const v = m.data[k];
        if (v !== 0 && v !== 1) throw new UsageError(`${maskPath}: mask values must be 0 or 1, got ${v} at pixel (${Math.floor(k / shape[1])}, ${k % shape[1]}) (row, column)`);
        mask[k] = v;
      }
    } else if (annulusArg !== undefined) {
      const parts = annulusArg.split(',').map((s) => Number(s.trim()));
      if (parts.length !== 2 || !parts.every(Number.isFinite) || parts[0] < 0 || !(parts[1] > parts[0])) {
        throw new UsageError(`${cmd}: --annulus must be R1,R2 in arcsec with 0 ≤ R1 < R2, got '${annulusArg}'`);
      }
      mask = annulusMask(image, parts[0], parts[1]);
    }

    const t0 = Date.now();
    const stamp = () => `${((Date.now() - t0) / 1000).toFixed(0)}s`;
    let lastLine = 0;
    const res = fitLens(
      { data: obs.data, sigma, image, mask, psf },
      {
        lightComponents: lightN,
        fitSourceSize,
        sourceSize,
        sourceScale,
        supersample,
        regularisation: regArg as RegularisationKind,
        starts,
        errors: p.values['no-errors'] !== true,
        onProgress: (pr) => {
          const t = Date.now();
          if (t - lastLine < 1000 && !/done|fitted|source|uncertainties|ring/.test(pr.message)) return;
          lastLine = t;
          process.stderr.write(`lens-fit: ${stamp()} ${pr.message}\n`);
        },
      },
    );
    if (res.laplaceNote) process.stderr.write(`skyscore: note: ${res.laplaceNote}\n`);
    process.stderr.write(`lens-fit: ${stamp()} done: θE ${fmt(res.parameters.thetaE)}″, q ${fmt(res.parameters.q)}, log Z ${res.logEvidence.toFixed(2)}, χ²/pixel ${res.chi2PerPixel.toFixed(3)}\n`);

    const command = `lens-fit ${argv.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}`;
    const files = products(res, obs, psf, command, noiseText);
    await writeProductSet(outDir, files);
    process.stdout.write(
      `lens-fit: wrote ${outDir}: θE = ${fmt(res.parameters.thetaE)}″, q = ${fmt(res.parameters.q)}, φ = ${fmt(res.parameters.phi)} rad, ` +
        `log Z = ${res.logEvidence.toFixed(2)}, χ²/pixel = ${res.chi2PerPixel.toFixed(3)} over ${res.nPixels} pixels, ${res.seconds.toFixed(0)} s\n`,
    );
    return 0;
  },
};

function fmt(p: { value: number; error: number | null }): string {
  return p.error === null ? p.value.toPrecision(5) : `${p.value.toPrecision(5)} ± ${p.error.toPrecision(2)}`;
}

/** The central `size`² pixels of a PSF around its centre (fewer where the PSF is smaller), renormalised. */
function cropPsf(k: PsfKernel, size: number): PsfKernel {
  const h = (size - 1) / 2;
  const [ky, kx] = k.shape;
  const [cy, cx] = k.center;
  const y0 = Math.max(0, cy - h);
  const y1 = Math.min(ky - 1, cy + h);
  const x0 = Math.max(0, cx - h);
  const x1 = Math.min(kx - 1, cx + h);
  const H = y1 - y0 + 1;
  const W = x1 - x0 + 1;
  const data = new Float64Array(H * W);
  let sum = 0;
  for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) sum += data[i * W + j] = k.data[(i + y0) * kx + j + x0];
  if (!(sum > 0)) throw new UsageError('the PSF sums to zero or less inside --psf-size');
  for (let i = 0; i < data.length; i++) data[i] /= sum;
  return { data, shape: [H, W], center: [cy - y0, cx - x0] };
}

function products(res: LensFitResult, obs: ImageFile, psf: PsfKernel, command: string, noiseText: string): { name: string; bytes: Uint8Array | string }[] {
  const shape = obs.shape;
  const [ny, nx] = shape;
  const L = res.lens;
  const sourceShape = res.sourceGrid.shape;
  const maskData = new Float32Array(ny * nx);
  for (const p of res.pixels) maskData[p] = 1;
  const srcFlux = fluxReference(res.source);
  const srcSky = backgroundReference(res.source);
  const model = {
    shape: sourceShape,
    operators: [
      {
        type: 'lens',
        imageShape: [ny, nx],
        imagePixelScale: res.image.scale,
        sourcePixelScale: res.sourceGrid.scale,
        supersample: res.supersample,
        lens: { model: 'SIE', thetaE: L.thetaE, q: Math.min(1, L.q), phi: L.phi, x0: L.x0, y0: L.y0 },
        shear: { gamma1: L.gamma1, gamma2: L.gamma2 },
      },
      { type: 'psf', fits: 'psf.fits' },
      { type: 'mask', fits: 'mask.fits' },
    ],
    // the fitted lens light, added to the lensed source (y = A x + b + n): reconstruct takes the observation itself
    ...(res.light.length ? { additive: { fits: 'lens-light.fits' } } : {}),
    // the source inversion's 99.5th percentile and sky: the automatic flux scale reads them, where the prior acts
    ...(srcFlux > 0 && srcFlux > srcSky ? { fluxReference: { flux: srcFlux, background: srcSky } } : {}),
    description: 'fitted by skyscore lens-fit: reconstruct the source from the observation with the same noise map',
  };
  const modelText = JSON.stringify(model, null, 2) + '\n';
  // the model must be one that reconstruct accepts
  parseForwardModel(modelText, 'model.json');
  const modelHash = createHash('sha256').update(modelText).digest('hex');
  const prov = (extra: Record<string, string | number> = {}) => ({ command, modelPath: 'model.json', modelHash, backend: 'float64 (no tensors)', extra: { SKYNOISE: noiseText, ...extra } });
  const onGrid = (name: string, data: ArrayLike<number>, bunit?: string) => {
    const h = resultHeader(obs, { sameAsInput: true }, shape, prov());
    if (bunit !== undefined) h.set('BUNIT', bunit);
    return { name, bytes: writeFits([{ data: Float32Array.from(data), shape: [nx, ny], header: h, bitpix: -32 }]) };
  };
  const srcHeader = resultHeader(obs, { sameAsInput: false, scale: res.sourceGrid.scale, plane: 'source plane' }, sourceShape, prov({ SKYLAMB: res.lambda }));
  const lensJson = {
    parameters: res.parameters,
    units: { thetaE: 'arcsec', x0: 'arcsec', y0: 'arcsec', phi: 'radians counter-clockwise from +x', q: 'minor/major axis ratio', gamma1: '', gamma2: '', e1: '(1-q)/(1+q) cos 2phi', e2: '(1-q)/(1+q) sin 2phi' },
    logEvidence: res.logEvidence,
    logEvidenceFitGrid: res.logEvidenceFit,
    chi2: res.chi2,
    chi2PerPixel: res.chi2PerPixel,
    nPixels: res.nPixels,
    regularisation: { kind: res.regularisation, lambda: res.lambda },
    sourceGrid: { shape: sourceShape, pixelScale: res.sourceGrid.scale },
    // the source inversion's 99.5th percentile and sky (flux-reference.ts), also model.json's fluxReference
    sourceFluxReference: srcFlux,
    sourceBackgroundReference: srcSky,
    fitSourceGrid: { shape: res.fitSourceGrid.shape, pixelScale: res.fitSourceGrid.scale },
    supersample: res.supersample,
    psfShape: psf.shape,
    thetaEInitial: res.thetaEInitial,
    laplaceNote: res.laplaceNote,
    evaluations: res.evaluations,
    seconds: res.seconds,
    covariance: res.covariance ? { names: res.names, matrix: Array.from(res.covariance) } : null,
    // the parts of every error (standard deviations, in the covariance's order): the Laplace approximation at fixed
    // λ and fit grid, λ marginalised, the fit grid's discretisation, the optimiser's distance from the optimum
    errorBudget: res.covarianceParts
      ? {
          names: res.names,
          ...Object.fromEntries(
            Object.entries(res.covarianceParts).map(([k, m]) => [k, m ? res.names.map((_, i) => Math.sqrt(Math.max(0, m[i * res.names.length + i]))) : null]),
          ),
          sigmaLnLambda: res.systematics?.sigmaLnLambda ?? null,
          grids: res.systematics?.grids.map((g) => ({ shape: g.shape, pixelScale: g.scale })) ?? null,
        }
      : null,
    command: `skyscore ${command}`,
  };
  const curves = lensCurves(L);
  const subtracted = lightSubtracted(obs.data, res.lightImage);
  const psfHeader = resultHeader(obs, { sameAsInput: false, scale: res.image.scale, plane: 'image plane' }, psf.shape, prov());
  return [
    { name: 'lens.json', bytes: JSON.stringify(lensJson, null, 2) + '\n' },
    { name: 'model.json', bytes: modelText },
    { name: 'psf.fits', bytes: writeFits([{ data: Float32Array.from(psf.data), shape: [psf.shape[1], psf.shape[0]], header: psfHeader, bitpix: -32 }]) },
    onGrid('mask.fits', maskData, ''),
    onGrid('lens-light.fits', res.lightImage),
    onGrid('light-subtracted.fits', subtracted),
    onGrid('model-image.fits', res.modelImage),
    onGrid('normalised-residual.fits', res.normalisedResidual, ''),
    { name: 'source-inversion.fits', bytes: writeFits([{ data: Float32Array.from(res.source), shape: [sourceShape[1], sourceShape[0]], header: srcHeader, bitpix: -32 }]) },
    { name: 'critical-curves.json', bytes: JSON.stringify({ units: 'arcsec, image axes (critical) and source axes (caustics)', critical: curves.critical, caustics: curves.caustics }) + '\n' },
  ];
}
