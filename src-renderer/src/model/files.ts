/**
 * The plain (non-reactive) cache of the user's file bytes: the observation and the forward model's auxiliary
 * files (PSF, mask, σ map, station table). The store holds their names, sizes and hashes; the bytes live here,
 * so an engine restart loses nothing: every request carries what it needs.
 */
import { readFits, type FitsFile, type FitsHdu } from '../../../src-shared/fits/index';
import { decodePixels } from '../../../src-shared/fits/image';

export interface StoredFile {
  name: string;
  bytes: Uint8Array;
  sha256: string;
}

const aux = new Map<string, StoredFile>();
let obs: StoredFile | null = null;
let obsPlane: { key: string; data: Float32Array; shape: [number, number] } | null = null;
let obsFits: { sha: string; file: FitsFile } | null = null;

export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  // a view of an ArrayBuffer is hashed as it is (a copy only for a shared buffer, which WebCrypto refuses)
  const src = bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
  const d = await crypto.subtle.digest('SHA-256', src);
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, '0')).join('');
}

export async function storeAux(name: string, bytes: Uint8Array): Promise<StoredFile> {
  const f = { name, bytes, sha256: await sha256Hex(bytes) };
  aux.set(name, f);
  return f;
}

export function getAux(name: string): StoredFile | undefined {
  return aux.get(name);
}

export function removeAux(name: string): void {
  aux.delete(name);
}

/** The files a request needs, by the names the model uses (missing ones are skipped: the engine names them). */
export function auxFiles(names: readonly string[]): { name: string; bytes: Uint8Array }[] {
  const out: { name: string; bytes: Uint8Array }[] = [];
  for (const n of names) {
    const f = aux.get(n);
    if (f) out.push({ name: f.name, bytes: f.bytes });
  }
  return out;
}

/** Makes these bytes the observation; `sha256`: their hash where it is known already (hashing 64 MB takes a while). */
export async function storeObs(name: string, bytes: Uint8Array, sha256?: string): Promise<StoredFile> {
  obs = { name, bytes, sha256: sha256 ?? (await sha256Hex(bytes)) };
  obsPlane = null;
  obsFits = null;
  return obs;
}

export function getObs(): StoredFile | null {
  return obs;
}

export function clearFiles(): void {
  aux.clear();
  obs = null;
  obsPlane = null;
  obsFits = null;
}

/** The observation parsed (headers only until an image is read); cached per file. */
export function obsFitsFile(): FitsFile | null {
  if (!obs) return null;
  if (obsFits?.sha !== obs.sha256) obsFits = { sha: obs.sha256, file: readFits(obs.bytes, { name: obs.name }) };
  return obsFits.file;
}

/** Shape [ny, nx] and number of planes of an image HDU with FITS-order shape [NAXIS1, NAXIS2, …]. */
export function planeGeometry(fitsShape: readonly number[]): { shape: [number, number]; planes: number } | null {
  if (fitsShape.length < 2) return null;
  const nx = fitsShape[0]!;
  const ny = fitsShape[1]!;
  let planes = 1;
  for (let k = 2; k < fitsShape.length; k++) planes *= fitsShape[k]!;
  if (!(nx > 0 && ny > 0 && planes > 0)) return null;
  return { shape: [ny, nx], planes };
}

/** Largest image the renderer decodes itself for its small canvases (bigger ones are drawn by the viewer only). */
export const MAX_LOCAL_PIXELS = 2048 * 2048;

/** The pixels of one plane of the observation (float32, [ny, nx] row-major), decoded once and cached. */
export function obsPlanePixels(hdu: number, plane: number): { data: Float32Array; shape: [number, number] } | null {
  if (!obs) return null;
  const key = `${obs.sha256}:${hdu}:${plane}`;
  if (obsPlane?.key === key) return obsPlane;
  const file = obsFitsFile();
  const h = file?.hdus[hdu];
  if (!h || !h.hasImage) return null;
  const geo = planeGeometry(h.shape);
  if (!geo || geo.shape[0] * geo.shape[1] > MAX_LOCAL_PIXELS) return null;
  const data = decodePlane(file!, h, plane, geo.shape[0] * geo.shape[1]);
  obsPlane = { key, data, shape: geo.shape };
  return obsPlane;
}

/**
 * One plane of an image HDU as float32. Uncompressed images decode only that plane's bytes (a plane of a
 * 2000-image cube costs one plane, not the cube); tile-compressed ones decode the whole image.
 */
export function decodePlane(file: FitsFile, h: FitsHdu, plane: number, n: number): Float32Array {
  const hd = h.header;
  if (h.kind === 'primary' || h.kind === 'image') {
    const bitpix = hd.getNumber('BITPIX')!;
    const blank = hd.getNumber('BLANK');
    const px = decodePixels(file.bytes, h.dataOffset + plane * n * (Math.abs(bitpix) / 8), n, bitpix, {
      bscale: hd.getNumber('BSCALE') ?? 1,
      bzero: hd.getNumber('BZERO') ?? 0,
      ...(blank !== undefined ? { blank } : {}),
    });
    return px instanceof Float32Array ? px : Float32Array.from(px);
  }
  const img = h.readImage();
  return Float32Array.from(img.data.subarray(plane * n, (plane + 1) * n));
}
