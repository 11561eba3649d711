import type { FitsHeader } from './header.js';

export type HduKind = 'primary' | 'image' | 'compressed-image' | 'bintable' | 'table' | 'random-groups' | 'unknown';

/** Image data in physical values (BZERO + BSCALE × stored, BLANK → NaN). */
export interface FitsImage {
  /**
   * Physical values, row-major with NAXIS1 fastest. Float32Array for unscaled BITPIX 8, 16, -32 (exact);
   * Float64Array for BITPIX -64, 32, 64 and for scaled data.
   */
  data: Float32Array | Float64Array;
  /** FITS axis order: [NAXIS1, NAXIS2, …]. */
  shape: number[];
  /** The image header (for tile-compressed images: the uncompressed image's header, as astropy shows it). */
  header: FitsHeader;
  /** BITPIX of the image (ZBITPIX for compressed images). */
  bitpix: number;
}

/** Stored integers of an integer image with the scaling that turns them into physical values. */
export interface RawImage {
  data: Uint8Array | Int16Array | Int32Array | BigInt64Array;
  shape: number[];
  bitpix: 8 | 16 | 32 | 64;
  bscale: number;
  bzero: number;
  blank?: number | bigint;
}

export type ColumnData = Float64Array | Float32Array | Int32Array | Int16Array | Uint8Array | BigInt64Array | Array<string> | Array<boolean | null>;

/** One table column. Scalar columns have `repeat` 1; vector columns store row r's elements at [r*repeat, (r+1)*repeat). */
export interface FitsColumn {
  name: string;
  /** TFORMn as written. */
  format: string;
  /** The type letter: L X B I J K A E D C M (binary) or A I F E D (ASCII); P/Q columns report their element type. */
  type: string;
  repeat: number;
  unit?: string;
  /** TDIMn, FITS order. */
  dim?: number[];
  /** Physical values (TSCAL/TZERO applied: numeric columns then are Float64Array). Complex columns interleave re, im. */
  data: ColumnData;
  /** For variable-length (P/Q) columns: the values of each row, instead of `data`. */
  rows?: ColumnData[];
  /** TNULLn for integer columns. */
  nullValue?: number;
}

export interface FitsTable {
  nrows: number;
  columns: FitsColumn[];
  /** The column with this TTYPE (case-insensitive), or undefined. */
  column(name: string): FitsColumn | undefined;
}

/** Random-groups data (UVFITS): per-group parameters and a data array per group. */
export interface RandomGroups {
  gcount: number;
  /** PTYPEn names in order (duplicates kept, e.g. DATE twice in UVFITS). */
  paramNames: string[];
  /** Parameters with PSCALn/PZEROn applied: params[p][g]. */
  params: Float64Array[];
  /** The sum of the parameters with this name (UVFITS splits DATE over two), or undefined. */
  par(name: string): Float64Array | undefined;
  /** Shape of one group's data, FITS order [NAXIS2, NAXIS3, …]. */
  groupShape: number[];
  /** All groups' data, group after group, physical values. */
  data: Float64Array | Float32Array;
}

export type ChecksumStatus = 'ok' | 'mismatch' | 'absent';
