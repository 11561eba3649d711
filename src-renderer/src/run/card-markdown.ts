/**
 * The subset of markdown that model cards use, parsed into blocks the prior card renders as React elements
 * (never as HTML: a card comes from a model folder the user may have downloaded). Headings, paragraphs, bullet
 * and numbered lists, pipe tables, code fences, figures (an image alone on its line) and, inline, **bold**,
 * `code` and links (kept as their text plus the address).
 */

export type Inline = { kind: 'text' | 'strong' | 'code'; text: string };

export type CardBlock =
  | { kind: 'heading'; level: number; content: Inline[] }
  | { kind: 'paragraph'; content: Inline[] }
  | { kind: 'list'; ordered: boolean; items: Inline[][] }
  | { kind: 'table'; header: Inline[][]; align: Array<'left' | 'right' | 'center' | null>; rows: Inline[][][] }
  | { kind: 'code'; text: string }
  | { kind: 'figure'; alt: string; src: string };

/** Inline markup: `code` first (nothing inside it is markup), then **bold**, then links and images as text. */
export function parseInline(s: string): Inline[] {
  const out: Inline[] = [];
  const push = (kind: Inline['kind'], text: string) => {
    if (!text) return;
    const last = out[out.length - 1];
    if (last && last.kind === kind && kind === 'text') last.text += text;
    else out.push({ kind, text });
  };
  const plain = (t: string) => {
    // links [text](url) → "text (url)" unless the text is the url; images ![alt](src) → "alt"
    const linked = t
      .replace(/!\[([^\]]*)\]\(([^)\s]*)[^)]*\)/g, (_, alt: string) => alt)
      .replace(/\[([^\]]+)\]\(([^)\s]*)[^)]*\)/g, (_, text: string, url: string) => (text === url || !url ? text : `${text} (${url})`));
    const parts = linked.split(/\*\*(.+?)\*\*/g);
    parts.forEach((p, i) => push(i % 2 ? 'strong' : 'text', i % 2 ? p : p.replace(/(^|[^\\])\*(?=\S)([^*]+?)\*/g, '$1$2')));
  };
  const codeParts = s.split(/`([^`]*)`/g);
  codeParts.forEach((p, i) => (i % 2 ? push('code', p) : plain(p)));
  return out;
}

/** Cells of a pipe-table row: leading and trailing pipes optional, `\|` is a literal pipe. */
function cells(line: string): string[] {
  let t = line.trim();
  if (t.startsWith('|')) t = t.slice(1);
  if (t.endsWith('|') && !t.endsWith('\\|')) t = t.slice(0, -1);
  return t.split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
}

const DELIMITER_ROW = /^\s*\|?\s*:?-{1,}:?\s*(\|\s*:?-{1,}:?\s*)*\|?\s*$/;

export function parseCard(text: string): CardBlock[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const out: CardBlock[] = [];
  let para: string[] = [];
  let list: { ordered: boolean; items: string[] } | null = null;
  const flush = () => {
    if (para.length) out.push({ kind: 'paragraph', content: parseInline(para.join(' ')) });
    if (list) out.push({ kind: 'list', ordered: list.ordered, items: list.items.map(parseInline) });
    para = [];
    list = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trimEnd();
    const fence = /^\s*(```|~~~)/.exec(line);
    if (fence) {
      flush();
      const body: string[] = [];
      for (i++; i < lines.length && !lines[i]!.trimStart().startsWith(fence[1]!); i++) body.push(lines[i]!);
      out.push({ kind: 'code', text: body.join('\n') });
      continue;
    }
    const h = /^(#{1,6})\s+(.*?)\s*#*$/.exec(line);
    if (h) {
      flush();
      out.push({ kind: 'heading', level: h[1]!.length, content: parseInline(h[2]!) });
      continue;
    }
    // a table: a row with pipes followed by a delimiter row
    if (line.includes('|') && i + 1 < lines.length && DELIMITER_ROW.test(lines[i + 1]!) && lines[i + 1]!.includes('-')) {
      flush();
      const header = cells(line);
      const align = cells(lines[i + 1]!).map((c) => (c.startsWith(':') && c.endsWith(':') ? 'center' : c.endsWith(':') ? 'right' : c.startsWith(':') ? 'left' : null));
      const rows: Inline[][][] = [];
      for (i += 2; i < lines.length && lines[i]!.trim() !== '' && lines[i]!.includes('|'); i++) {
        const c = cells(lines[i]!);
        rows.push(header.map((_, k) => parseInline(c[k] ?? '')));
      }
      i--;
      out.push({ kind: 'table', header: header.map(parseInline), align, rows });
      continue;
    }
    const fig = /^\s*!\[([^\]]*)\]\(([^)\s]+)[^)]*\)\s*$/.exec(line);
    if (fig) {
      flush();
      out.push({ kind: 'figure', alt: fig[1]!, src: fig[2]! });
      continue;
    }
    const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
    const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
    const item = bullet ?? numbered;
    if (item) {
      const ordered = !bullet;
      if (para.length || (list && list.ordered !== ordered && !/^\s{2,}/.test(line))) flush();
      if (!list) list = { ordered, items: [] };
      list.items.push(item[1]!);
      continue;
    }
    if (line.trim() === '') {
      flush();
      continue;
    }
    // a continuation line of a list item (indented), else paragraph text
    if (list && /^\s+\S/.test(line)) list.items[list.items.length - 1] += ' ' + line.trim();
    else {
      if (list) flush();
      para.push(line.trim());
    }
  }
  flush();
  return out;
}
