import { useEffect, type ReactNode } from 'react';
import { useStore } from '../store/index';
import { refreshPriors } from './actions';
import { Section, Help } from '../model/fields';
import type { PriorInfo } from '../../../src-shared/protocol/index';
import { parseCard, type CardBlock, type Inline } from './card-markdown';

function InlineText({ content }: { content: Inline[] }) {
  return (
    <>
      {content.map((c, i) => (c.kind === 'strong' ? <strong key={i}>{c.text}</strong> : c.kind === 'code' ? <code key={i}>{c.text}</code> : <span key={i}>{c.text}</span>))}
    </>
  );
}

/** A model card's markdown as React elements (card-markdown.ts: text only, never HTML). */
export function CardText({ text }: { text: string }) {
  return <div className="card-text">{cardBlocks(parseCard(text))}</div>;
}

/** The sections a card shows open: what the prior is for (the text before the first section), its evaluation and its limits. */
const OPEN_SECTIONS = /^(evaluation|limits)$/i;

function headingText(b: CardBlock): string {
  return b.kind === 'heading' ? b.content.map((c) => c.text).join('') : '';
}

/**
 * A card as the run panel shows it: the title, what the prior is for, the evaluation and the limits first and open;
 * every other section (use, data, training, details, speed, files) folded under its own heading.
 */
export function CardSections({ text }: { text: string }) {
  const blocks = parseCard(text);
  const sections: { title: string | null; blocks: CardBlock[] }[] = [{ title: null, blocks: [] }];
  for (const b of blocks) {
    if (b.kind === 'heading' && b.level === 2) sections.push({ title: headingText(b), blocks: [] });
    else sections[sections.length - 1]!.blocks.push(b);
  }
  const intro = sections[0]!;
  const open = sections.slice(1).filter((s) => OPEN_SECTIONS.test(s.title!));
  const folded = sections.slice(1).filter((s) => !OPEN_SECTIONS.test(s.title!));
  return (
    <div className="card-text">
      {cardBlocks(intro.blocks)}
      {open.map((s) => (
        <section key={s.title} className="card-section" data-testid={`card-section-${s.title!.toLowerCase().split(/\s+/)[0]}`}>
          <h5>{s.title}</h5>
          {cardBlocks(s.blocks)}
        </section>
      ))}
      {folded.map((s) => (
        <details key={s.title} className="card-fold">
          <summary>{s.title}</summary>
          {cardBlocks(s.blocks)}
        </details>
      ))}
    </div>
  );
}

function cardBlocks(blocks: CardBlock[]): ReactNode[] {
  return blocks.map((b, i) => {
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
        <article className="card" data-testid="prior-card" aria-label={`Model card of ${p.name}`}>
          {p.card ? <CardSections text={p.card} /> : <p className="muted">This prior has no model card (README.md): it says nothing about what it was trained on.</p>}
          {Object.keys(p.facts).length > 0 && (
            <details className="card-fold" open={!p.card}>
              <summary>Facts from model.json</summary>
              <dl>
                {Object.entries(p.facts).map(([k, v]) => (
                  <div key={k}>
                    <dt>{k}</dt>
                    <dd>{v}</dd>
                  </div>
                ))}
              </dl>
            </details>
          )}
        </article>
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
        {priors.filter((p) => !p.noise).map((p) => (
          <PriorCard key={p.spec} p={p} chosen={p.spec === spec} onChoose={() => setSpec(p.spec)} />
        ))}
      </ul>
    </Section>
  );
}
