/**
 * The model card's markdown subset (src-renderer/src/run/card-markdown.ts): what the prior card shows instead of
 * raw pipes and asterisks, checked on small cases and on the shipped galaxy-64 card.
 */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseCard, parseInline, type CardBlock, type Inline } from '../../src-renderer/src/run/card-markdown.js';
import { ROOT } from '../helpers/data.js';

const plain = (c: Inline[]) => c.map((i) => i.text).join('');

describe('model card markdown', () => {
  it('inline: bold, code (no markup inside), links as text with their address, images as their alt text', () => {
    expect(parseInline('a **b** `c **d**` e')).toEqual([
      { kind: 'text', text: 'a ' },
      { kind: 'strong', text: 'b' },
      { kind: 'text', text: ' ' },
      { kind: 'code', text: 'c **d**' },
      { kind: 'text', text: ' e' },
    ]);
    expect(plain(parseInline('see [Galaxy Zoo](https://www.galaxyzoo.org/) and [x](x)'))).toBe('see Galaxy Zoo (https://www.galaxyzoo.org/) and x');
    expect(plain(parseInline('an *emphasised* word, 2 * 3 * 4'))).toBe('an emphasised word, 2 * 3 * 4');
  });

  it('blocks: headings, paragraphs joined across lines, bullet and numbered lists with continuation lines, code fences, figures', () => {
    const md = [
      '# Title',
      'one',
      'two',
      '',
      '- a',
      '  continued',
      '- **b**',
      '1. first',
      '2. second',
      '```sh',
      'npm run eval -- | x',
      '```',
      '![Loss curves](loss.png)',
      '### Small',
    ].join('\n');
    const b = parseCard(md);
    expect(b.map((x) => x.kind)).toEqual(['heading', 'paragraph', 'list', 'list', 'code', 'figure', 'heading']);
    expect(b[0]).toMatchObject({ level: 1 });
    expect(plain((b[1] as Extract<CardBlock, { kind: 'paragraph' }>).content)).toBe('one two');
    const ul = b[2] as Extract<CardBlock, { kind: 'list' }>;
    expect(ul.ordered).toBe(false);
    expect(ul.items.map(plain)).toEqual(['a continued', 'b']);
    expect(ul.items[1]![0]!.kind).toBe('strong');
    expect((b[3] as Extract<CardBlock, { kind: 'list' }>).ordered).toBe(true);
    expect(b[4]).toEqual({ kind: 'code', text: 'npm run eval -- | x' });
    expect(b[5]).toEqual({ kind: 'figure', alt: 'Loss curves', src: 'loss.png' });
    expect(b[6]).toMatchObject({ level: 3 });
  });

  it('pipe tables: header, alignment, rows padded to the header, escaped pipes; a lone pipe line is text', () => {
    const b = parseCard(['| method | PSNR (dB) |', '|---|--:|', '| posterior | **32.45** |', '| a \\| b |', 'after'].join('\n'));
    expect(b.map((x) => x.kind)).toEqual(['table', 'paragraph']);
    const t = b[0] as Extract<CardBlock, { kind: 'table' }>;
    expect(t.header.map(plain)).toEqual(['method', 'PSNR (dB)']);
    expect(t.align).toEqual([null, 'right']);
    expect(t.rows.map((r) => r.map(plain))).toEqual([
      ['posterior', '32.45'],
      ['a | b', ''],
    ]);
    expect(parseCard('x | y')[0]!.kind).toBe('paragraph');
  });

  it('the shipped galaxy-64 card: every table parsed (no pipes left in text), its two figures found', () => {
    const card = readFileSync(path.join(ROOT, 'models', 'galaxy-64', 'README.md'), 'utf8');
    const blocks = parseCard(card);
    const tables = blocks.filter((b): b is Extract<CardBlock, { kind: 'table' }> => b.kind === 'table');
    const tableLines = card.split('\n').filter((l) => /^\s*\|.*\|\s*$/.test(l)).length;
    // every pipe row of the card is a header, delimiter or body row of a parsed table
    expect(tables.reduce((n, t) => n + 2 + t.rows.length, 0)).toBe(tableLines);
    for (const t of tables) for (const r of t.rows) expect(r).toHaveLength(t.header.length);
    const text = blocks
      .filter((b) => b.kind === 'paragraph' || b.kind === 'list')
      .map((b) => (b.kind === 'paragraph' ? plain(b.content) : b.items.map(plain).join(' ')))
      .join('\n');
    expect(text).not.toMatch(/\|\s*-{3}/);
    expect(text).not.toMatch(/\*\*/);
    expect(blocks.filter((b) => b.kind === 'figure').map((b) => (b as { src: string }).src).sort()).toEqual(['loss.png', 'samples.png']);
  });
});
