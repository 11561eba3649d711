/**
 * Fuzz: truncations and byte changes of the corpus files must be read or refused with a FitsInputError
 * (or WcsInputError for the WCS) — never another exception, a hang or a huge allocation.
 * Deterministic (fixed seeds), a few thousand mutations, a few seconds.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFits, FitsHeader } from '../../src-shared/fits/index.js';
import { celestialWcs } from '../../src-shared/wcs/index.js';
import { UserInputError } from '../../src-shared/errors.js';
import { DATA_DIR } from '../helpers/data.js';
import { FIXTURES, readBytes } from './fits-expected.js';

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Reads everything there is to read; returns how many HDUs were decoded. */
function readAll(bytes: Uint8Array): number {
  const f = readFits(bytes, { name: 'fuzz.fits' });
  let n = 0;
  for (const h of f.hdus) {
    if (h.hasImage) {
      const im = h.readImage();
      expect(im.data.length).toBe(im.shape.reduce((a, b) => a * b, 1));
      n++;
    }
    if (h.kind === 'bintable' || h.kind === 'table') {
      h.readTable();
      n++;
    }
    if (h.kind === 'random-groups' && h.shape.length >= 2) {
      h.readGroups();
      n++;
    }
    if (h.kind === 'primary' || h.kind === 'image' || h.kind === 'compressed-image') celestialWcs(h.header);
  }
  return n;
}

function expectCleanOutcome(bytes: Uint8Array, what: string): 'ok' | 'refused' {
  try {
    readAll(bytes);
    return 'ok';
  } catch (e) {
    const err = e as Error;
    if (!(err instanceof UserInputError)) throw new Error(`${what}: ${err.name}: ${err.message}`, { cause: e });
    expect(err.message.length, `${what}: empty message`).toBeGreaterThan(10);
    return 'refused';
  }
}

const files = [
  ...readdirSync(path.join(DATA_DIR, 'fits'))
    .filter((f) => statSync(path.join(DATA_DIR, 'fits', f)).size <= 300_000)
    .map((f) => `fits/${f}`),
  ...readdirSync(path.join(FIXTURES, 'fits')).map((f) => `fixtures/${f}`),
  'radio/purify_cluster.fits',
  'uvfits/ehtim_sample_SYNTHETIC_sgra.uvfits',
];

describe('fuzzed corpus files are read or refused cleanly', () => {
  const tally = { ok: 0, refused: 0 };
  for (const [fi, file] of files.entries()) {
    it(file, () => {
      const orig = readBytes(file);
      const rand = mulberry32(1000 + fi);
      // truncations: inside the first header, at block boundaries, inside the data, one byte short
      const cuts = new Set<number>([0, 1, 79, 2879, 2880, orig.length - 1, orig.length - 2880 + 17]);
      for (let i = 0; i < 6; i++) cuts.add(Math.floor(rand() * orig.length));
      for (const cut of cuts) {
        if (cut < 0 || cut >= orig.length) continue;
        tally[expectCleanOutcome(orig.slice(0, cut), `${file} cut at ${cut}`)]++;
      }
      // byte changes: random anywhere, and concentrated in header cards (digits and quotes matter most)
      for (let i = 0; i < 24; i++) {
        const b = orig.slice();
        const nflip = 1 + Math.floor(rand() * 3);
        for (let k = 0; k < nflip; k++) {
          const headerHit = i % 2 === 0;
          const pos = headerHit ? Math.floor(rand() * Math.min(orig.length, 2880 * 2)) : Math.floor(rand() * orig.length);
          const choices = [0x30 + Math.floor(rand() * 10), 0x20, 0x27, 0x2d, 0x39, 0x00, 0xff, Math.floor(rand() * 256)];
          b[pos] = choices[Math.floor(rand() * choices.length)];
        }
        tally[expectCleanOutcome(b, `${file} mutation ${i}`)]++;
      }
    });
  }
  it('exercised both outcomes', () => {
    expect(tally.ok).toBeGreaterThan(50);
    expect(tally.refused).toBeGreaterThan(50);
  });
});

describe('hostile headers are refused before any large allocation', () => {
  const card = (s: string) => s.padEnd(80);
  const file = (cards: string[], dataBytes = 0): Uint8Array => {
    const h = [...cards, 'END'].map(card).join('');
    const hb = new Uint8Array(Math.ceil(h.length / 2880) * 2880).fill(0x20);
    for (let i = 0; i < h.length; i++) hb[i] = h.charCodeAt(i);
    const out = new Uint8Array(hb.length + Math.ceil(dataBytes / 2880) * 2880);
    out.set(hb);
    return out;
  };
  it('absurd NAXISn', () => {
    const b = file(['SIMPLE  =                    T', 'BITPIX  =                  -64', 'NAXIS   =                    2', 'NAXIS1  =           2000000000', 'NAXIS2  =           2000000000']);
    expect(() => readFits(b, { name: 'absurd.fits' })).toThrow(/absurd\.fits: .*(truncated|absurd)/);
  });
  it('negative and non-integer NAXISn, bad BITPIX', () => {
    const base = ['SIMPLE  =                    T', 'BITPIX  =                   16', 'NAXIS   =                    1'];
    expect(() => readFits(file([...base, 'NAXIS1  =                   -5']))).toThrow(/NAXIS1/);
    expect(() => readFits(file([...base, 'NAXIS1  =                  2.5']))).toThrow(/NAXIS1/);
    expect(() => readFits(file(['SIMPLE  =                    T', 'BITPIX  =                   12', 'NAXIS   =                    0']))).toThrow(/BITPIX/);
  });
  it('a compressed image declaring billions of pixels', () => {
    const prim = file(['SIMPLE  =                    T', 'BITPIX  =                    8', 'NAXIS   =                    0', 'EXTEND  =                    T']);
    const ext = file(
      [
        "XTENSION= 'BINTABLE'",
        'BITPIX  =                    8',
        'NAXIS   =                    2',
        'NAXIS1  =                    8',
        'NAXIS2  =                    1',
        'PCOUNT  =                    0',
        'GCOUNT  =                    1',
        'TFIELDS =                    1',
        "TTYPE1  = 'COMPRESSED_DATA'",
        "TFORM1  = '1PB(0)  '",
        'ZIMAGE  =                    T',
        'ZBITPIX =                  -64',
        'ZNAXIS  =                    2',
        'ZNAXIS1 =               100000',
        'ZNAXIS2 =               100000',
        'ZTILE1  =               100000',
        'ZTILE2  =               100000',
        "ZCMPTYPE= 'GZIP_1  '",
      ],
      8,
    );
    const b = new Uint8Array(prim.length + ext.length);
    b.set(prim);
    b.set(ext, prim.length);
    expect(() => readFits(b, { name: 'bomb.fits' })).toThrow(/bomb\.fits: HDU 1: .*limit/);
  });
  it('unsupported tile compression is named', () => {
    const h = new FitsHeader();
    h.set('ZCMPTYPE', 'LZW_9');
    const b = readBytes('fits/testS.fits.fz').slice();
    // overwrite ZCMPTYPE's value in place
    const text = new TextDecoder('latin1').decode(b);
    const at = text.indexOf("ZCMPTYPE= 'RICE_1  '");
    expect(at).toBeGreaterThan(0);
    const repl = "ZCMPTYPE= 'LZW_9   '";
    for (let i = 0; i < repl.length; i++) b[at + i] = repl.charCodeAt(i);
    expect(() => readFits(b, { name: 'lzw9.fits' })).toThrow(/lzw9\.fits: HDU 1: unsupported tile compression ZCMPTYPE = 'LZW_9'/);
  });
  it('garbage and non-FITS bytes', () => {
    const rand = mulberry32(7);
    const g = new Uint8Array(10000).map(() => Math.floor(rand() * 256));
    expect(() => readFits(g, { name: 'garbage.bin' })).toThrow(/garbage\.bin: not a FITS file/);
    expect(() => readFits(new Uint8Array(0), { name: 'empty.fits' })).toThrow(/empty\.fits: empty file/);
    const gz = new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0xff, 0xff, 0xff, 0x7f]);
    expect(() => readFits(gz, { name: 'bad.gz' })).toThrow(/bad\.gz: gzip/);
  });
});
