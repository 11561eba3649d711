import { useStore } from '../store/index';
import { Section, Help } from '../model/fields';
import { downloadAllProducts, downloadProduct } from './actions';

export const PRODUCT_FILES: { name: string; what: string }[] = [
  { name: 'posterior-mean.fits', what: 'posterior mean' },
  { name: 'posterior-std.fits', what: 'posterior standard deviation' },
  { name: 'posterior-samples.fits', what: 'the samples (cube, NAXIS3 = n)' },
  { name: 'residual.fits', what: '(y − A·mean)/σ' },
  { name: 'report.json', what: 'χ² per pixel, settings, timings, versions' },
];

/** The posterior products as FITS (names and headers as the CLI writes them) once a run has finished. */
export function ExportPanel() {
  const state = useStore((s) => s.run.state);
  const summary = useStore((s) => s.run.summary);
  if (state !== 'done') return null;
  return (
    <Section title="Export" testId="export-section">
      <Help>FITS files carry the observation's WCS and the provenance (prior, operator hash, sampler, steps, seed, version) in HISTORY cards.</Help>
      {summary && (
        <p className="value" data-testid="run-summary">
          {Object.entries(summary)
            .filter(([k]) => ['chi2PerPixel', 'n', 'steps', 'sampler', 'backend', 'seconds'].includes(k))
            .map(([k, v]) => `${k} ${typeof v === 'number' ? +v.toPrecision(4) : v}`)
            .join(' · ')}
        </p>
      )}
      <ul className="products">
        {PRODUCT_FILES.map((f) => (
          <li key={f.name}>
            <button type="button" className="link" onClick={() => void downloadProduct(f.name)} data-testid={`export-${f.name}`}>
              {f.name}
            </button>{' '}
            <span className="muted">{f.what}</span>
          </li>
        ))}
      </ul>
      <button type="button" onClick={() => void downloadAllProducts()} data-testid="export-all">
        Save all (zip)
      </button>
    </Section>
  );
}
