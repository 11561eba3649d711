/**
 * The noise diagnostics of a finished run (report.json's noiseDiagnostics): the residual's radial power spectrum
 * against the noise model's, the whitened residual's histogram against N(0, 1), the two statistics with what they
 * should read, and the report's verdict — its warnings, or that the residuals agree with the model.
 */
import { useMemo } from 'react';
import { useStore } from '../store/index';
import { ChartCanvas } from './ChartCanvas';
import { Trace } from './chart';
import type { RunNoiseReport } from './noise-report';

const f = (v: number, d = 3) => (Number.isFinite(v) ? Number(v.toPrecision(d)).toString() : '–');

function charts(r: RunNoiseReport) {
  const d = r.diagnostics;
  const res = new Trace();
  const exp = new Trace();
  d.spectrum.k.forEach((k, i) => {
    res.push(k, d.spectrum.residual[i]!);
    exp.push(k, d.spectrum.expected[i]!);
  });
  // the histogram as counts at the bins' centres
  const counts = new Trace();
  const expected = new Trace();
  d.histogram.counts.forEach((c, b) => {
    const x = (d.histogram.edges[b]! + d.histogram.edges[b + 1]!) / 2;
    counts.push(x, c);
    expected.push(x, d.histogram.expected[b]!);
  });
  return {
    spectrum: [
      { trace: res, color: '#e0742c', label: 'residual/σ' },
      { trace: exp, color: '#2e9d57', label: `model (${r.model})` },
    ],
    histogram: [
      { trace: counts, color: '#3b7dd8', label: 'whitened residual' },
      { trace: expected, color: '#2e9d57', label: 'N(0, 1)' },
    ],
  };
}

export function NoiseDiagnosticsView() {
  const r = useStore((s) => (s.run.state === 'done' ? s.run.noise : null));
  const c = useMemo(() => (r ? charts(r) : null), [r]);
  if (!r || !c) return null;
  const d = r.diagnostics;
  const ok = d.warnings.length === 0;
  return (
    <div className="noise-diagnostics" data-testid="noise-diagnostics" data-verdict={ok ? 'ok' : 'warn'}>
      <div>
        Noise model <b>{r.model}</b>
        {r.source ? <small className="muted"> ({r.source})</small> : null}
      </div>
      <ChartCanvas series={c.spectrum} options={{ logY: true, xMax: 0.5, xLabel: '|k| (cycles/px)', yLabel: 'power' }} version={0} height={120} title="Residual power spectrum against the noise model" testId="noise-diag-spectrum" pngName="residual-spectrum.png" />
      <small className="muted">
        high-|k| / low-|k| power of the whitened residual <b data-testid="noise-diag-ratio">{f(d.spectralRatio)}</b> (1 expected, ±{f(Math.expm1(d.spectralRatioLnSe), 2)}; below 1: the noise is more correlated than the model)
      </small>
      <ChartCanvas series={c.histogram} options={{ logY: true, xMin: -5, xMax: 5, xLabel: 'whitened residual', yLabel: 'pixels' }} version={0} height={110} title="Whitened residual histogram against N(0, 1)" testId="noise-diag-histogram" pngName="residual-histogram.png" />
      <small className="muted">
        Kolmogorov–Smirnov distance <b data-testid="noise-diag-ks">{f(d.ksDistance)}</b> (threshold {f(d.ksThreshold, 2)}) · whitened χ²/px {f(d.whitenedChi2PerPixel)} · {d.pixels} px
      </small>
      {ok ? (
        <div className="ok" data-testid="noise-diag-verdict">
          The residuals agree with the noise model.
        </div>
      ) : (
        d.warnings.map((w) => (
          <div key={w} className="warn" data-testid="noise-diag-verdict" role="note">
            ⚠ {w}
          </div>
        ))
      )}
    </div>
  );
}
