import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useStore } from '../store/index';
import type { LensFitNoise, NoiseMode, NoiseSettings, Region } from '../store/model';
import { NumberField, FileButton, Section, Help } from './fields';
import { addModelFile, estimateNoise, scheduleValidate } from './actions';
import { lensFitNoiseInUse, lensFitNoisePatch, noiseDescribeKey, scheduleNoiseDescribe } from './noise';
import { readFileBytes } from '../export/download';
import { refreshPriors } from '../run/actions';
import { ImageCanvas } from '../run/ImageCanvas';
import { ChartCanvas } from '../run/ChartCanvas';
import { Trace } from '../run/chart';
import { obsPlanePixels } from './files';
import type { NoiseEstimate } from '../../../src-shared/protocol/index';

const MODES: [NoiseMode, string][] = [
  ['sigma', 'Type σ (white)'],
  ['mad', 'Estimate from the data (white)'],
  ['map', 'σ map (FITS)'],
  ['correlated', 'Correlated: measured spectrum'],
  ['poisson-gaussian', 'Poisson–Gaussian (counts)'],
  ['learned', 'Learned noise prior'],
];

export const boxText = (r: Region) => `x ${r.x0}–${r.x1 - 1}, y ${r.y0}–${r.y1 - 1} (${r.x1 - r.x0}×${r.y1 - r.y0} px)`;
const g = (v: number, d = 4) => (Number.isFinite(v) ? Number(v.toPrecision(d)).toString() : '–');

/** A box drawn by dragging over the observation (pixels, x1 and y1 exclusive); `region` is the box drawn before. */
export function BoxDrawer({ region, caption, onBox, title = 'Noise region', testId = 'noise-draw' }: { region: Region | null; caption: string; onBox(r: Region): void; title?: string; testId?: string }) {
  const obs = useStore((s) => s.obs);
  const px = obs ? obsPlanePixels(obs.hdu, obs.plane) : null;
  const [version, setVersion] = useState(0);
  const drag = useRef<{ x: number; y: number; cur: { x: number; y: number } } | null>(null);
  const overlay = useCallback(
    (ctx: CanvasRenderingContext2D, m: { sx: (x: number) => number; sy: (y: number) => number; scale: number }) => {
      const d = drag.current;
      const r: Region | null = d ? { x0: Math.min(d.x, d.cur.x), y0: Math.min(d.y, d.cur.y), x1: Math.max(d.x, d.cur.x) + 1, y1: Math.max(d.y, d.cur.y) + 1 } : region;
      if (!r) return;
      ctx.strokeStyle = '#ffcc00';
      ctx.lineWidth = 1.5;
      const s = m.scale;
      ctx.strokeRect(m.sx(r.x0) - s / 2, m.sy(r.y1 - 1) - s / 2, (r.x1 - r.x0) * s, (r.y1 - r.y0) * s);
    },
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [region, version],
  );
  if (!px) return null;
  return (
    <ImageCanvas
      data={px.data}
      shape={px.shape}
      version={version}
      title={title}
      caption={caption}
      stretch="asinh"
      width={268}
      testId={testId}
      overlay={overlay}
      onPointer={(kind, p) => {
        if (kind === 'down') drag.current = { x: p.x, y: p.y, cur: p };
        else if (kind === 'move' && drag.current) drag.current.cur = p;
        else if (kind === 'up' && drag.current) {
          const d = drag.current;
          drag.current = null;
          onBox({ x0: Math.min(d.x, p.x), y0: Math.min(d.y, p.y), x1: Math.max(d.x, p.x) + 1, y1: Math.max(d.y, p.y) + 1 });
        }
        setVersion((v) => v + 1);
      }}
    />
  );
}

/** The viewer's box on the observation panel as a noise box (the viewer's box holds x0…x1 inclusive), or why not. */
export function viewerBox(): Region | string {
  const s = useStore.getState();
  const r = s.region;
  if (!r || r.id !== 'observation') return 'draw a box on the observation panel in the viewer first (drag tool: box)';
  if (r.region.kind !== 'box') return 'the viewer region is a circle: the spectrum needs a box (drag tool: box)';
  const [ny, nx] = s.obs?.shape ?? [0, 0];
  const b = r.region;
  const x0 = Math.max(0, Math.round(Math.min(b.x0, b.x1)));
  const x1 = Math.min(nx - 1, Math.round(Math.max(b.x0, b.x1)));
  const y0 = Math.max(0, Math.round(Math.min(b.y0, b.y1)));
  const y1 = Math.min(ny - 1, Math.round(Math.max(b.y0, b.y1)));
  if (x1 < x0 || y1 < y0) return 'the viewer box lies outside the observation';
  return { x0, y0, x1: x1 + 1, y1: y1 + 1 };
}

/**
 * A blank-sky box chosen by drawing it on the observation or taking the viewer's box: the two buttons (and `children`
 * after them on the same row), why the viewer's box was refused, and the drawer while drawing.
 */
export function SkyBoxPicker({
  region,
  onBox,
  caption,
  drawLabel,
  testIds,
  title,
  disabled = false,
  mini = false,
  children,
}: {
  region: Region | null;
  onBox(r: Region): void;
  caption: string;
  drawLabel: string;
  testIds: { draw: string; viewer: string; drawer?: string };
  title?: string;
  disabled?: boolean;
  mini?: boolean;
  children?: ReactNode;
}) {
  const [drawing, setDrawing] = useState(false);
  const [issue, setIssue] = useState<string | null>(null);
  const cls = (on: boolean) => [mini ? 'mini' : '', on ? 'on' : ''].filter(Boolean).join(' ') || undefined;
  return (
    <>
      <div className="row">
        <button type="button" disabled={disabled} className={cls(drawing)} aria-pressed={drawing} data-testid={testIds.draw} onClick={() => setDrawing((d) => !d)}>
          {drawLabel}
        </button>
        <button
          type="button"
          disabled={disabled}
          className={cls(false)}
          data-testid={testIds.viewer}
          title="the box drawn on the observation panel of the viewer (drag tool: box)"
          onClick={() => {
            const r = viewerBox();
            setIssue(typeof r === 'string' ? r : null);
            if (typeof r !== 'string') onBox(r);
          }}
        >
          Use the viewer&apos;s box
        </button>
        {children}
      </div>
      {issue && (
        <small className="err" role="alert">
          {issue}
        </small>
      )}
      {drawing && (
        <BoxDrawer
          region={region}
          title={title}
          testId={testIds.drawer}
          caption={caption}
          onBox={(r) => {
            setDrawing(false);
            setIssue(null);
            onBox(r);
          }}
        />
      )}
    </>
  );
}

/** The measured spectrum's radial profile against white noise of the same σ (log power). */
function SpectrumPlot({ est, unit }: { est: NoiseEstimate; unit: string }) {
  const series = useMemo(() => {
    const sp = est.spectrum!;
    const measured = new Trace();
    const white = new Trace();
    sp.k.forEach((k, i) => {
      measured.push(k, sp.power[i]!);
      white.push(k, sp.white);
    });
    return [
      { trace: measured, color: '#e0742c', label: 'noise power P(|k|)' },
      { trace: white, color: '#2e9d57', label: 'white, same σ' },
    ];
  }, [est]);
  return (
    <ChartCanvas
      series={series}
      options={{ logY: true, xMax: 0.5, xLabel: '|k| (cycles/px)', yLabel: `P (${unit}²)` }}
      version={0}
      height={130}
      title="Noise power spectrum, radial profile"
      testId="noise-spectrum"
      pngName="noise-spectrum.png"
    />
  );
}

/** The engine's build of the chosen model: σ, and the spectrum and correlation, or the gain and σ range. */
function EstimateView({ unit }: { unit: string }) {
  const e = useStore((s) => s.noiseEstimate);
  const mode = useStore((s) => s.noise.mode);
  // an estimate or error of another choice (a box drawn since, another plane) is never shown as this one's
  const current = useStore((s) => noiseDescribeKey(s.noise, s.obs));
  if (e.state === 'checking' || e.key !== current) {
    return e.state === 'checking' || e.state === 'ok' || e.state === 'error' ? (
      <p className="muted" data-testid="noise-model-estimate" data-state="checking">
        measuring…
      </p>
    ) : null;
  }
  if (e.state === 'error') {
    return (
      <p className="err" role="alert" data-testid="noise-model-error">
        {e.error}
      </p>
    );
  }
  const est = e.estimate;
  if (!est || est.model !== (mode === 'map' ? 'sigma-map' : mode)) return null;
  const s = est.sigma;
  const u = unit ? ` ${unit}` : '';
  if (est.model === 'learned') {
    return (
      <div data-testid="noise-model-estimate" data-state={e.state} data-key={e.key ?? ''}>
        <p className="value" data-testid="noise-learned-sigma">
          noise σ = {g(s.median)}
          {u} (its empirical σ: χ² and the residuals use it)
        </p>
        {est.lag1 && (
          <p className="value" data-testid="noise-learned-gaussian">
            Gaussian part measured: neighbour correlation {est.lag1.x.toFixed(2)} (x) / {est.lag1.y.toFixed(2)} (y)
            {est.whiteRatio !== undefined && `; a large aperture's mean has ${g(est.whiteRatio, 3)}× the variance white noise of this σ gives`}
          </p>
        )}
        {est.spectrum && <SpectrumPlot est={est} unit={unit || 'data units'} />}
        {est.notes.map((n) => (
          <small key={n} className="muted">
            {n}
          </small>
        ))}
      </div>
    );
  }
  return (
    <div data-testid="noise-model-estimate" data-state={e.state} data-key={e.key ?? ''}>
      {est.model === 'correlated' && (
        <>
          <p className="value">
            σ = {g(s.median)}
            {u}
            {est.lag1 && `; neighbour correlation ${est.lag1.x.toFixed(2)} (x) / ${est.lag1.y.toFixed(2)} (y)`}
          </p>
          {est.whiteRatio !== undefined && (
            <p className="value" data-testid="noise-correlation">
              correlation length {g(est.correlationLength!, 3)} px: a large aperture's mean has {g(est.whiteRatio, 3)}× the variance white noise of this σ gives
            </p>
          )}
          {est.spectrum && <SpectrumPlot est={est} unit={unit || 'data units'} />}
        </>
      )}
      {est.model === 'sigma-map' && (
        <p className="value" data-testid="noise-map-range">
          σ from {g(s.min)} to {g(s.max)}
          {u} (median {g(s.median)})
        </p>
      )}
      {est.model === 'poisson-gaussian' && (
        <>
          <p className="value">
            gain {g(est.gain ?? NaN)} e⁻/ADU ({est.gainSource})
          </p>
          <p className="value" data-testid="noise-variance-range">
            σ from {g(s.min)} to {g(s.max)}
            {u} (median {g(s.median)}); variance {g(s.min * s.min)} to {g(s.max * s.max)}
            {unit ? ` ${unit}²` : ''}
          </p>
        </>
      )}
      {est.notes.map((n) => (
        <small key={n} className="muted">
          {n}
        </small>
      ))}
    </div>
  );
}

/**
 * Where a spectrum is measured: a blank-sky box of the observation (drawn, or the viewer's box) or a noise-only image —
 * the correlated model's, and the learned model's Gaussian part (the same state: corrSource, corrRegion, noiseImage).
 */
function SpectrumSource({ disabled, change }: { disabled: boolean; change(patch: Partial<NoiseSettings>): void }) {
  const noise = useStore((s) => s.noise);
  return (
    <>
      <div className="radios" role="radiogroup" aria-label="Correlated noise measured from">
        <label>
          <input type="radio" name="noise-corr-source" checked={noise.corrSource === 'region'} onChange={() => change({ corrSource: 'region' })} /> a blank-sky box of the observation
        </label>
        <label>
          <input type="radio" name="noise-corr-source" checked={noise.corrSource === 'image'} onChange={() => change({ corrSource: 'image' })} /> a noise-only image
        </label>
      </div>
      {noise.corrSource === 'region' && (
        <>
          <SkyBoxPicker
            region={noise.corrRegion}
            onBox={(r) => change({ corrRegion: r })}
            disabled={disabled}
            drawLabel="Draw a box…"
            testIds={{ draw: 'noise-draw-box', viewer: 'noise-viewer-box' }}
            caption="drag over blank sky (at least 8×8 px; 32×32 or more for a good spectrum)"
          />
          <p className="value" data-testid="noise-box">
            {noise.corrRegion ? `box ${boxText(noise.corrRegion)}` : 'no box yet'}
          </p>
        </>
      )}
      {noise.corrSource === 'image' && (
        <div className="row">
          <FileButton
            label="Noise image FITS…"
            accept=".fits,.fit,.fts,.fz,.gz"
            ariaLabel="Noise-only FITS image"
            testId="noise-image-input"
            onFiles={async (fs) => {
              const f = fs[0]!;
              const name = await addModelFile(f.name, await readFileBytes(f), 'noise');
              change({ noiseImage: name });
            }}
          />
          <span className="filename">{noise.noiseImage ?? 'none chosen'}</span>
        </div>
      )}
    </>
  );
}

/** The white choice of a whitened lens fit, in words. */
function whiteText(w: LensFitNoise['white'], unit: string): string {
  if (w.mode === 'map') return `the σ map ${w.mapFile ?? '?'}`;
  return `σ = ${w.sigma === null ? '?' : g(w.sigma)}${unit ? ` ${unit}` : ''}`;
}

/**
 * A whitened lens fit's noise ("Use the fitted lens"): which of its two models the step holds — its correlated noise
 * (model.json's block) or white noise of the σ it read — what it measured on the sky, and the switch between them.
 */
function LensFitNoiseNote({ fit, onPick }: { fit: LensFitNoise; onPick(which: 'correlated' | 'white'): void }) {
  const inUse = useStore((s) => lensFitNoiseInUse(s.noise));
  const unit = useStore((s) => s.obs?.bunit ?? '');
  const pm = (v: number, e: number) => `${v.toFixed(3)} ± ${e.toFixed(3)}`;
  return (
    <div className="noise-lensfit" data-testid="noise-lens-fit" data-in-use={inUse ?? 'other'}>
      <p className="value" data-testid="noise-lens-fit-in-use">
        {inUse === 'correlated'
          ? "In use: the lens fit's correlated noise — its model.json's noise block, the likelihood skyscore reconstruct --model builds"
          : inUse === 'white'
            ? `In use: white noise, ${whiteText(fit.white, unit)} (the lens fit whitened correlated noise)`
            : "In use: another choice than the lens fit's noise models"}
      </p>
      <small className="muted" data-testid="noise-lens-fit-estimate">
        The lens fit measured on {fit.source}, {fit.skyPixels} pixels: neighbour correlation {pm(fit.lag1.x, fit.lag1Error.x)} (x) / {pm(fit.lag1.y, fit.lag1Error.y)} (y); per-pixel
        variance {g(fit.varianceRatio, 3)}× and large-scale variance {g(fit.largeScaleRatio, 3)}× the σ² it read; it fitted whitened data.
      </small>
      <div className="row">
        <button type="button" className="mini" disabled={inUse === 'correlated'} onClick={() => onPick('correlated')} data-testid="noise-lens-fit-correlated">
          Correlated (the fit&apos;s)
        </button>
        <button type="button" className="mini" disabled={inUse === 'white'} onClick={() => onPick('white')} data-testid="noise-lens-fit-white">
          White ({whiteText(fit.white, unit)})
        </button>
      </div>
    </div>
  );
}

/**
 * The noise of the data: white (σ typed in, or estimated from the data by the MAD of a region), a σ map,
 * correlated noise measured from a blank-sky box of the observation or a noise-only image, or Poisson–Gaussian
 * counts. The models the run uses are shown as the engine builds them.
 */
export function NoiseForm() {
  const noise = useStore((s) => s.noise);
  const obs = useStore((s) => s.obs);
  const setNoise = useStore((s) => s.setNoise);
  const headerGain = useStore((s) => s.noiseEstimate.headerGain);
  const [drawing, setDrawing] = useState(false);
  const px = obs ? obsPlanePixels(obs.hdu, obs.plane) : null;
  const region = noise.region;
  const unit = obs?.bunit ?? '';
  // the model the run would use, measured again when its inputs change
  const { mode, corrSource, corrRegion, noiseImage, gain, readNoise, sky } = noise;
  const { mapFile, noisePrior, corrSigmaFile, learnedSpectrum } = noise;
  const noisePriors = useStore((s) => s.priors).filter((p) => p.noise);
  // the noise priors are in priors.list: asked for here when the Prior tab has not asked yet
  const priorsState = useStore((s) => s.priorsState);
  const engineReady = useStore((s) => s.engineState === 'ready');
  useEffect(() => {
    if (mode === 'learned' && priorsState === 'idle' && engineReady) void refreshPriors();
  }, [mode, priorsState, engineReady]);
  useEffect(() => {
    if (mode === 'correlated' || mode === 'poisson-gaussian' || mode === 'map' || mode === 'learned') scheduleNoiseDescribe();
  }, [mode, corrSource, corrRegion, noiseImage, corrSigmaFile, gain, readNoise, sky, mapFile, noisePrior, learnedSpectrum, obs]);
  const change = (patch: Partial<typeof noise>) => {
    setNoise(patch);
    scheduleValidate();
  };

  return (
    <Section title="Noise" testId="noise-section">
      <Help>
        The noise of the data, in data units{obs?.bunit ? ` (${obs.bunit})` : ''}. White: N(y; A x, σ²). Correlated: a stationary spectrum measured from blank sky. Poisson–Gaussian: σ² = (signal + sky)/gain + read noise²/gain². Learned: a noise prior of any density, learned from noise-only images.
      </Help>
      {noise.lensFit && (
        <LensFitNoiseNote
          fit={noise.lensFit}
          onPick={(which) => {
            setDrawing(false);
            change(lensFitNoisePatch(noise.lensFit!, which));
          }}
        />
      )}
      <div className="radios" role="radiogroup" aria-label="Noise model">
        {MODES.map(([m, label]) => (
          <label key={m}>
            <input
              type="radio"
              name="noise-mode"
              checked={noise.mode === m}
              onChange={() => {
                setDrawing(false);
                change({ mode: m, ...(m !== noise.mode && m === 'mad' ? { sigma: null, estimatedFrom: null } : {}) });
              }}
            />{' '}
            {label}
          </label>
        ))}
      </div>
      {noise.mode === 'sigma' && (
        <NumberField label="σ" value={noise.sigma} min={Number.MIN_VALUE} unit={unit || undefined} testId="noise-sigma" help="one σ for every pixel" issue={noise.sigma === null ? 'type σ (> 0)' : null} onChange={(v) => setNoise({ sigma: v })} />
      )}
      {noise.mode === 'mad' && (
        <>
          <div className="row">
            <button type="button" disabled={!obs} onClick={() => void estimateNoise(null)} data-testid="noise-estimate">
              Estimate (whole image)
            </button>
            <button type="button" disabled={!px} className={drawing ? 'on' : ''} aria-pressed={drawing} onClick={() => setDrawing((d) => !d)}>
              Draw a region…
            </button>
          </div>
          {drawing && (
            <BoxDrawer
              region={region}
              caption="drag over a source-free area"
              onBox={(r) => {
                setDrawing(false);
                void estimateNoise(r);
              }}
            />
          )}
          <p className="value" data-testid="noise-estimated">
            {noise.sigma !== null
              ? `σ = ${noise.sigma.toPrecision(4)} (1.4826 × MAD of ${noise.estimatedFrom ?? '?'} pixels${region ? `, region x ${region.x0}–${region.x1 - 1}, y ${region.y0}–${region.y1 - 1}` : ''})`
              : 'not estimated yet'}
          </p>
        </>
      )}
      {noise.mode === 'map' && (
        <>
          <div className="row">
            <FileButton
              label="σ map FITS…"
              accept=".fits,.fit,.fts,.fz,.gz"
              ariaLabel="Noise sigma map FITS file"
              onFiles={async (fs) => {
                const f = fs[0]!;
                const name = await addModelFile(f.name, await readFileBytes(f), 'sigma');
                change({ mapFile: name });
              }}
            />
            <span className="filename">{noise.mapFile ?? 'none chosen'}</span>
          </div>
          <small className="muted">σ per pixel, on the observation's grid; NaN marks a pixel without information (masked); σ ≤ 0 is refused.</small>
          <EstimateView unit={unit} />
        </>
      )}
      {noise.mode === 'correlated' && (
        <>
          <SpectrumSource disabled={!px} change={change} />
          {noise.corrSigmaFile && (
            <div className="row">
              <span className="value" data-testid="noise-corr-sigma">
                σ per pixel: the map {noise.corrSigmaFile}
              </span>
              <button type="button" className="mini" onClick={() => change({ corrSigmaFile: null })} title="the σ measured from the box or the image, for every pixel">
                measured σ instead
              </button>
            </div>
          )}
          <EstimateView unit={unit} />
        </>
      )}
      {noise.mode === 'poisson-gaussian' && (
        <>
          <NumberField
            label="Gain"
            unit="e⁻/ADU"
            value={noise.gain}
            min={Number.MIN_VALUE}
            testId="noise-gain"
            placeholder={headerGain ? String(headerGain.gain) : undefined}
            help={headerGain ? `empty: the header's, ${headerGain.gain} (${headerGain.source})` : 'the observation\'s header gives no gain: type it'}
            issue={noise.gain === null && !headerGain && obs ? 'the header has no GAIN, CCDGAIN or ATODGAIN: type the gain (> 0 e⁻/ADU)' : null}
            onChange={(v) => change({ gain: v })}
            onClear={() => change({ gain: null })}
          />
          <NumberField label="Read noise" unit="e⁻" value={noise.readNoise} min={Number.MIN_VALUE} testId="noise-read-noise" issue={noise.readNoise === null ? 'type the read noise (> 0 e⁻)' : null} onChange={(v) => change({ readNoise: v })} />
          <NumberField label="Sky subtracted" unit="ADU" value={noise.sky} testId="noise-sky" placeholder="0" help="a sky level taken off the data, added back for its shot noise; empty: none" onChange={(v) => change({ sky: v })} onClear={() => change({ sky: null })} />
          <EstimateView unit={unit} />
        </>
      )}
      {noise.mode === 'learned' && (
        <>
          <label className="row">
            Noise prior{' '}
            <select aria-label="Noise prior" data-testid="noise-prior" value={noise.noisePrior ?? ''} onChange={(ev) => change({ noisePrior: ev.target.value || null })}>
              <option value="">{noisePriors.length ? 'choose…' : 'none installed'}</option>
              {noisePriors.map((p) => (
                <option key={p.spec} value={p.spec}>
                  {p.name} ({p.source})
                </option>
              ))}
            </select>
          </label>
          <small className="muted">
            {noisePriors.length
              ? 'a score model of this instrument’s noise, learned from noise-only images or blank-sky cutouts in the data’s units'
              : 'train one with skyscore train --kind noise --data NOISE.fits --out <user folder>/models/NAME'}
          </small>
          {(() => {
            const p = noisePriors.find((q) => q.spec === noise.noisePrior);
            return p?.noise ? (
              <p className="value" data-testid="noise-prior-facts">
                trained on {p.noise.patches} patches of {p.noise.patch}×{p.noise.patch} from {p.noise.source} ({p.noise.steps} steps): σ {g(p.noise.sigma)}
                {unit ? ` ${unit}` : ''}, MAD σ {g(p.noise.madSigma)}, excess kurtosis {g(p.noise.excessKurtosis, 3)}, neighbour correlation {p.noise.lag1.x.toFixed(2)} / {p.noise.lag1.y.toFixed(2)}
              </p>
            ) : null;
          })()}
          <label className="row" title="skyscore reconstruct --noise-region or --noise-image beside --noise-prior; M.json's learned block's region or image">
            <input type="checkbox" data-testid="noise-learned-spectrum" checked={noise.learnedSpectrum} onChange={(ev) => change({ learnedSpectrum: ev.target.checked })} /> Gaussian part: a measured spectrum
          </label>
          <small className="muted">
            {noise.learnedSpectrum
              ? 'the likelihood’s Gaussian part is the correlated Gaussian of the spectrum measured here (the same box or image as the correlated model’s); the network gives the noise’s departure from it — drizzled (correlated) noise needs this'
              : 'the likelihood’s Gaussian part is white, of the noise prior’s σ; tick to measure the noise’s spectrum from blank sky (drizzled images)'}
          </small>
          {noise.learnedSpectrum && <SpectrumSource disabled={!px} change={change} />}
          <EstimateView unit={unit} />
        </>
      )}
    </Section>
  );
}
