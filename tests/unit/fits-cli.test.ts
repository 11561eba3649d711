/**
 * `skyscore info` and `skyscore convert` (run in-process through the CLI's main): the JSON contract, exit codes,
 * one `skyscore:` line naming the file for bad input, and round trips through convert.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { main } from '../../src-main/cli/main.js';
import { readFits } from '../../src-shared/fits/index.js';
import { celestialWcs } from '../../src-shared/wcs/index.js';
import { corpus, filePath, close } from './fits-expected.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const wo = process.stdout.write.bind(process.stdout);
  const we = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string | Uint8Array) => {
    out += String(s);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => {
    err += String(s);
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, out, err };
  } finally {
    process.stdout.write = wo;
    process.stderr.write = we;
  }
}

const tmp = mkdtempSync(path.join(tmpdir(), 'skyscore-fits-cli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function bytesOf(p: string): Uint8Array {
  const b = readFileSync(p);
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

describe('skyscore info --json', () => {
  const files = corpus().filter((f) => !f.error && !['fits/verify.fits', 'fits/group_invalid.fits'].includes(f.file) && !f.file.startsWith('train/'));
  for (const f of files) {
    it(f.file, async () => {
      const r = await run(['info', filePath(f.file), '--json']);
      expect(r.code, r.err).toBe(0);
      expect(r.out.trim().split('\n')).toHaveLength(1);
      const j = JSON.parse(r.out) as { file: string; hdus: Array<Record<string, unknown>> };
      // a visibility file adds its summary (docs/radio.md) after the HDUs
      expect(Object.keys(j)).toEqual(f.file.endsWith('.uvfits') ? ['file', 'hdus', 'uvfits', 'thermal'] : ['file', 'hdus']);
      expect(j.file).toBe(filePath(f.file));
      expect(j.hdus.length).toBe(f.hdus!.length);
      j.hdus.forEach((h, i) => {
        const w = f.hdus![i];
        expect(Object.keys(h)).toEqual(['index', 'kind', 'name', 'bitpix', 'shape', 'header', 'stats']);
        expect([h.index, h.kind, h.name, h.bitpix, h.shape]).toEqual([i, w.kind, w.name, w.bitpix, w.shape]);
        const header = h.header as Record<string, unknown>;
        for (const [k] of w.cards) expect(k in header, `${f.file}[${i}] header has ${k}`).toBe(true);
        if (w.stats === null) {
          expect(h.stats).toBeNull();
        } else {
          const s = h.stats as { min: number | null; max: number | null; mean: number | null; nan: number };
          expect(s.nan).toBe(w.stats.nan);
          for (const k of ['min', 'max', 'mean'] as const) {
            if (w.stats[k] === null) expect(s[k]).toBeNull();
            else expect(close(s[k]!, w.stats[k]!, 1e-6), `${f.file}[${i}] ${k}`).toBe(true);
          }
        }
      });
    });
  }
  it('text output lists the HDUs', async () => {
    const r = await run(['info', filePath('fits/test0.fits')]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/5 HDUs/);
    expect(r.out).toMatch(/image +SCI +BITPIX +16 +40 × 40/);
  });
});

describe('bad input: exit 2 and one skyscore: line naming the file', () => {
  const cases: Array<[string, () => string, RegExp]> = [
    ['verify.fits (keywords out of order)', () => filePath('fits/verify.fits'), /mandatory keywords out of order/],
    ['group_invalid.fits (random groups without axes)', () => filePath('fits/group_invalid.fits'), /random groups/],
    ['lzw.fits.Z (Unix compress)', () => filePath('fits/lzw.fits.Z'), /Unix compress/],
    [
      'a truncated file',
      () => {
        const p = path.join(tmp, 'trunc.fits');
        writeFileSync(p, bytesOf(filePath('fits/m13.fits')).slice(0, 100_000));
        return p;
      },
      /truncated/,
    ],
    [
      'garbage bytes',
      () => {
        const p = path.join(tmp, 'garbage.fits');
        writeFileSync(p, new Uint8Array(5000).map((_, i) => (i * 7919) % 251));
        return p;
      },
      /not a FITS file/,
    ],
    [
      'absurd NAXIS1',
      () => {
        const b = bytesOf(filePath('fits/testF.fits')).slice();
        const t = new TextDecoder('latin1').decode(b);
        const at = t.indexOf('NAXIS1  =');
        const card = 'NAXIS1  =           9999999999';
        for (let i = 0; i < card.length; i++) b[at + i] = card.charCodeAt(i);
        const p = path.join(tmp, 'absurd.fits');
        writeFileSync(p, b);
        return p;
      },
      /truncated|absurd/,
    ],
    ['a missing file', () => path.join(tmp, 'nope.fits'), /no such file/],
  ];
  for (const [label, make, why] of cases) {
    it(label, async () => {
      const p = make();
      for (const args of [['info', p], ['info', p, '--json'], ['convert', p, path.join(tmp, 'never.fits')]]) {
        const r = await run(args);
        expect(r.code, `${args.join(' ')}: ${r.err}`).toBe(2);
        expect(r.out).toBe('');
        const lines = r.err.trim().split('\n');
        expect(lines, r.err).toHaveLength(1);
        expect(lines[0].startsWith(`skyscore: ${p}: `) || lines[0].startsWith('skyscore: ') && lines[0].includes(p), lines[0]).toBe(true);
        expect(lines[0]).toMatch(why);
      }
      expect(readdirSync(tmp).some((f) => f.includes('never'))).toBe(false);
    });
  }
  it('info --lenient reads what astropy reads, with a warning', async () => {
    const r = await run(['info', filePath('fits/verify.fits'), '--lenient', '--json']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/^skyscore: warning: .*verify\.fits: HDU 0: mandatory keywords out of order/);
    expect(JSON.parse(r.out).hdus[0].kind).toBe('primary');
  });
  it('checksum mismatches are warnings', async () => {
    const r = await run(['info', filePath('fits/checksum_false.fits')]);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/HDU 1: CHECKSUM does not match/);
  });
  it('usage errors name the flag', async () => {
    const p = filePath('fits/testF.fits');
    expect((await run(['convert', p, path.join(tmp, 'x.fits'), '--bitpix', '12'])).err).toMatch(/^skyscore: convert: --bitpix must be one of/);
    expect((await run(['convert', p, path.join(tmp, 'x.fits'), '--hdu', '3'])).err).toMatch(/has no HDU 3/);
    expect((await run(['convert', p, p])).err).toMatch(/OUT must differ from IN/);
    expect((await run(['convert', filePath('fits/btable.fits'), path.join(tmp, 'x.fits'), '--hdu', '1'])).err).toMatch(/btable\.fits: HDU 1 \(bintable.*no image pixels/);
    expect((await run(['info'])).code).toBe(2);
  });
});

describe('skyscore convert round trips', () => {
  const images: Array<{ file: string; hdu: number }> = [];
  for (const f of corpus()) {
    if (f.error || f.file.startsWith('train/') || ['fits/verify.fits', 'fits/group_invalid.fits'].includes(f.file)) continue;
    for (const h of f.hdus!) if (h.stats) images.push({ file: f.file, hdu: h.index });
  }
  for (const { file, hdu } of images) {
    it(`${file}[${hdu}]`, async () => {
      const out = path.join(tmp, `${path.basename(file)}-${hdu}.fits`);
      const r = await run(['convert', filePath(file), out, '--hdu', String(hdu)]);
      expect(r.code, r.err).toBe(0);
      const src = readFits(bytesOf(filePath(file))).hdus[hdu];
      const dst = readFits(bytesOf(out));
      expect(dst.warnings).toEqual([]);
      expect(dst.hdus.length).toBe(1);
      expect(dst.hdus[0].verifyChecksum()).toEqual({ checksum: 'ok', datasum: 'ok' });
      const a = src.readImage();
      const b = dst.hdus[0].readImage();
      expect(b.shape).toEqual(a.shape);
      expect(b.bitpix).toBe(a.bitpix);
      let diff = 0;
      for (let i = 0; i < a.data.length; i++) if (!(a.data[i] === b.data[i] || (Number.isNaN(a.data[i]) && Number.isNaN(b.data[i])))) diff++;
      expect(diff, 'pixels that differ').toBe(0);
      // every card of the source is still there with its value
      const keys = new Set(dst.hdus[0].header.keys());
      for (const c of src.header.cards) {
        // structural and scaling cards are rewritten for the new file (INHERIT is meaningless in a primary HDU)
        if (/^(SIMPLE|XTENSION|PCOUNT|GCOUNT|CHECKSUM|DATASUM|ZDITHER0|ZQUANTIZ|EXTEND|INHERIT|BSCALE|BZERO|BLANK)$/.test(c.key)) continue;
        expect(keys.has(c.key), `${c.key} kept`).toBe(true);
        if (c.value !== undefined) expect(dst.hdus[0].header.get(c.key)).toEqual(src.header.get(c.key));
      }
      const w = celestialWcs(src.header);
      if (w) expect(celestialWcs(dst.hdus[0].header)!.pixelToWorld(10, 20)).toEqual(w.pixelToWorld(10, 20));
      // converting the output again changes nothing in the data
      const out2 = path.join(tmp, `${path.basename(file)}-${hdu}-again.fits`);
      expect((await run(['convert', out, out2])).code).toBe(0);
      const again = readFits(bytesOf(out2)).hdus[0];
      const x = (again.readRawImage() ?? again.readImage()).data;
      const y = (dst.hdus[0].readRawImage() ?? b).data;
      expect(x.constructor).toBe(y.constructor);
      expect(Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength)), 'second conversion bit-identical').toBe(true);
    });
  }
  it('--bitpix changes the type: -64 exact, 16 scaled with a warning', async () => {
    const src = filePath('fits/galsim_sipsample_spitzer_irac.fits');
    const o64 = path.join(tmp, 'g64.fits');
    expect((await run(['convert', src, o64, '--bitpix', '-64'])).code).toBe(0);
    const a = readFits(bytesOf(src)).hdus[0].readImage().data;
    const b = readFits(bytesOf(o64)).hdus[0].readImage().data;
    expect(b.length).toBe(a.length);
    let diff = 0;
    for (let i = 0; i < a.length; i++) if (!(Number.isNaN(a[i]) ? Number.isNaN(b[i]) : a[i] === b[i])) diff++;
    expect(diff).toBe(0);
    const o16 = path.join(tmp, 'g16.fits');
    const r = await run(['convert', src, o16, '--bitpix', '16']);
    expect(r.code).toBe(0);
    expect(r.err).toMatch(/scaled linearly/);
    const h = readFits(bytesOf(o16)).hdus[0];
    expect(h.bitpix).toBe(16);
    const c = h.readImage().data;
    const bscale = h.header.get('BSCALE') as number;
    let worst = 0;
    let nanOk = true;
    for (let i = 0; i < a.length; i++) {
      if (Number.isNaN(a[i])) nanOk &&= Number.isNaN(c[i]);
      else worst = Math.max(worst, Math.abs(c[i] - a[i]) - 1e-6 * Math.abs(a[i]));
    }
    expect(nanOk).toBe(true);
    expect(worst).toBeLessThanOrEqual(bscale / 2);
  });
});
