/**
 * The run's diagnostics in the run panel: one χ² figure with the range pure noise would give, the convergence
 * verdict (from the engine's check when the run has ended), a warning when the steps are few, and the residual's
 * significant regions (src-shared/diffusion/diagnostics.ts: windows whose χ² pure noise would reach with
 * probability below the stated false-alarm rate), drawn as boxes on the residual preview.
 */
import { useMemo } from 'react';
import { useStore } from '../store/index';
import { chi2ExpectedRange, localMisfit, stepsWarning, type LocalMisfit } from '../../../src-shared/diffusion/diagnostics';
import type { ReconstructPreview } from '../../../src-shared/protocol/index';

/** Significant regions of a preview's residual (masked pixels arrive as 0: left out of the windows). */
export function previewMisfit(p: ReconstructPreview | null): LocalMisfit | null {
  if (!p) return null;
  const r = Float32Array.from(p.residual, (v) => (v === 0 ? NaN : v));
  return localMisfit(r, p.dataShape);
}

/** Pixels with a residual: the preview's observed pixels (0 marks a masked one). */
function observedOf(p: ReconstructPreview | null): number {
  if (!p) return 0;
  let n = 0;
  for (const v of p.residual) if (v !== 0) n++;
  return n;
}

/** Draws the regions' boxes (canvas overlay of ImageCanvas). */
export function misfitOverlay(m: LocalMisfit | null) {
  if (!m || m.regions.length === 0) return undefined;
  return (ctx: CanvasRenderingContext2D, map: { sx: (x: number) => number; sy: (y: number) => number; scale: number }) => {
    ctx.save();
    ctx.strokeStyle = '#ffd400';
    ctx.lineWidth = Math.max(1.5, map.scale * 0.4);
    for (const r of m.regions) {
      const x = map.sx(r.x0) - map.scale / 2;
      const y = map.sy(r.y1) - map.scale / 2;
      ctx.strokeRect(x, y, (r.x1 - r.x0 + 1) * map.scale, (r.y1 - r.y0 + 1) * map.scale);
    }
    ctx.restore();
  };
}

const fmt = (v: number | string | undefined, d = 3) => (typeof v === 'number' ? v.toFixed(d) : '–');

/** The steps warning under the Steps field, before a run. */
export function StepsNote() {
  const sampler = useStore((s) => s.settings.sampler);
  const steps = useStore((s) => s.settings.steps);
  const w = stepsWarning(sampler, steps);
  if (!w) return null;
  return (
    <p className="warn diag-note" data-testid="steps-warning" role="note">
      ⚠ {w}
    </p>
  );
}

/** χ², convergence and local misfit: live while the run goes, the engine's verdict once it has ended. */
export function DiagnosticsBlock({ preview, misfit }: { preview: ReconstructPreview | null; misfit: LocalMisfit | null }) {
  const run = useStore((s) => s.run);
  const summary = run.state === 'done' ? run.summary : null;
  const observed = useMemo(() => observedOf(preview), [preview]);
  if (run.state === 'idle' || run.state === 'starting' || run.state === 'queued') return null;
  const sampler = run.ran?.settings.sampler ?? 'pc';
  const steps = run.ran?.settings.steps ?? run.steps;
  const shortRun = summary?.stepsWarning ?? stepsWarning(sampler, steps);
  // χ²: the draws' once the run has ended (expected 1 for posterior draws), the running mean's meanwhile
  let chi2Line: React.ReactNode = null;
  if (summary && typeof summary.chi2Draws === 'number') {
    const verdict = String(summary.chi2Verdict ?? 'expected');
    chi2Line = (
      <span className={verdict === 'expected' ? 'ok' : 'warn'}>
        χ²/px {summary.chi2Of === 'draws' ? 'of the draws ' : ''}
        <b data-testid="chi2-value">{fmt(summary.chi2Draws)}</b> · expected {fmt(summary.chi2Lo)}–{fmt(summary.chi2Hi)} for noise
        {verdict === 'high' ? ' — too high' : verdict === 'low' ? ' — too low' : ''}
        {typeof summary.chi2PerPixel === 'number' && summary.chi2Of === 'draws' ? <small className="muted"> (mean: {fmt(summary.chi2PerPixel)})</small> : null}
      </span>
    );
  } else if (run.chi2 !== null && observed > 0) {
    const r = chi2ExpectedRange(observed);
    chi2Line = (
      <span>
        χ²/px of the running mean <b data-testid="chi2-value">{fmt(run.chi2)}</b> · expected {fmt(r.lo)}–{fmt(r.hi)} for noise ({observed} px)
      </span>
    );
  }
  const verdict = summary ? String(summary.convergence ?? 'unchecked') : null;
  const regions = misfit?.regions ?? [];
  return (
    <div className="diagnostics" data-testid="diagnostics" data-convergence={verdict ?? 'running'} data-regions={regions.length}>
      {chi2Line && <div data-testid="chi2-figure">{chi2Line}</div>}
      {verdict && (
        <div data-testid="convergence" className={verdict === 'converged' ? 'ok' : verdict === 'not converged' ? 'err' : 'muted'}>
          Convergence: <b>{verdict}</b>
          {summary?.convergenceReasons ? (
            <small className="diag-reason"> — {summary.convergenceReasons}</small>
          ) : (
            typeof summary?.steinRatio === 'number' && <small className="muted"> (Stein ratio {fmt(summary.steinRatio, 2)}; 1 for posterior draws)</small>
          )}
        </div>
      )}
      {summary?.stopped && (
        <div className="warn" data-testid="stopped-note">
          Stopped at {summary.stopped}: the products are the chains’ states then, not converged posterior draws.
        </div>
      )}
      {shortRun && (
        <div className="warn" data-testid="run-steps-warning">
          ⚠ {shortRun}
        </div>
      )}
      <div data-testid="misfit" className={regions.length ? 'warn' : 'muted'}>
        {regions.length
          ? `Local misfit: ${regions.length} region${regions.length > 1 ? 's' : ''} (boxed on the residual), worst χ²/px ${regions[0]!.peakChi2.toFixed(1)} within ${misfit!.radius} px of (x ${regions[0]!.peakX}, y ${regions[0]!.peakY})`
          : 'No local misfit'}
        <small className="muted"> — windows of {misfit ? 2 * misfit.radius + 1 : 7}×{misfit ? 2 * misfit.radius + 1 : 7} px; pure noise shows a region with probability ≤ {misfit?.falseAlarmRate ?? 0.01}</small>
      </div>
    </div>
  );
}
