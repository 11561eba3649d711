/**
 * The viewer's protocol: open a FITS file in the engine (which keeps it by id) and fetch one image plane with
 * its header and display statistics. Composed into `Methods` / `methodParams` in ./index.ts.
 */
import { obj, num, str, bytes, optional, type Validator } from './validate.js';
import type { ImageStats } from '../image/stats.js';

/** One HDU of an opened file, as the HDU chooser shows it. */
export interface HduSummary {
  index: number;
  kind: string;
  /** EXTNAME, or null. */
  name: string | null;
  bitpix: number;
  /** FITS axis order [NAXIS1, NAXIS2, …]. */
  shape: number[];
  /** Whether it holds image pixels that can be shown. */
  hasImage: boolean;
  /** Planes of a cube: the product of NAXIS3.. (1 for a plain image). */
  planes: number;
  /** CTYPE3 (e.g. 'FREQ', 'VELO-LSR') and the world value of each plane along axis 3, where the header says. */
  planeAxis: { ctype: string; unit: string; values: number[] } | null;
  /** A short description: "image 300 × 300, float32", "BINTABLE 12 rows", … */
  summary: string;
}

export interface FitsOpenResult {
  fileId: string;
  name: string;
  /** Size of the file as given (compressed size for .gz). */
  bytes: number;
  hdus: HduSummary[];
  /** The first HDU with pixels, or −1 when there is none. */
  defaultHdu: number;
  warnings: string[];
}

/** Display statistics of a plane (computed in the engine on every finite pixel). */
export type PlaneStats = ImageStats;

export interface FitsPlaneResult {
  fileId: string;
  hdu: number;
  /** 0-based plane index over axes 3.. (row-major over NAXIS3, NAXIS4, …, NAXIS3 fastest). */
  plane: number;
  width: number;
  height: number;
  /** Physical values, row-major, x fastest, row 0 = FITS row 1 (the bottom). */
  data: Float32Array;
  /** The HDU header as 80-character card images, concatenated (for the header viewer and the WCS). */
  header: string;
  bunit: string | null;
  stats: PlaneStats;
  warnings: string[];
}

export interface FitsMethods {
  'fits.open': { params: { name: string; bytes: Uint8Array }; result: FitsOpenResult };
  'fits.plane': { params: { fileId: string; hdu: number; plane?: number }; result: FitsPlaneResult };
  'fits.close': { params: { fileId: string }; result: { closed: boolean } };
}

const fileId = str({ max: 64, pattern: /^[A-Za-z0-9_-]+$/ });

export const fitsMethodParams: { [M in keyof FitsMethods]: Validator<FitsMethods[M]['params']> } = {
  'fits.open': obj({ name: str({ max: 512 }), bytes }),
  'fits.plane': obj({ fileId, hdu: num({ integer: true, min: 0, max: 100_000 }), plane: optional(num({ integer: true, min: 0, max: 2 ** 31 })) }),
  'fits.close': obj({ fileId }),
};


