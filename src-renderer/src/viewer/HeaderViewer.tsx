/** The FITS header of an image, card by card, with a search that filters and highlights. */
import { useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useStore } from '../store/index';
import { getPixels } from '../cache/pixels';
import { formatCard } from '../../../src-shared/fits/header';

export function HeaderViewer() {
  const id = useStore((s) => s.headerFor);
  const meta = useStore((s) => (id ? s.images[id] : undefined));
  const close = useStore((s) => s.setHeaderFor);
  const [q, setQ] = useState('');
  const input = useRef<HTMLInputElement>(null);
  const lines = useMemo(() => {
    const h = id ? getPixels(id)?.header : null;
    return h ? h.cards.flatMap((c) => formatCard(c)).map((l) => l.trimEnd()) : [];
    // the header changes with the image version
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id, meta?.version]);
  useEffect(() => {
    if (id) input.current?.focus();
  }, [id]);
  if (!id || !meta) return null;
  const needle = q.trim().toLowerCase();
  const shown = needle ? lines.filter((l) => l.toLowerCase().includes(needle)) : lines;
  const mark = (l: string) => {
    if (!needle) return l;
    const parts: ReactNode[] = [];
    let i = 0;
    const low = l.toLowerCase();
    for (let k = low.indexOf(needle); k >= 0; k = low.indexOf(needle, i)) {
      parts.push(l.slice(i, k), <mark key={k}>{l.slice(k, k + needle.length)}</mark>);
      i = k + needle.length;
    }
    parts.push(l.slice(i));
    return parts;
  };
  return (
    <div className="modal-backdrop" onClick={() => close(null)}>
      <div className="modal header-viewer" role="dialog" aria-modal="true" aria-label={`FITS header of ${meta.title}`} onClick={(e) => e.stopPropagation()} onKeyDown={(e) => e.key === 'Escape' && close(null)}>
        <header>
          <strong>Header — {meta.title}</strong>
          <span className="spacer" />
          <input ref={input} type="search" placeholder="Search keywords, values, comments" value={q} onChange={(e) => setQ(e.target.value)} aria-label="Search the header" />
          <span className="muted" data-testid="header-count">
            {shown.length} / {lines.length} cards
          </span>
          <button type="button" onClick={() => close(null)} aria-label="Close header">
            Close
          </button>
        </header>
        <pre className="cards" data-testid="header-cards">
          {shown.map((l, i) => (
            <div key={i}>{mark(l)}</div>
          ))}
        </pre>
      </div>
    </div>
  );
}
