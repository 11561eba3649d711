/** skyscore clean and skyscore info on real UVFITS files, end to end: products read back, headers, bad input. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCliAsync } from '../helpers/cli.js';
import { main } from '../../src-main/cli/main.js';
import { dataPath } from '../helpers/data.js';
import { readFitsImage, writeFits } from '../../src-shared/fits/index.js';
import { fitBeam, restore, type RestoringBeam } from '../../src-shared/radio/clean.js';
import { beamFromAxes } from '../../src-shared/radio/clean.js';
import { ARCSEC } from '../../src-shared/radio/grid.js';

/** Runs the CLI in this process (fast for the refusals, which fail before any work). */
async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const wo = process.stdout.write.bind(process.stdout);
  const we = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((x: string | Uint8Array) => {
    stdout += String(x);
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((x: string | Uint8Array) => {
    stderr += String(x);
    return true;
  }) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    process.stdout.write = wo;
    process.stderr.write = we;
  }
}

let dir = '';
const p = (f: string): string => path.join(dir, f);
const read = (f: string) => readFitsImage(new Uint8Array(readFileSync(f)));
const VLBA = () => dataPath('uvfits', 'vlba43_BLLAC_2013may30.uvfits');

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-radio-'));
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('skyscore clean', () => {
  it('CLEANs the real VLBA BL Lac data and writes the five products with WCS, beam and units', async () => {
    const r = await runCliAsync(['clean', '--vis', VLBA(), '--out', p('bl'), '--size', '128', '--cell', '0.00004', '--niter', '300', '--hogbom', '--weighting', 'uniform'], {
      timeoutMs: 300_000,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/2462 I visibilities \(\(RR\+LL\)\/2\), 0 flagged/);
    expect(r.stdout).toMatch(/hogbom: 300 iterations/);
    const names = ['dirty', 'psf', 'model', 'residual', 'image'];
    const img = Object.fromEntries(names.map((n) => [n, read(p(`bl-${n}.fits`))]));
    for (const n of names) {
      const h = img[n].header;
      expect(img[n].shape).toEqual([128, 128, 1, 1]);
      expect(h.get('CTYPE1')).toBe('RA---SIN');
      expect(h.get('CTYPE2')).toBe('DEC--SIN');
      expect(h.get('CDELT1')).toBeCloseTo(-0.00004 / 3600, 15);
      expect(h.get('CDELT2')).toBeCloseTo(0.00004 / 3600, 15);
      expect(h.get('CRPIX1')).toBe(65);
      expect(h.get('CRVAL1')).toBeCloseTo(330.680380712, 9);
      expect(h.get('CRVAL2')).toBeCloseTo(42.2777721861, 9);
      expect(h.get('CTYPE3')).toBe('FREQ');
      expect(h.get('CRVAL3')).toBeCloseTo(43135875000, -2);
      expect(h.get('CRVAL4')).toBe(1);
      expect(h.get('BUNIT')).toBe(n === 'model' ? 'JY/PIXEL' : 'JY/BEAM');
      expect(h.get('OBJECT')).toBe('BLLAC');
    }
    // the beam written is the one fitted to the psf written
    const grid = { nx: 128, ny: 128, cell: 0.00004 * ARCSEC };
    const fit = fitBeam(Float64Array.from(img.psf.data), grid);
    const bmaj = img.image.header.getNumber('BMAJ')!;
    expect(bmaj).toBeCloseTo(fit.bmaj, 8);
    expect(img.image.header.getNumber('BMIN')).toBeCloseTo(fit.bmin, 8);
    expect(img.image.header.getNumber('BPA')).toBeCloseTo(fit.bpa, 4);
    expect(bmaj * 3.6e6).toBeGreaterThan(0.1); // mas: VLBA at 43 GHz
    expect(bmaj * 3.6e6).toBeLessThan(1);
    expect(img.psf.data[64 * 128 + 64]).toBeCloseTo(1, 6);
    // image = model ⊛ beam + residual
    const beam: RestoringBeam = beamFromAxes(bmaj, img.image.header.getNumber('BMIN')!, img.image.header.getNumber('BPA')!, grid.cell);
    const want = restore(Float64Array.from(img.model.data), Float64Array.from(img.residual.data), beam, grid);
    let err = 0;
    let peak = 0;
    for (let i = 0; i < want.length; i++) {
      err = Math.max(err, Math.abs(want[i] - img.image.data[i]));
      peak = Math.max(peak, Math.abs(want[i]));
    }
    expect(err / peak).toBeLessThan(1e-5);
    // CLEAN took flux out of the residual: the residual's peak is far below the dirty image's
    let dmax = 0;
    let rmax = 0;
    for (let i = 0; i < want.length; i++) {
      dmax = Math.max(dmax, Math.abs(img.dirty.data[i]));
      rmax = Math.max(rmax, Math.abs(img.residual.data[i]));
    }
    expect(rmax).toBeLessThan(0.2 * dmax);
    expect(dmax).toBeGreaterThan(1); // BL Lac: Jy-level core
  });

  it('--niter 0 writes the dirty image and beam only; a mask of the wrong size is refused', async () => {
    const r = await runCliAsync(['clean', '--vis', VLBA(), '--out', p('d0'), '--size', '64', '--cell', '0.00005', '--niter', '0', '--weighting', 'briggs', '--robust', '0.5']);
    expect(r.code).toBe(0);
    expect(existsSync(p('d0-dirty.fits'))).toBe(true);
    expect(existsSync(p('d0-psf.fits'))).toBe(true);
    expect(existsSync(p('d0-model.fits'))).toBe(false);
    expect(existsSync(p('d0-image.fits'))).toBe(false);
    writeFileSync(p('mask.fits'), writeFits([{ data: new Float32Array(32 * 32).fill(1), shape: [32, 32] }]));
    const m = await run(['clean', '--vis', VLBA(), '--out', p('m'), '--size', '64', '--cell', '0.00005', '--mask', p('mask.fits')]);
    expect(m.code).toBe(2);
    expect(m.stderr).toMatch(/the mask .* is 32×32 but the image is 64×64/);
  });

  it('refuses a Measurement Set with the CASA export command, all-flagged data and bad flags (exit 2)', async () => {
    mkdirSync(p('obs.ms'));
    writeFileSync(p('obs.ms/table.dat'), new Uint8Array([0xbe, 0xbe, 0xbe, 0xbe]));
    const ms = await run(['clean', '--vis', p('obs.ms'), '--out', p('x')]);
    expect(ms.code).toBe(2);
    expect(ms.stderr).toContain(`exportuvfits(vis='${p('obs.ms')}', fitsfile='${p('obs.uvfits')}', datacolumn='corrected')`);
    const mwa = await run(['clean', '--vis', dataPath('uvfits', 'mwa_1133866760_uvceti.uvfits'), '--out', p('x')]);
    expect(mwa.code).toBe(2);
    expect(mwa.stderr).toMatch(/nothing to image: every I cross-correlation is flagged \(60060 with weight ≤ 0\).*unflag the data/);
    const paper = await run(['clean', '--vis', dataPath('uvfits', 'paper_zen.2456865.60537.xy.uvcRREAAM.uvfits'), '--out', p('x'), '--stokes', 'I']);
    expect(paper.code).toBe(2);
    expect(paper.stderr).toMatch(/Stokes I needs a parallel-hand correlation/);
    for (const bad of [['--robust', '3', '--weighting', 'briggs'], ['--gain', '0'], ['--weighting', 'super'], ['--hogbom', '--cotton-schwab']]) {
      const r = await run(['clean', '--vis', VLBA(), '--out', p('x'), ...bad]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^skyscore: clean: /);
    }
  });
});

describe('skyscore info FILE.uvfits', () => {
  it('summarises the HERA simulation (text and --json)', async () => {
    const f = dataPath('uvfits', 'hera_sim_fewant_randsrc100.uvfits');
    const t = await runCliAsync(['info', f]);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/telescope\s+HERA/);
    expect(t.stdout).toMatch(/antennas\s+12 \(HH0 HH1/);
    expect(t.stdout).toMatch(/channels 102 per IF, 100\.0488 MHz … 109\.9121 MHz/);
    expect(t.stdout).toMatch(/visibilities\s+26928 used, 0 flagged/);
    expect(t.stdout).toMatch(/note: Stokes I from XX alone/);
    const j = await runCliAsync(['info', f, '--json']);
    const o = JSON.parse(j.stdout) as { uvfits: { baselines: number; nChan: number; visibilities: number; uvMax: number; stokes: string[] } };
    expect(o.uvfits.baselines).toBe(66);
    expect(o.uvfits.nChan).toBe(102);
    expect(o.uvfits.stokes).toEqual(['XX']);
    expect(o.uvfits.uvMax).toBeCloseTo(21.42085455812906, 8);
  });

  it('reports PAPER\'s XY-only data as XY, and refuses a Measurement Set directory', async () => {
    const t = await runCliAsync(['info', dataPath('uvfits', 'paper_zen.2456865.60537.xy.uvcRREAAM.uvfits')]);
    expect(t.code).toBe(0);
    expect(t.stdout).toMatch(/Stokes\s+XY; imaged product XY/);
    mkdirSync(p('b.ms'), { recursive: true });
    writeFileSync(p('b.ms/table.dat'), 'x');
    const ms = await run(['info', p('b.ms')]);
    expect(ms.code).toBe(2);
    expect(ms.stderr).toMatch(/CASA Measurement Set .* exportuvfits\(vis=/);
  });

  it('--source on info and clean: a single-source file takes its own name and refuses another (multi-source files: radio-uvfits.test.ts)', async () => {
    const ok = await runCliAsync(['info', VLBA(), '--source', 'bllac']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/source\s+BLLAC/);
    const bad = await run(['info', VLBA(), '--source', 'M87']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no source 'M87': a single-source file \(OBJECT BLLAC\)/);
    const c = await run(['clean', '--vis', VLBA(), '--out', p('src'), '--niter', '0', '--size', '64', '--source', 'M87']);
    expect(c.code).toBe(2);
    expect(c.stderr).toMatch(/no source 'M87'/);
  });
});
