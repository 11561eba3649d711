import type { Command } from '../command.js';
import { parse, requireString, optionalString, numberFlag } from '../args.js';
import { UsageError } from '../errors.js';
import { checkOutputFolder, writeProductSet } from '../../io.js';
import { readImage2dArg, readNoiseArg, splitHduSelector } from '../../forward-model-files.js';
import { defaultFitRadius, pixelScaleFromWcs, LensInputError, EXCLUDE_MASK_MIN_RADIUS, MASK_CONVENTIONS, type MaskConvention } from '../../../src-shared/lensing/inputs.js';
import { POISSON_MODES, WEIGHT_TYPES, type PoissonMode, type WeightType } from '../../../src-shared/lensing/noise-map.js';
import { lensFitNoiseAndSky, type LensFitNoiseGiven } from '../../lens-fit/inputs.js';
import { defaultLensFitThreads, LENS_FIT_MAX_THREADS } from '../../lens-fit/pool/pool.js';
import { readFits, type FitsHeader } from '../../../src-shared/fits/index.js';
import { readFile } from 'node:fs/promises';
import { checkNotSame } from './forward.js';
import { sigmaArray } from '../../../src-shared/operators/noise.js';
import { REGULARISATION_KINDS, type RegularisationKind } from '../../../src-shared/lensing/inversion.js';
import { EPL_GAMMA_BOUNDS, LIGHT_CENTRES, MASS_PROFILES, type LightCentres, type MassProfile } from '../../../src-shared/lensing/fit.js';
import { MAX_CORE_GAUSSIANS } from '../../../src-shared/lensing/light.js';
import {
  LENS_FIT_DEFAULTS,
  LENS_FIT_NOISE_PRODUCTS,
  LENS_FIT_PRODUCTS,
  LENS_FIT_PSF_SIZE,
  LENS_FIT_LIGHT_CORE,
  lensFitMask,
  lensFitNoiseCorrelation,
  lensFitPsf,
  lensFitPsfWarning,
  lensFitPsfShapeWarning,
  lensFitSigmaFile,
  runLensFit,
  type LensFitInputs,
  type LensFitMask,
} from '../../reconstruct/lens-fit-run.js';
import { parsePixelBox } from '../../../src-shared/noise/spectrum.js';
import { NoiseInputError } from '../../../src-shared/operators/errors.js';
import { CORRELATION_SIGNIFICANCE } from '../../../src-shared/lensing/whitening.js';

const PRODUCTS = [...LENS_FIT_PRODUCTS, ...LENS_FIT_NOISE_PRODUCTS, 'sigma.fits'];

export const lensFitCommand: Command = {
  name: 'lens-fit',
  summary: 'fits a strong lens (SIE or power law + shear, Sérsic light) by the Bayesian evidence of a pixelated-source inversion',
  usage: `usage: skyscore lens-fit --obs IMAGE.fits (--noise-map SIGMA.fits|SIGMA|estimate | --weight-map WHT.fits) --psf PSF.fits
                        [--weight-type ivm|exp] [--poisson auto|none] [--exposure-time T|estimate] [--pixel-scale ARCSEC]
                        [--mask MASK.fits [--mask-convention auto|fit|exclude] | --annulus R1,R2]
                        [--source-size N] [--source-scale ARCSEC]
                        [--starts K] [--light auto|N] [--light-core K] [--mass sie|epl] [--threads N] [--speculate K]
                        [--noise-correlation auto|none] [--noise-region x0,y0,x1,y1] [--sky none|fit|LEVEL] [--out DIR] …

Fits the lens of a strong-lensing image: an SIE (or an elliptical power law) with external shear, the deflector's light as elliptical
Sérsic profiles, and the lensed source as pixels on its own grid, by maximising the Bayesian evidence of the
linear inversion (source and light amplitudes solved jointly, the regularisation strength by the evidence too),
from several starts; the parameters' errors are the Laplace approximation's plus the effects of the
regularisation strength, of the fit's source grid (shifted, and finer) and of the optimiser's end (lens.json errorBudget). Progress on stderr.
Conventions (θE, q, φ, x0, y0, γ1, γ2, the slope γ): docs/forward-models.md; the method: docs/lensing.md.

  --obs IMAGE.fits       the observed image (data units); --hdu N or IMAGE.fits[SCI] picks its HDU (by
                         number or EXTNAME[,EXTVER]; default the first HDU with an image)
  --noise-map SIGMA      σ per pixel (a FITS map of the image's shape, e.g. FILE.fits[ERR]) or one number;
                         NaN data pixels and σ that is NaN, 0, negative or above 10⁴ × the map's median (a
                         flag to ignore the pixel, as PyAutoLens's σ of 1e8) are left out of the fit (a note),
                         as is a drizzle's zero fill (blocks of 3×3 or more of exactly 0 in data that are not
                         counts: where no exposure fell);
                         estimate: one σ_sky measured from the image's blank sky (the sky --noise-correlation
                         measures, or the --noise-region box; sources clipped): the per-pixel rms about a
                         31×31 local mean, clipped at 3σ (lens.json noise.estimate)
  --weight-map WHT.fits  instead of --noise-map: a weight map (e.g. FILE.fits[WHT]); pixels of weight 0 are
                         left out. The sky's σ = 1/√w (--weight-type ivm, default: drizzle's final_wht_type=IVM)
  --weight-type K        ivm (default) or exp: the weights are exposure times (drizzle's EXP, seconds per pixel);
                         the sky's σ is then c/√t, c from the blank sky's measured scatter (the sky pixels
                         --noise-correlation measures, or the --noise-region box)
  --poisson M            auto (default) or none. auto adds the sources' Poisson noise, which drizzled weight
                         maps leave out: σ² = σ_sky² + max(s, 0)/e, s the data smoothed by a 3×3 binomial
                         kernel (fixed before the fit), e the electrons per data unit: the exposure time
                         (--exposure-time, else EXPTIME or TEXPTIME of the image's HDU, then the primary HDU),
                         per pixel with --weight-type exp; data in e⁻/s unless BUNIT says electrons, counts
                         (× CCDGAIN or ATODGAIN) or counts/s. Added to --weight-map's σ where e is known; a
                         --noise-map is taken as complete unless --exposure-time is given. What was read: a
                         note on stderr and lens.json's noise. none: σ from the weights or the map alone
  --exposure-time T      the exposure time in seconds (replaces the header's EXPTIME); estimate: the
                         electrons per data unit measured from the image by photon transfer — the residual
                         about each pixel's 5×5 local quadratic, its variance in bins of the smooth flux
                         (less the blank sky's median, or the --sky level) over the blank sky's, a line
                         1 + s/(e σ²) —, for the σ given or estimated; refused where the image holds too
                         little blank sky or signal (lens.json noise.estimate: the bins, the spread)
  --psf PSF.fits         the PSF image (centre at pixel ⌊K/2⌋, normalised to unit sum), cropped to
                         --psf-size pixels (default 21, odd) around its centre; a smaller PSF (PyAutoLens's
                         11×11) is used whole; an even side is warned about (the centres read half a pixel off)
  --pixel-scale ARCSEC   the image's pixel scale (arcsec per pixel); default: from the image's celestial
                         WCS (CD matrix, or PC × CDELT), square pixels
  --noise-correlation M  auto (default) or none. auto measures the noise's correlation from the image's blank
                         sky (valid pixels outside the fitted region grown by its own radius — no pixel within
                         6″ of the centre with the default disc — or, where that leaves under 2000 pixels (a 151²
                         cutout of 0.05″), by 1, 0.5, 0.25 or 0″, the first that leaves enough, the deflector's
                         light alone subtracted where that sky holds its wings; sources clipped; or the
                         --noise-region box):
                         y/σ's neighbour correlations, its per-pixel variance over σ² and its spectrum (lags
                         up to 5 pixels). Where a neighbour correlation exceeds ${CORRELATION_SIGNIFICANCE} standard
                         errors of white noise (drizzled images: typically 0.2–0.3), the data and the PSF are
                         whitened by W = P^(-1/2) (σ·W∗(y/σ) and W∗PSF): χ²/pixel,
                         the evidence, the errors and normalised-residual.fits are then in the whitened
                         space; the images stay in data units through the original PSF, and model.json
                         carries the correlated noise for reconstruct. lens.json noiseCorrelation; the
                         decision on stderr. none: σ as given, the noise taken as white
  --noise-region B       the blank-sky box to measure it from, x0,y0,x1,y1 (0-based pixels, x1 and y1
                         exclusive, as reconstruct's --noise-region)
  --sky S                none (default: the data's sky taken as subtracted), fit or a number: a constant sky
                         level subtracted before everything else (σ's Poisson term then counts the sources' light
                         alone; fit: fitted with the deflector's light, two Sérsic components through the PSF and
                         a constant, to the valid pixels within 2× the fitted region's radius (at least 6″) of the
                         centre, arcs and other sources > 3σ left out of the second round) — for a cutout whose sky
                         was not subtracted; lens-light.fits, model-image.fits and model.json's additive image
                         include it (lens.json sky)
  --mask MASK.fits       a 0/1 image of the image's shape: the fitted pixels, read by --mask-convention
  --mask-convention C    auto (default), fit or exclude. fit: 1 = fitted, 0 = left out (SkyScore's masks);
                         exclude: 1 = left out, 0 = fitted (PyAutoLens's Mask2D, whose True is masked);
                         auto: fit, unless every border pixel is 1 and the 0-pixels around the image centre
                         (not connected to the border through 1s: a disc or an annulus about it) span an
                         equivalent radius √(n/π) of at least ${EXCLUDE_MASK_MIN_RADIUS}″ — the region of a lens's arcs, which a
                         mask leaving out the deflector's core or a companion never is — then exclude, with a
                         note on stderr and in lens.json (notes, maskConvention)
  --annulus R1,R2        fit the pixels at R1 ≤ r ≤ R2 arcsec from the image centre (R1 may be 0: a disc)
                         default: the disc of 3″ (a cutout centred on the lens; its other sources and
                         most of its sky left out), widened to twice the first θE where that is larger;
                         every valid pixel of an image that it holds whole
  --source-size N        side of the final source grid (default 64, the prior's size)
  --source-scale ARCSEC  its pixel scale (default: the rays of the arcs' annulus, 10 % margin)
  --fit-source-size N    side of the source grid while fitting (default 24)
  --starts K             starts of the mass search (default 3)
  --light N              Sérsic components of the deflector's light: auto (default), 0, 1 or 2; auto fits
                         one and two and keeps the second where its evidence gain exceeds the BIC penalty
                         (½ · 7 · ln pixels, ½ · 5 · ln pixels with tied centres; lens.json lightSelection)
  --light-centres C      free (default): each Sérsic component its own centre; tied: the second concentric
                         with the first (a bulge and an envelope of one galaxy; two parameters fewer), so
                         that it cannot leave the galaxy to take up what the source should (docs/lensing.md)
  --light-core K         Gaussian core components tied to the first Sérsic component's centre and
                         ellipticity (σ 0.5, 1, 2, 4 pixels: the first K, 0–${MAX_CORE_GAUSSIANS}; default ${LENS_FIT_LIGHT_CORE}), their
                         amplitudes linear and of either sign, solved with the source: a nucleus steeper
                         than a Sérsic and a PSF core unlike the model PSF's (docs/lensing.md)
  --mass P               the mass profile: sie (default) or epl, the elliptical power law
                         κ = (3 − γ)/2 (θE/R)^(γ−1), its slope γ fitted too (flat prior ${EPL_GAMMA_BOUNDS[0]}–${EPL_GAMMA_BOUNDS[1]}, from 2)
  --supersample S        ray-shooting sub-pixels per side (default 2)
  --regularisation R     gradient (default), curvature or identity
  --no-errors            skip the errors (faster)
  --threads N            threads for the fit's independent evaluations: the starts' ellipticity scan, the
                         starts, the Hessian's steps and the Hessian, the error budget's λ and grids (the
                         light-and-mass cycles stay on one); default the cores (at most ${LENS_FIT_MAX_THREADS}), 1: no
                         worker threads. The same result bit for bit on any number
  --speculate K          with --threads > 1: the light-and-mass cycles' Nelder–Mead runs evaluate the
                         reflection with K (1–3) of the expansion and the two contractions at once, on the
                         threads (default 0: off). The same result bit for bit; it shortens the cycles' wall
                         time only where the threads have cores of their own (docs/lensing.md, Threads)
  --keep-sharp           keep the pixels sharper than the PSF (by default left out of the fit and mask.fits:
                         cosmic-ray residuals and hot pixels a weight map does not flag; lens.json outliers)
  --out DIR              the products (a folder; default lens-fit)

Products in DIR: lens.json (every parameter as {"value", "error"}, logEvidence, chi2PerPixel), model.json
(the fitted forward model for 'skyscore reconstruct --obs IMAGE.fits --model DIR/model.json': lens, psf.fits,
mask.fits, the lens light lens-light.fits as its additive image and the source inversion's flux reference),
lens-light.fits, light-subtracted.fits, model-image.fits, normalised-residual.fits, sigma.fits (σ as the fit used it, the sources' Poisson term included where added; NaN
where none: 'reconstruct --noise DIR/sigma.fits'; the observation's grid and WCS), source-inversion.fits (the source grid, a linear arcsec WCS), critical-curves.json (critical curves and
caustics, arcsec); where the noise was whitened, noise-sigma.fits (the per-pixel rms, σ·√(variance ratio)) and
noise-realisation.fits (a 256² draw of the measured noise), model.json's correlated noise block: then
'reconstruct --obs IMAGE.fits --model DIR/model.json' without --noise uses the correlated likelihood.`,
  async run(argv) {
    const cmd = 'lens-fit';
    const p = parse(
      argv,
      {
        obs: { type: 'string' },
        hdu: { type: 'string' },
        'noise-map': { type: 'string' },
        'weight-map': { type: 'string' },
        'weight-type': { type: 'string' },
        poisson: { type: 'string' },
        'exposure-time': { type: 'string' },
        psf: { type: 'string' },
        'psf-size': { type: 'string' },
        'pixel-scale': { type: 'string' },
        mask: { type: 'string' },
        'mask-convention': { type: 'string' },
        annulus: { type: 'string' },
        'source-size': { type: 'string' },
        'source-scale': { type: 'string' },
        'fit-source-size': { type: 'string' },
        starts: { type: 'string' },
        threads: { type: 'string' },
        speculate: { type: 'string' },
        light: { type: 'string' },
        'light-core': { type: 'string' },
        'light-centres': { type: 'string' },
        supersample: { type: 'string' },
        regularisation: { type: 'string' },
        mass: { type: 'string' },
        'no-errors': { type: 'boolean' },
        'keep-sharp': { type: 'boolean' },
        'noise-correlation': { type: 'string' },
        'noise-region': { type: 'string' },
        sky: { type: 'string' },
        out: { type: 'string' },
      },
      cmd,
    );
    if (p.positionals.length) throw new UsageError(`${cmd}: unexpected argument '${p.positionals[0]}'`);
    const obsPath = requireString(p, 'obs', cmd);
    const noiseArgOpt = optionalString(p, 'noise-map');
    const weightArg = optionalString(p, 'weight-map');
    if (noiseArgOpt !== undefined && weightArg !== undefined) throw new UsageError(`${cmd}: give --noise-map (σ) or --weight-map (inverse variance), not both`);
    if (noiseArgOpt === undefined && weightArg === undefined) throw new UsageError(`${cmd}: missing --noise-map (σ per pixel, or one σ) or --weight-map (an inverse-variance map such as HST's WHT)`);
    const weightType = (optionalString(p, 'weight-type') ?? 'ivm').trim() as WeightType;
    if (!WEIGHT_TYPES.includes(weightType)) throw new UsageError(`${cmd}: --weight-type must be ${WEIGHT_TYPES.join(' or ')}, got '${weightType}'`);
    if (weightType === 'exp' && weightArg === undefined) throw new UsageError(`${cmd}: --weight-type exp describes a --weight-map`);
    const poisson = (optionalString(p, 'poisson') ?? 'auto').trim() as PoissonMode;
    if (!POISSON_MODES.includes(poisson)) throw new UsageError(`${cmd}: --poisson must be ${POISSON_MODES.join(' or ')}, got '${poisson}'`);
    const exposureArg = optionalString(p, 'exposure-time');
    const exposureTime: number | 'estimate' | undefined = exposureArg === undefined ? undefined : exposureArg.trim() === 'estimate' ? 'estimate' : numberFlag(p, 'exposure-time', cmd, { positive: true });
    if (exposureTime !== undefined && poisson === 'none') throw new UsageError(`${cmd}: --exposure-time gives the sources' Poisson noise: not with --poisson none`);
    if (exposureTime !== undefined && weightType === 'exp') throw new UsageError(`${cmd}: --weight-type exp gives the exposure time per pixel: not with --exposure-time`);
    const skyArg = (optionalString(p, 'sky') ?? 'none').trim();
    const skyGiven = skyArg === 'none' || skyArg === 'fit' ? null : Number(skyArg);
    if (skyGiven !== null && (skyArg === '' || !Number.isFinite(skyGiven))) throw new UsageError(`${cmd}: --sky must be none, fit or a number (the sky level in data units), got '${skyArg}'`);
    const psfPath = requireString(p, 'psf', cmd);
    const scaleGiven = optionalString(p, 'pixel-scale') === undefined ? undefined : numberFlag(p, 'pixel-scale', cmd, { positive: true });
    const psfSize = numberFlag(p, 'psf-size', cmd, { default: LENS_FIT_PSF_SIZE, integer: true, min: 1, max: 255 });
    if (psfSize % 2 === 0) throw new UsageError(`${cmd}: --psf-size must be odd, got ${psfSize}`);
    const maskPath = optionalString(p, 'mask');
    const annulusArg = optionalString(p, 'annulus');
    if (maskPath !== undefined && annulusArg !== undefined) throw new UsageError(`${cmd}: give --mask or --annulus, not both`);
    const conventionArg = optionalString(p, 'mask-convention');
    if (conventionArg !== undefined && maskPath === undefined) throw new UsageError(`${cmd}: --mask-convention says how to read --mask: give --mask too`);
    const maskConvention = (conventionArg ?? 'auto').trim() as MaskConvention;
    if (!MASK_CONVENTIONS.includes(maskConvention)) throw new UsageError(`${cmd}: --mask-convention must be ${MASK_CONVENTIONS.join(', ')}, got '${conventionArg}'`);
    const sourceSize = numberFlag(p, 'source-size', cmd, { default: LENS_FIT_DEFAULTS.sourceSize, integer: true, min: 4, max: 128 });
    const sourceScale = optionalString(p, 'source-scale') === undefined ? undefined : numberFlag(p, 'source-scale', cmd, { positive: true });
    const fitSourceSize = numberFlag(p, 'fit-source-size', cmd, { default: LENS_FIT_DEFAULTS.fitSourceSize, integer: true, min: 4, max: 64 });
    const starts = numberFlag(p, 'starts', cmd, { default: LENS_FIT_DEFAULTS.starts, integer: true, min: 1, max: 20 });
    const threads = numberFlag(p, 'threads', cmd, { default: defaultLensFitThreads(), integer: true, min: 1, max: 64 });
    const speculate = numberFlag(p, 'speculate', cmd, { default: 0, integer: true, min: 0, max: 3 });
    if (speculate > 0 && threads < 2) throw new UsageError(`${cmd}: --speculate needs --threads 2 or more (its candidates run on the worker threads)`);
    const lightArg = optionalString(p, 'light') ?? String(LENS_FIT_DEFAULTS.light);
    if (!['auto', '0', '1', '2'].includes(lightArg.trim())) throw new UsageError(`${cmd}: --light must be auto, 0, 1 or 2, got '${lightArg}'`);
    const lightN: number | 'auto' = lightArg.trim() === 'auto' ? 'auto' : Number(lightArg);
    const lightCore = numberFlag(p, 'light-core', cmd, { default: LENS_FIT_LIGHT_CORE, integer: true, min: 0, max: MAX_CORE_GAUSSIANS });
    if (lightN === 0 && lightCore > 0) throw new UsageError(`${cmd}: --light-core needs a Sérsic component to tie to (--light 0 was given)`);
    const centresArg = (optionalString(p, 'light-centres') ?? 'free').trim() as LightCentres;
    if (!LIGHT_CENTRES.includes(centresArg)) throw new UsageError(`${cmd}: --light-centres must be ${LIGHT_CENTRES.join(' or ')}, got '${centresArg}'`);
    if (centresArg === 'tied' && lightN === 1) throw new UsageError(`${cmd}: --light-centres tied ties a second Sérsic component's centre to the first's: --light 1 has none (give --light 2 or auto)`);
    const supersample = numberFlag(p, 'supersample', cmd, { default: LENS_FIT_DEFAULTS.supersample, integer: true, min: 1, max: 8 });
    const regArg = optionalString(p, 'regularisation') ?? LENS_FIT_DEFAULTS.regularisation;
    if (!REGULARISATION_KINDS.includes(regArg as RegularisationKind)) throw new UsageError(`${cmd}: --regularisation must be one of ${REGULARISATION_KINDS.join(', ')}, got '${regArg}'`);
    const massArg = optionalString(p, 'mass') ?? 'sie';
    if (!MASS_PROFILES.includes(massArg as MassProfile)) throw new UsageError(`${cmd}: --mass must be one of ${MASS_PROFILES.join(', ')}, got '${massArg}'`);
    const hdu = optionalString(p, 'hdu') === undefined ? undefined : numberFlag(p, 'hdu', cmd, { integer: true, min: 0 });
    const outDir = optionalString(p, 'out') ?? 'lens-fit';
    const corrMode = (optionalString(p, 'noise-correlation') ?? 'auto').trim();
    if (corrMode !== 'auto' && corrMode !== 'none') throw new UsageError(`${cmd}: --noise-correlation must be auto or none, got '${corrMode}'`);
    const regionArg = optionalString(p, 'noise-region');
    if (regionArg !== undefined && corrMode === 'none') throw new UsageError(`${cmd}: --noise-region measures the noise's correlation: not with --noise-correlation none`);
    let region;
    try {
      region = regionArg === undefined ? undefined : parsePixelBox(regionArg, `${cmd}: --noise-region`);
    } catch (e) {
      if (e instanceof NoiseInputError) throw new UsageError(e.message);
      throw e;
    }
    const estimateSigma = noiseArgOpt?.trim() === 'estimate';
    const noiseFile = weightArg ?? (estimateSigma || Number.isFinite(Number(noiseArgOpt)) ? undefined : noiseArgOpt);
    const inputs = [obsPath, psfPath, ...(maskPath ? [maskPath] : []), ...(noiseFile !== undefined ? [noiseFile] : [])].map((f) => splitHduSelector(f).file);
    for (const f of inputs) checkNotSame(f, outDir, cmd);
    await checkOutputFolder(outDir, inputs, cmd, PRODUCTS);

    let obs = await readImage2dArg(obsPath, hdu);
    const shape = obs.shape;
    const notes: string[] = [];
    let scale: number;
    let scaleSource = 'given';
    if (scaleGiven !== undefined) scale = scaleGiven;
    else {
      let w: ReturnType<typeof pixelScaleFromWcs>;
      try {
        w = pixelScaleFromWcs(obs.header);
      } catch (e) {
        if (e instanceof LensInputError) throw new UsageError(`${cmd}: ${obsPath}: ${e.message}`);
        throw e;
      }
      if (!w) throw new UsageError(`${cmd}: ${obsPath} has no celestial WCS to read the pixel scale from (CTYPE1/2 RA/DEC with CDi_j or CDELTi): give --pixel-scale ARCSEC`);
      scale = w.scale;
      scaleSource = w.source;
      notes.push(`the pixel scale ${scale.toPrecision(6)}″ from ${obsPath}'s WCS (${w.source})`);
    }
    // the noise as given; σ is made once the fitted region is known (EXP weights: the sky's σ from the sky outside it)
    let given: LensFitNoiseGiven;
    if (estimateSigma) given = { kind: 'estimate', arg: 'estimate' };
    else if (weightArg !== undefined) {
      const wm = await readImage2dArg(weightArg);
      if (wm.shape[0] !== shape[0] || wm.shape[1] !== shape[1]) throw new UsageError(`${cmd}: ${weightArg}: the weight map is ${wm.shape[1]}×${wm.shape[0]} (NAXIS1×NAXIS2) but the data are ${shape[1]}×${shape[0]}`);
      given = { kind: 'weights', values: wm.data, arg: weightArg.replace(/^.*[\\/]/, '') };
    } else if (noiseFile !== undefined) {
      // σ as read: pixels of σ 0, NaN or huge (PyAutoLens's 1e8) are left out with a note (lensFitSigma, flaggedSigma)
      const m = await readImage2dArg(noiseFile);
      if (m.shape[0] !== shape[0] || m.shape[1] !== shape[1]) throw new UsageError(`${cmd}: ${noiseFile}: the σ map is ${m.shape[1]}×${m.shape[0]} (NAXIS1×NAXIS2) but the data are ${shape[1]}×${shape[0]}`);
      given = { kind: 'sigma', values: m.data, arg: noiseFile.replace(/^.*[\\/]/, '') };
    } else {
      const r = await readNoiseArg(noiseArgOpt as string, shape, '--noise-map', cmd);
      given = { kind: 'sigma', values: sigmaArray(r.noise, shape), arg: r.text };
    }
    for (const n of notes) process.stderr.write(`skyscore: note: ${n}\n`);
    const psfImg = await readImage2dArg(psfPath);
    const psf = lensFitPsf(psfImg, psfSize, shape, psfPath);
    // the files by their base names, as the app names them (the same lens.json from both)
    const base = (f: string) => f.replace(/^.*[\\/]/, '');
    const psfWarning = lensFitPsfWarning(psfImg.header, base(psfPath), scale, scaleGiven !== undefined ? 'given' : scaleSource, base(obsPath));
    const psfShapeWarning = lensFitPsfShapeWarning(psfImg.shape, base(psfPath));
    let mask: LensFitMask = null;
    // notes on the inputs kept in lens.json (notes): the mask's reading, σ's flagged pixels
    const inputNotes: string[] = [];
    let maskReading: LensFitInputs['maskConvention'];
    if (maskPath) {
      const r = lensFitMask(await readImage2dArg(maskPath), shape, base(maskPath), maskConvention, scale);
      mask = { kind: 'mask', mask: r.mask };
      maskReading = { given: r.given, read: r.convention };
      if (r.note) {
        inputNotes.push(r.note);
        process.stderr.write(`skyscore: note: ${r.note}\n`);
      }
    } else if (annulusArg !== undefined) {
      const parts = annulusArg.split(',').map((s) => Number(s.trim()));
      if (parts.length !== 2 || !parts.every(Number.isFinite) || parts[0] < 0 || !(parts[1] > parts[0])) {
        throw new UsageError(`${cmd}: --annulus must be R1,R2 in arcsec with 0 ≤ R1 < R2, got '${annulusArg}'`);
      }
      mask = { kind: 'annulus', r1: parts[0], r2: parts[1] };
    } else {
      const r = defaultFitRadius(shape, scale);
      if (r !== null) {
        mask = { kind: 'annulus', r1: 0, r2: r, followThetaE: true };
        process.stderr.write(`skyscore: note: fitting the pixels within ${r}″ of the image centre, widened to twice the first θE where that is larger (no --mask or --annulus; --annulus 0,R chooses another disc)\n`);
      }
    }

    // σ: the sky's, and the sources' Poisson term (the header read: the image's HDU, then the primary HDU's); --sky: a
    // constant sky level subtracted before everything else (σ's Poisson term then counts the sources' light alone;
    // the products that model the observation as given add it back): lensFitNoiseAndSky, the app's job's too
    const primary = await primaryHeader(obsPath);
    let made: ReturnType<typeof lensFitNoiseAndSky>;
    try {
      made = lensFitNoiseAndSky(obs, primary, given, { weightType, poisson, ...(exposureTime !== undefined && { exposureTime }) }, mask, scale, region, psf, skyArg === 'none' || skyArg === 'fit' ? skyArg : (skyGiven as number));
    } catch (e) {
      if (e instanceof LensInputError) throw new UsageError(`${cmd}: ${e.message}`);
      throw e;
    }
    obs = { ...obs, data: made.obs.data };
    const ns = made.ns;
    const sky = made.sky;
    if (made.skyNote) process.stderr.write(`skyscore: note: ${made.skyNote}\n`);
    for (const n of [...ns.skyNotes, ...ns.notes]) process.stderr.write(`skyscore: note: ${n}\n`);
    inputNotes.push(...ns.flaggedNotes);
    const sigma = ns.sigma;
    const noiseText = ns.noiseText;
    let correlation;
    try {
      // measured on the sky's σ (the Poisson term is the sources')
      correlation = lensFitNoiseCorrelation(obs, ns.skySigma, mask, scale, corrMode, region, psf);
    } catch (e) {
      throw new UsageError(`${cmd}: ${(e as Error).message}`);
    }
    process.stderr.write(`skyscore: note: ${correlation.text}\n`);
    const command = `lens-fit ${argv.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}`;
    const out = runLensFit(
      { obs, sigma, noiseText, psf, pixelScale: scale, mask, warnings: [psfWarning, psfShapeWarning].filter((w): w is string => w !== null), correlation, noise: ns.json, notes: inputNotes, ...(maskReading && { maskConvention: maskReading }), ...(sky && { sky }) },
      { sourceSize, sourceScale, fitSourceSize, starts, light: lightN, lightCore, ...(centresArg !== 'free' && { lightCentres: centresArg }), supersample, regularisation: regArg as RegularisationKind, errors: p.values['no-errors'] !== true, ...(p.values['keep-sharp'] === true && { rejectSharpOutliers: false }), mass: massArg as MassProfile },
      command,
      { onLine: (l) => process.stderr.write(`${l.line}\n`), threads, ...(speculate > 0 && { speculate }) },
    );
    await writeProductSet(outDir, [...out.files, lensFitSigmaFile(obs, sigma, command, noiseText)]);
    process.stdout.write(`lens-fit: wrote ${outDir}: ${out.summary}\n`);
    return 0;
  },
};


/** The primary HDU's header of the image's file (drizzle writes EXPTIME there; read after the image's own HDU). */
async function primaryHeader(obsPath: string): Promise<FitsHeader | null> {
  const { file } = splitHduSelector(obsPath);
  const f = readFits(new Uint8Array(await readFile(file)), { name: file });
  return (f.hdus[0]?.header as FitsHeader | undefined) ?? null;
}
