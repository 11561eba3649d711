import { useStore } from '../store/index';
import type { SideTab } from '../store/ui';
import { noiseInputOf } from './actions';

interface Step {
  label: string;
  tab: SideTab;
  done: boolean;
  hint: string;
}

/** The way through, for a newcomer: data → model → noise → prior → run, each ticked when done; a click goes there. */
export function Steps() {
  const obs = useStore((s) => s.obs);
  const check = useStore((s) => s.modelCheck.state);
  const noise = useStore((s) => s.noise);
  // done when the run could take the noise (noiseInputOf says what is missing otherwise)
  const noiseDone = typeof noiseInputOf(noise) !== 'string';
  const spec = useStore((s) => s.priorSpec);
  const run = useStore((s) => s.run.state);
  const setTab = useStore((s) => s.setSideTab);
  const steps: Step[] = [
    { label: 'Data', tab: 'model', done: !!obs, hint: 'open the observed FITS image' },
    { label: 'Forward model', tab: 'model', done: !!obs && check === 'ok', hint: 'describe the instrument: PSF, mask, lens or uv sampling' },
    { label: 'Noise', tab: 'model', done: noiseDone, hint: 'the noise model: σ typed or estimated, a σ map, correlated noise measured from blank sky, or Poisson–Gaussian counts' },
    { label: 'Prior', tab: 'prior', done: !!spec, hint: 'what images are plausible: a shipped or your own prior' },
    { label: 'Run', tab: 'run', done: run === 'done', hint: 'draw posterior samples, watch them converge, export' },
  ];
  const next = steps.findIndex((s) => !s.done);
  return (
    <ol className="steps" aria-label="Steps">
      {steps.map((s, i) => (
        <li key={s.label} className={s.done ? 'done' : i === next ? 'next' : ''}>
          <button type="button" title={s.hint} onClick={() => setTab(s.tab)} aria-label={`${s.label}: ${s.done ? 'done' : s.hint}`}>
            <span className="dotmark">{s.done ? '✓' : i + 1}</span> {s.label}
          </button>
        </li>
      ))}
    </ol>
  );
}
