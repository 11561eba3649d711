/** FITS benchmarks: reading and writing a 4096×4096 float32 image, tile decompression, checksums, WCS. */
import { gzipSync } from 'fflate';
import type { Bench } from './types.js';
import { readFits, writeFits, onesSum, FitsHeader } from '../../src-shared/fits/index.js';
import { celestialWcs } from '../../src-shared/wcs/index.js';

const N = 4096;

function testImage(n: number): Float32Array {
  const d = new Float32Array(n * n);
  let s = 12345;
  for (let i = 0; i < d.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    d[i] = (s / 4294967296) * 1000 - 100;
  }
  return d;
}

function wcsHeader(): FitsHeader {
  return new FitsHeader()
    .set('CTYPE1', 'RA---TAN')
    .set('CTYPE2', 'DEC--TAN')
    .set('CRPIX1', N / 2)
    .set('CRPIX2', N / 2)
    .set('CRVAL1', 150.1)
    .set('CRVAL2', 2.2)
    .set('CD1_1', -7.3e-5)
    .set('CD1_2', 1.1e-6)
    .set('CD2_1', 1.2e-6)
    .set('CD2_2', 7.3e-5)
    .set('BUNIT', 'MJy/sr');
}

let lastCpu = 0;

/** Median of `reps` wall-clock timings (ms) of `fn`; `lastCpu` gets the median CPU time (user + system, ms), less sensitive to a busy machine. */
function time(fn: () => void, reps: number): number {
  const t: number[] = [];
  const c: number[] = [];
  for (let i = 0; i < reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn();
    t.push(performance.now() - t0);
    const dc = process.cpuUsage(c0);
    c.push((dc.user + dc.system) / 1000);
  }
  t.sort((a, b) => a - b);
  c.sort((a, b) => a - b);
  lastCpu = c[Math.floor(c.length / 2)];
  return t[Math.floor(t.length / 2)];
}

let cached: { data: Float32Array; bytes: Uint8Array } | undefined;
function fixture(): { data: Float32Array; bytes: Uint8Array } {
  if (!cached) {
    const data = testImage(N);
    cached = { data, bytes: writeFits([{ data, shape: [N, N], header: wcsHeader() }]) };
  }
  return cached;
}

export const benches: Bench[] = [
  {
    name: 'fits: read 4096×4096 float32',
    async run() {
      const { bytes } = fixture();
      let sum = 0;
      const ms = time(() => {
        const im = readFits(bytes).hdus[0].readImage();
        sum += im.data[12345];
      }, 5);
      if (!Number.isFinite(sum)) throw new Error('bad read');
      return { ms, 'cpu ms': lastCpu, 'MB/s': bytes.length / 1e6 / (ms / 1000), MB: bytes.length / 1e6 };
    },
  },
  {
    name: 'fits: write 4096×4096 float32 (+CHECKSUM)',
    async run() {
      const { data } = fixture();
      const h = wcsHeader();
      const ms = time(() => {
        writeFits([{ data, shape: [N, N], header: h }]);
      }, 5);
      const cpu = lastCpu;
      const msNoSum = time(() => {
        writeFits([{ data, shape: [N, N], header: h, checksum: false }]);
      }, 3);
      return { ms, 'cpu ms': cpu, 'ms without checksum': msNoSum, 'MB/s': (data.length * 4) / 1e6 / (ms / 1000) };
    },
  },
  {
    name: 'fits: read 4096×4096 float32 .gz',
    async run() {
      const { bytes } = fixture();
      const gz = gzipSync(bytes, { level: 1 });
      const ms = time(() => {
        readFits(gz).hdus[0].readImage();
      }, 1);
      return { ms, 'cpu ms': lastCpu, 'compressed MB': gz.length / 1e6 };
    },
  },
  {
    name: 'fits: 32-bit ones-complement checksum of 64 MB',
    async run() {
      const { bytes } = fixture();
      const ms = time(() => {
        onesSum(bytes);
      }, 5);
      return { ms, 'cpu ms': lastCpu, 'MB/s': bytes.length / 1e6 / (ms / 1000) };
    },
  },
  {
    name: 'wcs: TAN pixel→world→pixel, 1e6 points',
    async run() {
      const w = celestialWcs(wcsHeader())!;
      let worst = 0;
      const ms = time(() => {
        for (let i = 0; i < 1_000_000; i++) {
          const x = (i % 1000) * 4.1;
          const y = Math.floor(i / 1000) * 4.1;
          const [l, b] = w.pixelToWorld(x, y);
          const [px, py] = w.worldToPixel(l, b);
          worst = Math.max(worst, Math.abs(px - x), Math.abs(py - y));
        }
      }, 3);
      return { ms, 'cpu ms': lastCpu, 'Mpoints/s': 1 / (ms / 1000), 'round-trip error px': worst };
    },
  },
];
