import type { Command } from '../command.js';
import { parse } from '../args.js';
import { UsageError } from '../errors.js';
import { readInputFile } from '../../io.js';
import { readFits, imageStats, type FitsFile, type FitsHdu } from '../../../src-shared/fits/index.js';
import { checkNotMeasurementSet, isUvfitsName } from '../../visibility-file.js';
import { defaultProduct, readUvfits, selectVisibilities, summariseUv, type UvSummary } from '../../../src-shared/radio/uvfits.js';
import { thermalCheck, type ThermalCheck } from '../../../src-shared/radio/weighting.js';

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

function hz(f: number): string {
  return f >= 1e9 ? `${+(f / 1e9).toPrecision(7)} GHz` : f >= 1e6 ? `${+(f / 1e6).toPrecision(7)} MHz` : f >= 1e3 ? `${+(f / 1e3).toPrecision(7)} kHz` : `${+f.toPrecision(7)} Hz`;
}

function lambda(x: number): string {
  return x >= 1e6 ? `${+(x / 1e6).toPrecision(5)} Mλ` : x >= 1e3 ? `${+(x / 1e3).toPrecision(5)} kλ` : `${+x.toPrecision(5)} λ`;
}

/** The text summary of a UVFITS file. */
export function uvSummaryText(file: string, s: UvSummary, thermal: ThermalCheck | null): string {
  const list = (names: string[]) => `${names.slice(0, 12).join(' ')}${names.length > 12 ? ' …' : ''}`;
  const inData = s.antennasInData;
  const same = inData.length === s.antennas.length && inData.every((a, i) => a === s.antennas[i]);
  const ant = !s.antennas.length
    ? `${inData.length} in the data (${list(inData)}), none listed (no AN table)`
    : same
      ? `${s.antennas.length} (${list(s.antennas)})`
      : `${inData.length} in the data (${list(inData)}) of ${s.antennas.length} in the AN table`;
  const nCross = s.visibilities + s.flagged;
  let visLine = `${s.visibilities} used, ${s.flagged} flagged${s.autocorrelations ? `, ${s.autocorrelations} autocorrelations left out` : ''}`;
  if (s.visibilities === 0) {
    visLine +=
      nCross === 0
        ? ': only autocorrelations, nothing to image'
        : `: every cross-correlation is flagged (weight ≤ 0)${s.autocorrelationsUnflagged ? `, only ${s.autocorrelationsUnflagged} autocorrelations carry weight` : ''}, nothing to image`;
  }
  const lines = [
    `${file}: UVFITS visibilities`,
    `  source        ${s.object || '—'}   phase centre RA ${s.ra.toFixed(6)}°, Dec ${s.dec.toFixed(6)}°${s.sources && s.sources.length > 1 ? `   (one of the file's ${s.sources.length} sources: ${s.sources.join(' ')})` : ''}`,
    `  telescope     ${s.telescope || '—'}   date ${s.dateObs || '—'}`,
    `  antennas      ${ant}`,
    `  baselines     ${s.baselines}${s.autocorrelationGroups ? ` (and ${s.autocorrelationGroups} autocorrelation groups)` : ''}, ${s.groups} groups`,
    `  IFs           ${s.nIf}, channels ${s.nChan} per IF, ${s.freqMin === s.freqMax ? hz(s.freqMin) : `${hz(s.freqMin)} … ${hz(s.freqMax)}`}, channel width ${hz(Math.abs(s.chanWidth))}`,
    `  Stokes        ${s.stokes.join(' ')}; imaged product ${s.product}${s.formed === s.product ? ' (the file\'s own)' : ` = ${s.formed}`}`,
    `  visibilities  ${visLine}`,
    `  uv range      ${s.uvMin === null ? '— (no unflagged visibility)' : `${lambda(s.uvMin)} … ${lambda(s.uvMax!)}`}`,
    `  weights       ${thermal ? `scatter of successive visibilities / 1/√weight = ${thermal.robustRatio.toFixed(3)} (robust), ${thermal.ratio.toFixed(3)} (rms), ${thermal.pairs} pairs` : s.visibilities === 0 ? '— (no unflagged visibility)' : '— (no successive visibilities on a baseline)'}`,
  ];
  for (const n of s.notes) lines.push(`  note: ${n}`);
  return lines.join('\n');
}

function fmt(x: number | null): string {
  return x === null ? '—' : String(+x.toPrecision(8));
}

function hduLines(info: { file: string; hdus: HduInfo[] }): string[] {
  const lines = [`${info.file}: ${info.hdus.length} HDU${info.hdus.length === 1 ? '' : 's'}`];
  for (const h of info.hdus) {
    const shape = h.shape.length ? h.shape.join(' × ') : '()';
    let line = `  ${String(h.index).padStart(3)}  ${h.kind.padEnd(16)} ${(h.name ?? '').padEnd(16)} BITPIX ${String(h.bitpix).padStart(3)}  ${shape}`;
    if (h.stats) line += `  min ${fmt(h.stats.min)}  max ${fmt(h.stats.max)}  mean ${fmt(h.stats.mean)}  NaN ${h.stats.nan}`;
    lines.push(line);
  }
  return lines;
}

export const infoCommand: Command = {
  name: 'info',
  summary: 'HDUs of a FITS file: kind, EXTNAME, BITPIX, shape, header and pixel statistics',
  usage: `usage: skyscore info FILE [--json] [--lenient]
       skyscore info FILE.uvfits [--json] [--stokes P] [--source NAME]

Lists the HDUs of a FITS file (plain, gzip-compressed or tile-compressed): index, kind (primary, image,
compressed-image, bintable, table, random-groups), EXTNAME, BITPIX and shape in FITS axis order
(NAXIS1 first; for compressed images the uncompressed ZBITPIX/ZNAXISn), and for images the min, max and
mean of the finite pixels (physical values, after BSCALE/BZERO) and the number of NaN/blank pixels.
--json prints one JSON object {"file", "hdus": [{"index", "kind", "name", "bitpix", "shape", "header",
"stats"}]} with the full header of each HDU (HISTORY/COMMENT as arrays).
Structurally invalid files (mandatory keywords out of order, random groups without data axes, truncated
data) are refused; --lenient reads them as astropy does, with warnings. Warnings (non-standard cards,
checksum mismatches, …) go to stderr as "skyscore: warning: …" lines.

A visibility file (.uvfits, .uvf) is summarised instead: source, telescope, date, antennas, baselines, IFs,
channels and frequencies, Stokes products, the visibilities of the imaged product (Stokes I from the
parallel hands, or --stokes RR, XY, …) used and flagged (weight ≤ 0), the uv range in wavelengths, and the
check of the weights' scale: the scatter of successive visibilities on each baseline and channel against
1/√weight (near 1 when the weights are thermal 1/σ²).
Its HDUs are listed after the summary; --json prints {"file", "hdus", "uvfits", "thermal"}. A CASA Measurement Set is refused with the CASA command that
exports it to UVFITS (docs/radio.md).`,
  async run(argv) {
    const p = parse(argv, { json: { type: 'boolean' }, lenient: { type: 'boolean' }, stokes: { type: 'string' }, source: { type: 'string' } }, 'info');
    if (p.positionals.length !== 1) throw new UsageError(`info: expected one FILE, got ${p.positionals.length} arguments`);
    const file = p.positionals[0];
    const uvMode = isUvfitsName(file) || /\.ms\/?$/i.test(file) || /(^|\/)table\.dat$/.test(file);
    if (uvMode) await checkNotMeasurementSet(file);
    else if (typeof p.values.stokes === 'string') throw new UsageError('info: --stokes applies to visibility files (.uvfits) only');
    else if (typeof p.values.source === 'string') throw new UsageError('info: --source applies to visibility files (.uvfits) only');
    const bytes = await readInputFile(file);
    if (uvMode) {
      const uv = readUvfits(bytes, file);
      const product = typeof p.values.stokes === 'string' ? p.values.stokes : defaultProduct(uv.meta);
      const vis = selectVisibilities(uv, product, file, typeof p.values.source === 'string' ? p.values.source : undefined);
      const s = summariseUv(uv, vis);
      const thermal = thermalCheck(vis);
      const f = readFits(bytes, { name: file });
      const info = describeFits(file, f);
      if (p.values.json === true) process.stdout.write(JSON.stringify({ ...info, uvfits: s, thermal }) + '\n');
      else process.stdout.write([uvSummaryText(file, s, thermal), `  ${info.hdus.length} HDUs:`, ...hduLines(info).slice(1)].join('\n') + '\n');
      return 0;
    }
    const f = readFits(bytes, { name: file, strict: p.values.lenient !== true });
    const info = describeFits(file, f);
    for (const h of f.hdus) h.check();
    for (const w of f.warnings) process.stderr.write(`skyscore: warning: ${file}: ${w}\n`);
    if (p.values.json === true) {
      process.stdout.write(JSON.stringify(info) + '\n');
      return 0;
    }
    process.stdout.write(hduLines(info).join('\n') + '\n');
    return 0;
  },
};
