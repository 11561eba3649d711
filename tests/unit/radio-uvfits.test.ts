/**
 * UVFITS reading against values computed independently with astropy and numpy
 * (tests/fixtures/radio/make-expected.py → uvfits-expected.json) on every file in ../shared/data/uvfits.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { dataPath, ROOT } from '../helpers/data.js';
import { readUvfits, selectVisibilities, defaultProduct, summariseUv, noVisibilitiesMessage, UvfitsInputError } from '../../src-shared/radio/uvfits.js';
import { uvSummaryText } from '../../src-main/cli/commands/info.js';
import { UserInputError } from '../../src-shared/errors.js';
import { writeFits, FitsHeader } from '../../src-shared/fits/index.js';

interface Expected {
  gcount: number;
  stokes: string[];
  nIf: number;
  nChan: number;
  freqs: number[];
  antennas: string[];
  antennaNumbers: number[];
  firstUuSec: number;
  lastUuSec: number;
  firstDate: number;
  lastDate: number;
  firstBaseline: number;
  lastBaseline: number;
  rawSumRe: number;
  rawSumIm: number;
  rawSumAbsW: number;
  product: string;
  nUsed: number;
  nFlagged: number;
  nAuto: number;
  sumRe: number;
  sumIm: number;
  sumW: number;
  firstU?: number;
  firstV?: number;
  lastU?: number;
  lastV?: number;
  maxUvDist?: number;
}

const expected = JSON.parse(readFileSync(path.join(ROOT, 'tests/fixtures/radio/uvfits-expected.json'), 'utf8')) as Record<string, Expected>;
const load = (f: string) => readUvfits(new Uint8Array(readFileSync(dataPath('uvfits', f))), f);

const close = (a: number, b: number, rel: number) => expect(Math.abs(a - b)).toBeLessThanOrEqual(rel * Math.max(Math.abs(b), 1e-300));

describe('readUvfits on the shared files', () => {
  for (const [name, e] of Object.entries(expected)) {
    it(`${name}: axes, parameters, antennas and frequencies as astropy reads them`, () => {
      const f = load(name);
      expect(f.gcount).toBe(e.gcount);
      expect(f.meta.stokes).toEqual(e.stokes);
      expect(f.meta.nIf).toBe(e.nIf);
      expect(f.meta.nChan).toBe(e.nChan);
      expect(f.meta.freqs.length).toBe(e.freqs.length);
      e.freqs.forEach((fr, i) => close(f.meta.freqs[i], fr, 1e-12));
      expect(f.meta.antennas.map((a) => a.name)).toEqual(e.antennas);
      expect(f.meta.antennas.map((a) => a.number)).toEqual(e.antennaNumbers);
      close(f.uSec[0], e.firstUuSec, 1e-12);
      close(f.uSec[f.gcount - 1], e.lastUuSec, 1e-12);
      close(f.time[0], e.firstDate, 1e-14);
      close(f.time[f.gcount - 1], e.lastDate, 1e-14);
      // BASELINE decodes into the antenna numbers it encodes (256·a1 + a2)
      expect(256 * f.ant1[0] + f.ant2[0]).toBe(Math.floor(e.firstBaseline));
      expect(256 * f.ant1[f.gcount - 1] + f.ant2[f.gcount - 1]).toBe(Math.floor(e.lastBaseline));
      let sr = 0;
      let si = 0;
      let sw = 0;
      for (let k = 0; k < f.corr.length; k += 3) {
        sr += f.corr[k];
        si += f.corr[k + 1];
        sw += Math.abs(f.corr[k + 2]);
      }
      close(sr, e.rawSumRe, 1e-9);
      close(si, e.rawSumIm, 1e-9);
      close(sw, e.rawSumAbsW, 1e-9);
    });

    it(`${name}: the ${e.product} visibilities, flags and u, v in wavelengths per channel`, () => {
      const f = load(name);
      expect(defaultProduct(f.meta)).toBe(e.product);
      const v = selectVisibilities(f, e.product, name);
      expect(v.n).toBe(e.nUsed);
      expect(v.nFlagged).toBe(e.nFlagged);
      expect(v.nAuto).toBe(e.nAuto);
      let sr = 0;
      let si = 0;
      let sw = 0;
      for (let k = 0; k < v.n; k++) {
        sr += v.re[k];
        si += v.im[k];
        sw += v.weight[k];
      }
      close(sr, e.sumRe, 1e-9);
      close(si, e.sumIm, 1e-9);
      close(sw, e.sumW, 1e-9);
      if (e.firstU !== undefined) {
        close(v.u[0], e.firstU, 1e-12);
        close(v.v[0], e.firstV!, 1e-12);
        close(v.u[v.n - 1], e.lastU!, 1e-12);
        close(v.v[v.n - 1], e.lastV!, 1e-12);
        const s = summariseUv(f, v);
        close(s.uvMax!, e.maxUvDist!, 1e-12);
        expect(s.visibilities).toBe(e.nUsed);
      }
    });
  }

  it('states how Stokes I was formed: two hands averaged, a single hand alone, none refused', () => {
    expect(selectVisibilities(load('vlba43_BLLAC_2013may30.uvfits')).formed).toBe('(RR+LL)/2');
    const hera = selectVisibilities(load('hera_sim_fewant_randsrc100.uvfits'));
    expect(hera.formed).toBe('XX');
    expect(hera.notes.join(' ')).toMatch(/Stokes I from XX alone/);
    expect(() => selectVisibilities(load('paper_zen.2456865.60537.xy.uvcRREAAM.uvfits'), 'I', 'paper.uvfits')).toThrow(
      /Stokes I needs a parallel-hand correlation .* only XY/,
    );
    expect(() => selectVisibilities(load('vlba43_BLLAC_2013may30.uvfits'), 'XX', 'b.uvfits')).toThrow(/no XX correlation .* RR, LL, RL, LR/);
    // the default product of a file without a parallel hand is its cross hand, and the notes say it is not Stokes I
    const paper = load('paper_zen.2456865.60537.xy.uvcRREAAM.uvfits');
    expect(defaultProduct(paper.meta)).toBe('XY');
    expect(selectVisibilities(paper, defaultProduct(paper.meta)).notes.join(' ')).toMatch(/no parallel-hand correlation \(only XY\): XY is imaged, a cross-hand product, not Stokes I/);
    // a cross hand chosen where Stokes I exists needs no such note
    expect(selectVisibilities(load('vlba43_BLLAC_2013may30.uvfits'), 'RL').notes.join(' ')).not.toMatch(/not Stokes I/);
  });

  it('every MWA visibility is flagged (negative weights): counted, none used', () => {
    const f = load('mwa_1133866760_uvceti.uvfits');
    const v = selectVisibilities(f);
    expect(v.n).toBe(0);
    expect(v.nFlagged + v.nAuto).toBe(5565 * 11);
    expect(v.nAuto).toBe(105 * 11); // 105 autocorrelation groups, left out
    const s = summariseUv(f, v);
    expect(s.uvMax).toBeNull();
    expect(s.baselines).toBeGreaterThan(0);
  });
});

/** A small synthetic UVFITS with the axes in an unusual order, two IFs, the 2048 baseline convention and a subarray. */
function synthetic(): { bytes: Uint8Array; re: (g: number, i: number, c: number, s: number) => number } {
  const ng = 3;
  const nIf = 2;
  const nChan = 2;
  const nS = 2; // RR, LL
  // axes: COMPLEX, IF, STOKES, FREQ, RA, DEC (IF before FREQ)
  const shape = [3, nIf, nS, nChan, 1, 1];
  const gsize = 3 * nIf * nS * nChan;
  const pcount = 5;
  const data = new Float32Array(ng * (pcount + gsize));
  const re = (g: number, i: number, c: number, s: number) => 1 + g + 10 * i + 100 * c + 1000 * s;
  for (let g = 0; g < ng; g++) {
    const o = g * (pcount + gsize);
    data[o] = 1e-6 * (g + 1); // UU seconds
    data[o + 1] = -2e-6 * (g + 1);
    data[o + 2] = 0;
    data[o + 3] = g === 0 ? 2048 * 300 + 5 + 65536 : 256 * 3 + 7 + 0.01; // 2048 convention; subarray 2
    data[o + 4] = 0.25;
    for (let i = 0; i < nIf; i++)
      for (let s = 0; s < nS; s++)
        for (let c = 0; c < nChan; c++) {
          const at = o + pcount + 3 * (i + nIf * (s + nS * c));
          data[at] = re(g, i, c, s);
          data[at + 1] = -re(g, i, c, s);
          data[at + 2] = g === 2 && s === 1 && c === 0 && i === 0 ? -1 : 2;
        }
  }
  const h = new FitsHeader();
  const ct = ['COMPLEX', 'IF', 'STOKES', 'FREQ', 'RA', 'DEC'];
  const crval = [1, 1, -1, 1e9, 10, 20];
  const cdelt = [1, 1, -1, 1e6, 1, 1];
  ct.forEach((c, k) => {
    h.set(`CTYPE${k + 2}`, c);
    h.set(`CRVAL${k + 2}`, crval[k]);
    h.set(`CDELT${k + 2}`, cdelt[k]);
    h.set(`CRPIX${k + 2}`, 1);
  });
  ['UU---SIN', 'VV---SIN', 'WW---SIN', 'BASELINE', 'DATE'].forEach((p, k) => {
    h.set(`PTYPE${k + 1}`, p);
    h.set(`PSCAL${k + 1}`, 1);
    h.set(`PZERO${k + 1}`, k === 4 ? 2456000.5 : 0);
  });
  h.set('OBJECT', 'TEST');
  // random groups: write the primary by hand from the FITS writer's pieces
  const bytes = groupsFile(h, shape, pcount, ng, data);
  return { bytes, re };
}

function pad(s: string): string {
  return s.padEnd(80, ' ');
}

function groupsFile(h: FitsHeader, shape: number[], pcount: number, gcount: number, data: Float32Array): Uint8Array {
  const cards = [
    'SIMPLE  =                    T',
    'BITPIX  =                  -32',
    `NAXIS   = ${String(shape.length + 1).padStart(20)}`,
    'NAXIS1  =                    0',
    ...shape.map((n, k) => `${`NAXIS${k + 2}`.padEnd(8)}= ${String(n).padStart(20)}`),
    'EXTEND  =                    T',
    'GROUPS  =                    T',
    `PCOUNT  = ${String(pcount).padStart(20)}`,
    `GCOUNT  = ${String(gcount).padStart(20)}`,
  ];
  for (const c of h.cards) {
    const v = typeof c.value === 'string' ? `'${c.value}'` : String(c.value);
    cards.push(`${c.key.padEnd(8)}= ${v.padStart(20)}`);
  }
  cards.push('END');
  let head = cards.map(pad).join('');
  while (head.length % 2880) head += ' ';
  const nbytes = data.length * 4;
  const total = head.length + Math.ceil(nbytes / 2880) * 2880;
  const out = new Uint8Array(total);
  for (let i = 0; i < head.length; i++) out[i] = head.charCodeAt(i);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < data.length; i++) dv.setFloat32(head.length + 4 * i, data[i], false);
  return out;
}

describe('readUvfits on edge cases', () => {
  it('reads axes in any CTYPE order, IF frequencies without an FQ table, 2048-convention baselines and subarrays', () => {
    const { bytes, re } = synthetic();
    const f = readUvfits(bytes, 'syn.uvfits');
    expect(f.meta.stokes).toEqual(['RR', 'LL']);
    expect(f.meta.nIf).toBe(2);
    expect(f.meta.nChan).toBe(2);
    expect(Array.from(f.meta.freqs)).toEqual([1e9, 1e9 + 1e6, 1e9, 1e9 + 1e6]);
    expect(f.notes.join(' ')).toMatch(/no AIPS FQ table/);
    expect([f.ant1[0], f.ant2[0], f.subarray[0]]).toEqual([300, 5, 1]);
    expect([f.ant1[1], f.ant2[1], f.subarray[1]]).toEqual([3, 7, 2]);
    expect(f.meta.ra).toBe(10);
    expect(f.meta.dec).toBe(20);
    const v = selectVisibilities(f);
    expect(v.n).toBe(3 * 2 * 2 - 1); // one LL flagged → that I dropped
    expect(v.nFlagged).toBe(1);
    // group 1, IF 1, channel 1: (RR + LL)/2, weight 4·2·2/(2+2) = 4
    const k = 4 + 3;
    expect([v.group[k], v.ifIndex[k], v.chan[k]]).toEqual([1, 1, 1]);
    expect(v.re[k]).toBeCloseTo(0.5 * (re(1, 1, 1, 0) + re(1, 1, 1, 1)), 4);
    expect(v.im[k]).toBeCloseTo(-v.re[k], 4);
    expect(v.weight[k]).toBe(4);
    // the stored UU, VV (antenna 1 − antenna 2) negated into the operator's antenna 2 − antenna 1
    expect(v.u[k]).toBeCloseTo(-2e-6 * (1e9 + 1e6), 3);
    expect(v.v[k]).toBeCloseTo(4e-6 * (1e9 + 1e6), 3);
    expect(v.time[k]).toBe(2456000.75);
    expect([v.baseline[k], v.subarray[k]]).toEqual([256 * 3 + 7, 2]);
    expect(v.baseline[0]).toBe(2048 * 300 + 5 + 65536);
  });

  it('refuses a Measurement Set, an image and a random-groups file without a FREQ axis, as input errors', () => {
    const ms = new Uint8Array([0xbe, 0xbe, 0xbe, 0xbe, 0, 0, 0, 1]);
    let err: unknown;
    try {
      readUvfits(ms, 'obs.ms/table.dat');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserInputError);
    expect((err as Error).message).toContain("exportuvfits(vis='obs.ms', fitsfile='obs.uvfits', datacolumn='corrected')");
    const img = writeFits([{ data: new Float32Array(4), shape: [2, 2] }]);
    expect(() => readUvfits(img, 'img.fits')).toThrow(UvfitsInputError);
    expect(() => readUvfits(img, 'img.fits')).toThrow(/no random groups/);
    const { bytes } = synthetic();
    const txt = new TextDecoder('latin1').decode(bytes).replace("'FREQ'", "'FRQX'");
    const bad = Uint8Array.from(txt, (c) => c.charCodeAt(0));
    expect(() => readUvfits(bad, 'bad.uvfits')).toThrow(/no FREQ axis/);
  });
});

/** A BINTABLE HDU by hand: columns of J (int32), D (float64 vectors) or A (strings). */
function binTable(extname: string, nrows: number, cols: { name: string; form: string; values: (number | string)[] }[]): Uint8Array {
  const width = (f: string) => {
    const m = /^(\d*)([JDEA])$/.exec(f)!;
    const r = m[1] ? Number(m[1]) : 1;
    return r * (m[2] === 'D' ? 8 : m[2] === 'A' ? 1 : 4);
  };
  const rowBytes = cols.reduce((a, c) => a + width(c.form), 0);
  const cards = [
    "XTENSION= 'BINTABLE'",
    'BITPIX  =                    8',
    'NAXIS   =                    2',
    `NAXIS1  = ${String(rowBytes).padStart(20)}`,
    `NAXIS2  = ${String(nrows).padStart(20)}`,
    'PCOUNT  =                    0',
    'GCOUNT  =                    1',
    `TFIELDS = ${String(cols.length).padStart(20)}`,
    ...cols.flatMap((c, i) => [`${`TTYPE${i + 1}`.padEnd(8)}= '${c.name}'`, `${`TFORM${i + 1}`.padEnd(8)}= '${c.form}'`]),
    `EXTNAME = '${extname}'`,
    'END',
  ];
  let head = cards.map(pad).join('');
  while (head.length % 2880) head += ' ';
  const dataLen = Math.ceil((rowBytes * nrows) / 2880) * 2880;
  const out = new Uint8Array(head.length + dataLen);
  for (let i = 0; i < head.length; i++) out[i] = head.charCodeAt(i);
  const dv = new DataView(out.buffer);
  let o = head.length;
  for (let r = 0; r < nrows; r++) {
    for (const c of cols) {
      const m = /^(\d*)([JDEA])$/.exec(c.form)!;
      const rep = m[1] ? Number(m[1]) : 1;
      if (m[2] === 'A') {
        const s = String(c.values[r]).padEnd(rep, ' ');
        for (let i = 0; i < rep; i++) out[o + i] = s.charCodeAt(i);
        o += rep;
      } else {
        for (let i = 0; i < rep; i++) {
          const v = Number(c.values[r * rep + i]);
          if (m[2] === 'D') dv.setFloat64(o, v, false);
          else if (m[2] === 'E') dv.setFloat32(o, v, false);
          else dv.setInt32(o, v, false);
          o += m[2] === 'D' ? 8 : 4;
        }
      }
    }
  }
  return out;
}

describe('AIPS FQ and AN tables', () => {
  it('adds each IF\'s FQ offset to the channel frequencies and reads antennas with their diameters', () => {
    const { bytes } = synthetic();
    const fq = binTable('AIPS FQ', 1, [
      { name: 'FRQSEL', form: '1J', values: [1] },
      { name: 'IF FREQ', form: '2D', values: [0, 128e6] },
    ]);
    const an = binTable('AIPS AN', 3, [
      { name: 'ANNAME', form: '8A', values: ['BR', 'FD', 'HN'] },
      { name: 'STABXYZ', form: '3D', values: [1, 2, 3, 4, 5, 6, 7, 8, 9] },
      { name: 'NOSTA', form: '1J', values: [3, 5, 7] },
      { name: 'DIAMETER', form: '1E', values: [25, 25, 12] },
    ]);
    const file = new Uint8Array(bytes.length + fq.length + an.length);
    file.set(bytes);
    file.set(fq, bytes.length);
    file.set(an, bytes.length + fq.length);
    const f = readUvfits(file, 'fq.uvfits');
    expect(Array.from(f.meta.freqs)).toEqual([1e9, 1e9 + 1e6, 1e9 + 128e6, 1e9 + 129e6]);
    expect(f.notes.join(' ')).not.toMatch(/no AIPS FQ table/);
    expect(f.meta.antennas.map((a) => [a.name, a.number, a.diameter])).toEqual([
      ['BR', 3, 25],
      ['FD', 5, 25],
      ['HN', 7, 12],
    ]);
    expect(f.meta.antennas[2].xyz).toEqual([7, 8, 9]);
    expect(f.meta.dishDiameter).toBe(12);
    // IF 1's u scales with its own frequency
    const v = selectVisibilities(f);
    const k = v.ifIndex.findIndex((i, j) => i === 1 && v.chan[j] === 0 && v.group[j] === 0);
    expect(v.u[k]).toBeCloseTo(-1e-6 * (1e9 + 128e6), 4);
  });
});

/**
 * A small file in CASA exportuvfits's layout: COMPLEX(3), STOKES(2: RR LL), FREQ(2), IF(2), RA, DEC; random
 * parameters UU---SIN, VV---SIN, WW---SIN, DATE (PZERO the day's start, stored 0), a second DATE (the fraction of the
 * day), BASELINE, INTTIM, and whatever `extra` adds (SOURCE, FREQSEL), one value per group.
 */
function casaLike(ng: number, extra: { name: string; values: number[] }[] = [], dateNames: [string, string] = ['DATE', 'DATE']): { bytes: Uint8Array; frac: number[] } {
  const nIf = 2;
  const nChan = 2;
  const nS = 2;
  const shape = [3, nS, nChan, nIf, 1, 1];
  const gsize = 3 * nS * nChan * nIf;
  const names = ['UU---SIN', 'VV---SIN', 'WW---SIN', dateNames[0], dateNames[1], 'BASELINE', 'INTTIM', ...extra.map((e) => e.name)];
  const pcount = names.length;
  const data = new Float32Array(ng * (pcount + gsize));
  const frac = Array.from({ length: ng }, (_, g) => 0.1234567 + g * (10 / 86400));
  for (let g = 0; g < ng; g++) {
    const o = g * (pcount + gsize);
    data[o] = 1e-6 * (g + 1);
    data[o + 1] = 2e-6;
    data[o + 2] = 0;
    data[o + 3] = 0; // DATE: PZERO holds the day's start
    data[o + 4] = frac[g];
    data[o + 5] = 256 * 1 + 2;
    data[o + 6] = 10; // INTTIM (s)
    extra.forEach((e, k) => (data[o + 7 + k] = e.values[g]));
    for (let j = 0; j < gsize; j += 3) {
      data[o + pcount + j] = 1 + g;
      data[o + pcount + j + 1] = 0;
      data[o + pcount + j + 2] = 1;
    }
  }
  const h = new FitsHeader();
  const ct = ['COMPLEX', 'STOKES', 'FREQ', 'IF', 'RA', 'DEC'];
  const crval = [1, -1, 1.4e9, 1, 150, 35];
  const cdelt = [1, -1, 1e6, 1, 1, 1];
  ct.forEach((c, k) => {
    h.set(`CTYPE${k + 2}`, c);
    h.set(`CRVAL${k + 2}`, crval[k]);
    h.set(`CDELT${k + 2}`, cdelt[k]);
    h.set(`CRPIX${k + 2}`, 1);
  });
  names.forEach((p, k) => {
    h.set(`PTYPE${k + 1}`, p);
    h.set(`PSCAL${k + 1}`, 1);
    h.set(`PZERO${k + 1}`, k === 3 ? 2460000.5 : 0);
  });
  h.set('OBJECT', 'MULTI');
  return { bytes: groupsFile(h, shape, pcount, ng, data), frac };
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

describe('CASA exportuvfits and AIPS layouts', () => {
  it('sums the two DATE parameters (the day in PZERO, the fraction stored), with INTTIM beside them', () => {
    for (const dn of [['DATE', 'DATE'], ['DATE', '_DATE']] as [string, string][]) {
      const { bytes, frac } = casaLike(3, [], dn);
      const f = readUvfits(bytes, 'casa.uvfits');
      // float32 holds the fraction to 1e-8 day (1 ms); a float32 Julian date would be off by up to 0.125 day
      for (let g = 0; g < 3; g++) expect(f.time[g]).toBe(2460000.5 + Math.fround(frac[g]));
      expect(f.time[1] - f.time[0]).toBeCloseTo(10 / 86400, 7);
      expect(Array.from(f.uSec)).toEqual([1e-6, 2e-6, 3e-6].map(Math.fround));
      expect([f.ant1[2], f.ant2[2]]).toEqual([1, 2]);
      const v = selectVisibilities(f);
      expect(v.n).toBe(3 * 2 * 2);
      expect(v.time[v.n - 1]).toBe(f.time[2]);
      expect(f.meta.sources).toBeUndefined();
    }
  });

  it('a SOURCE parameter with an AIPS SU table: refused without a choice, naming the sources; one source by name or number', () => {
    const { bytes } = casaLike(5, [{ name: 'SOURCE', values: [1, 2, 1, 2, 2] }]);
    const su = binTable('AIPS SU', 2, [
      { name: 'ID. NO.', form: '1J', values: [1, 2] },
      { name: 'SOURCE', form: '16A', values: ['3C286', 'J1331+3030'] },
      { name: 'RAEPO', form: '1D', values: [202.784, 203.0] },
      { name: 'DECEPO', form: '1D', values: [30.509, 30.4] },
    ]);
    const f = readUvfits(concat(bytes, su), 'multi.uvfits');
    expect(f.meta.sources).toEqual([
      { id: 1, name: '3C286', groups: 2, ra: 202.784, dec: 30.509 },
      { id: 2, name: 'J1331+3030', groups: 3, ra: 203.0, dec: 30.4 },
    ]);
    expect(() => selectVisibilities(f, 'I', 'multi.uvfits')).toThrow(UvfitsInputError);
    expect(() => selectVisibilities(f, 'I', 'multi.uvfits')).toThrow(/2 sources \(SOURCE: 1 3C286 \(2 groups\), 2 J1331\+3030 \(3 groups\)\).*--source/);
    const a = selectVisibilities(f, 'I', 'multi.uvfits', '3c286');
    expect(a.n).toBe(2 * 4);
    expect(Array.from(new Set(a.group))).toEqual([0, 2]);
    expect([a.meta.object, a.meta.ra, a.meta.dec]).toEqual(['3C286', 202.784, 30.509]);
    expect(a.nFlagged).toBe(0);
    expect(a.source?.id).toBe(1);
    const b = selectVisibilities(f, 'I', 'multi.uvfits', '2');
    expect(Array.from(new Set(b.group))).toEqual([1, 3, 4]);
    expect(b.meta.object).toBe('J1331+3030');
    const s = summariseUv(f, b);
    expect([s.object, s.groups, s.ra, s.visibilities]).toEqual(['J1331+3030', 3, 203.0, 12]);
    expect(s.sources).toEqual(['3C286', 'J1331+3030']);
    expect(() => selectVisibilities(f, 'I', 'multi.uvfits', 'M87')).toThrow(/no source 'M87'.*1 3C286/);
    // one source only: no choice needed, its SU position is the phase centre
    const one = readUvfits(concat(casaLike(2, [{ name: 'SOURCE', values: [2, 2] }]).bytes, su), 'one.uvfits');
    const v1 = selectVisibilities(one);
    expect([v1.n, v1.meta.object, v1.meta.ra]).toEqual([8, 'J1331+3030', 203.0]);
    // a single-source file refuses another name
    expect(() => selectVisibilities(readUvfits(casaLike(2).bytes, 'x.uvfits'), 'I', 'x.uvfits', '3C286')).toThrow(/no source '3C286'.*OBJECT MULTI/);
  });

  it('FREQSEL picks its row of a several-row FQ table; several setups in the groups are refused, naming them', () => {
    const fq = binTable('AIPS FQ', 2, [
      { name: 'FRQSEL', form: '1J', values: [1, 2] },
      { name: 'IF FREQ', form: '2D', values: [0, 128e6, 1e9, 1.5e9] },
    ]);
    const two = readUvfits(concat(casaLike(2, [{ name: 'FREQSEL', values: [2, 2] }]).bytes, fq), 'fs.uvfits');
    expect(two.meta.freqsel).toBe(2);
    expect(Array.from(two.meta.freqs)).toEqual([2.4e9, 2.4e9 + 1e6, 2.9e9, 2.9e9 + 1e6]);
    const first = readUvfits(concat(casaLike(2).bytes, fq), 'nofs.uvfits');
    expect(Array.from(first.meta.freqs)).toEqual([1.4e9, 1.4e9 + 1e6, 1.528e9, 1.528e9 + 1e6]);
    expect(first.notes.join(' ')).toMatch(/2 rows and the groups no FREQSEL; the first \(FRQSEL 1\)/);
    expect(() => readUvfits(concat(casaLike(3, [{ name: 'FREQSEL', values: [1, 2, 1] }]).bytes, fq), 'mix.uvfits')).toThrow(/2 frequency setups \(FREQSEL 1, 2\)/);
    expect(() => readUvfits(concat(casaLike(2, [{ name: 'FREQSEL', values: [3, 3] }]).bytes, fq), 'x.uvfits')).toThrow(/FREQSEL is 3 but the AIPS FQ table has no such row \(FRQSEL 1, 2\)/);
  });
});

/**
 * A small file as pyuvdata and cotter write them: COMPLEX(3), STOKES(2: XX YY), FREQ(1), IF(1), RA, DEC; groups over
 * the baselines of `pairs` (autocorrelations where a1 = a2), the weight of each hand chosen by `weight(a1, a2, hand)`,
 * and an AN table of `names` (NOSTA 1…) that may list antennas the groups never use.
 */
function flaggedFile(pairs: [number, number][], weight: (a1: number, a2: number, hand: number) => number, names: string[]): Uint8Array {
  const pcount = 4;
  const gsize = 3 * 2;
  const data = new Float32Array(pairs.length * (pcount + gsize));
  pairs.forEach(([a1, a2], g) => {
    const o = g * (pcount + gsize);
    data[o] = 1e-7 * (a2 - a1 + 1);
    data[o + 1] = 2e-7 * a1;
    data[o + 3] = 256 * a1 + a2;
    for (let hand = 0; hand < 2; hand++) {
      data[o + pcount + 3 * hand] = 1 + g;
      data[o + pcount + 3 * hand + 1] = 0.5;
      data[o + pcount + 3 * hand + 2] = weight(a1, a2, hand);
    }
  });
  const h = new FitsHeader();
  const ct = ['COMPLEX', 'STOKES', 'FREQ', 'IF', 'RA', 'DEC'];
  const crval = [1, -5, 150e6, 1, 30, -30];
  const cdelt = [1, -1, 1, 1, 1, 1];
  ct.forEach((c, k) => {
    h.set(`CTYPE${k + 2}`, c);
    h.set(`CRVAL${k + 2}`, crval[k]);
    h.set(`CDELT${k + 2}`, cdelt[k]);
    h.set(`CRPIX${k + 2}`, 1);
  });
  ['UU', 'VV', 'DATE', 'BASELINE'].forEach((p, k) => {
    h.set(`PTYPE${k + 1}`, p);
    h.set(`PSCAL${k + 1}`, 1);
    h.set(`PZERO${k + 1}`, k === 2 ? 2458106.5 : 0);
  });
  h.set('OBJECT', 'FLAGS');
  h.set('TELESCOP', 'TEST');
  const groups = groupsFile(h, [3, 2, 1, 1, 1, 1], pcount, pairs.length, data);
  const an = binTable('AIPS AN', names.length, [
    { name: 'ANNAME', form: '8A', values: names },
    { name: 'NOSTA', form: '1J', values: names.map((_, i) => i + 1) },
  ]);
  const out = new Uint8Array(groups.length + an.length);
  out.set(groups);
  out.set(an, groups.length);
  return out;
}

describe('files with nothing to image, and what info says of them', () => {
  const pairs: [number, number][] = [[1, 1], [1, 2], [1, 3], [2, 2], [2, 3], [3, 3]];
  const names = ['T1', 'T2', 'T3', '', 'T5'];

  it('every cross-correlation flagged: none used, one message saying so and what to do; info says nothing is imaged', () => {
    const f = readUvfits(flaggedFile(pairs, (a1, a2) => (a1 === a2 ? -1 : 0), names), 'flagged.uvfits');
    const v = selectVisibilities(f);
    expect([v.n, v.nFlagged, v.nAuto, v.nAutoUnflagged]).toEqual([0, 3, 3, 0]);
    const msg = noVisibilitiesMessage('flagged.uvfits', v);
    expect(msg).toBe(
      'flagged.uvfits: nothing to image: every I cross-correlation is flagged (3 with weight ≤ 0); unflag the data or export them again without these flags from the package that wrote the file (flags are weights ≤ 0)',
    );
    const text = uvSummaryText('flagged.uvfits', summariseUv(f, v), null);
    expect(text).toMatch(/visibilities {2}0 used, 3 flagged, 3 autocorrelations left out: every cross-correlation is flagged \(weight ≤ 0\), nothing to image/);
    expect(text).toMatch(/weights {7}— \(no unflagged visibility\)/);
  });

  it('only autocorrelations carry weight (HERA-like): the message says they measure total power', () => {
    const f = readUvfits(flaggedFile(pairs, (a1, a2) => (a1 === a2 ? 3 : -1), names), 'autos.uvfits');
    const v = selectVisibilities(f);
    expect([v.n, v.nFlagged, v.nAutoUnflagged]).toEqual([0, 3, 3]);
    expect(noVisibilitiesMessage('autos.uvfits', v)).toMatch(/every I cross-correlation is flagged \(3 with weight ≤ 0\); only the 3 autocorrelations carry weight, and they measure total power/);
    expect(uvSummaryText('autos.uvfits', summariseUv(f, v), null)).toMatch(/only 3 autocorrelations carry weight, nothing to image/);
  });

  it('one hand unflagged: Stokes I has nothing, and the message names --stokes XX', () => {
    const f = readUvfits(flaggedFile(pairs, (_a1, _a2, hand) => (hand === 0 ? 2 : -1), names), 'xx.uvfits');
    const v = selectVisibilities(f);
    expect(v.n).toBe(0);
    expect(v.unflaggedByCorrelation).toEqual({ XX: 3, YY: 0 });
    expect(noVisibilitiesMessage('xx.uvfits', v)).toMatch(/image a correlation that has unflagged data with --stokes XX \(unflagged: XX 3\)/);
    expect(selectVisibilities(f, 'XX').n).toBe(3);
  });

  it('antennas: those in the data beside the AN table\'s count; a blank name named by its number; widths under 1 kHz in Hz', () => {
    const f = readUvfits(flaggedFile(pairs, () => 1, names), 'ok.uvfits');
    expect(f.meta.antennas.map((a) => a.name)).toEqual(['T1', 'T2', 'T3', 'ANT4', 'T5']);
    const v = selectVisibilities(f);
    expect(v.n).toBe(3);
    const s = summariseUv(f, v);
    expect(s.antennasInData).toEqual(['T1', 'T2', 'T3']);
    const text = uvSummaryText('ok.uvfits', s, null);
    expect(text).toMatch(/antennas {6}3 in the data \(T1 T2 T3\) of 5 in the AN table/);
    expect(text).toMatch(/channel width 1 Hz/);
    expect(text).toMatch(/visibilities {2}3 used, 0 flagged, 3 autocorrelations left out\n/);
  });
});
