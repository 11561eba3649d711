import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readInputFile } from './io.js';
import { measurementSetMessage, readUvfits, UvfitsInputError, type UvfitsFile } from '../src-shared/radio/uvfits.js';

/** Whether a path names a UVFITS file by its extension (.uvfits, .uvf, also gzipped). */
export function isUvfitsName(file: string): boolean {
  return /\.(uvfits|uvf)(\.gz)?$/i.test(file);
}

/**
 * Reads and decodes a UVFITS file. A CASA Measurement Set (a directory, or its table.dat) is refused with the
 * CASA command that exports it.
 */
export async function readUvfitsFile(file: string): Promise<UvfitsFile> {
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
  const bytes = await readInputFile(file);
  return readUvfits(bytes, file);
}
