/**
 * UVFITS visibilities (random groups) as CASA exportuvfits, AIPS FITTP, difmap, eht-imaging and pyuvdata write them.
 *
 * `readUvfits` decodes the file into per-group parameters (u, v, w in seconds, time, antennas, subarray) and the
 * correlations on a normalised [group, IF, channel, Stokes, (re, im, weight)] layout, whatever the order of the
 * CTYPE axes and with or without an IF axis. `selectVisibilities` turns it into one visibility per group, IF and
 * channel of one product (Stokes I by default) with u, v in wavelengths at each channel's own frequency
 * (multi-frequency synthesis) and in the measurement operator's baseline direction — UVFITS stores the baseline
 * antenna 1 − antenna 2, the operator's convention V = Σ I exp(−2πi(ul + vm)) holds for antenna 2 − antenna 1, so
 * u, v, w are the stored UU, VV, WW negated (docs/radio.md, *Conventions*) — dropping flagged data (weight ≤ 0 or non-finite values) and autocorrelations and
 * counting them.
 *
 * Pure TypeScript: no file access (the CLI reads the bytes).
 */
import { readFits, type FitsFile, type FitsHdu } from '../fits/index.js';
import type { ReadOptions } from '../fits/reader.js';
import { UserInputError } from '../errors.js';

/** A problem with a visibility file or the choice of product. */
export class UvfitsInputError extends UserInputError {
  override name = 'UvfitsInputError';
  constructor(message: string) {
    super(message);
    this.name = 'UvfitsInputError';
  }
}

/** FITS STOKES axis codes (AIPS memo 117). */
export const STOKES_CODES: Readonly<Record<number, string>> = {
  1: 'I', 2: 'Q', 3: 'U', 4: 'V', '-1': 'RR', '-2': 'LL', '-3': 'RL', '-4': 'LR', '-5': 'XX', '-6': 'YY', '-7': 'XY', '-8': 'YX',
};

const C_LIGHT = 299792458;

export interface Antenna {
  /** The antenna number in BASELINE (NOSTA). */
  number: number;
  name: string;
  /** STABXYZ (metres; relative to ARRAYX/Y/Z when those are non-zero). */
  xyz: [number, number, number];
  /** DIAMETER (metres) when the AN table gives it. */
  diameter?: number;
}

/** A source of a multi-source file (the SOURCE random parameter, named by the AIPS SU table). */
export interface UvSource {
  /** The SOURCE parameter's value (the SU table's ID. NO.). */
  id: number;
  /** The SU table's SOURCE name, else 'source ID'. */
  name: string;
  /** Its position (degrees, RAEPO/DECEPO of the SU table) when the table gives it. */
  ra?: number;
  dec?: number;
  /** Groups of this source in the file. */
  groups: number;
}

export interface UvMeta {
  object: string;
  telescope: string;
  instrument: string;
  /** DATE-OBS as written. */
  dateObs: string;
  /** Phase centre (degrees): OBSRA/OBSDEC, else the RA/DEC axes' CRVAL. */
  ra: number;
  dec: number;
  equinox?: number;
  nIf: number;
  nChan: number;
  /** Frequency (Hz) of IF i, channel c at [i·nChan + c]. */
  freqs: Float64Array;
  /** Channel width (Hz, the FREQ axis's CDELT). */
  chanWidth: number;
  /** The file's correlation products in axis order ('RR', 'LL', …). */
  stokes: string[];
  /** Antennas of the first AN table (subarray 1). */
  antennas: Antenna[];
  /** The antennas' dish diameter (metres) when the AN table gives one (the smallest positive). */
  dishDiameter?: number;
  /** The sources of a file with a SOURCE random parameter, in the order of their ids; absent for a single-source file. */
  sources?: UvSource[];
  /** The FREQSEL (FQ table row's FRQSEL) the frequencies were taken for, when the file has a FREQSEL parameter. */
  freqsel?: number;
}

/** A decoded UVFITS file: per-group parameters and correlations on a normalised layout. */
export interface UvfitsFile {
  meta: UvMeta;
  gcount: number;
  /** u, v, w per group in seconds (light travel time), as stored: the baseline antenna 1 − antenna 2. */
  uSec: Float64Array;
  vSec: Float64Array;
  wSec: Float64Array;
  /** Time per group (Julian date; the DATE parameters summed). */
  time: Float64Array;
  ant1: Int32Array;
  ant2: Int32Array;
  subarray: Int32Array;
  /** The SOURCE parameter per group (multi-source files); null without one. */
  sourceId: Int32Array | null;
  /**
   * Correlations, [group][IF][channel][Stokes][re, im, weight] (weight 1 when the COMPLEX axis has only re, im):
   * float32 when the file's are (BITPIX −32 unscaled: the same values in half the memory), else float64.
   */
  corr: Float32Array | Float64Array;
  /** Facts worth stating (assumptions, conventions found). */
  notes: string[];
}

/** Visibilities of one product, flagged ones removed, in the order group, IF, channel. */
export interface Visibilities {
  n: number;
  /**
   * u, v, w in wavelengths at each visibility's frequency, for the baseline antenna 2 − antenna 1: the file's
   * UU, VV, WW (antenna 1 − antenna 2, AIPS's convention) negated, so that V = Σ I exp(−2πi(ul + vm)).
   */
  u: Float64Array;
  v: Float64Array;
  w: Float64Array;
  re: Float64Array;
  im: Float64Array;
  /** Weights (1/σ² in the file's units, for the product: Stokes I from two hands has 4·w₁w₂/(w₁+w₂)). */
  weight: Float64Array;
  freq: Float64Array;
  time: Float64Array;
  ant1: Int32Array;
  ant2: Int32Array;
  /** The baseline's UVFITS code: 256·a1 + a2, or 2048·a1 + a2 + 65536 where an antenna number exceeds 255. */
  baseline: Int32Array;
  subarray: Int32Array;
  /** Group index, IF and channel of each visibility (for noise checks on the same baseline and channel). */
  group: Int32Array;
  ifIndex: Int32Array;
  chan: Int32Array;
  /** 'I' or the correlation used ('RR', 'XY', …). */
  product: string;
  /** How the product was formed, e.g. '(RR+LL)/2'. */
  formed: string;
  /** Visibilities of the product that were flagged (weight ≤ 0, or a hand missing or non-finite), autocorrelations apart. */
  nFlagged: number;
  /** Autocorrelations (a1 = a2), left out: they measure total power, not the sky's visibility. */
  nAuto: number;
  /** Autocorrelations of the product with positive weights (left out as well; counted for the messages). */
  nAutoUnflagged?: number;
  /** Unflagged cross-correlations (weight > 0, finite) of each of the file's correlations, for the messages. */
  unflaggedByCorrelation?: Record<string, number>;
  meta: UvMeta;
  /** The source kept, in a file with a SOURCE parameter. */
  source?: UvSource;
  notes: string[];
}

/** The message for a CASA Measurement Set, which SkyScore does not read. */
export function measurementSetMessage(path: string): string {
  const base = path.replace(/\/+$/, '').replace(/\/table\.dat$/, '');
  const stem = base.replace(/\.ms$/i, '');
  return (
    `${path}: a CASA Measurement Set (a table directory), which SkyScore does not read; export it to UVFITS in CASA first: ` +
    `exportuvfits(vis='${base}', fitsfile='${stem}.uvfits', datacolumn='corrected')`
  );
}

function str(h: FitsHdu['header'], key: string): string {
  const v = h.get(key);
  return typeof v === 'string' ? v.trim() : '';
}

function num(h: FitsHdu['header'], key: string): number | undefined {
  return h.getNumber(key);
}

/** Decodes a UVFITS file's bytes. `name` prefixes error messages; `limits` bound what a client's file may decode to. */
export function readUvfits(bytes: Uint8Array, name = 'input', limits: Pick<ReadOptions, 'maxBytes' | 'maxPixels' | 'maxDecodePixels'> = {}): UvfitsFile {
  // casacore tables start with the magic 0xbebebebe
  if (bytes.length >= 4 && bytes[0] === 0xbe && bytes[1] === 0xbe && bytes[2] === 0xbe && bytes[3] === 0xbe) {
    throw new UvfitsInputError(measurementSetMessage(name));
  }
  let f: FitsFile;
  try {
    f = readFits(bytes, { ...limits, name });
  } catch (e) {
    if (e instanceof UserInputError) throw new UvfitsInputError(`${name}: not a UVFITS file: ${e.message}`);
    throw e;
  }
  const p = f.hdus[0];
  if (p.kind !== 'random-groups') {
    const idi = f.hdus.some((h) => h.name?.toUpperCase() === 'UV_DATA');
    throw new UvfitsInputError(
      `${name}: not UVFITS: the primary HDU holds no random groups (GROUPS = T, NAXIS1 = 0)${idi ? '; this is FITS-IDI (a UV_DATA table): convert it to UVFITS (e.g. AIPS FITLD then FITTP, or CASA importfitsidi then exportuvfits)' : ''}`,
    );
  }
  const h = p.header;
  const g = p.readGroups();
  const notes: string[] = [];
  const gcount = g.gcount;
  // axes: groupShape is [NAXIS2, NAXIS3, …]; CTYPE(k+2) names groupShape[k]
  const shape = g.groupShape;
  const stride: number[] = [];
  let s = 1;
  const axisOf: Record<string, number> = {};
  for (let k = 0; k < shape.length; k++) {
    stride.push(s);
    s *= shape[k];
    const ct = str(h, `CTYPE${k + 2}`).toUpperCase();
    const key = ct.startsWith('FREQ') ? 'FREQ' : ct.startsWith('STOKES') ? 'STOKES' : ct.startsWith('COMPLEX') ? 'COMPLEX' : ct === 'IF' ? 'IF' : ct;
    if (key in axisOf && shape[k] > 1) throw new UvfitsInputError(`${name}: the data axis ${key} appears twice (CTYPE${k + 2})`);
    axisOf[key] = k;
  }
  const gsize = s;
  for (const need of ['COMPLEX', 'STOKES', 'FREQ']) {
    if (!(need in axisOf)) throw new UvfitsInputError(`${name}: not UVFITS: no ${need} axis among the data axes (CTYPE2…CTYPE${shape.length + 1})`);
  }
  for (let k = 0; k < shape.length; k++) {
    const ct = Object.keys(axisOf).find((key) => axisOf[key] === k);
    if (ct && !['COMPLEX', 'STOKES', 'FREQ', 'IF'].includes(ct) && shape[k] !== 1) {
      throw new UvfitsInputError(`${name}: the data axis ${ct} has length ${shape[k]}; only a single pointing (RA, DEC axes of length 1) is supported`);
    }
  }
  const ax = (key: string): { n: number; st: number; k: number } => {
    const k = axisOf[key];
    return k === undefined ? { n: 1, st: 0, k: -1 } : { n: shape[k], st: stride[k], k };
  };
  const cx = ax('COMPLEX');
  const sx = ax('STOKES');
  const fx = ax('FREQ');
  const ix = ax('IF');
  if (cx.n < 2 || cx.n > 3) throw new UvfitsInputError(`${name}: the COMPLEX axis has length ${cx.n}; expected 3 (re, im, weight) or 2 (re, im)`);
  if (cx.n === 2) notes.push('the COMPLEX axis has no weights: every visibility weighs 1');
  if (!('IF' in axisOf)) notes.push('no IF axis: one IF');

  // Stokes products
  const sk = sx.k + 2;
  const stokes: string[] = [];
  for (let i = 0; i < sx.n; i++) {
    const code = Math.round((num(h, `CRVAL${sk}`) ?? 1) + (i + 1 - (num(h, `CRPIX${sk}`) ?? 1)) * (num(h, `CDELT${sk}`) ?? 1));
    const nm = STOKES_CODES[code];
    if (!nm) throw new UvfitsInputError(`${name}: unknown STOKES code ${code} on axis ${sk} (expected 1..4 or −1..−8)`);
    stokes.push(nm);
  }

  // frequencies: the FREQ axis plus the FQ table's IF offsets
  const fk = fx.k + 2;
  const f0 = num(h, `CRVAL${fk}`);
  if (f0 === undefined || !(f0 > 0)) throw new UvfitsInputError(`${name}: the FREQ axis (CTYPE${fk}) has no positive CRVAL${fk}`);
  const chanWidth = num(h, `CDELT${fk}`) ?? 0;
  const crpixF = num(h, `CRPIX${fk}`) ?? 1;
  const ifOff = new Float64Array(ix.n);
  // FREQSEL: the frequency setup (FQ table row) of each group; SkyScore images one setup at a time
  const fqselIdx = g.paramNames.findIndex((pn) => pn.toUpperCase() === 'FREQSEL');
  let freqsel: number | undefined;
  if (fqselIdx >= 0) {
    const fs = g.params[fqselIdx];
    const seen = new Set<number>();
    for (let i = 0; i < gcount; i++) seen.add(Math.round(fs[i]));
    const ids = [...seen].sort((a, b) => a - b);
    if (ids.length > 1) {
      throw new UvfitsInputError(
        `${name}: the groups use ${ids.length} frequency setups (FREQSEL ${ids.join(', ')}), each with its own IF frequencies; SkyScore images one setup at a time: ` +
          `split the file by setup first (AIPS UVCOP with FREQID, or CASA split by spectral window before exportuvfits)`,
      );
    }
    if (ids.length === 1) freqsel = ids[0];
  }
  const fq = f.hdus.find((x) => x.kind === 'bintable' && /^AIPS FQ$/i.test(x.name ?? ''));
  if (fq) {
    const t = fq.readTable();
    const col = t.column('IF FREQ');
    if (col && t.nrows > 0) {
      if (col.repeat < ix.n) throw new UvfitsInputError(`${name}: the AIPS FQ table lists ${col.repeat} IF frequencies but the data have ${ix.n} IFs`);
      const sel = t.column('FRQSEL');
      const selOf = (r: number) => (sel ? Math.round(Number(sel.data[r])) : r + 1);
      let row = 0;
      if (freqsel !== undefined) {
        row = -1;
        for (let r = 0; r < t.nrows; r++) if (selOf(r) === freqsel) row = r;
        if (row < 0) {
          const rows = Array.from({ length: t.nrows }, (_, r) => selOf(r));
          throw new UvfitsInputError(`${name}: the groups' FREQSEL is ${freqsel} but the AIPS FQ table has no such row (FRQSEL ${rows.join(', ')})`);
        }
        if (t.nrows > 1) notes.push(`the AIPS FQ table has ${t.nrows} rows; FRQSEL ${freqsel}, the groups' FREQSEL, is used`);
      } else if (t.nrows > 1) {
        notes.push(`the AIPS FQ table has ${t.nrows} rows and the groups no FREQSEL; the first (FRQSEL ${selOf(0)}) is used`);
      }
      for (let i = 0; i < ix.n; i++) ifOff[i] = Number(col.data[row * col.repeat + i]);
    }
  } else if (ix.n > 1) {
    notes.push(`${ix.n} IFs but no AIPS FQ table: every IF is taken at the FREQ axis's frequency`);
  }
  const freqs = new Float64Array(ix.n * fx.n);
  for (let i = 0; i < ix.n; i++) for (let c = 0; c < fx.n; c++) freqs[i * fx.n + c] = f0 + ifOff[i] + (c + 1 - crpixF) * chanWidth;
  for (const fr of freqs) if (!(fr > 0)) throw new UvfitsInputError(`${name}: a channel's frequency is ${fr} Hz (FREQ axis and FQ table)`);

  // random parameters
  const param = (re: RegExp, what: string, required: boolean): Float64Array | undefined => {
    const idx = g.paramNames.findIndex((pn) => re.test(pn.toUpperCase()));
    if (idx < 0) {
      if (required) throw new UvfitsInputError(`${name}: no ${what} random parameter (PTYPEs: ${g.paramNames.join(', ')})`);
      return undefined;
    }
    return g.params[idx];
  };
  const uSec = param(/^UU/, 'UU', true)!;
  const vSec = param(/^VV/, 'VV', true)!;
  const wSec = param(/^WW/, 'WW', false) ?? new Float64Array(gcount);
  let time = g.par('DATE');
  if (!time) throw new UvfitsInputError(`${name}: no DATE random parameter (PTYPEs: ${g.paramNames.join(', ')})`);
  const time2 = g.par('_DATE');
  if (time2) {
    time = Float64Array.from(time, (t, i) => t + time2[i]);
  }
  const blPar = param(/^BASELINE$/, 'BASELINE', false);
  const a1Par = param(/^ANTENNA1$/, 'ANTENNA1', false);
  const a2Par = param(/^ANTENNA2$/, 'ANTENNA2', false);
  const subPar = param(/^SUBARRAY$/, 'SUBARRAY', false);
  if (!blPar && !(a1Par && a2Par)) throw new UvfitsInputError(`${name}: no BASELINE (or ANTENNA1/ANTENNA2) random parameter (PTYPEs: ${g.paramNames.join(', ')})`);
  const ant1 = new Int32Array(gcount);
  const ant2 = new Int32Array(gcount);
  const subarray = new Int32Array(gcount);
  let used2048 = false;
  for (let i = 0; i < gcount; i++) {
    let sub = 1;
    if (blPar) {
      const b = blPar[i];
      let code = Math.floor(b + 1e-6);
      sub = Math.round((b - code) * 100) + 1;
      if (code > 65535) {
        code -= 65536;
        ant1[i] = Math.floor(code / 2048);
        ant2[i] = code % 2048;
        used2048 = true;
      } else {
        ant1[i] = Math.floor(code / 256);
        ant2[i] = code % 256;
      }
    }
    if (a1Par && a2Par) {
      ant1[i] = Math.round(a1Par[i]);
      ant2[i] = Math.round(a2Par[i]);
    }
    subarray[i] = subPar ? Math.round(subPar[i]) : sub;
  }
  if (used2048) notes.push('baselines coded as 2048·a1 + a2 + 65536 (more than 255 antennas)');

  // antennas (first AN table)
  const antennas: Antenna[] = [];
  const an = f.hdus.find((x) => x.kind === 'bintable' && /^AIPS AN$/i.test(x.name ?? ''));
  let dishDiameter: number | undefined;
  if (an) {
    const t = an.readTable();
    const nm = t.column('ANNAME');
    const nosta = t.column('NOSTA');
    const xyz = t.column('STABXYZ');
    const diam = t.column('DIAMETER');
    for (let r = 0; r < t.nrows; r++) {
      const a: Antenna = {
        number: nosta ? Number(nosta.data[r]) : r + 1,
        // an empty ANNAME (blank, or a NUL in its first byte) is named by its number
        name: (nm ? String(nm.data[r]).trim() : '') || `ANT${nosta ? Number(nosta.data[r]) : r + 1}`,
        xyz: xyz && xyz.repeat >= 3 ? [Number(xyz.data[3 * r]), Number(xyz.data[3 * r + 1]), Number(xyz.data[3 * r + 2])] : [0, 0, 0],
      };
      if (diam && Number(diam.data[r]) > 0) {
        a.diameter = Number(diam.data[r]);
        dishDiameter = dishDiameter === undefined ? a.diameter : Math.min(dishDiameter, a.diameter);
      }
      antennas.push(a);
    }
    const more = f.hdus.filter((x) => x.kind === 'bintable' && /^AIPS AN$/i.test(x.name ?? '')).length;
    if (more > 1) notes.push(`${more} AN tables (subarrays): antennas listed from the first`);
  } else {
    notes.push('no AIPS AN table: antennas are known by number only');
  }

  // sources: the SOURCE parameter, named by the AIPS SU table
  const srcIdx = g.paramNames.findIndex((pn) => pn.toUpperCase() === 'SOURCE');
  let sourceId: Int32Array | null = null;
  let sources: UvSource[] | undefined;
  if (srcIdx >= 0) {
    const sp = g.params[srcIdx];
    sourceId = new Int32Array(gcount);
    const count = new Map<number, number>();
    for (let i = 0; i < gcount; i++) {
      const id = Math.round(sp[i]);
      sourceId[i] = id;
      count.set(id, (count.get(id) ?? 0) + 1);
    }
    const su = f.hdus.find((x) => x.kind === 'bintable' && /^AIPS SU$/i.test(x.name ?? ''));
    const named = new Map<number, { name: string; ra?: number; dec?: number }>();
    if (su) {
      const t = su.readTable();
      const idc = t.column('ID. NO.') ?? t.column('ID_NO') ?? t.column('SOURCE_ID');
      const nmc = t.column('SOURCE');
      const rac = t.column('RAEPO') ?? t.column('RAOBS');
      const dec = t.column('DECEPO') ?? t.column('DECOBS');
      for (let r = 0; r < t.nrows; r++) {
        const id = idc ? Math.round(Number(idc.data[r])) : r + 1;
        const e: { name: string; ra?: number; dec?: number } = { name: nmc ? String(nmc.data[r]).trim() : `source ${id}` };
        if (rac && dec) {
          e.ra = Number(rac.data[r]);
          e.dec = Number(dec.data[r]);
        }
        named.set(id, e);
      }
    } else {
      notes.push('a SOURCE parameter but no AIPS SU table: sources are known by number only');
    }
    sources = [...count.keys()]
      .sort((a, b) => a - b)
      .map((id) => {
        const e = named.get(id);
        const s: UvSource = { id, name: e?.name || `source ${id}`, groups: count.get(id)! };
        if (e?.ra !== undefined && Number.isFinite(e.ra) && e.dec !== undefined && Number.isFinite(e.dec)) {
          s.ra = e.ra;
          s.dec = e.dec;
        }
        return s;
      });
  }

  // normalised correlations [g][if][chan][stokes][3]
  const ns = sx.n;
  const nc = fx.n;
  const ni = ix.n;
  const data = g.data;
  const corr = data instanceof Float32Array ? new Float32Array(gcount * ni * nc * ns * 3) : new Float64Array(gcount * ni * nc * ns * 3);
  let o = 0;
  for (let gi = 0; gi < gcount; gi++) {
    const base = gi * gsize;
    for (let i = 0; i < ni; i++) {
      for (let c = 0; c < nc; c++) {
        for (let k = 0; k < ns; k++) {
          const at = base + i * ix.st + c * fx.st + k * sx.st;
          corr[o] = data[at];
          corr[o + 1] = data[at + cx.st];
          corr[o + 2] = cx.n > 2 ? data[at + 2 * cx.st] : 1;
          o += 3;
        }
      }
    }
  }

  const raK = Object.keys(axisOf).find((key) => key.startsWith('RA'));
  const decK = Object.keys(axisOf).find((key) => key.startsWith('DEC'));
  const ra = num(h, 'OBSRA') ?? (raK ? num(h, `CRVAL${axisOf[raK] + 2}`) : undefined) ?? 0;
  const dec = num(h, 'OBSDEC') ?? (decK ? num(h, `CRVAL${axisOf[decK] + 2}`) : undefined) ?? 0;
  // the RA/DEC axes' CRVAL is the phase centre; OBSRA/OBSDEC the pointing: prefer the axes when both exist
  const raAxis = raK ? num(h, `CRVAL${axisOf[raK] + 2}`) : undefined;
  const decAxis = decK ? num(h, `CRVAL${axisOf[decK] + 2}`) : undefined;
  const meta: UvMeta = {
    object: str(h, 'OBJECT'),
    telescope: str(h, 'TELESCOP'),
    instrument: str(h, 'INSTRUME'),
    dateObs: str(h, 'DATE-OBS'),
    ra: raAxis ?? ra,
    dec: decAxis ?? dec,
    equinox: num(h, 'EQUINOX') ?? num(h, 'EPOCH'),
    nIf: ni,
    nChan: nc,
    freqs,
    chanWidth,
    stokes,
    antennas,
  };
  if (dishDiameter !== undefined) meta.dishDiameter = dishDiameter;
  if (sources) meta.sources = sources;
  if (freqsel !== undefined) meta.freqsel = freqsel;
  if (sources?.length === 1) {
    const s0 = sources[0];
    if (!meta.object) meta.object = s0.name;
    if (s0.ra !== undefined && s0.dec !== undefined) {
      meta.ra = s0.ra;
      meta.dec = s0.dec;
    }
  }
  for (const w of f.warnings) notes.push(w);
  return { meta, gcount, uSec, vSec, wSec, time, ant1, ant2, subarray, sourceId, corr, notes };
}

/** How a product is formed from the file's correlations. */
function productPlan(stokes: string[], product: string, name: string): { idx: number[]; formed: string; note?: string } {
  const P = product.toUpperCase();
  if (P !== 'I') {
    const k = stokes.indexOf(P);
    if (k < 0) throw new UvfitsInputError(`${name}: no ${P} correlation in the file (it has ${stokes.join(', ')})`);
    // a cross hand where no Stokes I can be formed (the default product then): say that the image is not Stokes I
    if (['RL', 'LR', 'XY', 'YX'].includes(P) && !stokes.some((s) => ['I', 'RR', 'LL', 'XX', 'YY'].includes(s))) {
      return { idx: [k], formed: P, note: `the file has no parallel-hand correlation (only ${stokes.join(', ')}): ${P} is imaged, a cross-hand product, not Stokes I` };
    }
    return { idx: [k], formed: P };
  }
  const k = stokes.indexOf('I');
  if (k >= 0) return { idx: [k], formed: 'I' };
  for (const [a, b] of [['RR', 'LL'], ['XX', 'YY']]) {
    const ia = stokes.indexOf(a);
    const ib = stokes.indexOf(b);
    if (ia >= 0 && ib >= 0) return { idx: [ia, ib], formed: `(${a}+${b})/2` };
  }
  for (const a of ['RR', 'LL', 'XX', 'YY']) {
    const ia = stokes.indexOf(a);
    if (ia >= 0) {
      return { idx: [ia], formed: a, note: `Stokes I from ${a} alone (the file has no other parallel hand): exact for an unpolarised source only` };
    }
  }
  throw new UvfitsInputError(
    `${name}: Stokes I needs a parallel-hand correlation (RR, LL, XX or YY) and the file has only ${stokes.join(', ')}; image one of those with --stokes (e.g. --stokes ${stokes[0]})`,
  );
}

/** The sources of a multi-source file, for messages: "1 3C286 (120 groups), 2 J1331 (40 groups)". */
export function listSources(sources: readonly UvSource[]): string {
  return sources.map((s) => `${s.id} ${s.name} (${s.groups} groups)`).join(', ');
}

/**
 * The source a selection keeps: `source` by name (case-insensitive) or by its SOURCE number; null for a
 * single-source file. A file of several sources without a choice is refused, naming them.
 */
export function chooseSource(meta: UvMeta, source: string | undefined, name = 'input'): UvSource | null {
  const srcs = meta.sources;
  if (!srcs || srcs.length === 0) {
    if (source !== undefined && source.trim().toUpperCase() !== meta.object.trim().toUpperCase()) {
      throw new UvfitsInputError(`${name}: no source '${source}': a single-source file${meta.object ? ` (OBJECT ${meta.object})` : ''}`);
    }
    return null;
  }
  if (source === undefined) {
    if (srcs.length === 1) return srcs[0];
    throw new UvfitsInputError(
      `${name}: the file holds ${srcs.length} sources (SOURCE: ${listSources(srcs)}); SkyScore images one at a time: choose it with --source NAME (or its number)`,
    );
  }
  const want = source.trim().toUpperCase();
  const hit = srcs.find((s) => s.name.toUpperCase() === want) ?? (/^\d+$/.test(want) ? srcs.find((s) => s.id === Number(want)) : undefined);
  if (!hit) throw new UvfitsInputError(`${name}: no source '${source}' in the file (SOURCE: ${listSources(srcs)})`);
  return hit;
}

/**
 * One visibility per group, IF and channel of `product` ('I' by default: (RR+LL)/2 or (XX+YY)/2 where both hands
 * have weight > 0, with weight 4·w₁w₂/(w₁+w₂) — the inverse variance of the mean; a single parallel hand alone when
 * the file has only one; or a correlation by name, 'RR', 'XY', …). Flagged data are dropped and counted.
 */
export function selectVisibilities(file: UvfitsFile, product = 'I', name = 'input', source?: string): Visibilities {
  const { gcount } = file;
  let meta = file.meta;
  const plan = productPlan(meta.stokes, product, name);
  // a multi-source file: the chosen source's groups only, at its position
  const chosen = chooseSource(meta, source, name);
  const srcOf = file.sourceId;
  const only = chosen && srcOf ? chosen.id : null;
  if (chosen) {
    meta = { ...meta, object: chosen.name };
    if (chosen.ra !== undefined && chosen.dec !== undefined) {
      meta.ra = chosen.ra;
      meta.dec = chosen.dec;
    }
  }
  const ns = meta.stokes.length;
  const ni = meta.nIf;
  const nc = meta.nChan;
  const total = gcount * ni * nc;
  const keep = new Uint8Array(total);
  const vr = new Float64Array(total);
  const vi = new Float64Array(total);
  const vw = new Float64Array(total);
  let n = 0;
  let nAuto = 0;
  let nOther = 0;
  let nAutoUnflagged = 0;
  const unflaggedBy = new Array<number>(ns).fill(0);
  const per = ni * nc;
  for (let t = 0; t < total; t++) {
    const gi = Math.floor(t / per);
    if (only !== null && srcOf![gi] !== only) {
      nOther++;
      continue;
    }
    const o = t * ns * 3;
    if (file.ant1[gi] === file.ant2[gi]) {
      nAuto++;
      if (plan.idx.every((k) => file.corr[o + k * 3 + 2] > 0)) nAutoUnflagged++;
      continue;
    }
    for (let k = 0; k < ns; k++) {
      const a = o + k * 3;
      if (file.corr[a + 2] > 0 && Number.isFinite(file.corr[a]) && Number.isFinite(file.corr[a + 1]) && Number.isFinite(file.corr[a + 2])) unflaggedBy[k]++;
    }
    if (plan.idx.length === 1) {
      const a = o + plan.idx[0] * 3;
      const r = file.corr[a];
      const im = file.corr[a + 1];
      const w = file.corr[a + 2];
      if (w > 0 && Number.isFinite(r) && Number.isFinite(im) && Number.isFinite(w)) {
        vr[t] = r;
        vi[t] = im;
        vw[t] = w;
        keep[t] = 1;
        n++;
      }
    } else {
      const a = o + plan.idx[0] * 3;
      const b = o + plan.idx[1] * 3;
      const w1 = file.corr[a + 2];
      const w2 = file.corr[b + 2];
      const r = 0.5 * (file.corr[a] + file.corr[b]);
      const im = 0.5 * (file.corr[a + 1] + file.corr[b + 1]);
      if (w1 > 0 && w2 > 0 && Number.isFinite(r) && Number.isFinite(im) && Number.isFinite(w1) && Number.isFinite(w2)) {
        vr[t] = r;
        vi[t] = im;
        vw[t] = (4 * w1 * w2) / (w1 + w2);
        keep[t] = 1;
        n++;
      }
    }
  }
  const out: Visibilities = {
    n,
    u: new Float64Array(n),
    v: new Float64Array(n),
    w: new Float64Array(n),
    re: new Float64Array(n),
    im: new Float64Array(n),
    weight: new Float64Array(n),
    freq: new Float64Array(n),
    time: new Float64Array(n),
    ant1: new Int32Array(n),
    ant2: new Int32Array(n),
    baseline: new Int32Array(n),
    subarray: new Int32Array(n),
    group: new Int32Array(n),
    ifIndex: new Int32Array(n),
    chan: new Int32Array(n),
    product: P(product),
    formed: plan.formed,
    nFlagged: total - n - nAuto - nOther,
    nAuto,
    nAutoUnflagged,
    unflaggedByCorrelation: Object.fromEntries(meta.stokes.map((st, k) => [st, unflaggedBy[k]])),
    meta,
    notes: [...file.notes],
  };
  if (plan.note) out.notes.push(plan.note);
  if (chosen && srcOf) out.source = chosen;
  if (chosen && meta.sources && meta.sources.length > 1) {
    out.notes.push(`source ${chosen.name} (SOURCE ${chosen.id}): ${chosen.groups} of the file's ${gcount} groups`);
  }
  let j = 0;
  for (let gi = 0; gi < gcount; gi++) {
    for (let i = 0; i < ni; i++) {
      for (let c = 0; c < nc; c++) {
        const t = (gi * ni + i) * nc + c;
        if (!keep[t]) continue;
        const fr = meta.freqs[i * nc + c];
        // UVFITS's baseline runs antenna 1 − antenna 2 (AIPS): negated into the operator's antenna 2 − antenna 1
        out.u[j] = -file.uSec[gi] * fr;
        out.v[j] = -file.vSec[gi] * fr;
        out.w[j] = -file.wSec[gi] * fr;
        out.re[j] = vr[t];
        out.im[j] = vi[t];
        out.weight[j] = vw[t];
        out.freq[j] = fr;
        out.time[j] = file.time[gi];
        out.ant1[j] = file.ant1[gi];
        out.ant2[j] = file.ant2[gi];
        const a1 = file.ant1[gi];
        const a2 = file.ant2[gi];
        out.baseline[j] = a1 < 256 && a2 < 256 ? 256 * a1 + a2 : 2048 * a1 + a2 + 65536;
        out.subarray[j] = file.subarray[gi];
        out.group[j] = gi;
        out.ifIndex[j] = i;
        out.chan[j] = c;
        j++;
      }
    }
  }
  return out;
}

/**
 * Why a selection holds nothing to image, and what to do: every cross-correlation flagged (weight ≤ 0), only
 * autocorrelations carrying weight, or another correlation (`--stokes`) that does have unflagged data.
 */
export function noVisibilitiesMessage(name: string, vis: Visibilities): string {
  const parallel = ['I', 'RR', 'LL', 'XX', 'YY'];
  const other = Object.entries(vis.unflaggedByCorrelation ?? {})
    .filter(([, c]) => c > 0)
    .sort(([a], [b]) => Number(!parallel.includes(a)) - Number(!parallel.includes(b)));
  const autos = vis.nAutoUnflagged ?? 0;
  let what: string;
  if (vis.nFlagged === 0 && vis.nAuto > 0) {
    what = `the file holds only autocorrelations (${vis.nAuto}, antenna with itself): they measure total power, not the sky's structure, and an image needs cross-correlations between antennas`;
  } else {
    what = `every ${vis.product} cross-correlation is flagged (${vis.nFlagged} with weight ≤ 0)`;
    if (autos > 0) what += `; only the ${autos} autocorrelations carry weight, and they measure total power, not the sky's structure`;
  }
  const todo = other.length
    ? `image a correlation that has unflagged data with --stokes ${other[0][0]} (unflagged: ${other.map(([k, c]) => `${k} ${c}`).join(', ')})`
    : 'unflag the data or export them again without these flags from the package that wrote the file (flags are weights ≤ 0)';
  return `${name}: nothing to image: ${what}; ${todo}`;
}

function P(product: string): string {
  return product.toUpperCase();
}

/** The default product of a file: Stokes I where a parallel hand exists, else its first correlation. */
export function defaultProduct(meta: UvMeta): string {
  return meta.stokes.some((s) => ['I', 'RR', 'LL', 'XX', 'YY'].includes(s)) ? 'I' : meta.stokes[0];
}

export interface UvSummary {
  object: string;
  telescope: string;
  dateObs: string;
  /** Phase centre (degrees). */
  ra: number;
  dec: number;
  /** The antennas of the AN table (subarray 1), by name. */
  antennas: string[];
  /** The antennas found in the summarised groups' baselines, by name ('#n' for a number the AN table does not list). */
  antennasInData: string[];
  /** Distinct antenna pairs (cross-correlations) among the groups, autocorrelations apart. */
  baselines: number;
  autocorrelationGroups: number;
  /** Groups summarised (of the chosen source in a multi-source file). */
  groups: number;
  /** The sources of a multi-source file. */
  sources?: string[];
  nIf: number;
  nChan: number;
  /** Lowest and highest channel frequency (Hz). */
  freqMin: number;
  freqMax: number;
  chanWidth: number;
  stokes: string[];
  product: string;
  formed: string;
  visibilities: number;
  flagged: number;
  autocorrelations: number;
  /** Autocorrelations of the product with positive weights. */
  autocorrelationsUnflagged: number;
  /** uv distance range of the used visibilities, wavelengths (null when none is used). */
  uvMin: number | null;
  uvMax: number | null;
  notes: string[];
}

/** What `skyscore info FILE.uvfits` prints. */
export function summariseUv(file: UvfitsFile, vis: Visibilities): UvSummary {
  const pairs = new Set<number>();
  const inData = new Set<number>();
  let autos = 0;
  let groups = 0;
  const chosen = file.sourceId ? vis.source : undefined;
  for (let g = 0; g < file.gcount; g++) {
    if (chosen && file.sourceId![g] !== chosen.id) continue;
    groups++;
    const a = Math.min(file.ant1[g], file.ant2[g]);
    const b = Math.max(file.ant1[g], file.ant2[g]);
    if (a === b) autos++;
    else pairs.add((file.subarray[g] * 4096 + a) * 4096 + b);
    inData.add(a);
    inData.add(b);
  }
  const nameOf = new Map(file.meta.antennas.map((x) => [x.number, x.name]));
  const antennasInData = [...inData].sort((x, y) => x - y).map((k) => nameOf.get(k) ?? `#${k}`);
  let lo = Infinity;
  let hi = -Infinity;
  for (let k = 0; k < vis.n; k++) {
    const r = Math.hypot(vis.u[k], vis.v[k]);
    if (r < lo) lo = r;
    if (r > hi) hi = r;
  }
  let fmin = Infinity;
  let fmax = -Infinity;
  for (const fr of file.meta.freqs) {
    fmin = Math.min(fmin, fr);
    fmax = Math.max(fmax, fr);
  }
  return {
    object: vis.meta.object,
    telescope: file.meta.telescope,
    dateObs: file.meta.dateObs,
    ra: vis.meta.ra,
    dec: vis.meta.dec,
    antennas: file.meta.antennas.map((a) => a.name),
    antennasInData,
    baselines: pairs.size,
    autocorrelationGroups: autos,
    groups,
    ...(file.meta.sources ? { sources: file.meta.sources.map((s) => s.name) } : {}),
    nIf: file.meta.nIf,
    nChan: file.meta.nChan,
    freqMin: fmin,
    freqMax: fmax,
    chanWidth: file.meta.chanWidth,
    stokes: file.meta.stokes,
    product: vis.product,
    formed: vis.formed,
    visibilities: vis.n,
    flagged: vis.nFlagged,
    autocorrelations: vis.nAuto,
    autocorrelationsUnflagged: vis.nAutoUnflagged ?? 0,
    uvMin: vis.n ? lo : null,
    uvMax: vis.n ? hi : null,
    notes: vis.notes,
  };
}

/** Wavelength (metres) of a frequency (Hz). */
export function wavelength(freq: number): number {
  return C_LIGHT / freq;
}
