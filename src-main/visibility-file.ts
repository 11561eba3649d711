import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readInputFile } from './io.js';
import { measurementSetMessage, readUvfits, UvfitsInputError, type UvfitsFile } from '../src-shared/radio/uvfits.js';

/** Whether a path names a UVFITS file by its extension (.uvfits, .uvf, also gzipped). */
export function isUvfitsName(file: string): boolean {
  return /\.(uvfits|uvf)(\.gz)?$/i.test(file);
}

/** Refuses a CASA Measurement Set (a directory, or its table.dat) with the CASA command that exports it, and any other directory. */
export async function checkNotMeasurementSet(file: string): Promise<void> {
  let st;
  try {
    st = await fs.stat(file);
  } catch {
    st = undefined;
  }
  if (st?.isDirectory() || path.basename(file) === 'table.dat') {
    let isMs = path.basename(file) === 'table.dat' || /\.ms\/?$/i.test(file);
    if (!isMs && st?.isDirectory()) {
      try {
        await fs.access(path.join(file, 'table.dat'));
        isMs = true;
      } catch {
        isMs = false;
      }
    }
    if (isMs) throw new UvfitsInputError(measurementSetMessage(file));
    throw new UvfitsInputError(`${file}: is a directory, not a UVFITS file`);
  }
}

/** Reads and decodes a UVFITS file (a Measurement Set refused: checkNotMeasurementSet). */
export async function readUvfitsFile(file: string): Promise<UvfitsFile> {
  await checkNotMeasurementSet(file);
  return readUvfits(await readInputFile(file), file);
}
