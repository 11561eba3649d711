import { useStore } from '../store/index';
import { describeScoreEngine } from '../../../src-shared/protocol/index';

export function StatusBar() {
  const state = useStore((s) => s.engineState);
  const info = useStore((s) => s.engineInfo);
  const error = useStore((s) => s.engineError);
  let text: string;
  if (state === 'ready' && info) {
    const gpu = info.backend.gpuAdapter;
    text = `backend: ${info.backend.backend} · tfjs ${info.backend.tfjsVersion} · GPU: ${gpu.found ? (gpu.description ?? 'yes') + (gpu.software ? ' (software)' : '') : 'none'}`;
  } else if (state === 'restarting') text = 'engine restarting…';
  else if (state === 'error') text = `engine unavailable: ${error ?? 'unknown error'}`;
  else text = 'connecting to the engine…';
  // what evaluates a learned prior's network: ONNX Runtime's provider, threads and device, or tfjs and why
  const score = state === 'ready' && info ? info.scoreEngine : null;
  const title = info ? info.backends.map((b) => `${b.name}: ${b.available ? 'available' + (b.detail ? ` (${b.detail})` : '') : 'no — ' + (b.reason ?? '')}`).join('\n') : undefined;
  return (
    <footer className="statusbar" role="status" aria-live="polite">
      <span className={`dot dot-${state}`} aria-hidden="true" />
      <span data-testid="backend-status" title={title}>
        {text}
      </span>
      {score && (
        <span data-testid="score-engine-status" className={`score-engine${score.engine === 'unavailable' ? ' score-engine-unavailable' : ''}`} title={score.note ?? undefined}>
          score: {describeScoreEngine(score)}
        </span>
      )}
      <span className="spacer" />
      {info && <span className="muted">SkyScore {info.versions.skyscore}</span>}
    </footer>
  );
}
