/**
 * Writing and header handling: read → write → read round trips (bit-exact), CHECKSUM/DATASUM, the plain / .fz /
 * .gz triplets decoding identically, header cards (CONTINUE, HIERARCH, HISTORY, non-standard cards).
 */
import { describe, expect, it } from 'vitest';
import { gzipSync } from 'fflate';
import {
  FitsHeader,
  FitsInputError,
  readFits,
  readFitsImage,
  writeFits,
  encodeChecksum,
  onesSum,
  parseCard,
  formatCard,
  type FitsHdu,
} from '../../src-shared/fits/index.js';
import { celestialWcs } from '../../src-shared/wcs/index.js';
import { corpus, readBytes } from './fits-expected.js';

function sameValues(a: ArrayLike<number>, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (Number.isNaN(x) && Number.isNaN(y)) continue;
    if (!Object.is(x, y) && x !== y) return false;
  }
  return true;
}

/** Bit patterns of float data (distinguishes -0 and NaN payloads are not compared). */
function sameBits(a: Float32Array | Float64Array, b: Float32Array | Float64Array): boolean {
  if (a.length !== b.length || a.constructor !== b.constructor) return false;
  for (let i = 0; i < a.length; i++) {
    if (Number.isNaN(a[i]) && Number.isNaN(b[i])) continue;
    if (!Object.is(a[i], b[i])) return false;
  }
  return true;
}

const imageHdus: Array<{ file: string; hdu: number }> = [];
for (const f of corpus()) {
  if (f.error || f.file === 'fits/verify.fits' || f.file === 'fits/group_invalid.fits') continue;
  for (const h of f.hdus!) if (h.stats && h.shape.reduce((a, b) => a * b, 1) <= 2_000_000) imageHdus.push({ file: f.file, hdu: h.index });
}

function wcsCards(h: FitsHdu['header']): Array<[string, unknown]> {
  return h.cards.filter((c) => /^(CTYPE|CRPIX|CRVAL|CDELT|CD\d|PC\d|CROTA|RADESYS|EQUINOX|EPOCH|LONPOLE|LATPOLE|A_|B_|AP_|BP_|BUNIT)/.test(c.key)).map((c) => [c.key, c.value]);
}

describe('read → write → read round trips', () => {
  for (const { file, hdu } of imageHdus) {
    it(`${file}[${hdu}]`, () => {
      const src = readFits(readBytes(file)).hdus[hdu];
      const im = src.readImage();
      const raw = src.readRawImage();
      // 1. same BITPIX: integers stored bit for bit with their scaling, floats unchanged
      const entry = raw
        ? { data: raw.data, shape: raw.shape, header: src.header, bitpix: raw.bitpix, raw: true, bscale: raw.bscale, bzero: raw.bzero, blank: raw.blank }
        : { data: im.data, shape: im.shape, header: src.header, bitpix: im.bitpix as -32 | -64 };
      const out = writeFits([entry]);
      expect(out.length % 2880).toBe(0);
      const back = readFits(out);
      expect(back.warnings).toEqual([]);
      expect(back.hdus[0].verifyChecksum()).toEqual({ checksum: 'ok', datasum: 'ok' });
      const im2 = back.hdus[0].readImage();
      expect(im2.shape).toEqual(im.shape);
      expect(im2.bitpix).toBe(im.bitpix);
      expect(sameValues(im2.data, im.data), 'physical values').toBe(true);
      if (raw) {
        const raw2 = back.hdus[0].readRawImage()!;
        expect(raw2.data).toEqual(raw.data);
        expect([raw2.bscale, raw2.bzero, raw2.blank]).toEqual([raw.bscale, raw.bzero, raw.blank]);
      } else {
        expect(sameBits(im2.data, im.data), 'float bits').toBe(true);
      }
      // header cards kept (WCS, BUNIT), and the WCS still gives the same coordinates
      expect(wcsCards(back.hdus[0].header)).toEqual(wcsCards(src.header));
      const w1 = celestialWcs(src.header);
      if (w1) {
        const w2 = celestialWcs(back.hdus[0].header)!;
        expect(w2.pixelToWorld(3.5, 7.25)).toEqual(w1.pixelToWorld(3.5, 7.25));
      }
      // 2. as float64: every physical value exactly
      const d64 = readFits(writeFits([{ data: im.data, shape: im.shape, header: src.header, bitpix: -64 }])).hdus[0].readImage();
      expect(sameValues(d64.data, im.data)).toBe(true);
    });
  }

  it('integer output of float data: exact when integral, scaled otherwise; NaN becomes BLANK', () => {
    const data = new Float64Array([0, 1, -5, 300, NaN, 32767, -32767]);
    for (const bitpix of [16, 32] as const) {
      const back = readFitsImage(writeFits([{ data, shape: [7], bitpix }]));
      expect(sameValues(back.data, data)).toBe(true);
    }
    const u = readFits(writeFits([{ data: new Float64Array([0, 65535, 40000]), shape: [3], bitpix: 16 }])).hdus[0];
    expect(u.header.get('BZERO')).toBe(32768);
    expect(Array.from(u.readImage().data)).toEqual([0, 65535, 40000]);
    const frac = new Float64Array(1000).map((_, i) => Math.sin(i) * 1e3 + 0.123);
    const s = readFits(writeFits([{ data: frac, shape: [1000], bitpix: 16 }])).hdus[0];
    const got = s.readImage().data;
    const bscale = s.header.get('BSCALE') as number;
    expect(bscale).toBeGreaterThan(0);
    for (let i = 0; i < 1000; i++) expect(Math.abs(got[i] - frac[i])).toBeLessThanOrEqual(bscale / 2 + 1e-9);
    const b8 = readFitsImage(writeFits([{ data: new Float32Array([1, 2, NaN, 255]), shape: [4], bitpix: 8 }]));
    expect(sameValues(b8.data, [1, 2, NaN, 255])).toBe(true);
  });

  it('typed arrays pick their BITPIX and unsigned conventions', () => {
    const cases: Array<[ArrayLike<number> & { length: number }, number]> = [
      [new Uint8Array([0, 255, 7]), 8],
      [new Int16Array([-32768, 32767, 0]), 16],
      [new Uint16Array([0, 65535, 1]), 16],
      [new Int32Array([-2147483648, 2147483647, 5]), 32],
      [new Uint32Array([0, 4294967295, 9]), 32],
      [new Float32Array([1.5, -2.25, NaN]), -32],
      [new Float64Array([Math.PI, -1e300, NaN]), -64],
    ];
    for (const [data, bitpix] of cases) {
      const f = readFits(writeFits([{ data: data as Float64Array, shape: [3] }]));
      expect(f.hdus[0].bitpix).toBe(bitpix);
      expect(sameValues(f.hdus[0].readImage().data, data)).toBe(true);
    }
  });

  it('multi-HDU output: primary and IMAGE extensions with EXTNAME', () => {
    const h1 = new FitsHeader().set('EXTNAME', 'SCI').set('BUNIT', 'Jy/beam');
    const out = writeFits([
      { data: new Float32Array([1, 2, 3, 4, 5, 6]), shape: [3, 2] },
      { data: new Float64Array([7, 8]), shape: [2], header: h1 },
      { data: new Int16Array(24).map((_, i) => i - 12), shape: [2, 3, 4] },
    ]);
    const f = readFits(out);
    expect(f.hdus.map((h) => [h.kind, h.name, h.bitpix, h.shape])).toEqual([
      ['primary', null, -32, [3, 2]],
      ['image', 'SCI', -64, [2]],
      ['image', null, 16, [2, 3, 4]],
    ]);
    expect(f.hdus[1].header.get('BUNIT')).toBe('Jy/beam');
    for (const h of f.hdus) expect(h.verifyChecksum()).toEqual({ checksum: 'ok', datasum: 'ok' });
    expect(readFitsImage(out, 2).data[23]).toBe(11);
  });

  it('refuses data that do not fit', () => {
    expect(() => writeFits([{ data: new Float32Array(5), shape: [2, 2] }])).toThrow(FitsInputError);
    expect(() => writeFits([{ data: new Float32Array([Infinity]), shape: [1], bitpix: 16 }])).toThrow(FitsInputError);
    expect(() => writeFits([])).toThrow(FitsInputError);
  });
});

describe('checksums', () => {
  it('makes a card with CHECKSUM sum to negative zero', () => {
    const rand = (() => {
      let a = 12345;
      return () => (a = (Math.imul(a, 1103515245) + 12345) >>> 0);
    })();
    for (let k = 0; k < 200; k++) {
      // a header block with random text and the CHECKSUM card at a random card position
      const block = new Uint8Array(2880).map(() => 0x20 + (rand() % 95));
      const at = 80 * (rand() % 36);
      const put = (s: string) => {
        for (let i = 0; i < 80; i++) block[at + i] = i < s.length ? s.charCodeAt(i) : 0x20;
      };
      put("CHECKSUM= '0000000000000000'   / HDU checksum");
      const dataSum = rand();
      const total = (onesSum(block) + dataSum) % 0xffffffff;
      const enc = encodeChecksum(total);
      expect(/^[0-9A-Za-z]{16}$/.test(enc)).toBe(true);
      put(`CHECKSUM= '${enc}'   / HDU checksum`);
      const s = onesSum(block, 0, block.length, dataSum);
      expect(s).toBe(0xffffffff);
    }
  });
  it('verifies the corpus checksums as astropy does', () => {
    const good = readFits(readBytes('fits/checksum.fits'));
    for (const h of good.hdus) expect(h.verifyChecksum()).toEqual({ checksum: 'ok', datasum: 'ok' });
    const bad = readFits(readBytes('fits/checksum_false.fits'));
    bad.hdus[0].readImage(); // a mismatch is a warning, not a failure
    expect(bad.warnings.some((w) => /HDU 0: DATASUM does not match/.test(w))).toBe(true);
    expect(bad.hdus[1].verifyChecksum()).toEqual({ checksum: 'mismatch', datasum: 'mismatch' });
  });
  it('notices a changed data byte in a written file', () => {
    const out = writeFits([{ data: new Float32Array([1, 2, 3]), shape: [3] }]);
    out[2880 + 1] ^= 0x40;
    const f = readFits(out);
    f.hdus[0].readImage();
    expect(f.warnings.join(' ')).toMatch(/DATASUM does not match/);
  });
});

describe('plain, .fz and .gz forms decode identically', () => {
  const groups: string[][] = [
    ['testD.fits', 'testD.fits.fz', 'testD.fits.gz'],
    ['testF.fits', 'testF.fits.fz', 'testF.fits.gz'],
    ['testI.fits', 'testI.fits.fz', 'testI.fits.gz'],
    ['testS.fits', 'testS.fits.fz', 'testS.fits.gz'],
    ['testUI.fits', 'testUI.fits.fz', 'testUI.fits.gz'],
    ['testUS.fits', 'testUS.fits.fz', 'testUS.fits.gz'],
    ['m13.fits', 'm13_gzip.fits', 'm13_plio.fits', 'm13_rice.fits'],
    ['test_cubeF.fits', 'test_cubeF.fits.fz'],
    ['test_multiF.fits', 'test_multiF.fits.fz'],
  ];
  for (const g of groups) {
    it(g.join(' = '), () => {
      const images = g.map((name) => readFits(readBytes(`fits/${name}`)).hdus.filter((h) => h.hasImage).map((h) => h.readImage()));
      const ref = images[0];
      expect(ref.length).toBeGreaterThan(0);
      for (const [k, ims] of images.entries()) {
        expect(ims.length, g[k]).toBe(ref.length);
        ims.forEach((im, i) => {
          expect(im.shape, `${g[k]} image ${i}`).toEqual(ref[i].shape);
          expect(im.bitpix, `${g[k]} image ${i}`).toBe(ref[i].bitpix);
          expect(sameValues(im.data, ref[i].data), `${g[k]} image ${i} values`).toBe(true);
        });
      }
    });
  }
  it('a gzip-wrapped file of our own reads as the original', () => {
    const raw = readBytes('fits/test0.fits');
    const a = readFits(raw);
    const b = readFits(gzipSync(raw));
    expect(b.hdus.length).toBe(a.hdus.length);
    expect(sameValues(b.hdus[3].readImage().data, a.hdus[3].readImage().data)).toBe(true);
  });
});

describe('header cards', () => {
  const f = readFits(readBytes('fixtures/header_cards.fits'));
  const h = f.hdus[0].header;
  it('joins CONTINUE long strings and their comments', () => {
    expect(h.get('LONGSTR')).toBe('This is a long string value that needs more than one card so it continues with CONTINUE cards &c.');
    expect(h.card('LONGSTR')!.comment).toBe('a comment that is also long enough to need continuation');
  });
  it('reads HIERARCH keywords with or without the prefix', () => {
    expect(h.get('ESO DET CHIP NAME')).toBe('CCD-42');
    expect(h.get('HIERARCH ESO DET CHIP NAME')).toBe('CCD-42');
  });
  it('reads quotes, exponents, big integers, complex and undefined values', () => {
    expect(h.get('QUOTE')).toBe("O'Brien");
    expect(h.get('NEG')).toBe(-1.5e-300);
    expect(h.get('BIGINT')).toBe(1234567890123);
    expect(h.card('CMPLX')!.complex).toBe(true);
    expect(h.has('UNDEF')).toBe(true);
    expect(h.get('UNDEF')).toBeUndefined();
    expect(h.toObject().UNDEF).toBeNull();
  });
  it('keeps HISTORY, COMMENT and blank-keyword commentary in order', () => {
    // astropy splits the long HISTORY text over two cards
    expect(h.history()[0]).toBe('first history line');
    expect(h.history().slice(1).join('')).toBe('second history line, quite long: ' + 'x'.repeat(60));
    expect(h.getAll('COMMENT')).toContain('a comment card');
    expect(h.toObject()['']).toEqual(['blank keyword commentary']);
  });
  it('writes every card back so it parses to the same values', () => {
    const copy = h.clone();
    copy.set('LONGSTR', 'x'.repeat(150) + "'quoted'" + 'y'.repeat(50), 'new comment');
    copy.set('HIERARCH ESO NEW KEY', 3.25);
    copy.set('FLOATINT', 2.0);
    copy.addHistory('h'.repeat(100));
    const out = writeFits([{ data: new Int16Array(20), shape: [5, 4], header: copy }]);
    const back = readFits(out).hdus[0].header;
    expect(back.get('LONGSTR')).toBe('x'.repeat(150) + "'quoted'" + 'y'.repeat(50));
    expect(back.card('LONGSTR')!.comment).toBe('new comment');
    expect(back.get('ESO NEW KEY')).toBe(3.25);
    expect(back.get('NEG')).toBe(-1.5e-300);
    expect(back.get('QUOTE')).toBe("O'Brien");
    expect(back.history().join('')).toContain('h'.repeat(100));
    expect(readFits(out).warnings).toEqual([]);
  });
  it('keeps float-typed cards float when set to an integral value', () => {
    const hh = FitsHeader.fromString('CRVAL1  =                 10.5'.padEnd(80));
    hh.set('CRVAL1', 180);
    expect(formatCard(hh.card('CRVAL1')!)[0]).toMatch(/= +180\.0/);
  });
  it('keeps non-standard cards and reports them', () => {
    const weird = [
      'SIMPLE  =                    T',
      'BITPIX  =                    8',
      'NAXIS   =                    0',
      'lowkey  =                    1',
      "BADSTR  = 'unterminated",
      'BADNUM  =                 1.2.3',
      'NOEQ      some text without a value indicator',
      'CONTINUE  \'orphan\'',
      'END',
    ]
      .map((c) => c.padEnd(80))
      .join('');
    const b = new Uint8Array(2880).fill(0x20);
    for (let i = 0; i < weird.length; i++) b[i] = weird.charCodeAt(i);
    const ff = readFits(b);
    const hh = ff.hdus[0].header;
    expect(hh.get('LOWKEY')).toBe(1);
    expect(hh.get('BADSTR')).toBe('unterminated');
    expect(hh.has('BADNUM')).toBe(true);
    expect(hh.getAll('NOEQ')).toEqual(['  some text without a value indicator']);
    expect(hh.keys()).toContain('CONTINUE');
    const w = ff.warnings.join('\n');
    expect(w).toMatch(/lower-case/);
    expect(w).toMatch(/unterminated string/);
    expect(w).toMatch(/unparsable value '1.2.3'/);
    expect(w).toMatch(/CONTINUE card not following/);
    // written back verbatim
    const out = writeFits([{ data: null, shape: [], header: hh }]);
    expect(new TextDecoder('latin1').decode(out)).toContain('BADNUM  =                 1.2.3');
  });
  it('parses D exponents, leading-dot floats, logicals and the undefined value', () => {
    expect(parseCard('X       =              1.5D-03 / c'.padEnd(80)).value).toBe(1.5e-3);
    expect(parseCard('X       =                  .25'.padEnd(80)).value).toBe(0.25);
    expect(parseCard('X       =                    F'.padEnd(80)).value).toBe(false);
    expect(parseCard('X       =                      / nothing'.padEnd(80)).value).toBeNull();
    expect(parseCard("X       = ''".padEnd(80)).value).toBe('');
    expect(parseCard("X       = '  lead'".padEnd(80)).value).toBe('  lead');
  });
});

describe('FITS structure', () => {
  it('reads a file with extra bytes after the last HDU, with a warning', () => {
    const out = writeFits([{ data: new Float32Array([1]), shape: [1] }]);
    const b = new Uint8Array(out.length + 100);
    b.set(out);
    b.fill(0x41, out.length);
    const f = readFits(b);
    expect(f.hdus.length).toBe(1);
    expect(f.warnings.join()).toMatch(/after the last HDU/);
  });
  it('refuses a file truncated inside the data, naming the file; lenient mode reads the headers', () => {
    const b = readBytes('fits/m13.fits').slice(0, 2880 * 10);
    expect(() => readFits(b, { name: 'cut.fits' })).toThrow(/^cut\.fits: HDU 0: file truncated/);
    const f = readFits(b, { name: 'cut.fits', strict: false });
    expect(f.hdus[0].shape).toEqual([300, 300]);
    expect(() => f.hdus[0].readImage()).toThrow(/cut\.fits: HDU 0: cannot read the image: the file is truncated/);
  });
  it('a truncated extension header: refused, or the HDUs before it kept in lenient mode', () => {
    const b = readBytes('fits/test0.fits');
    const second = readFits(b).hdus[2].headerOffset;
    const cut = b.slice(0, second + 1000);
    expect(() => readFits(cut, { name: 't.fits' })).toThrow(/t\.fits: HDU 2: header at byte \d+ is truncated/);
    const f = readFits(cut, { strict: false });
    expect(f.hdus.length).toBe(2);
    expect(f.warnings.join()).toMatch(/HDU 2: .*ignored/);
    expect(f.hdus[1].readImage().shape).toEqual([40, 40]);
  });
  it('accepts a last data block without its padding, with a warning', () => {
    const out = writeFits([{ data: new Float32Array([1, 2, 3]), shape: [3] }]);
    const f = readFits(out.slice(0, 2880 + 12));
    expect(Array.from(f.hdus[0].readImage().data)).toEqual([1, 2, 3]);
    expect(f.warnings.join()).toMatch(/not padded/);
  });
  it('reads degenerate and zero-length axes', () => {
    const out = writeFits([
      { data: new Float32Array([1, 2, 3]), shape: [3, 1, 1] },
      { data: new Float32Array(0), shape: [4, 0] },
    ]);
    const f = readFits(out);
    expect(f.hdus[0].shape).toEqual([3, 1, 1]);
    expect(f.hdus[1].hasImage).toBe(false);
    expect(() => readFitsImage(out, 1)).toThrow(/no image pixels/);
    expect(readFitsImage(out).shape).toEqual([3, 1, 1]);
  });
  it('reads random groups (UVFITS) parameters with PSCAL/PZERO and summed DATE', () => {
    const g = readFits(readBytes('uvfits/vlba43_BLLAC_2013may30.uvfits')).hdus[0].readGroups();
    expect(g.gcount).toBe(2462);
    const date = g.par('DATE')!;
    const parts = g.paramNames.map((n, i) => (n === 'DATE' ? i : -1)).filter((i) => i >= 0);
    expect(parts.length).toBe(2);
    expect(date[0]).toBe(g.params[parts[0]][0] + g.params[parts[1]][0]);
  });
  it('reads random groups larger than its decoding block (2^20 values) the same as element by element: int16, BSCALE/BZERO, BLANK, PSCAL/PZERO', () => {
    // 25 groups of 2 parameters + 99 998 values: stride 100 000, so the reader's blocks hold 10 groups (three blocks)
    const pcount = 2;
    const gsize = 99998;
    const gcount = 25;
    const stride = pcount + gsize;
    const cards = [
      'SIMPLE  =                    T',
      'BITPIX  =                   16',
      'NAXIS   =                    3',
      'NAXIS1  =                    0',
      `NAXIS2  = ${String(2).padStart(20)}`,
      `NAXIS3  = ${String(gsize / 2).padStart(20)}`,
      'GROUPS  =                    T',
      `PCOUNT  = ${String(pcount).padStart(20)}`,
      `GCOUNT  = ${String(gcount).padStart(20)}`,
      "PTYPE1  = 'UU'",
      'PSCAL1  =                0.001',
      'PZERO1  =                  5.0',
      "PTYPE2  = 'DATE'",
      'PZERO2  =            2460000.5',
      'BSCALE  =                 0.25',
      'BZERO   =                 10.0',
      'BLANK   =               -32768',
      'END',
    ];
    let head = cards.map((c) => c.padEnd(80)).join('');
    while (head.length % 2880) head += ' ';
    const bytes = new Uint8Array(head.length + Math.ceil((gcount * stride * 2) / 2880) * 2880);
    for (let i = 0; i < head.length; i++) bytes[i] = head.charCodeAt(i);
    const dv = new DataView(bytes.buffer);
    const raw = (g: number, i: number) => (i === 7 && g % 3 === 0 ? -32768 : ((g * 7919 + i * 31) % 60001) - 30000);
    for (let g = 0; g < gcount; g++) for (let i = 0; i < stride; i++) dv.setInt16(head.length + 2 * (g * stride + i), raw(g, i), false);
    const G = readFits(bytes).hdus[0].readGroups();
    expect(G.gcount).toBe(gcount);
    expect(G.data.length).toBe(gcount * gsize);
    for (const g of [0, 9, 10, 11, 19, 20, 24]) {
      expect(G.params[0][g]).toBe(5 + 0.001 * raw(g, 0));
      expect(G.par('DATE')![g]).toBe(2460000.5 + raw(g, 1));
      for (const i of [0, 5, 6, 1000, gsize - 1]) {
        const r = raw(g, pcount + i);
        if (r === -32768) expect(G.data[g * gsize + i]).toBeNaN();
        else expect(G.data[g * gsize + i]).toBe(10 + 0.25 * r);
      }
    }
    let nan = 0;
    for (const x of G.data) if (Number.isNaN(x)) nan++;
    expect(nan).toBe(Math.ceil(gcount / 3));
  });
  it('tables: vector, string, logical, bit and variable-length columns', () => {
    const t = readFits(readBytes('fits/variable_length_table.fits')).hdus[1].readTable();
    expect(t.columns.some((c) => c.rows !== undefined)).toBe(true);
    const z = readFits(readBytes('fits/zerowidth.fits')).hdus[2].readTable();
    expect(z.column('ANNAME')!.data.length).toBe(29);
    expect(z.column('nope')).toBeUndefined();
  });
});
