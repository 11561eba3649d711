/**
 * FITS input/output (pure TypeScript; no file access). Reading is lazy: readFits parses every header and
 * decodes an HDU's data only when asked. gzip-wrapped files are recognised by their magic bytes.
 */
export { FitsInputError } from './errors.js';
export { FitsHeader, type Card, type CardValue, parseCard, formatCard, formatFloat } from './header.js';
export { readFits, readFitsImage, maybeGunzip, type FitsFile, type FitsHdu, type ReadOptions } from './reader.js';
export { writeFits, type WriteHdu, type WritableData, type WriteBitpix } from './writer.js';
export { imageStats, type ImageStats } from './stats.js';
export type { FitsImage, RawImage, FitsTable, FitsColumn, ColumnData, RandomGroups, HduKind, ChecksumStatus } from './types.js';
export { onesSum, encodeChecksum } from './checksum.js';
