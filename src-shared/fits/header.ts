import { FitsInputError } from './errors.js';

/** A card value: `null` is the FITS "undefined value" (`KEY =` followed by blanks). */
export type CardValue = string | number | boolean | null;

/**
 * One header card (or one long-string card with its CONTINUE cards).
 * - value cards: `value` set (possibly null), `comment` optional;
 * - commentary cards (HISTORY, COMMENT, blank keyword, keywords without `= `): `text` set, no `value`.
 */
export interface Card {
  /** Upper-case keyword; '' for blank keywords; HIERARCH keywords without the prefix (e.g. 'ESO DET CHIP'). */
  key: string;
  value?: CardValue;
  comment?: string;
  /** Commentary text (HISTORY, COMMENT, blank keyword, or a keyword without a value indicator). */
  text?: string;
  /** Written with the HIERARCH convention. */
  hierarch?: boolean;
  /** Complex numbers are kept as their text, e.g. '(1.0, 2.0)'. */
  complex?: boolean;
  /** The original 80-character card images (the card plus its CONTINUE cards); written verbatim while unchanged. */
  images?: string[];
  /** Why the card is not standard FITS (kept, and reported as a warning). */
  problem?: string;
  /** Write an integer-valued number as a float (keeps the type of a card that was a float). */
  float?: boolean;
}

export const CARD = 80;
export const BLOCK = 2880;
const COMMENTARY = new Set(['HISTORY', 'COMMENT', '']);

function normKey(key: string): string {
  let k = key.trim().toUpperCase();
  if (k.startsWith('HIERARCH ')) k = k.slice(9).trim();
  return k.replace(/\s+/g, ' ');
}

/** A FITS header: an ordered list of cards with keyword lookup (the first card of a keyword wins, as in CFITSIO/astropy). */
export class FitsHeader {
  cards: Card[];

  constructor(cards: Card[] = []) {
    this.cards = cards;
  }

  private find(key: string): number {
    const k = normKey(key);
    return this.cards.findIndex((c) => c.key === k && c.value !== undefined);
  }

  has(key: string): boolean {
    const k = normKey(key);
    return this.cards.some((c) => c.key === k);
  }

  /** The value of the first card with this keyword; undefined if absent or the value is undefined. */
  get(key: string): string | number | boolean | undefined {
    const i = this.find(key);
    if (i < 0) return undefined;
    const v = this.cards[i].value;
    return v === null ? undefined : v;
  }

  /** The card itself (first one with this keyword). */
  card(key: string): Card | undefined {
    const i = this.find(key);
    return i < 0 ? undefined : this.cards[i];
  }

  /** Values (value cards) or texts (commentary cards) of every card with this keyword. */
  getAll(key: string): CardValue[] {
    const k = normKey(key);
    return this.cards.filter((c) => c.key === k).map((c) => (c.value !== undefined ? c.value : (c.text ?? '')));
  }

  getNumber(key: string): number | undefined {
    const v = this.get(key);
    return typeof v === 'number' ? v : undefined;
  }

  getString(key: string): string | undefined {
    const v = this.get(key);
    return typeof v === 'string' ? v : undefined;
  }

  /** Sets (replaces the first card of) a keyword, or appends it before any trailing END. */
  set(key: string, value: CardValue, comment?: string): this {
    const k = normKey(key);
    if (COMMENTARY.has(k)) throw new Error(`use addHistory/addComment for ${k || 'blank'} cards`);
    if (typeof value === 'number' && !Number.isFinite(value)) throw new FitsInputError(`header value of ${k} must be finite, got ${value}`);
    const i = this.find(k);
    if (i >= 0) {
      const old = this.cards[i];
      const c: Card = { key: k, value };
      const com = comment ?? old.comment;
      if (com !== undefined) c.comment = com;
      if (old.hierarch) c.hierarch = true;
      if (typeof value === 'number' && typeof old.value === 'number' && isFloatCard(old)) c.float = true;
      this.cards[i] = c;
    } else {
      const c: Card = { key: k, value };
      if (comment !== undefined) c.comment = comment;
      if (k.length > 8 || !/^[A-Z0-9_-]*$/.test(k)) c.hierarch = true;
      this.cards.push(c);
    }
    return this;
  }

  /** Removes every card with this keyword; returns how many were removed. */
  delete(key: string): number {
    const k = normKey(key);
    const n = this.cards.length;
    this.cards = this.cards.filter((c) => c.key !== k);
    return n - this.cards.length;
  }

  addHistory(text: string): this {
    this.cards.push({ key: 'HISTORY', text });
    return this;
  }

  addComment(text: string): this {
    this.cards.push({ key: 'COMMENT', text });
    return this;
  }

  history(): string[] {
    return this.cards.filter((c) => c.key === 'HISTORY').map((c) => c.text ?? '');
  }

  /** Keywords in card order (duplicates repeated, like astropy's `Header.keys()`). */
  keys(): string[] {
    return this.cards.map((c) => c.key);
  }

  clone(): FitsHeader {
    return new FitsHeader(this.cards.map((c) => ({ ...c, images: c.images ? [...c.images] : undefined })));
  }

  /**
   * A plain object for JSON: value cards map to their value (the first card wins; undefined values are null),
   * commentary keywords (HISTORY, COMMENT, blank) to arrays of their texts. Keys in first-appearance order.
   */
  toObject(): Record<string, CardValue | string[]> {
    const out: Record<string, CardValue | string[]> = {};
    for (const c of this.cards) {
      if (c.value === undefined) {
        const prev = out[c.key];
        if (Array.isArray(prev)) prev.push(c.text ?? '');
        else if (prev === undefined) out[c.key] = [c.text ?? ''];
      } else if (!(c.key in out)) {
        out[c.key] = c.value;
      }
    }
    return out;
  }

  /** Non-standard cards, one message each. */
  problems(): string[] {
    return this.cards.filter((c) => c.problem).map((c) => `card ${JSON.stringify(c.images?.[0]?.trimEnd() ?? c.key)}: ${c.problem}`);
  }

  /** The header as FITS bytes: the cards, END, padded with blanks to a multiple of 2880 bytes. */
  toBytes(): Uint8Array {
    const images: string[] = [];
    for (const c of this.cards) images.push(...formatCard(c));
    images.push('END'.padEnd(CARD));
    const nblocks = Math.ceil((images.length * CARD) / BLOCK);
    const out = new Uint8Array(nblocks * BLOCK).fill(0x20);
    let o = 0;
    for (const im of images) {
      for (let i = 0; i < CARD; i++) out[o + i] = im.charCodeAt(i) & 0x7f;
      o += CARD;
    }
    return out;
  }

  /** Parses cards from a header text (a multiple of 80 characters, END optional). */
  static fromString(text: string): FitsHeader {
    const images: string[] = [];
    for (let i = 0; i + CARD <= text.length; i += CARD) images.push(text.slice(i, i + CARD));
    if (text.length % CARD !== 0) images.push(text.slice(text.length - (text.length % CARD)).padEnd(CARD));
    const endAt = images.findIndex((im) => im.startsWith('END') && im.slice(3, 8).trim() === '');
    return parseCards(endAt >= 0 ? images.slice(0, endAt) : images);
  }
}

function isFloatCard(c: Card): boolean {
  if (c.float) return true;
  const im = c.images?.[0];
  if (!im) return typeof c.value === 'number' && !Number.isInteger(c.value);
  const v = im.slice(10).split('/')[0].trim();
  return /[.EeDd]/.test(v);
}

// ---------------------------------------------------------------- parsing

const INT_RE = /^[+-]?\d+$/;
const FLOAT_RE = /^[+-]?(\d+\.?\d*|\.\d+)([EeDd][+-]?\d+)?$/;
const COMPLEX_RE = /^\(\s*[+-]?(\d+\.?\d*|\.\d+)([EeDd][+-]?\d+)?\s*,\s*[+-]?(\d+\.?\d*|\.\d+)([EeDd][+-]?\d+)?\s*\)$/;

interface ParsedValue {
  value: CardValue;
  comment?: string;
  complex?: boolean;
  problem?: string;
  /** The string value, when the value is a string (before trailing-blank stripping). */
  isString?: boolean;
}

/** Parses the value field (columns 11–80, or after '=' for HIERARCH). */
export function parseValueField(s: string): ParsedValue {
  let i = 0;
  while (i < s.length && s[i] === ' ') i++;
  if (s[i] === "'") {
    let str = '';
    let j = i + 1;
    let closed = false;
    while (j < s.length) {
      if (s[j] === "'") {
        if (s[j + 1] === "'") {
          str += "'";
          j += 2;
          continue;
        }
        closed = true;
        j++;
        break;
      }
      str += s[j++];
    }
    const value = str.replace(/ +$/, '');
    if (!closed) return { value, isString: true, problem: 'unterminated string value' };
    const rest = s.slice(j);
    const r = rest.trimStart();
    if (r === '') return { value, isString: true };
    if (r[0] === '/') return { value, isString: true, comment: r.slice(1).trim() };
    return { value, isString: true, comment: r.trim(), problem: 'text after the string value without a "/" separator' };
  }
  const slash = s.indexOf('/', i);
  const vtext = (slash >= 0 ? s.slice(i, slash) : s.slice(i)).trim();
  const comment = slash >= 0 ? s.slice(slash + 1).trim() : undefined;
  const withComment = (p: ParsedValue): ParsedValue => (comment !== undefined ? { ...p, comment } : p);
  if (vtext === '') return withComment({ value: null });
  if (vtext === 'T') return withComment({ value: true });
  if (vtext === 'F') return withComment({ value: false });
  if (INT_RE.test(vtext)) return withComment({ value: Number(vtext) });
  if (FLOAT_RE.test(vtext)) return withComment({ value: Number(vtext.replace(/[Dd]/, 'E')) });
  if (COMPLEX_RE.test(vtext)) return withComment({ value: vtext, complex: true });
  return withComment({ value: vtext, problem: `unparsable value '${vtext}'` });
}

function printable(im: string): boolean {
  for (let i = 0; i < im.length; i++) {
    const c = im.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/** Parses one card image (80 characters) into a Card; CONTINUE handling is done by parseCards. */
export function parseCard(im: string): Card {
  const rawKey = im.slice(0, 8);
  let key = rawKey.trimEnd();
  const card: Card = { key: '', images: [im] };
  const problems: string[] = [];
  if (!printable(im)) problems.push('non-printable characters');
  if (key === 'HIERARCH' || (key.toUpperCase() === 'HIERARCH' && im[8] === ' ')) {
    const eq = im.indexOf('=', 8);
    if (eq > 0) {
      card.key = normKey(im.slice(8, eq));
      card.hierarch = true;
      const pv = parseValueField(im.slice(eq + 1));
      card.value = pv.value;
      if (pv.comment !== undefined) card.comment = pv.comment;
      if (pv.complex) card.complex = true;
      if (pv.problem) problems.push(pv.problem);
    } else {
      card.key = 'HIERARCH';
      card.text = im.slice(8).trimEnd();
    }
  } else {
    if (/^ +[^ ]/.test(rawKey)) problems.push('keyword does not start in column 1');
    const upper = key.trim().toUpperCase();
    if (upper !== key.trim()) problems.push('keyword has lower-case letters');
    if (!/^[A-Z0-9_-]*$/.test(upper)) problems.push('keyword has characters outside A-Z 0-9 _ -');
    key = upper;
    card.key = key;
    if (COMMENTARY.has(key)) {
      card.text = im.slice(8).trimEnd();
    } else if (im.slice(8, 10) === '= ' || (im[8] === '=' && im.length > 9)) {
      if (im[9] !== ' ') problems.push('no blank after "=" in column 10');
      const pv = parseValueField(im.slice(10 - (im[9] === ' ' ? 0 : 1)));
      card.value = pv.value;
      if (pv.comment !== undefined) card.comment = pv.comment;
      if (pv.complex) card.complex = true;
      if (pv.problem) problems.push(pv.problem);
    } else {
      card.text = im.slice(8).trimEnd();
    }
  }
  if (problems.length) card.problem = problems.join('; ');
  return card;
}

/** Parses a run of card images (without END), joining CONTINUE long strings. */
export function parseCards(images: string[]): FitsHeader {
  const cards: Card[] = [];
  for (let n = 0; n < images.length; n++) {
    const card = parseCard(images[n]);
    if (typeof card.value === 'string' && !card.complex && card.value.endsWith('&') && !card.problem) {
      // long-string convention: 'abc&' followed by CONTINUE  'def&' ... (comments are joined too)
      let value = card.value;
      let comment = card.comment;
      while (value.endsWith('&') && n + 1 < images.length && images[n + 1].startsWith('CONTINUE') && images[n + 1].slice(8, 10) !== '= ') {
        const pv = parseValueField(images[n + 1].slice(8));
        if (!pv.isString || pv.problem) break;
        value = value.slice(0, -1) + (pv.value as string);
        if (pv.comment) comment = comment ? `${comment} ${pv.comment}` : pv.comment;
        card.images!.push(images[n + 1]);
        n++;
      }
      card.value = value;
      if (comment !== undefined) card.comment = comment;
    } else if (card.key === 'CONTINUE') {
      card.problem = 'CONTINUE card not following a long string ending in "&"';
    }
    cards.push(card);
  }
  return new FitsHeader(cards);
}

// ---------------------------------------------------------------- formatting

/** Shortest round-trip text of a float in FITS syntax (always with '.' or 'E'). */
export function formatFloat(x: number): string {
  if (!Number.isFinite(x)) throw new FitsInputError(`cannot write non-finite header value ${x}`);
  let s = String(x).toUpperCase();
  if (s.includes('E')) {
    const [m, e] = s.split('E');
    const mant = m.includes('.') ? m : `${m}.0`;
    const sign = e.startsWith('-') ? '-' : '+';
    s = `${mant}E${sign}${e.replace(/^[+-]/, '').padStart(2, '0')}`;
  } else if (!s.includes('.')) {
    s = `${s}.0`;
  }
  return s;
}

function formatValue(c: Card): string {
  const v = c.value;
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return (v ? 'T' : 'F').padStart(20);
  if (typeof v === 'number') {
    const float = c.float || !Number.isInteger(v) || Math.abs(v) >= 1e21;
    const txt = float ? formatFloat(v) : String(v);
    return txt.padStart(20);
  }
  if (c.complex) return v.padStart(20);
  const esc = v.replace(/'/g, "''");
  return `'${esc.padEnd(8)}'`;
}

function sanitize(text: string): string {
  // only printable ASCII may appear in a header
  return text.replace(/[^\x20-\x7e]/g, '?');
}

/** Card images for one card: verbatim if unchanged, else freshly formatted (long strings via CONTINUE). */
export function formatCard(c: Card): string[] {
  if (c.images && c.images.length) return c.images.map((im) => sanitize(im).padEnd(CARD).slice(0, CARD));
  if (c.value === undefined) {
    const text = sanitize(c.text ?? '');
    const key = c.key.padEnd(8).slice(0, 8);
    const out: string[] = [];
    for (let i = 0; i < Math.max(1, text.length); i += 72) out.push((key + text.slice(i, i + 72)).padEnd(CARD));
    return out;
  }
  const comment = c.comment !== undefined && c.comment !== '' ? sanitize(c.comment) : '';
  const prefix = c.hierarch ? `HIERARCH ${c.key} = ` : `${c.key.padEnd(8)}= `;
  if (prefix.length > CARD - 3) throw new FitsInputError(`keyword too long for a FITS card: ${c.key}`);
  if (typeof c.value === 'string' && !c.complex) {
    const esc = sanitize(c.value).replace(/'/g, "''");
    const room = CARD - prefix.length - 2; // quotes
    // fixed format, as CFITSIO and astropy write it: the value field is at least 20 characters
    const single = `'${esc.padEnd(8)}'`.padEnd(20);
    if (single.trimEnd().length <= CARD - prefix.length) {
      return [withComment(prefix + (comment ? single : single.trimEnd()), comment)];
    }
    // long string: split on the escaped text without breaking a '' pair, each piece ends with '&'
    const out: string[] = [];
    let rest = esc;
    let first = true;
    while (rest.length) {
      const avail = (first ? room : CARD - 10 - 2) - 1;
      let take = Math.min(avail, rest.length);
      if (take < rest.length) {
        // do not split a doubled quote
        let q = 0;
        for (let i = take - 1; i >= 0 && rest[i] === "'"; i--) q++;
        if (q % 2 === 1) take--;
      }
      const piece = rest.slice(0, take);
      rest = rest.slice(take);
      const amp = rest.length ? '&' : '';
      const head = first ? prefix : 'CONTINUE  ';
      out.push(`${head}'${piece}${amp}'`.padEnd(CARD));
      first = false;
    }
    if (comment) out[out.length - 1] = withComment(out[out.length - 1].trimEnd(), comment);
    return out;
  }
  return [withComment(prefix + formatValue(c), comment)];
}

function withComment(s: string, comment: string): string {
  if (!comment) return s.padEnd(CARD).slice(0, CARD);
  const t = `${s} / ${comment}`;
  return t.padEnd(CARD).slice(0, CARD);
}

/** Parses a header starting at `offset` (a block boundary); returns the header and the offset just past its last block. */
export function readHeaderAt(bytes: Uint8Array, offset: number): { header: FitsHeader; end: number; warnings: string[] } {
  const warnings: string[] = [];
  const images: string[] = [];
  let o = offset;
  for (;;) {
    if (o + BLOCK > bytes.length) {
      if (o >= bytes.length) throw new FitsInputError(`header at byte ${offset} has no END card (file truncated?)`);
      throw new FitsInputError(`header at byte ${offset} is truncated: file ends inside a 2880-byte block`);
    }
    let ended = false;
    for (let c = 0; c < 36; c++) {
      const p = o + c * CARD;
      const im = String.fromCharCode.apply(null, bytes.subarray(p, p + CARD) as unknown as number[]);
      if (!ended && im.startsWith('END') && im.slice(3, 8).trim() === '') {
        ended = true;
        if (im.slice(3).trim() !== '') warnings.push(`END card at byte ${p} has text after it`);
        // the rest of the block must be blank
        for (let q = p + CARD; q < o + BLOCK; q++) {
          if (bytes[q] !== 0x20) {
            warnings.push(`header at byte ${offset}: non-blank bytes after the END card`);
            break;
          }
        }
        break;
      }
      images.push(im);
    }
    o += BLOCK;
    if (ended) break;
  }
  const header = parseCards(images);
  return { header, end: o, warnings };
}
