import { Gunzip } from 'fflate';
import { FitsInputError } from './errors.js';
import { BLOCK, FitsHeader, readHeaderAt, type Card } from './header.js';
import { decodePixels, decodeRaw, rawToPhysical } from './image.js';
import { onesSum, addSums } from './checksum.js';
import { decodeAsciiTable, decodeBinTable } from './table.js';
import { compressedImageInfo, decompressImage, type CompressedInfo } from './compressed.js';
import type { ChecksumStatus, FitsImage, FitsTable, HduKind, RandomGroups, RawImage } from './types.js';

export interface ReadOptions {
  /** The file name, used to prefix error messages. */
  name?: string;
  /**
   * Refuse structurally invalid files (mandatory keywords out of order, random groups without data axes,
   * data running past the end of the file). Default true; with false they are read with warnings, as astropy does.
   */
  strict?: boolean;
  /** Largest image (pixels) a tile-compressed HDU may declare; default 2^27 (its size is not bounded by the file's). */
  maxPixels?: number;
  /**
   * Largest byte stream a gzip-compressed input may decompress to (checked while it decompresses, so a forged
   * trailer cannot make it allocate more); default: no bound beyond deflate's own 1032:1.
   */
  maxBytes?: number;
  /** Largest image (pixels, all planes) that readImage() decodes; default: no bound. */
  maxDecodePixels?: number;
}

export interface FitsHdu {
  index: number;
  kind: HduKind;
  /** EXTNAME, or null. */
  name: string | null;
  /** BITPIX of the data (ZBITPIX for compressed images). */
  bitpix: number;
  /** FITS axis order [NAXIS1, NAXIS2, …] (ZNAXISn for compressed images). */
  shape: number[];
  /** The header (for compressed images: the uncompressed image's header). */
  header: FitsHeader;
  /** The header as stored in the file (for compressed images: the BINTABLE header). */
  storedHeader: FitsHeader;
  /** Byte offsets in the (decompressed) file and the data size without padding. */
  headerOffset: number;
  dataOffset: number;
  dataBytes: number;
  /** Whether readImage() can give pixels (an image HDU with at least one pixel). */
  hasImage: boolean;
  /** Physical pixel values. Throws FitsInputError if the HDU is not an image. */
  readImage(): FitsImage;
  /** The stored integers and their scaling (integer images only; null for float images). */
  readRawImage(): RawImage | null;
  /** Columns of a BINTABLE or TABLE HDU. */
  readTable(): FitsTable;
  /** Random-groups data (UVFITS). */
  readGroups(): RandomGroups;
  /** CHECKSUM and DATASUM of this HDU as stored. */
  verifyChecksum(): { checksum: ChecksumStatus; datasum: ChecksumStatus };
  /** Verifies the checksums once (done anyway when the data are read), adding any mismatch to the file's warnings. */
  check(): void;
}

export interface FitsFile {
  hdus: FitsHdu[];
  /** Non-fatal problems: non-standard cards, checksum mismatches, missing padding, … (grows as HDUs are read). */
  warnings: string[];
  /** The FITS bytes (decompressed if the input was gzip). */
  bytes: Uint8Array;
}

const GZIP_MAGIC = [0x1f, 0x8b];
const VALID_BITPIX = new Set([8, 16, 32, 64, -32, -64]);

function isIntKey(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

/** Exact integer value of a card (for 64-bit BLANK / TNULL values beyond 2^53). */
function bigIntCard(c: Card | undefined): bigint | undefined {
  if (!c || typeof c.value !== 'number') return undefined;
  const im = c.images?.[0];
  if (im) {
    const m = /=\s*([+-]?\d+)\s*(\/|$)/.exec(im);
    if (m) return BigInt(m[1]);
  }
  return Number.isInteger(c.value) ? BigInt(c.value) : undefined;
}

/** Decompresses gzip input (with a bound on the declared size); other compressions are refused with a clear message. */
export function maybeGunzip(bytes: Uint8Array, maxBytes?: number): Uint8Array {
  if (bytes.length >= 2 && bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1]) {
    if (bytes.length < 18) throw new FitsInputError('gzip stream is truncated');
    const n = bytes.length;
    const isize = (bytes[n - 4] | (bytes[n - 3] << 8) | (bytes[n - 2] << 16) | (bytes[n - 1] << 24)) >>> 0;
    // deflate cannot expand beyond ~1032:1; a larger declared size means a corrupt trailer
    if (isize > n * 1032 + 1024) throw new FitsInputError('gzip stream is corrupt (impossible uncompressed size)');
    const over = () => new FitsInputError(`gzip stream decompresses to more than ${maxBytes} bytes, the largest file this reader accepts`);
    if (maxBytes !== undefined && isize > maxBytes) throw over();
    const deflateBound = n * 1032 + 1024;
    try {
      // in chunks, counted: the trailer's size is taken modulo 2³² and may lie, so it bounds nothing
      const out =
        maxBytes !== undefined && maxBytes < deflateBound
          ? boundedGunzip(bytes, maxBytes, over)
          : boundedGunzip(bytes, deflateBound, () => new FitsInputError('gzip stream is corrupt (it expands more than deflate can)'));
      if (out.length !== isize && out.length % 2 ** 32 !== isize) throw new FitsInputError('gzip stream is corrupt (size mismatch)');
      return out;
    } catch (e) {
      if (e instanceof FitsInputError) throw e;
      throw new FitsInputError(`gzip stream is corrupt or truncated (${(e as Error).message})`);
    }
  }
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x9d) {
    throw new FitsInputError('Unix compress (.Z, LZW) files are not supported; uncompress the file first (gzip and tile compression are)');
  }
  if (bytes.length >= 3 && bytes[0] === 0x42 && bytes[1] === 0x5a && bytes[2] === 0x68) {
    throw new FitsInputError('bzip2 files are not supported; uncompress the file first');
  }
  return bytes;
}

/** gzip decompression in chunks that stops as soon as the output passes maxBytes (the trailer's size is 32 bits, and may lie). */
function boundedGunzip(bytes: Uint8Array, maxBytes: number, over: () => Error): Uint8Array {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const g = new Gunzip((chunk) => {
    total += chunk.length;
    if (total > maxBytes) throw over();
    chunks.push(chunk);
  });
  const step = 1 << 20;
  for (let i = 0; i < bytes.length; i += step) g.push(bytes.subarray(i, Math.min(bytes.length, i + step)), i + step >= bytes.length);
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

interface Ctx {
  bytes: Uint8Array;
  warnings: string[];
  prefix: string;
  strict: boolean;
  maxPixels: number;
  maxDecodePixels: number;
}

function fail(ctx: Ctx, msg: string): never {
  throw new FitsInputError(ctx.prefix + msg);
}

/** Decoding errors of corrupt data (including out-of-range reads) become FitsInputErrors naming the file and HDU. */
function rethrow(ctx: Ctx, index: number, e: unknown): never {
  if (e instanceof FitsInputError) fail(ctx, `HDU ${index}: ${e.message}`);
  if (e instanceof RangeError) fail(ctx, `HDU ${index}: data are inconsistent with the header (${e.message})`);
  throw e;
}

/** Reads the structure of a FITS file: every header is parsed, no data are decoded until asked for. */
export function readFits(input: Uint8Array, opts: ReadOptions = {}): FitsFile {
  const prefix = opts.name ? `${opts.name}: ` : '';
  let bytes: Uint8Array;
  try {
    bytes = maybeGunzip(input, opts.maxBytes);
  } catch (e) {
    if (e instanceof FitsInputError) throw new FitsInputError(prefix + e.message);
    throw e;
  }
  const ctx: Ctx = { bytes, warnings: [], prefix, strict: opts.strict ?? true, maxPixels: opts.maxPixels ?? 2 ** 27, maxDecodePixels: opts.maxDecodePixels ?? Infinity };
  if (bytes.length === 0) fail(ctx, 'empty file, not FITS');
  const head = String.fromCharCode(...bytes.subarray(0, Math.min(30, bytes.length)));
  if (!head.startsWith('SIMPLE  =')) {
    fail(ctx, `not a FITS file: it does not start with 'SIMPLE  =' (starts with ${JSON.stringify(head.slice(0, 16).replace(/[^\x20-\x7e]/g, '.'))})`);
  }
  if (bytes.length < BLOCK) fail(ctx, `truncated: ${bytes.length} bytes, less than one 2880-byte FITS block`);
  const hdus: FitsHdu[] = [];
  let offset = 0;
  while (offset < bytes.length) {
    if (hdus.length > 0) {
      // anything after the last HDU that is not an extension header is ignored, with a warning
      const k = String.fromCharCode(...bytes.subarray(offset, Math.min(offset + 10, bytes.length)));
      if (k !== 'XTENSION= ') {
        const allZero = bytes.subarray(offset).every((b) => b === 0);
        if (!allZero) ctx.warnings.push(`${bytes.length - offset} bytes after the last HDU (at byte ${offset}) are not a FITS extension; ignored`);
        break;
      }
    }
    let parsed;
    try {
      parsed = readHeaderAt(bytes, offset);
    } catch (e) {
      if (!(e instanceof FitsInputError)) throw e;
      if (ctx.strict || hdus.length === 0) fail(ctx, `HDU ${hdus.length}: ${e.message}`);
      // lenient, as astropy: keep the HDUs read so far
      ctx.warnings.push(`HDU ${hdus.length}: ${e.message}; this and anything after it ignored`);
      break;
    }
    ctx.warnings.push(...parsed.warnings.map((w) => `HDU ${hdus.length}: ${w}`));
    const hdu = makeHdu(ctx, hdus.length, parsed.header, offset, parsed.end);
    hdus.push(hdu);
    const padded = Math.ceil(hdu.dataBytes / BLOCK) * BLOCK;
    offset = parsed.end + padded;
    if (offset > bytes.length) {
      const missing = parsed.end + hdu.dataBytes - bytes.length;
      if (missing > 0) {
        const msg = `HDU ${hdu.index}: file truncated: data need ${hdu.dataBytes} bytes after byte ${parsed.end} but the file ends ${missing} bytes short`;
        if (ctx.strict) fail(ctx, msg);
        ctx.warnings.push(msg);
      } else {
        ctx.warnings.push(`HDU ${hdu.index}: the last data block is not padded to 2880 bytes`);
      }
    }
  }
  return { hdus, warnings: ctx.warnings, bytes };
}

function axisList(ctx: Ctx, h: FitsHeader, idx: number, prefix = ''): number[] {
  const naxis = h.get(`${prefix}NAXIS`);
  if (!isIntKey(naxis) || naxis < 0 || naxis > 999) fail(ctx, `HDU ${idx}: ${prefix}NAXIS = ${String(naxis)} is not an integer in 0..999`);
  const shape: number[] = [];
  for (let i = 1; i <= naxis; i++) {
    const n = h.get(`${prefix}NAXIS${i}`);
    if (!isIntKey(n) || n < 0) fail(ctx, `HDU ${idx}: ${prefix}NAXIS${i} = ${String(n)} is missing or not a non-negative integer`);
    shape.push(n);
  }
  return shape;
}

function checkMandatoryOrder(ctx: Ctx, h: FitsHeader, idx: number): void {
  const first = idx === 0 ? 'SIMPLE' : 'XTENSION';
  const naxis = h.get('NAXIS');
  const expected = [first, 'BITPIX', 'NAXIS'];
  if (isIntKey(naxis) && naxis >= 0 && naxis <= 999) for (let i = 1; i <= naxis; i++) expected.push(`NAXIS${i}`);
  const got = h.cards.slice(0, expected.length).map((c) => c.key);
  const bad = expected.findIndex((k, i) => got[i] !== k);
  if (bad >= 0) {
    const msg = `HDU ${idx}: mandatory keywords out of order: expected ${expected.join(', ')} but the header starts ${got.join(', ')}`;
    if (ctx.strict) fail(ctx, msg);
    ctx.warnings.push(msg);
  }
}

function makeHdu(ctx: Ctx, index: number, header: FitsHeader, headerOffset: number, dataOffset: number): FitsHdu {
  for (const p of header.problems()) ctx.warnings.push(`HDU ${index}: non-standard ${p}`);
  checkMandatoryOrder(ctx, header, index);
  const bitpix = header.get('BITPIX');
  if (!isIntKey(bitpix) || !VALID_BITPIX.has(bitpix)) fail(ctx, `HDU ${index}: BITPIX = ${String(bitpix)} is not one of 8, 16, 32, 64, -32, -64`);
  const shape = axisList(ctx, header, index);
  let kind: HduKind;
  let pcount = 0;
  let gcount = 1;
  if (index === 0) {
    const simple = header.get('SIMPLE');
    if (simple !== true) ctx.warnings.push(`HDU 0: SIMPLE = ${String(simple)}: the file says it does not conform to the FITS standard`);
    kind = header.get('GROUPS') === true && (shape.length === 0 || shape[0] === 0) ? 'random-groups' : 'primary';
  } else {
    const xt = String(header.get('XTENSION') ?? '').trim().toUpperCase();
    if (xt === 'IMAGE' || xt === 'IUEIMAGE') kind = 'image';
    else if (xt === 'BINTABLE' || xt === 'A3DTABLE') kind = header.get('ZIMAGE') === true ? 'compressed-image' : 'bintable';
    else if (xt === 'TABLE') kind = 'table';
    else {
      kind = 'unknown';
      ctx.warnings.push(`HDU ${index}: unknown extension type XTENSION = '${xt}' (data skipped)`);
    }
  }
  if (index > 0 || kind === 'random-groups') {
    const pc = header.get('PCOUNT');
    const gc = header.get('GCOUNT');
    if (pc !== undefined || index > 0) {
      if (!isIntKey(pc) || pc < 0) {
        if (index > 0 && pc === undefined && kind !== 'bintable' && kind !== 'compressed-image') ctx.warnings.push(`HDU ${index}: PCOUNT missing (taken as 0)`);
        else fail(ctx, `HDU ${index}: PCOUNT = ${String(pc)} is not a non-negative integer`);
      } else pcount = pc;
    }
    if (gc !== undefined || index > 0) {
      if (!isIntKey(gc) || gc < 0) {
        if (gc === undefined) ctx.warnings.push(`HDU ${index}: GCOUNT missing (taken as 1)`);
        else fail(ctx, `HDU ${index}: GCOUNT = ${String(gc)} is not a non-negative integer`);
      } else gcount = gc;
    }
  }
  const elemBytes = Math.abs(bitpix) / 8;
  let nelem: number;
  if (kind === 'random-groups') {
    if (shape.length < 2) {
      const msg = `HDU 0: random groups (GROUPS = T) with no group data axes (NAXIS = ${shape.length}${shape.length ? ', NAXIS1 = 0' : ''})`;
      if (ctx.strict) fail(ctx, msg);
      ctx.warnings.push(msg);
    }
    const groupSize = shape.length < 2 ? 0 : shape.slice(1).reduce((a, b) => a * b, 1);
    nelem = shape.length < 2 ? 0 : gcount * (pcount + groupSize);
  } else if (shape.length === 0) {
    nelem = kind === 'bintable' || kind === 'compressed-image' || kind === 'table' ? pcount : 0;
  } else {
    nelem = gcount * (pcount + shape.reduce((a, b) => a * b, 1));
  }
  const dataBytes = nelem * elemBytes;
  if (!Number.isSafeInteger(dataBytes)) fail(ctx, `HDU ${index}: absurd data size (NAXISn = ${shape.join(' × ')})`);
  const extname = header.get('EXTNAME');
  let name = typeof extname === 'string' ? extname.trim() || null : null;
  let comp: CompressedInfo | undefined;
  let imageHeader = header;
  let outBitpix: number = bitpix;
  let outShape = shape;
  if (kind === 'compressed-image') {
    try {
      comp = compressedImageInfo(header);
    } catch (e) {
      if (e instanceof FitsInputError) fail(ctx, `HDU ${index}: ${e.message}`);
      throw e;
    }
    const npix = comp.shape.reduce((a, b) => a * b, 1);
    if (comp.nrows > 0 && (comp.rowBytes < 1 || comp.rowBytes * comp.nrows > dataBytes)) fail(ctx, `HDU ${index}: compressed image table has inconsistent NAXIS1/NAXIS2/PCOUNT`);
    if (npix > ctx.maxPixels) fail(ctx, `HDU ${index}: compressed image declares ${comp.shape.join(' × ')} pixels, more than the limit of ${ctx.maxPixels}`);
    imageHeader = comp.imageHeader;
    // the image's own EXTNAME (the table's is usually the default 'COMPRESSED_IMAGE')
    const imName = imageHeader.get('EXTNAME');
    if (typeof imName === 'string' && imName.trim()) name = imName.trim();
    outBitpix = comp.bitpix;
    outShape = comp.shape;
  }
  const isImageKind = kind === 'primary' || kind === 'image' || kind === 'compressed-image';
  const npix = outShape.length === 0 ? 0 : outShape.reduce((a, b) => a * b, 1);
  const hasImage = isImageKind && npix > 0;
  let checked = false;

  const dataEnd = dataOffset + dataBytes;
  const check = (): void => {
    if (checked) return;
    checked = true;
    const r = hdu.verifyChecksum();
    if (r.datasum === 'mismatch') ctx.warnings.push(`HDU ${index}: DATASUM does not match the data (the data may be corrupt)`);
    if (r.checksum === 'mismatch') ctx.warnings.push(`HDU ${index}: CHECKSUM does not match the HDU (header or data may be corrupt)`);
  };
  const need = (what: string): void => {
    if (dataEnd > ctx.bytes.length) fail(ctx, `HDU ${index}: cannot read the ${what}: the file is truncated (${dataEnd - ctx.bytes.length} bytes missing)`);
    check();
  };
  const scaling = (h: FitsHeader) => {
    const bscale = h.get('BSCALE');
    const bzero = h.get('BZERO');
    const s = { bscale: typeof bscale === 'number' ? bscale : 1, bzero: typeof bzero === 'number' ? bzero : 0 } as { bscale: number; bzero: number; blank?: number | bigint };
    if (s.bscale === 0) {
      ctx.warnings.push(`HDU ${index}: BSCALE = 0 ignored`);
      s.bscale = 1;
    }
    const bc = h.card('BLANK');
    if (bc && typeof bc.value === 'number') {
      if (outBitpix > 0) s.blank = outBitpix === 64 ? bigIntCard(bc) : bc.value;
      else ctx.warnings.push(`HDU ${index}: BLANK ignored for floating-point BITPIX ${outBitpix}`);
    }
    return s;
  };

  const hdu: FitsHdu = {
    index,
    kind,
    name,
    bitpix: outBitpix,
    shape: outShape,
    header: imageHeader,
    storedHeader: header,
    headerOffset,
    dataOffset,
    dataBytes,
    hasImage,
    readImage(): FitsImage {
      if (!isImageKind) fail(ctx, `HDU ${index} is a ${kind} HDU, not an image`);
      if (npix > ctx.maxDecodePixels) fail(ctx, `HDU ${index}: the image has ${outShape.join(' × ')} = ${npix} pixels, more than the limit of ${ctx.maxDecodePixels} pixels to decode`);
      if (kind === 'compressed-image') {
        need('compressed image');
        try {
          const data = decompressImage(comp!, header, ctx.bytes.subarray(dataOffset, dataEnd), scaling(imageHeader), false);
          return { data: data as Float32Array | Float64Array, shape: [...outShape], header: imageHeader, bitpix: outBitpix };
        } catch (e) {
          rethrow(ctx, index, e);
        }
      }
      need('image');
      const data = decodePixels(ctx.bytes, dataOffset, npix, bitpix, scaling(header));
      return { data, shape: [...shape], header, bitpix };
    },
    readRawImage(): RawImage | null {
      if (!isImageKind) fail(ctx, `HDU ${index} is a ${kind} HDU, not an image`);
      if (outBitpix < 0) return null;
      const s = scaling(imageHeader);
      let data: RawImage['data'];
      if (kind === 'compressed-image') {
        need('compressed image');
        try {
          data = decompressImage(comp!, header, ctx.bytes.subarray(dataOffset, dataEnd), s, true) as RawImage['data'];
        } catch (e) {
          rethrow(ctx, index, e);
        }
      } else {
        need('image');
        data = decodeRaw(ctx.bytes, dataOffset, npix, bitpix as 8 | 16 | 32 | 64);
      }
      const raw: RawImage = { data, shape: [...outShape], bitpix: outBitpix as 8 | 16 | 32 | 64, bscale: s.bscale, bzero: s.bzero };
      if (s.blank !== undefined) raw.blank = s.blank;
      return raw;
    },
    readTable(): FitsTable {
      if (kind !== 'bintable' && kind !== 'table' && kind !== 'compressed-image') fail(ctx, `HDU ${index} is a ${kind} HDU, not a table`);
      need('table');
      try {
        const data = ctx.bytes.subarray(dataOffset, dataEnd);
        return kind === 'table' ? decodeAsciiTable(header, data) : decodeBinTable(header, data);
      } catch (e) {
        rethrow(ctx, index, e);
      }
    },
    readGroups(): RandomGroups {
      if (kind !== 'random-groups') fail(ctx, `HDU ${index} is a ${kind} HDU, not random groups`);
      need('random groups');
      if (shape.length < 2) fail(ctx, `HDU ${index}: random groups without data axes`);
      try {
        return decodeGroups(header, ctx.bytes, dataOffset, bitpix, shape, pcount, gcount, scaling(header));
      } catch (e) {
        rethrow(ctx, index, e);
      }
    },
    check,
    verifyChecksum() {
      const cs = header.card('CHECKSUM');
      const ds = header.card('DATASUM');
      const res: { checksum: ChecksumStatus; datasum: ChecksumStatus } = { checksum: 'absent', datasum: 'absent' };
      if (!cs && !ds) return res;
      const padded = dataOffset + Math.ceil(dataBytes / BLOCK) * BLOCK;
      if (padded > ctx.bytes.length) return res;
      const dsum = onesSum(ctx.bytes, dataOffset, padded);
      if (ds && typeof ds.value === 'string' && ds.value.trim() !== '') {
        res.datasum = Number(ds.value.trim()) === dsum ? 'ok' : 'mismatch';
      }
      if (cs && typeof cs.value === 'string' && cs.value.trim() !== '') {
        const hsum = onesSum(ctx.bytes, headerOffset, dataOffset);
        res.checksum = addSums(hsum, dsum) === 0xffffffff ? 'ok' : 'mismatch';
      }
      return res;
    },
  };
  return hdu;
}

function decodeGroups(
  h: FitsHeader,
  bytes: Uint8Array,
  offset: number,
  bitpix: number,
  shape: number[],
  pcount: number,
  gcount: number,
  s: { bscale: number; bzero: number; blank?: number | bigint },
): RandomGroups {
  const groupShape = shape.slice(1);
  const gsize = groupShape.reduce((a, b) => a * b, 1);
  const stride = pcount + gsize;
  const paramNames: string[] = [];
  const params: Float64Array[] = [];
  const pscal: number[] = [];
  const pzero: number[] = [];
  for (let p = 0; p < pcount; p++) {
    const name = h.get(`PTYPE${p + 1}`);
    const ps = h.get(`PSCAL${p + 1}`);
    const pz = h.get(`PZERO${p + 1}`);
    pscal.push(typeof ps === 'number' && ps !== 0 ? ps : 1);
    pzero.push(typeof pz === 'number' ? pz : 0);
    paramNames.push(typeof name === 'string' ? name.trim() : `PARAM${p + 1}`);
    params.push(new Float64Array(gcount));
  }
  const scaled = s.bscale !== 1 || s.bzero !== 0;
  const data = bitpix === -32 && !scaled ? new Float32Array(gcount * gsize) : new Float64Array(gcount * gsize);
  // decoded a block of groups at a time (about 2^20 values): no second copy of the whole file
  const perValue = Math.abs(bitpix) / 8;
  const block = Math.max(1, Math.floor(2 ** 20 / stride));
  for (let g0 = 0; g0 < gcount; g0 += block) {
    const ng = Math.min(block, gcount - g0);
    const all = decodePixels(bytes, offset + g0 * stride * perValue, ng * stride, bitpix, { bscale: 1, bzero: 0, blank: s.blank });
    for (let p = 0; p < pcount; p++) {
      const arr = params[p];
      for (let g = 0; g < ng; g++) arr[g0 + g] = pzero[p] + pscal[p] * all[g * stride + p];
    }
    for (let g = 0; g < ng; g++) {
      const o = (g0 + g) * gsize;
      for (let i = 0; i < gsize; i++) {
        const v = all[g * stride + pcount + i];
        data[o + i] = scaled ? s.bzero + s.bscale * v : v;
      }
    }
  }
  return {
    gcount,
    paramNames,
    params,
    groupShape,
    data,
    par(name: string) {
      const n = name.trim().toUpperCase();
      const idx = paramNames.map((p, i) => (p.toUpperCase() === n ? i : -1)).filter((i) => i >= 0);
      if (!idx.length) return undefined;
      const out = new Float64Array(gcount);
      for (const i of idx) for (let g = 0; g < gcount; g++) out[g] += params[i][g];
      return out;
    },
  };
}

/** The first HDU with image pixels, or the one asked for. */
export function readFitsImage(bytes: Uint8Array, hdu?: number, opts: ReadOptions = {}): FitsImage {
  const f = readFits(bytes, opts);
  const prefix = opts.name ? `${opts.name}: ` : '';
  if (hdu !== undefined) {
    if (!Number.isInteger(hdu) || hdu < 0 || hdu >= f.hdus.length) {
      throw new FitsInputError(`${prefix}no HDU ${hdu} (the file has ${f.hdus.length}: 0..${f.hdus.length - 1})`);
    }
    const h = f.hdus[hdu];
    if (!h.hasImage) throw new FitsInputError(`${prefix}HDU ${hdu} (${h.kind}${h.name ? ` '${h.name}'` : ''}, shape [${h.shape.join(', ')}]) holds no image pixels`);
    return h.readImage();
  }
  const h = f.hdus.find((x) => x.hasImage);
  if (!h) throw new FitsInputError(`${prefix}no image data in any HDU (${f.hdus.map((x) => x.kind).join(', ')})`);
  return h.readImage();
}

export { rawToPhysical };
