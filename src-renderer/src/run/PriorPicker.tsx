import { useEffect, type ReactNode } from 'react';
import { useStore } from '../store/index';
import { refreshPriors } from './actions';
import { Section, Help } from '../model/fields';
import type { PriorInfo } from '../../../src-shared/protocol/index';
import { parseCard, type Inline } from './card-markdown';

function InlineText({ content }: { content: Inline[] }) {
  return (
    <>
      {content.map((c, i) => (c.kind === 'strong' ? <strong key={i}>{c.text}</strong> : c.kind === 'code' ? <code key={i}>{c.text}</code> : <span key={i}>{c.text}</span>))}
    </>
  );
}

/** A model card's markdown as React elements (card-markdown.ts: text only, never HTML). */
export function CardText({ text }: { text: string }) {
  const blocks = parseCard(text);
  const out: ReactNode[] = blocks.map((b, i) => {
    switch (b.kind) {
      case 'heading':
        return b.level <= 2 ? <h5 key={i}><InlineText content={b.content} /></h5> : <h6 key={i}><InlineText content={b.content} /></h6>;
      case 'paragraph':
        return <p key={i}><InlineText content={b.content} /></p>;
      case 'list': {
        const items = b.items.map((it, k) => <li key={k}><InlineText content={it} /></li>);
        return b.ordered ? <ol key={i}>{items}</ol> : <ul key={i}>{items}</ul>;
      }
      case 'table':
        return (
          <div key={i} className="card-table">
            <table>
              <thead>
                <tr>
                  {b.header.map((h, k) => (
                    <th key={k} style={b.align[k] ? { textAlign: b.align[k]! } : undefined}><InlineText content={h} /></th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {b.rows.map((r, k) => (
                  <tr key={k}>
                    {r.map((c, m) => (
                      <td key={m} style={b.align[m] ? { textAlign: b.align[m]! } : undefined}><InlineText content={c} /></td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        );
      case 'code':
        return <pre key={i}>{b.text}</pre>;
      case 'figure':
        return (
          <p key={i} className="muted card-figure">
            Figure: {b.alt || b.src} <span>({b.src} in the model folder)</span>
          </p>
        );
    }
  });
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
        What images are plausible before seeing the data. A Gaussian-field prior must describe images of the unknown's size ({shape[0]}×{shape[1]}); a
        learned (U-Net) prior also runs on other sizes, with a note: its statistics are learned at its training size.
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
