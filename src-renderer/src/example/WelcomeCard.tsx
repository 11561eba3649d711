/**
 * The first-start welcome card: offers the bundled example while nothing is open, until the user dismisses it
 * (remembered across starts) or opens the example. Not modal: the rest of the app works around it. The text
 * and the thumbnail come from the host's `example.get`, so they always describe the example that ships.
 */
import { useEffect, useMemo, useState } from 'react';
import { useStore } from '../store/index';
import { fetchExample, openExample } from './actions';
import { ImageCanvas } from '../run/ImageCanvas';
import { readFitsImage } from '../../../src-shared/fits/index';
import type { ExampleInfo } from '../../../src-shared/protocol/example';
import './welcome.css';

function useExampleInfo(): { info: ExampleInfo | null; error: string | null } {
  const ready = useStore((s) => s.engineState === 'ready');
  const [state, setState] = useState<{ info: ExampleInfo | null; error: string | null }>({ info: null, error: null });
  useEffect(() => {
    if (!ready || state.info) return;
    let alive = true;
    fetchExample().then(
      (info) => alive && setState({ info, error: null }),
      (e: Error) => alive && setState({ info: null, error: e.message }),
    );
    return () => {
      alive = false;
    };
  }, [ready, state.info]);
  return state;
}

function Thumbnail({ file }: { file: { name: string; bytes: Uint8Array } }) {
  const img = useMemo(() => {
    try {
      const i = readFitsImage(file.bytes, undefined, { name: file.name });
      return { data: Float32Array.from(i.data), shape: [i.shape[1]!, i.shape[0]!] as [number, number] };
    } catch {
      return null;
    }
  }, [file]);
  if (!img) return null;
  return <ImageCanvas data={img.data} shape={img.shape} version={1} title={`The example's observation (${img.shape[1]}×${img.shape[0]})`} stretch="asinh" width={96} testId="welcome-thumb" caption="observation" />;
}

export function WelcomeCard() {
  const dismiss = useStore((s) => s.dismissWelcome);
  const loading = useStore((s) => s.exampleLoading);
  const { info, error } = useExampleInfo();
  return (
    <section className="welcome-card" role="region" aria-label="Welcome" data-testid="welcome-card">
      <button type="button" className="mini welcome-close" onClick={dismiss} aria-label="Dismiss the welcome card" title="Do not offer the example on start again (it stays in the toolbar: Example)">
        ✕
      </button>
      <h2>Welcome to SkyScore</h2>
      <div className="welcome-body">
        {info && <Thumbnail file={info.observation} />}
        <div>
          <p className="welcome-headline" data-testid="welcome-headline">
            Try the example{info ? `: ${info.headline}` : ''}
          </p>
          {info && <p className="muted">{info.description}</p>}
          {info?.prior && (
            <p className="muted" data-testid="welcome-prior">
              Prior: <strong>{info.prior.name}</strong> — {info.prior.description}
            </p>
          )}
          {!info && !error && <p className="muted">asking the engine for the bundled example…</p>}
          {error && <p className="err">The bundled example is not available: {error}</p>}
        </div>
      </div>
      <div className="welcome-actions">
        <button type="button" className="primary" onClick={() => void openExample()} disabled={loading || !!error} data-testid="welcome-open">
          {loading ? 'Loading the example…' : 'Open the example'}
        </button>
        <button type="button" onClick={dismiss} data-testid="welcome-dismiss">
          No thanks
        </button>
        <span className="muted">It loads the observation, the PSF, the noise and the prior; then press Run.</span>
      </div>
    </section>
  );
}
