import { useStore } from '../store/index';
import type { SideTab } from '../store/ui';

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
  const spec = useStore((s) => s.priorSpec);
  const run = useStore((s) => s.run.state);
  const setTab = useStore((s) => s.setSideTab);
  const steps: Step[] = [
    { label: 'Data', tab: 'model', done: !!obs, hint: 'open the observed FITS image' },
    { label: 'Forward model', tab: 'model', done: !!obs && check === 'ok', hint: 'describe the instrument: PSF, mask, lens or uv sampling' },
    { label: 'Noise', tab: 'model', done: noise.mode === 'map' ? !!noise.mapFile : noise.sigma !== null && noise.sigma > 0, hint: 'σ of the noise: typed, estimated or a map' },
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
