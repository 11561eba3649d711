import { useEffect, useState } from 'react';
import { useStore } from '../store/index';
import type { LensStage } from '../../../src-shared/operators/forward-model-spec';
import { LENS_FIT_MASS_PROFILES, LENS_FIT_REGULARISATIONS } from '../../../src-shared/protocol/lensing';
import { FileButton, NumberField } from '../model/fields';
import { readFileBytes } from '../export/download';
import { useLensFit, weightsSource, type LensFitDone, type LensParameter } from './state';
import { appLensNote, applyFittedLens, chosenNoiseHdu, defaultDisc, exportLensFile, fitPixelScale, installLensFitEvents, noiseHdus, poissonPreview, startLensFit, stopLensFit } from './actions';
import { SkyBoxPicker, boxText } from '../model/NoiseForm';
import { hms } from '../radio/format';
import { parsePixelBox } from '../../../src-shared/noise/spectrum';
import type { Region } from '../store/model';
import { addModelFile, chooseObs } from '../model/actions';
import './lensing.css';

/** The rows of the parameter table: the mass, then each light component's, with units. */
const MASS_ROWS: [string, string, string][] = [
  ['thetaE', 'θE', '″'],
  ['q', 'q', ''],
  ['phi', 'φ', 'rad'],
  ['x0', 'x0', '″'],
  ['y0', 'y0', '″'],
  ['gamma', 'γ (slope)', ''],
  ['gamma1', 'γ1', ''],
  ['gamma2', 'γ2', ''],
];
const LIGHT_ROWS: [string, string][] = [
  ['amplitude', 'data units'],
  ['rEff', '″'],
  ['n', ''],
  ['q', ''],
  ['phi', 'rad'],
  ['x0', '″'],
  ['y0', '″'],
];

/** The fit on the sky: the mass's position angle East of North, its centre, the shear's strength and axis. */
function SkyRows({ sky }: { sky: NonNullable<LensFitDone['onSky']> }) {
  const eq = sky.frame.lon === 'RA';
  return (
    <>
      <tr data-testid="lens-fit-row-pa">
        <td>PA</td>
        <td>{fmt(sky.positionAngle)}</td>
        <td>° E of N (major axis)</td>
      </tr>
      <tr data-testid="lens-fit-row-centre">
        <td>centre</td>
        <td>{eq ? `${hms(sky.centre.lon, true)} ${hms(sky.centre.lat, false)}` : `${sky.centre.lon.toFixed(6)}° ${sky.centre.lat.toFixed(6)}°`}</td>
        <td>{eq ? `RA, Dec${sky.frame.radesys ? ` (${sky.frame.radesys})` : ''}` : `${sky.frame.lon}, ${sky.frame.lat}`}</td>
      </tr>
      <tr data-testid="lens-fit-row-shear">
        <td>shear γ</td>
        <td>{fmt(sky.shear.gamma)}</td>
        <td>stretching at PA {fmt(sky.shear.positionAngle)}°</td>
      </tr>
    </>
  );
}

function fmt(p: LensParameter | undefined): string {
  if (!p) return '—';
  if (p.error === null || !Number.isFinite(p.error)) return p.value.toPrecision(5);
  const digits = Math.max(0, Math.min(8, 1 - Math.floor(Math.log10(Math.abs(p.error) || 1e-12))));
  return `${p.value.toFixed(digits)} ± ${p.error.toFixed(digits)}`;
}

const busy = (s: string) => s === 'queued' || s === 'running' || s === 'stopping';

/** The Noise step's σ as the fit takes it, for the Noise menu. */
function noiseStepText(n: ReturnType<typeof useStore.getState>['noise']): string {
  if ((n.mode === 'sigma' || n.mode === 'mad') && n.sigma !== null) return `the Noise step (σ = ${+n.sigma.toPrecision(4)})`;
  if (n.mode === 'map' && n.mapFile) return `the Noise step (σ map ${n.mapFile})`;
  return 'the Noise step (not set)';
}

/**
 * The fit's inputs from the observation's file (as `skyscore lens-fit` reads HST products): which image HDU is
 * the data (the observation's), where σ comes from (the Noise step, another HDU of the file as a σ map or a weight
 * map: FILE.fits[ERR], FILE.fits[WHT], or a weight map's own file) and the weights' kind (IVM, EXP), the pixel scale
 * (from the WCS unless given), the default fitted disc, whether pixels sharper than the PSF are kept, and the noise
 * options (NoiseOptions).
 */
function FitInputs({ op }: { op: LensStage }) {
  const form = useLensFit((s) => s.form);
  const patch = useLensFit((s) => s.patchForm);
  const obs = useStore((s) => s.obs);
  const noise = useStore((s) => s.noise);
  if (!obs) return null;
  const others = noiseHdus();
  const chosenHdu = form.noiseSource === 'obs-sigma' || form.noiseSource === 'obs-weights' ? chosenNoiseHdu(form) : null;
  const scale = fitPixelScale(op, form);
  const disc = defaultDisc(scale.value);
  const differs = scale.source !== "the lens stage's image pixel" && Math.abs(scale.value - op.imagePixelScale) > 0.01 * scale.value;
  return (
    <div className="lensfit-inputs" data-testid="lens-fit-inputs">
      <div className="grid2">
        <label className="span2">
          Data (HDU)
          <select value={obs.hdu} onChange={(e) => chooseObs(Number(e.target.value), 0)} aria-label="Data HDU of the lens fit" data-testid="lens-fit-data-hdu" disabled={obs.hdus.length < 2}>
            {obs.hdus.map((h) => (
              <option key={h.index} value={h.index}>
                {h.label}
              </option>
            ))}
          </select>
        </label>
        <label className="span2">
          Noise
          <select value={form.noiseSource} onChange={(e) => patch({ noiseSource: e.target.value as typeof form.noiseSource })} aria-label="Noise of the lens fit" data-testid="lens-fit-noise-source">
            <option value="step">{noiseStepText(noise)}</option>
            <option value="obs-sigma" disabled={others.length === 0}>
              σ map: another HDU
            </option>
            <option value="obs-weights" disabled={others.length === 0}>
              weight map: another HDU
            </option>
            <option value="file-weights">weight map: a FITS file</option>
            <option value="estimate">σ_sky: estimate from the blank sky</option>
          </select>
        </label>
        {form.noiseSource === 'file-weights' && (
          <div className="row span2">
            <FileButton
              label="Weight map FITS…"
              accept=".fits,.fit,.fts,.fz,.gz"
              ariaLabel="Weight map FITS file of the lens fit"
              testId="lens-fit-weight-file"
              onFiles={async (fs) => {
                const f = fs[0]!;
                patch({ noiseFile: await addModelFile(f.name, await readFileBytes(f), 'sigma') });
              }}
            />
            <span className="filename" data-testid="lens-fit-weight-file-name">
              {form.noiseFile ?? 'none chosen'}
            </span>
          </div>
        )}
        {(form.noiseSource === 'obs-sigma' || form.noiseSource === 'obs-weights') && (
          <label className="span2">
            {form.noiseSource === 'obs-weights' ? 'Weight map (HDU)' : 'σ map (HDU)'}
            <select value={chosenHdu ?? ''} onChange={(e) => patch({ noiseHdu: Number(e.target.value) })} aria-label="Noise HDU of the lens fit" data-testid="lens-fit-noise-hdu">
              {others.map((h) => (
                <option key={h.index} value={h.index}>
                  {h.label}
                </option>
              ))}
            </select>
          </label>
        )}
        {weightsSource(form) && (
          <label className="span2">
            Weight type
            <select value={form.weightType} onChange={(e) => patch({ weightType: e.target.value as typeof form.weightType })} aria-label="Weight type of the lens fit" data-testid="lens-fit-weight-type">
              <option value="ivm">IVM: inverse variance, σ_sky = 1/√w</option>
              <option value="exp">EXP: exposure time (s), σ_sky = c/√t, c from the blank sky</option>
            </select>
          </label>
        )}
        <NumberField
          label="Pixel scale"
          unit="″"
          min={1e-6}
          value={form.pixelScale}
          onChange={(v) => patch({ pixelScale: v })}
          onClear={() => patch({ pixelScale: null })}
          placeholder={`${+scale.value.toPrecision(6)} (${scale.source === "the lens stage's image pixel" ? 'lens stage' : 'WCS'})`}
          testId="lens-fit-pixel-scale"
          help={form.pixelScale === null ? 'empty: from the data' : 'given (--pixel-scale)'}
        />
        <label className="row lensfit-check" title="--keep-sharp: by default pixels sharper than the PSF (cosmic-ray residuals, hot pixels a weight map does not flag) are left out of the fit">
          <input type="checkbox" checked={form.keepSharp === true} onChange={(e) => patch({ keepSharp: e.target.checked })} data-testid="lens-fit-keep-sharp" />
          keep pixels sharper than the PSF
        </label>
      </div>
      <p className="lensfit-scale muted" data-testid="lens-fit-scale">
        pixel scale {+scale.value.toPrecision(6)}″ from {scale.source}
        {scale.wcsError ? ` (the WCS: ${scale.wcsError})` : scale.source === "the lens stage's image pixel" ? ' (the data have no celestial WCS)' : ''}
        {differs ? ` — the lens stage's image pixel is ${op.imagePixelScale}″` : ''}
        {form.mask === 'default' && (disc !== null ? `; fitted: the pixels within ${disc}″ of the image centre` : "; fitted: every valid pixel (the image lies within the default disc)")}
      </p>
      <NoiseOptions />
    </div>
  );
}

/** A box typed as the command line's --noise-region (x0,y0,x1,y1; 0-based, x1 and y1 exclusive), checked against the image. */
function RegionField({ value, shape, onChange }: { value: Region | null; shape: [number, number]; onChange(r: Region | null): void }) {
  const shown = value ? `${value.x0},${value.y0},${value.x1},${value.y1}` : '';
  const [text, setText] = useState(shown);
  const [issue, setIssue] = useState<string | null>(null);
  // a box set elsewhere (drawn, the viewer's, a project opened) replaces the text
  const [last, setLast] = useState(shown);
  if (last !== shown) {
    setLast(shown);
    setText(shown);
    setIssue(null);
  }
  const commit = (t: string) => {
    if (t.trim() === '') {
      setIssue(null);
      return onChange(null);
    }
    let r: Region;
    try {
      r = parsePixelBox(t, 'the box');
    } catch (e) {
      return setIssue((e as Error).message);
    }
    const [ny, nx] = shape;
    if (!(r.x1 > r.x0 && r.y1 > r.y0)) return setIssue('x1 must exceed x0 and y1 exceed y0');
    if (r.x1 > nx || r.y1 > ny) return setIssue(`the box reaches outside the ${nx}×${ny} (x × y) image`);
    setIssue(null);
    onChange(r);
  };
  return (
    <div className={`field ${issue ? 'bad' : ''}`}>
      <label title="--noise-region: 0-based pixels, x1 and y1 exclusive">Blank-sky box</label>
      <input
        type="text"
        value={text}
        placeholder="automatic: outside the fitted region"
        data-testid="lens-fit-noise-region"
        aria-label="Blank-sky box x0,y0,x1,y1"
        aria-invalid={issue ? true : undefined}
        onChange={(e) => setText(e.target.value)}
        onBlur={(e) => commit(e.target.value)}
        onKeyDown={(e) => e.key === 'Enter' && commit((e.target as HTMLInputElement).value)}
      />
      <small className={issue ? 'err' : 'muted'}>{issue ?? 'x0,y0,x1,y1 (pixels from 0; x1, y1 exclusive)'}</small>
    </div>
  );
}

/**
 * The noise options of `skyscore lens-fit`: the sources' Poisson term (auto/none, the exposure time the header gives,
 * overridable; the units read and e, or why the term cannot be added) and the noise's correlation (auto/none, the
 * blank-sky box drawn on the image or typed).
 */
function NoiseOptions() {
  const form = useLensFit((s) => s.form);
  const patch = useLensFit((s) => s.patchForm);
  const obs = useStore((s) => s.obs);
  if (!obs) return null;
  const exp = weightsSource(form) && form.weightType === 'exp';
  const pv = poissonPreview(form);
  const seconds = pv.header ? `${+pv.header.seconds.toPrecision(6)} (${pv.header.key})` : 'none in the header';
  return (
    <div className="lensfit-noise" data-testid="lens-fit-noise-options">
      <div className="grid2">
        <label title="--poisson: auto adds the sources' Poisson noise, which drizzled weight maps leave out: σ² = σ_sky² + max(s, 0)/e">
          Poisson term
          <select value={form.poisson} onChange={(e) => patch({ poisson: e.target.value as typeof form.poisson })} aria-label="Sources' Poisson noise" data-testid="lens-fit-poisson">
            <option value="auto">auto</option>
            <option value="none">none</option>
          </select>
        </label>
        {exp ? (
          <p className="muted lensfit-cell">exposure time: per pixel, from the EXP weights</p>
        ) : (
          <NumberField
            label="Exposure time"
            unit="s"
            min={1e-6}
            value={form.exposureTime}
            disabled={form.poisson === 'none' || form.exposureEstimate}
            onChange={(v) => patch({ exposureTime: v })}
            onClear={() => patch({ exposureTime: null })}
            placeholder={seconds}
            testId="lens-fit-exposure"
            help={form.exposureTime === null ? (pv.header ? `empty: the header's ${pv.header.key}` : 'none in the header: give it') : pv.header ? `the header's: ${+pv.header.seconds.toPrecision(6)} s (${pv.header.key})` : 'none in the header'}
          />
        )}
        {!exp && (
          <label className="row span2 lensfit-check" title="--exposure-time estimate: the electrons per data unit (the effective exposure time for data in e⁻/s) measured from the image by photon transfer — for cutouts without EXPTIME">
            <input type="checkbox" checked={form.exposureEstimate} disabled={form.poisson === 'none'} onChange={(e) => patch({ exposureEstimate: e.target.checked })} data-testid="lens-fit-exposure-estimate" />
            estimate it from the data (photon transfer)
          </label>
        )}
        <label title="--sky: none takes the data's sky as subtracted; fit fits a constant sky with the deflector's light and subtracts it before everything else (a cutout whose sky was not subtracted); a level subtracts that">
          Sky level
          <select value={form.sky} onChange={(e) => patch({ sky: e.target.value as typeof form.sky })} aria-label="Sky level of the lens fit" data-testid="lens-fit-sky">
            <option value="none">none (subtracted already)</option>
            <option value="fit">fit</option>
            <option value="level">a level</option>
          </select>
        </label>
        {form.sky === 'level' ? (
          <NumberField label="Level" unit="data units" value={form.skyLevel} onChange={(v) => patch({ skyLevel: v })} onClear={() => patch({ skyLevel: null })} placeholder="e.g. 0.1" testId="lens-fit-sky-level" help={form.skyLevel === null ? 'give the level (else none is subtracted)' : 'subtracted before the fit'} />
        ) : (
          <p className="muted lensfit-cell" data-testid="lens-fit-sky-text">
            {form.sky === 'fit' ? "fitted with the deflector's light (two Sérsic components and a constant)" : 'the data taken as sky-subtracted'}
          </p>
        )}
      </div>
      <p className={pv.added || form.poisson === 'none' || !weightsSource(form) ? 'muted lensfit-scale' : 'warn'} data-testid="lens-fit-poisson-preview">
        {!pv.added && form.poisson === 'auto' && weightsSource(form) ? '⚠ ' : ''}Poisson term {pv.added ? `added — ${pv.text}` : pv.text}
      </p>
      <div className="grid2">
        <label title="--noise-correlation: auto measures the noise's correlation on the blank sky (drizzled images: neighbours correlate 0.2–0.3) and whitens the data and the PSF where it is significant">
          Noise correlation
          <select
            value={form.noiseCorrelation}
            onChange={(e) => patch({ noiseCorrelation: e.target.value as typeof form.noiseCorrelation })}
            aria-label="Noise correlation"
            data-testid="lens-fit-noise-correlation"
          >
            <option value="auto">auto (whiten)</option>
            <option value="none">none (white)</option>
          </select>
        </label>
        {form.noiseCorrelation === 'auto' && <RegionField value={form.noiseRegion} shape={obs.shape} onChange={(r) => patch({ noiseRegion: r })} />}
      </div>
      {form.noiseCorrelation === 'auto' && (
        <>
          <SkyBoxPicker
            region={form.noiseRegion}
            onBox={(r) => patch({ noiseRegion: r })}
            mini
            drawLabel="Draw the box…"
            title="Blank-sky box of the lens fit"
            testIds={{ draw: 'lens-fit-draw-box', viewer: 'lens-fit-viewer-box', drawer: 'lens-fit-box-draw' }}
            caption="drag over blank sky, away from the lens and other sources"
          >
            {form.noiseRegion && (
              <button type="button" className="mini" data-testid="lens-fit-clear-box" onClick={() => patch({ noiseRegion: null })}>
                Automatic sky
              </button>
            )}
          </SkyBoxPicker>
          <p className="muted lensfit-scale" data-testid="lens-fit-noise-box">
            {form.noiseRegion
              ? `measured on the box ${boxText(form.noiseRegion)}${exp ? '; the EXP weights take c from it too' : ''}`
              : `measured on the blank sky outside the fitted region grown by its own radius (by less where that leaves under 2000 pixels, the deflector's light subtracted where that sky holds it), sources clipped${exp ? '; the EXP weights take c from the sky at its own radius' : ''}`}
          </p>
        </>
      )}
      {form.noiseCorrelation === 'none' && exp && <p className="muted lensfit-scale">the EXP weights take c from the blank sky outside the fitted region grown by its own radius</p>}
    </div>
  );
}

const g = (v: number, d = 4) => (Number.isFinite(v) ? String(+v.toPrecision(d)) : '–');

/**
 * What the fit used for the noise (lens.json's noise and noiseCorrelation): the sky's σ and where it came from, the
 * sources' Poisson term (e and the cards it was read from, how much σ grew) or why it was not added, and the
 * correlation's decision with what was measured.
 */
function NoiseUsed({ done }: { done: LensFitDone }) {
  const n = done.noise;
  const c = done.noiseCorrelation;
  const unit = useStore((s) => s.obs?.bunit ?? '');
  if (!n && !c) return null;
  const added = n !== null && !/^none/.test(n.poisson);
  const est = n?.estimate;
  const card = (k: string, v: number | string) => {
    const x = typeof v === 'number' ? g(v, 6) : v;
    if (k === 'exposureTime') return x === 'estimate' ? 'estimated by photon transfer' : `exposure time ${x} s, given`;
    if (k === 'EXPTIME' || k === 'TEXPTIME') return `${k} ${x} s`;
    if (k === 'exposure') return `exposure time: ${x}`;
    return `${k} ${x}`;
  };
  const read = n?.read ? Object.entries(n.read).filter(([k]) => k !== 'electronsPerUnit').map(([k, v]) => card(k, v)) : [];
  const src = c?.source;
  const where = Array.isArray(src) ? `the box x ${src[0]}–${src[2] - 1}, y ${src[1]}–${src[3] - 1}` : src ? `the ${src}` : null;
  const pm = (v: number, e: number) => `${v.toFixed(3)} ± ${e.toFixed(3)}`;
  return (
    <div className="lensfit-noise-used" data-testid="lens-fit-noise-used">
      <strong>Noise used</strong>
      {n && (
        <>
          <span data-testid="lens-fit-noise-sky">
            <b>σ_sky</b> {n.skySigmaMedian !== undefined ? `${g(n.skySigmaMedian)}${unit ? ` ${unit}` : ''} (median) — ` : ''}
            {n.sky}
            {est?.sigmaSky && ` (± ${g(est.sigmaSky.standardError ?? NaN, 2)} over the quadrants ${est.sigmaSky.quadrants.map((q) => (q === null ? '–' : g(q, 3))).join(', ')}; ${est.sigmaSky.skyPixels} pixels of the blank sky ${est.sigmaSky.sky})`}
          </span>
          {est?.electronsPerUnit && (
            <span data-testid="lens-fit-noise-estimate-e">
              <b>e estimated</b> {g(est.electronsPerUnit.value, 4)} ± {g(est.electronsPerUnit.standardError, 2)} by photon transfer (per bin{' '}
              {est.electronsPerUnit.bins.map((b) => (b.electronsPerUnit === null ? '–' : g(b.electronsPerUnit, 3))).join(', ')} over smooth fluxes {g(est.electronsPerUnit.bins[0]?.from ?? NaN, 3)}–{g(est.electronsPerUnit.bins[est.electronsPerUnit.bins.length - 1]?.to ?? NaN, 3)}; flux above{' '}
              {est.electronsPerUnit.skyLevelSource === '--sky' ? 'the sky level subtracted' : `the blank sky's median ${g(est.electronsPerUnit.skyLevel, 3)}`})
            </span>
          )}
          {done.sky && (
            <span data-testid="lens-fit-noise-sky-level">
              <b>Sky level</b> {g(done.sky.level, 4)} subtracted ({done.sky.method === 'fitted' ? `fitted with the deflector's light to ${done.sky.pixels ?? '?'} pixels within ${done.sky.radiusArcsec ?? '?'}″` : 'given'})
            </span>
          )}
          <span data-testid="lens-fit-noise-poisson" data-added={added ? 'yes' : 'no'}>
            <b>Poisson term</b>{' '}
            {added
              ? `added: σ² = σ_sky² + s/e, e = ${typeof n.electronsPerUnit === 'number' ? `${g(n.electronsPerUnit, 6)} e⁻ per data unit` : (n.electronsPerUnit ?? '?')}${read.length ? ` (${read.join(', ')})` : ''}; σ up to ${g(n.maxSigmaRatio ?? NaN, 3)}× σ_sky, variance +10 % or more at ${n.pixelsVarianceAbove110Percent ?? '?'} pixels`
              : `not added: ${n.poisson.replace(/^none \((.*)\)$/, '$1')}`}
          </span>
        </>
      )}
      {c && (
        <span data-testid="lens-fit-noise-correlation" data-decision={c.decision}>
          <b>Correlation</b>{' '}
          {c.lag1 && c.lag1StandardError
            ? `${c.decision} — neighbour correlation ${pm(c.lag1.x, c.lag1StandardError.x)} (x) / ${pm(c.lag1.y, c.lag1StandardError.y)} (y), per-pixel variance ${g(c.varianceRatio ?? NaN, 3)}× σ², large-scale ${g(c.largeScaleRatio ?? NaN, 3)}×, measured on ${where ?? '?'} (${c.skyPixels ?? '?'} pixels)`
            : c.text.replace(/^noise correlation: /, '')}
        </span>
      )}
    </div>
  );
}

/**
 * lens.json's note (the fitted lens lies outside galaxy-scale lenses' range) with the panel's fields for the command
 * line's flags, and a button that sets the light components it advises.
 */
function LensNote({ note }: { note: string }) {
  const light = useLensFit((s) => s.form.light);
  const patch = useLensFit((s) => s.patchForm);
  const a = appLensNote(note);
  return (
    <div className="warn lensfit-note" role="note" data-testid="lens-fit-note">
      ⚠ {a.text}
      {a.light !== null && a.light !== light && (
        <div className="row">
          <button type="button" className="mini" onClick={() => patch({ light: a.light! })} data-testid="lens-fit-note-light">
            Set Light components to {a.light}
          </button>
          <small className="muted">then Fit lens again</small>
        </div>
      )}
    </div>
  );
}

/**
 * "Fit lens": the lens fit of `skyscore lens-fit` on the observation, with σ from the Noise step, an HDU of the
 * observation's file (σ or weights) or a weight map's file, the noise options (the Poisson term, the correlation and
 * its box), the model's PSF and the pixel scale of the WCS (or given); its settings, Fit /
 * Stop, progress; the fitted parameters with their errors, log Z and χ²/pixel, the sharp pixels left out and the
 * fit's notes; "Use the fitted lens" and the products' export.
 */
export function LensFitPanel({ op }: { op: LensStage }) {
  useEffect(() => installLensFitEvents(), []);
  const form = useLensFit((s) => s.form);
  const job = useLensFit((s) => s.job);
  const done = useLensFit((s) => s.done);
  const patch = useLensFit((s) => s.patchForm);
  const obs = useStore((s) => s.obs);
  const hasMask = useStore((s) => s.modelDoc.operators.some((o) => o.type === 'mask'));
  const running = busy(job.state);
  const lightKeys = done ? [...new Set(Object.keys(done.parameters).filter((k) => /^light\d+\./.test(k)).map((k) => k.split('.')[0]!))] : [];
  const fresh = done && obs && done.obsKey === `${obs.sha256}:${obs.hdu}:${obs.plane}`;
  return (
    <div className="lensfit" data-testid="lens-fit">
      <h4>Fit lens</h4>
      <p className="help">
        Fits the mass (an SIE, or an elliptical power law with its slope) + shear, the deflector&apos;s light (Sérsic) and a pixelated source to the observation by the Bayesian evidence, as <code>skyscore lens-fit</code> does: σ from the Noise step, an
        HDU of the observation&apos;s file (ERR, WHT) or a weight map&apos;s file, with its noise options; the model&apos;s PSF, the pixel scale of the data&apos;s WCS unless given.
      </p>
      <FitInputs op={op} />
      <div className="grid2">
        <label>
          Fitted pixels
          <select value={form.mask} onChange={(e) => patch({ mask: e.target.value as typeof form.mask })} aria-label="Fitted pixels" data-testid="lens-fit-mask">
            <option value="default">default disc</option>
            <option value="all">every valid pixel</option>
            <option value="annulus">an annulus</option>
            <option value="model" disabled={!hasMask}>
              the model&apos;s mask
            </option>
          </select>
        </label>
        <label>
          Mass profile
          <select value={form.mass ?? 'sie'} onChange={(e) => patch({ mass: e.target.value as typeof form.mass })} aria-label="Mass profile to fit" data-testid="lens-fit-mass">
            {LENS_FIT_MASS_PROFILES.map((m) => (
              <option key={m} value={m}>
                {m === 'sie' ? 'SIE' : 'EPL (slope fitted)'}
              </option>
            ))}
          </select>
        </label>
        <label>
          Regularisation
          <select value={form.regularisation} onChange={(e) => patch({ regularisation: e.target.value as typeof form.regularisation })} aria-label="Regularisation">
            {LENS_FIT_REGULARISATIONS.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </label>
        {form.mask === 'annulus' && (
          <>
            <NumberField label="Annulus r1" unit="″" min={0} value={form.r1} onChange={(v) => patch({ r1: v })} testId="lens-fit-r1" help="from the image centre" />
            <NumberField label="Annulus r2" unit="″" min={1e-6} value={form.r2} onChange={(v) => patch({ r2: v })} testId="lens-fit-r2" issue={form.r2 > form.r1 ? null : 'r2 must be larger than r1'} />
          </>
        )}
        <NumberField label="Starts" integer min={1} max={10} value={form.starts} onChange={(v) => patch({ starts: v })} testId="lens-fit-starts" help="of the mass search" />
        <label>
          Light components
          <select
            value={String(form.light)}
            onChange={(e) => patch({ light: e.target.value === 'auto' ? 'auto' : Number(e.target.value) })}
            aria-label="Light components"
            data-testid="lens-fit-light"
            title="Sérsic profiles of the deflector's light; auto: one or two, whichever the evidence prefers beyond the BIC penalty"
          >
            <option value="auto">auto (evidence)</option>
            <option value="0">0 (no light)</option>
            <option value="1">1 Sérsic</option>
            <option value="2">2 Sérsic</option>
          </select>
        </label>
        <label>
          Core Gaussians
          <select
            value={String(form.lightCore ?? 0)}
            onChange={(e) => patch({ lightCore: Number(e.target.value) })}
            aria-label="Core Gaussians"
            data-testid="lens-fit-light-core"
            disabled={form.light === 0}
            title="Gaussians of σ 0.5, 1, 2, 4 pixels at the first Sérsic component's centre and shape, amplitudes solved with the source: a nucleus steeper than the Sérsic, or a PSF core narrower than the image's (the fit takes longer)"
          >
            <option value="0">none</option>
            <option value="1">1 (σ 0.5 px)</option>
            <option value="2">2 (σ 0.5, 1 px)</option>
            <option value="3">3 (σ 0.5–2 px)</option>
            <option value="4">4 (σ 0.5–4 px)</option>
          </select>
        </label>
        <NumberField label="Fit source grid" integer min={4} max={40} value={form.fitSourceSize} onChange={(v) => patch({ fitSourceSize: v })} testId="lens-fit-fit-source" help="pixels a side while fitting" />
        <NumberField label="Source grid" integer min={4} max={64} value={form.sourceSize} onChange={(v) => patch({ sourceSize: v })} testId="lens-fit-source" help="pixels a side, final" />
        <NumberField
          label="Source pixel"
          unit="″"
          min={1e-6}
          value={form.sourceScale}
          onChange={(v) => patch({ sourceScale: v })}
          onClear={() => patch({ sourceScale: null })}
          placeholder="automatic"
          help="empty: the arcs' rays"
        />
        <NumberField label="Supersampling" integer min={1} max={8} value={form.supersample} onChange={(v) => patch({ supersample: v })} help="sub-pixels per side" />
        <NumberField label="PSF crop" unit="px" integer min={1} max={255} value={form.psfSize} onChange={(v) => patch({ psfSize: v })} issue={form.psfSize % 2 === 1 ? null : 'an odd number of pixels'} />
        <label className="row">
          <input type="checkbox" checked={form.errors} onChange={(e) => patch({ errors: e.target.checked })} data-testid="lens-fit-errors" />
          errors (slower)
        </label>
      </div>
      <div className="row">
        <button type="button" onClick={() => void startLensFit(op)} disabled={running || !obs} data-testid="lens-fit-start">
          Fit lens
        </button>
        <button type="button" onClick={() => void stopLensFit()} disabled={!running || job.state === 'stopping'} data-testid="lens-fit-stop">
          Stop
        </button>
        <span className={job.state === 'error' ? 'err' : 'muted'} data-testid="lens-fit-state" role={job.state === 'error' ? 'alert' : undefined}>
          {job.state === 'idle' ? (obs ? '' : 'open the observation first') : job.state === 'error' ? job.message : job.state === 'cancelled' ? 'stopped' : job.state === 'done' ? 'done' : job.state}
        </span>
      </div>
      {running && (
        <p className="lensfit-progress" data-testid="lens-fit-progress">
          {job.stage ? <strong>{job.stage}</strong> : null} {job.logEvidence !== null ? `log Z ${job.logEvidence.toFixed(2)} · ` : ''}
          {job.elapsedS.toFixed(0)} s<br />
          <small className="muted">{job.line ?? 'starting…'}</small>
        </p>
      )}
      {done && (
        <div className="lensfit-result" data-testid="lens-fit-result">
          {!fresh && <p className="warn">⚠ fitted to another observation</p>}
          <table className="lensfit-table" data-testid="lens-fit-table">
            <thead>
              <tr>
                <th>parameter</th>
                <th>value ± error</th>
                <th>unit</th>
              </tr>
            </thead>
            <tbody>
              {MASS_ROWS.filter(([k]) => k !== 'gamma' || done.parameters.gamma).map(([k, label, unit]) => (
                <tr key={k} data-testid={`lens-fit-row-${k}`}>
                  <td>{label}</td>
                  <td>{fmt(done.parameters[k])}</td>
                  <td>{k === 'phi' && done.parameters.phi ? `rad (${((done.parameters.phi.value * 180) / Math.PI).toFixed(1)}°)` : unit}</td>
                </tr>
              ))}
              {done.onSky && <SkyRows sky={done.onSky} />}
              {lightKeys.map((c, i) => [
                ...LIGHT_ROWS.map(([k, unit]) => (
                  <tr key={`${c}.${k}`} data-testid={`lens-fit-row-${c}.${k}`}>
                    <td>
                      light {Number(c.slice(5)) + 1} {k}
                    </td>
                    <td>{fmt(done.parameters[`${c}.${k}`])}</td>
                    <td>{unit}</td>
                  </tr>
                )),
                done.onSky?.light[i] && (
                  <tr key={`${c}.pa`} data-testid={`lens-fit-row-${c}.pa`}>
                    <td>light {Number(c.slice(5)) + 1} PA</td>
                    <td>{fmt(done.onSky.light[i].positionAngle)}</td>
                    <td>° E of N</td>
                  </tr>
                ),
              ])}
            </tbody>
          </table>
          <p data-testid="lens-fit-evidence">
            log Z = {done.logEvidence.toFixed(2)} · χ²/pixel = {done.chi2PerPixel.toFixed(3)} over {done.nPixels} pixels
          </p>
          <NoiseUsed done={done} />
          {done.lensNote && <LensNote note={done.lensNote} />}
          <ul className="lensfit-notes">
            {done.lightSelection && (
              <li data-testid="lens-fit-light-choice">
                light: {done.lightSelection.components} Sérsic component{done.lightSelection.components > 1 ? 's' : ''} chosen by the evidence (log Z with one{' '}
                {done.lightSelection.logEvidence[0].toFixed(1)}, with two {done.lightSelection.logEvidence[1].toFixed(1)}; a second is kept above a gain of{' '}
                {done.lightSelection.penalty.toFixed(1)})
              </li>
            )}
            {done.lightCore && done.lightCore.length > 0 && (
              <li data-testid="lens-fit-light-core-result">
                core Gaussians at the first component's centre and shape: {done.lightCore.map((g) => `σ ${g.sigmaPixels} px ${g.amplitude.toPrecision(3)}`).join(', ')} (amplitudes at
                r = rEff, data units)
              </li>
            )}
            {done.fitRadius !== null && <li data-testid="lens-fit-radius">fitted the pixels within {+done.fitRadius.toPrecision(4)}″ of the image centre (the default disc as fitted)</li>}
            {done.scale && (
              <li data-testid="lens-fit-used-scale">
                pixel scale {+done.scale.value.toPrecision(6)}″ ({done.scale.source === 'given' ? 'given' : `the WCS: ${done.scale.source}`})
              </li>
            )}
            <li data-testid="lens-fit-outliers">
              {done.outliers === null
                ? 'pixels sharper than the PSF kept in the fit, as asked'
                : done.outliers.count === 0
                  ? 'no pixel sharper than the PSF'
                  : `${done.outliers.count} pixel${done.outliers.count > 1 ? 's' : ''} sharper than the PSF left out (cosmic rays, hot pixels): ${done.outliers.pixels
                      .slice(0, 6)
                      .map(([r, c]) => `(${c}, ${r})`)
                      .join(', ')}${done.outliers.count > 6 ? ', …' : ''} (x, y from 0)`}
            </li>
            {done.notes
              .filter((n) => !/^the pixel scale /.test(n))
              .map((n) => (
                <li key={n}>{n}</li>
              ))}
          </ul>
          <small className="muted">{done.command}</small>
          <div className="row">
            <button type="button" onClick={() => void applyFittedLens()} data-testid="lens-fit-use">
              Use the fitted lens
            </button>
          </div>
          {done.noiseCorrelation?.decision === 'whitened' ? (
            <small className="muted" data-testid="lens-fit-use-noise">
              also makes the Noise step the fit&apos;s correlated noise (model.json&apos;s noise block: the draw of the measured spectrum and the per-pixel σ map, as skyscore reconstruct --model reads them), so that Run
              uses the likelihood the fit whitened; the Noise step shows the estimate and switches to white noise of {done.noiseFrom !== null ? `the fit's σ map (sigma.fits: ${done.noiseFrom})` : "the Noise step's σ"}
            </small>
          ) : (
            done.noiseFrom !== null && (
              <small className="muted" data-testid="lens-fit-use-noise">
                also makes the Noise step the fit&apos;s σ map (sigma.fits: {done.noiseFrom}), so that Run uses the noise the fit used; the Noise step can change it
              </small>
            )
          )}
          <div className="row wrap">
            <span className="muted">Export:</span>
            {done.files.map((f) => (
              <button type="button" className="mini" key={f.name} onClick={() => exportLensFile(f)} data-testid={`lens-fit-export-${f.name}`}>
                {f.name}
              </button>
            ))}
          </div>
        </div>
      )}
    </div>
  );
}
