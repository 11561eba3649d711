import path from 'node:path';
import type { Command } from '../command.js';
import { parse, optionalString } from '../args.js';
import { UsageError } from '../errors.js';
import { readInputFile, writeFileAtomic } from '../../io.js';
import { readFits, writeFits, FitsInputError, type WriteBitpix, type WriteHdu } from '../../../src-shared/fits/index.js';
import { SKYSCORE_VERSION } from '../../version.js';

const BITPIX = [8, 16, 32, 64, -32, -64];
const RANGE: Record<number, [number, number]> = { 8: [0, 255], 16: [-32768, 32767], 32: [-2147483648, 2147483647], 64: [-(2 ** 63), 2 ** 63] };

/** Whether physical values can be stored exactly as integers of `bitpix` (directly or with the signed/unsigned offsets). */
function fitsExactly(data: ArrayLike<number>, bitpix: number): boolean {
  const [lo, hi] = RANGE[bitpix];
  const off = bitpix === 8 ? -128 : bitpix === 16 ? 32768 : bitpix === 32 ? 2147483648 : 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (Number.isNaN(v)) continue;
    if (!Number.isInteger(v)) return false;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (min > max) return true;
  return (min >= lo && max <= hi) || (off !== 0 && min - off >= lo && max - off <= hi);
}

export const convertCommand: Command = {
  name: 'convert',
  summary: 'write one image HDU to a new FITS file, header cards (WCS, BUNIT, HISTORY) kept',
  usage: `usage: skyscore convert IN OUT [--hdu N] [--bitpix 8|16|32|64|-32|-64]

Writes one image HDU of IN (plain, .gz or tile-compressed) as the primary HDU of a new, uncompressed FITS
file OUT, keeping its header cards (WCS, BUNIT, HISTORY, …), with CHECKSUM and DATASUM.
--hdu N picks the HDU (default: the first with image pixels). --bitpix B sets the output type (default: the
image's BITPIX). The same integer BITPIX keeps the stored integers and their BSCALE/BZERO/BLANK bit for bit;
integer output of other data is exact when the values are integers that fit, else scaled linearly onto the
type's range (a warning says so). NaN pixels become BLANK in integer output. IN is never modified; OUT is
written to a temporary name and renamed into place.`,
  async run(argv) {
    // '--bitpix -32' would read as an option: join negative values to their flag
    const args: string[] = [];
    for (let i = 0; i < argv.length; i++) {
      if ((argv[i] === '--bitpix' || argv[i] === '--hdu') && i + 1 < argv.length && /^-\d/.test(argv[i + 1])) {
        args.push(`${argv[i]}=${argv[i + 1]}`);
        i++;
      } else args.push(argv[i]);
    }
    const p = parse(args, { hdu: { type: 'string' }, bitpix: { type: 'string' } }, 'convert');
    if (p.positionals.length !== 2) throw new UsageError(`convert: expected IN and OUT, got ${p.positionals.length} arguments`);
    const [inFile, outFile] = p.positionals;
    if (path.resolve(inFile) === path.resolve(outFile)) throw new UsageError(`convert: OUT must differ from IN (${inFile} is never modified)`);
    let hduIndex: number | undefined;
    const hs = optionalString(p, 'hdu');
    if (hs !== undefined) {
      if (!/^\d+$/.test(hs.trim())) throw new UsageError(`convert: --hdu must be a non-negative integer, got '${hs}'`);
      hduIndex = Number(hs);
    }
    let bitpix: WriteBitpix | undefined;
    const bs = optionalString(p, 'bitpix');
    if (bs !== undefined) {
      const b = Number(bs);
      if (!BITPIX.includes(b) || bs.trim() === '') throw new UsageError(`convert: --bitpix must be one of 8, 16, 32, 64, -32, -64, got '${bs}'`);
      bitpix = b as WriteBitpix;
    }
    const f = readFits(await readInputFile(inFile), { name: inFile });
    for (const w of f.warnings) process.stderr.write(`skyscore: warning: ${inFile}: ${w}\n`);
    let hdu;
    if (hduIndex !== undefined) {
      if (hduIndex >= f.hdus.length) throw new UsageError(`convert: ${inFile} has no HDU ${hduIndex} (it has ${f.hdus.length}: 0..${f.hdus.length - 1})`);
      hdu = f.hdus[hduIndex];
      if (!hdu.hasImage) {
        throw new FitsInputError(`${inFile}: HDU ${hduIndex} (${hdu.kind}${hdu.name ? ` '${hdu.name}'` : ''}, shape [${hdu.shape.join(', ')}]) has no image pixels to convert`);
      }
    } else {
      hdu = f.hdus.find((h) => h.hasImage);
      if (!hdu) throw new FitsInputError(`${inFile}: no HDU with image pixels (${f.hdus.map((h) => h.kind).join(', ')})`);
    }
    const target = (bitpix ?? hdu.bitpix) as WriteBitpix;
    const header = hdu.header.clone();
    header.addHistory(`skyscore ${SKYSCORE_VERSION} convert: ${path.basename(inFile)} HDU ${hdu.index} BITPIX ${hdu.bitpix} -> ${target}`);
    let entry: WriteHdu;
    const raw = target > 0 && target === hdu.bitpix ? hdu.readRawImage() : null;
    if (raw) {
      entry = { data: raw.data, shape: raw.shape, header, bitpix: target, raw: true, bscale: raw.bscale, bzero: raw.bzero, blank: raw.blank };
    } else {
      const im = hdu.readImage();
      if (target > 0 && !fitsExactly(im.data, target)) {
        process.stderr.write(`skyscore: warning: ${inFile}: HDU ${hdu.index} values are not integers within BITPIX ${target}: scaled linearly (BSCALE/BZERO), lossy\n`);
      }
      entry = { data: im.data, shape: im.shape, header, bitpix: target };
    }
    await writeFileAtomic(outFile, writeFits([entry]));
    return 0;
  },
};
