/**
 * A multi-source UVFITS file made from a single-source one (random groups, BITPIX −32): a SOURCE random parameter
 * added to every group, the file's groups as source 1, and a copy of every third group as source 2 whose
 * correlations are a point source of `pointJy` at the phase centre plus Gaussian noise of the σ = 1/√w the
 * weights state (a fixed seed; the weights kept), then
 * the file's extensions and an AIPS SU table naming both (ID. NO., SOURCE, RAEPO, DECEPO) — the layout AIPS and
 * CASA's exportuvfits write for several fields.
 */

const pad = (c: string) => c.padEnd(80, ' ').slice(0, 80);
const num = (key: string, v: number | string) => pad(`${key.padEnd(8)}= ${String(v).padStart(20)}`);
const text = (key: string, v: string) => pad(`${key.padEnd(8)}= '${v.padEnd(8)}'`);

export interface MultiSourceSpec {
  /** Names and positions (degrees) of source 1 (the file's own groups) and source 2 (the point source). */
  sources: [{ name: string; ra: number; dec: number }, { name: string; ra: number; dec: number }];
  pointJy: number;
}

function header(bytes: Uint8Array): { cards: string[]; length: number } {
  const cards: string[] = [];
  for (let o = 0; o + 80 <= bytes.length; o += 80) {
    const c = String.fromCharCode(...bytes.subarray(o, o + 80));
    cards.push(c);
    if (c.startsWith('END ')) return { cards, length: Math.ceil((o + 80) / 2880) * 2880 };
  }
  throw new Error('no END card');
}

const value = (cards: string[], key: string): number => {
  const c = cards.find((x) => x.startsWith(key.padEnd(8) + '='));
  if (!c) throw new Error(`no ${key}`);
  return Number(c.slice(10, 80).split('/')[0]!.trim());
};

function suTable(spec: MultiSourceSpec): Uint8Array {
  const rowBytes = 4 + 16 + 8 + 8;
  const cards = [
    "XTENSION= 'BINTABLE'",
    num('BITPIX', 8),
    num('NAXIS', 2),
    num('NAXIS1', rowBytes),
    num('NAXIS2', 2),
    num('PCOUNT', 0),
    num('GCOUNT', 1),
    num('TFIELDS', 4),
    text('TTYPE1', 'ID. NO.'),
    text('TFORM1', '1J'),
    text('TTYPE2', 'SOURCE'),
    text('TFORM2', '16A'),
    text('TTYPE3', 'RAEPO'),
    text('TFORM3', '1D'),
    text('TTYPE4', 'DECEPO'),
    text('TFORM4', '1D'),
    text('EXTNAME', 'AIPS SU'),
    num('EXTVER', 1),
    'END',
  ].map(pad);
  let head = cards.join('');
  while (head.length % 2880) head += ' ';
  const out = new Uint8Array(head.length + 2880);
  for (let i = 0; i < head.length; i++) out[i] = head.charCodeAt(i);
  const dv = new DataView(out.buffer);
  spec.sources.forEach((s, r) => {
    const o = head.length + r * rowBytes;
    dv.setInt32(o, r + 1, false);
    const name = s.name.padEnd(16, ' ');
    for (let i = 0; i < 16; i++) out[o + 4 + i] = name.charCodeAt(i);
    dv.setFloat64(o + 20, s.ra, false);
    dv.setFloat64(o + 28, s.dec, false);
  });
  return out;
}

export function multiSourceUvfits(src: Uint8Array, spec: MultiSourceSpec): { bytes: Uint8Array; groups: [number, number] } {
  const { cards, length } = header(src);
  if (value(cards, 'BITPIX') !== -32) throw new Error('BITPIX −32 only');
  const naxis = value(cards, 'NAXIS');
  let gsize = 1;
  for (let k = 2; k <= naxis; k++) gsize *= value(cards, `NAXIS${k}`);
  const pcount = value(cards, 'PCOUNT');
  const gcount = value(cards, 'GCOUNT');
  const inWords = pcount + gsize;
  const dataLen = Math.ceil((4 * gcount * inWords) / 2880) * 2880;
  const rest = src.subarray(length + dataLen);

  const copies = Math.ceil(gcount / 3);
  const ng = gcount + copies;
  const p = pcount + 1;
  const outCards: string[] = [];
  for (const c of cards) {
    if (c.startsWith('END ')) continue;
    if (c.startsWith('PCOUNT  =')) outCards.push(num('PCOUNT', p));
    else if (c.startsWith('GCOUNT  =')) outCards.push(num('GCOUNT', ng));
    else outCards.push(c);
  }
  outCards.push(text(`PTYPE${p}`, 'SOURCE'), num(`PSCAL${p}`, '1.0'), num(`PZERO${p}`, '0.0'), pad('END'));
  let head = outCards.join('');
  while (head.length % 2880) head += ' ';

  const inDv = new DataView(src.buffer, src.byteOffset + length, 4 * gcount * inWords);
  const outWords = p + gsize;
  const body = new Uint8Array(Math.ceil((4 * ng * outWords) / 2880) * 2880);
  const dv = new DataView(body.buffer);
  let w = 0;
  const put = (x: number) => dv.setFloat32(4 * w++, x, false);
  // a fixed-seed normal deviate (xorshift32 and Box–Muller)
  let state = 0x2545f491;
  const uniform = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) + 0.5) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
  for (let g = 0; g < gcount; g++) {
    const o = g * inWords;
    for (let copy = 0; copy < (g % 3 === 0 ? 2 : 1); copy++) {
      for (let k = 0; k < pcount; k++) put(inDv.getFloat32(4 * (o + k), false));
      put(copy + 1);
      for (let j = 0; j < gsize; j += 3) {
        const wt = inDv.getFloat32(4 * (o + pcount + j + 2), false);
        const sigma = wt > 0 ? 1 / Math.sqrt(wt) : 0;
        put(copy ? spec.pointJy + sigma * normal() : inDv.getFloat32(4 * (o + pcount + j), false));
        put(copy ? sigma * normal() : inDv.getFloat32(4 * (o + pcount + j + 1), false));
        put(wt);
      }
    }
  }
  const su = suTable(spec);
  const out = new Uint8Array(head.length + body.length + rest.length + su.length);
  for (let i = 0; i < head.length; i++) out[i] = head.charCodeAt(i);
  out.set(body, head.length);
  out.set(rest, head.length + body.length);
  out.set(su, head.length + body.length + rest.length);
  return { bytes: out, groups: [gcount, copies] };
}
