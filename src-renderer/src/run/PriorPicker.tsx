import { useEffect, type ReactNode } from 'react';
import { useStore } from '../store/index';
import { refreshPriors } from './actions';
import { Section, Help } from '../model/fields';
import type { PriorInfo } from '../../../src-shared/protocol/index';

/** A small, safe rendering of a model card's markdown (headings, lists, paragraphs; text only, no HTML). */
export function CardText({ text }: { text: string }) {
  const out: ReactNode[] = [];
  let list: string[] = [];
  let para: string[] = [];
  const flush = () => {
    if (para.length) out.push(<p key={out.length}>{para.join(' ')}</p>);
    if (list.length)
      out.push(
        <ul key={out.length}>
          {list.map((l, i) => (
            <li key={i}>{l}</li>
          ))}
        </ul>,
      );
    para = [];
    list = [];
  };
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    const h = /^#{1,6}\s+(.*)$/.exec(line);
    const li = /^\s*[-*]\s+(.*)$/.exec(line);
    if (h) {
      flush();
      out.push(<h5 key={out.length}>{h[1]}</h5>);
    } else if (li) {
      if (para.length) flush();
      list.push(li[1]!.replace(/\*\*|`/g, ''));
    } else if (line.trim() === '') flush();
    else {
      if (list.length) flush();
      para.push(line.replace(/\*\*|`/g, ''));
    }
  }
  flush();
  return <div className="card-text">{out}</div>;
}

function PriorCard({ p, chosen, onChoose }: { p: PriorInfo; chosen: boolean; onChoose(): void }) {
  return (
    <li className={`prior ${chosen ? 'chosen' : ''}`}>
      <label>
        <input type="radio" name="prior" checked={chosen} onChange={onChoose} aria-label={`Prior ${p.name}`} />
        <strong>{p.name}</strong> <span className="badge">{p.source === 'user' ? 'yours' : 'shipped'}</span> <span className="muted">{p.kind}</span>
      </label>
      <div className="muted">
        {p.imageShape[0]}×{p.imageShape[1]} px
        {p.sigmaMin !== null && p.sigmaMax !== null ? ` · σ ${p.sigmaMin.toPrecision(2)}…${p.sigmaMax.toPrecision(3)}` : ''}
      </div>
      {chosen && (
        <details open className="card" data-testid="prior-card">
          <summary>Model card</summary>
          {Object.keys(p.facts).length > 0 && (
            <dl>
              {Object.entries(p.facts).map(([k, v]) => (
                <div key={k}>
                  <dt>{k}</dt>
                  <dd>{v}</dd>
                </div>
              ))}
            </dl>
          )}
          {p.card ? <CardText text={p.card} /> : <p className="muted">This prior has no model card (README.md): it says nothing about what it was trained on.</p>}
        </details>
      )}
    </li>
  );
}

/** The prior the posterior is drawn with: shipped priors and the user's own, each with its card. */
export function PriorPicker() {
  const priors = useStore((s) => s.priors);
  const state = useStore((s) => s.priorsState);
  const error = useStore((s) => s.priorsError);
  const spec = useStore((s) => s.priorSpec);
  const setSpec = useStore((s) => s.setPriorSpec);
  const userDir = useStore((s) => s.userDir);
  const shape = useStore((s) => s.modelDoc.shape);
  const engineReady = useStore((s) => s.engineState === 'ready');
  useEffect(() => {
    if (engineReady) void refreshPriors();
  }, [engineReady]);
  return (
    <Section
      title="Prior"
      testId="prior-section"
      right={
        <button type="button" className="mini" onClick={() => void refreshPriors()} aria-label="Refresh the prior list">
          ↻
        </button>
      }
    >
      <Help>
        What images are plausible before seeing the data. A learned prior must describe images of the unknown's size ({shape[0]}×{shape[1]}).
      </Help>
      {state === 'loading' && <p className="muted">loading…</p>}
      {state === 'error' && <p className="err">Cannot list the priors: {error}</p>}
      {state === 'ok' && priors.length === 0 && <p className="muted">No prior found. Train one below{userDir ? ` (it goes to ${userDir})` : ''}.</p>}
      <ul className="priors" role="radiogroup" aria-label="Priors">
        {priors.map((p) => (
          <PriorCard key={p.spec} p={p} chosen={p.spec === spec} onChoose={() => setSpec(p.spec)} />
        ))}
      </ul>
    </Section>
  );
}
