import type { Command } from '../command.js';
import { parse } from '../args.js';
import { UsageError } from '../errors.js';
import { readInputFile } from '../../io.js';
import { readFits, imageStats, type FitsFile, type FitsHdu } from '../../../src-shared/fits/index.js';

export interface HduInfo {
  index: number;
  kind: FitsHdu['kind'];
  name: string | null;
  bitpix: number;
  shape: number[];
  header: Record<string, unknown>;
  stats: { min: number | null; max: number | null; mean: number | null; nan: number } | null;
}

/** The `info --json` object of a parsed file: stats over the finite pixels of every image HDU. */
export function describeFits(file: string, f: FitsFile): { file: string; hdus: HduInfo[] } {
  const hdus = f.hdus.map((h): HduInfo => {
    let stats: HduInfo['stats'] = null;
    if (h.hasImage) {
      const s = imageStats(h.readImage().data);
      stats = { min: s.min, max: s.max, mean: s.mean, nan: s.nan };
    }
    return { index: h.index, kind: h.kind, name: h.name, bitpix: h.bitpix, shape: h.shape, header: h.header.toObject(), stats };
  });
  return { file, hdus };
}

function fmt(x: number | null): string {
  return x === null ? '—' : String(+x.toPrecision(8));
}

export const infoCommand: Command = {
  name: 'info',
  summary: 'HDUs of a FITS file: kind, EXTNAME, BITPIX, shape, header and pixel statistics',
  usage: `usage: skyscore info FILE [--json] [--lenient]

Lists the HDUs of a FITS file (plain, gzip-compressed or tile-compressed): index, kind (primary, image,
compressed-image, bintable, table, random-groups), EXTNAME, BITPIX and shape in FITS axis order
(NAXIS1 first; for compressed images the uncompressed ZBITPIX/ZNAXISn), and for images the min, max and
mean of the finite pixels (physical values, after BSCALE/BZERO) and the number of NaN/blank pixels.
--json prints one JSON object {"file", "hdus": [{"index", "kind", "name", "bitpix", "shape", "header",
"stats"}]} with the full header of each HDU (HISTORY/COMMENT as arrays).
Structurally invalid files (mandatory keywords out of order, random groups without data axes, truncated
data) are refused; --lenient reads them as astropy does, with warnings. Warnings (non-standard cards,
checksum mismatches, …) go to stderr as "skyscore: warning: …" lines.`,
  async run(argv) {
    const p = parse(argv, { json: { type: 'boolean' }, lenient: { type: 'boolean' } }, 'info');
    if (p.positionals.length !== 1) throw new UsageError(`info: expected one FILE, got ${p.positionals.length} arguments`);
    const file = p.positionals[0];
    const bytes = await readInputFile(file);
    const f = readFits(bytes, { name: file, strict: p.values.lenient !== true });
    const info = describeFits(file, f);
    for (const h of f.hdus) h.check();
    for (const w of f.warnings) process.stderr.write(`skyscore: warning: ${file}: ${w}\n`);
    if (p.values.json === true) {
      process.stdout.write(JSON.stringify(info) + '\n');
      return 0;
    }
    const lines = [`${file}: ${info.hdus.length} HDU${info.hdus.length === 1 ? '' : 's'}`];
    for (const h of info.hdus) {
      const shape = h.shape.length ? h.shape.join(' × ') : '()';
      let line = `  ${String(h.index).padStart(3)}  ${h.kind.padEnd(16)} ${(h.name ?? '').padEnd(16)} BITPIX ${String(h.bitpix).padStart(3)}  ${shape}`;
      if (h.stats) line += `  min ${fmt(h.stats.min)}  max ${fmt(h.stats.max)}  mean ${fmt(h.stats.mean)}  NaN ${h.stats.nan}`;
      lines.push(line);
    }
    process.stdout.write(lines.join('\n') + '\n');
    return 0;
  },
};
