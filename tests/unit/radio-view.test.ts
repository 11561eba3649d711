/**
 * The Visibilities view's arithmetic: sky positions rounded once (no 60 s), the scatter plot's ranges (the
 * conjugates included, symmetric and square for the uv plane), zoom about a point, pixel ↔ data, wavelength units,
 * which files go to the view, and the self-calibration the form asks for (the command line's flags and defaults).
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { hms, fmtAngle, fmtJy } from '../../src-renderer/src/radio/format';
import { dataRange, pixelToData, plotBox, squareRange, uvUnit, zoomRange, MARGIN } from '../../src-renderer/src/radio/scatter';
import { choosePosteriorPrior, isVisibilityFile, selfcalSettings } from '../../src-renderer/src/radio/actions';
import { DEFAULT_FORM } from '../../src-renderer/src/radio/state';
import { selfcalFlags } from '../../src-shared/radio/selfcal';
import type { PriorInfo } from '../../src-shared/protocol/index';
import { dataPath } from '../helpers/data.js';

describe('format', () => {
  it('writes RA and Dec rounded once', () => {
    expect(hms(330.680380708, true)).toBe('22h02m43.291s');
    expect(hms(42.277772, false)).toBe('+42°16′39.98″');
    // seconds that round up carry into the minutes
    expect(hms((1 + 38 / 60 + 59.99996 / 3600) * 15, true)).toBe('01h39m00.000s');
    expect(hms(-(17 + 56 / 60 + 59.998 / 3600), false)).toBe('−17°57′00.00″');
    expect(hms(0, true)).toBe('00h00m00.000s');
    expect(fmtAngle(0.371 / 3.6e6)).toBe('0.371 mas');
    expect(fmtAngle(2 / 3600)).toBe('2″');
    expect(fmtJy(0.00044)).toBe('440 µJy');
    expect(fmtJy(5.8)).toBe('5.8 Jy');
  });
});

describe('scatter', () => {
  const s = { x: Float32Array.from([1, 2, -3]), y: Float32Array.from([0.5, 4, 1]), color: '', label: '' };
  it('covers the points and their conjugates; symmetric for the uv plane', () => {
    const r = dataRange([{ ...s, mirror: true }], { symmetric: true });
    expect(r.x1).toBeCloseTo(4 * 1.05, 6);
    expect(r.x0).toBeCloseTo(-4 * 1.05, 6);
    expect(r.y0).toBeCloseTo(-4 * 1.05, 6);
    const a = dataRange([s], { yFromZero: true });
    expect(a.y0).toBe(0);
    expect(a.y1).toBeGreaterThan(4);
    expect(a.x0).toBe(-3); // from min(0, x): uv distances start at 0
    expect(dataRange([])).toEqual({ x0: 0, x1: 1, y0: 0, y1: 1 });
  });

  it('square boxes and ranges, zoom about a point, pixels to data and back', () => {
    const b = plotBox(600, 400, true);
    expect(b.pw).toBe(b.ph);
    expect(b.ph).toBe(400 - MARGIN.top - MARGIN.bottom);
    expect(squareRange({ x0: 0, x1: 2, y0: 0, y1: 1 })).toEqual({ x0: 0, x1: 2, y0: -0.5, y1: 1.5 });
    const z = zoomRange({ x0: -10, x1: 10, y0: -10, y1: 10 }, 5, 0, 0.5);
    expect(z).toEqual({ x0: -2.5, x1: 7.5, y0: -5, y1: 5 });
    const r = { x0: -10, x1: 10, y0: -10, y1: 10 };
    // the box's centre is the range's centre, its top-left corner (x0, y1)
    expect(pixelToData(b.left + b.pw / 2, b.top + b.ph / 2, 600, 400, r, true)).toEqual({ x: 0, y: 0 });
    const c = pixelToData(b.left, b.top, 600, 400, r, true);
    expect(c.x).toBeCloseTo(-10, 12);
    expect(c.y).toBeCloseTo(10, 12);
  });

  it('chooses λ, kλ or Mλ', () => {
    expect(uvUnit(1.239e9)).toEqual({ scale: 1e6, label: 'Mλ' });
    expect(uvUnit(3.2e5)).toEqual({ scale: 1e3, label: 'kλ' });
    expect(uvUnit(500)).toEqual({ scale: 1, label: 'λ' });
  });
});

describe('isVisibilityFile', () => {
  it('knows UVFITS by name or by its random groups, and CASA tables; FITS images stay with the viewer', () => {
    const vlba = new Uint8Array(readFileSync(dataPath('uvfits', 'vlba43_BLLAC_2013may30.uvfits')));
    expect(isVisibilityFile('x.uvfits', new Uint8Array(0))).toBe(true);
    expect(isVisibilityFile('renamed.fits', vlba)).toBe(true);
    expect(isVisibilityFile('obs.ms/table.dat', new Uint8Array(8))).toBe(true);
    expect(isVisibilityFile('t', new Uint8Array(8).fill(0xbe))).toBe(true);
    const m31 = new Uint8Array(readFileSync(dataPath('radio', 'purify_M31.fits')));
    expect(isVisibilityFile('m31.fits', m31)).toBe(false);
    expect(isVisibilityFile('notes.txt', new TextEncoder().encode('not FITS'))).toBe(false);
  });

  it('sends random groups to the Visibilities view only with the UVFITS random parameters and a COMPLEX axis', () => {
    const read = (f: string) => new Uint8Array(readFileSync(dataPath('fits', f)));
    // random groups with UU, VV, WW, BASELINE, DATE and a COMPLEX axis: UVFITS whatever the name
    expect(isVisibilityFile('random_groups.fits', read('random_groups.fits'))).toBe(true);
    // random groups with parameters 'abc', 'xyz' and no COMPLEX axis; random groups with no data at all
    expect(isVisibilityFile('group.fits', read('group.fits'))).toBe(false);
    expect(isVisibilityFile('group_invalid.fits', read('group_invalid.fits'))).toBe(false);
    // the same header with UU and VV but no COMPLEX axis, and with COMPLEX but no VV
    const card = (s: string) => s.padEnd(80, ' ');
    const header = (cards: string[]) => new TextEncoder().encode([...cards, 'END'].map(card).join('').padEnd(2880, ' '));
    const base = ['SIMPLE  =                    T', 'BITPIX  =                  -32', 'NAXIS   =                    3', 'NAXIS1  =                    0', 'NAXIS2  =                    3', 'NAXIS3  =                    1', 'GROUPS  =                    T', 'PCOUNT  =                    2', 'GCOUNT  =                    1'];
    expect(isVisibilityFile('a.fits', header([...base, "PTYPE1  = 'UU---SIN'", "PTYPE2  = 'VV---SIN'", "CTYPE2  = 'STOKES  '"]))).toBe(false);
    expect(isVisibilityFile('b.fits', header([...base, "PTYPE1  = 'UU---SIN'", "PTYPE2  = 'WW---SIN'", "CTYPE2  = 'COMPLEX '"]))).toBe(false);
    expect(isVisibilityFile('c.fits', header([...base, "PTYPE1  = 'UU---SIN'", "PTYPE2  = 'VV---SIN'", "CTYPE2  = 'COMPLEX '"]))).toBe(true);
    // a .uvfits name goes to the view (which then says what is wrong with the file)
    expect(isVisibilityFile('group.uvfits', read('group.fits'))).toBe(true);
  });
});

describe('the posterior prior', () => {
  const prior = (name: string, size: number, source: 'shipped' | 'user' = 'shipped', kind = 'unet'): PriorInfo => ({
    spec: `${source}/${name}`,
    name,
    kind,
    source,
    imageShape: [size, size],
    sigmaMin: 0.01,
    sigmaMax: 30,
    card: '',
    facts: {},
  });
  const list = [prior('galaxy-64', 64), prior('galaxy-gaussian-64', 64, 'shipped', 'gaussian-field'), prior('radio-64', 64), prior('mine-128', 128, 'user'), prior('ring', 2, 'shipped', 'analytic')];
  it('defaults to the shipped radio prior, follows the image size, and keeps a listed choice', () => {
    expect(choosePosteriorPrior(list, null, 64)).toBe('shipped/radio-64');
    expect(choosePosteriorPrior(list, null, 128)).toBe('user/mine-128');
    // no prior made for the size: the radio prior among all
    expect(choosePosteriorPrior(list, null, 256)).toBe('shipped/radio-64');
    expect(choosePosteriorPrior(list, 'shipped/galaxy-64', 64)).toBe('shipped/galaxy-64');
    // a choice that is not listed (or an analytic density) falls back to the default
    expect(choosePosteriorPrior(list, 'shipped/gone', 64)).toBe('shipped/radio-64');
    expect(choosePosteriorPrior(list, 'shipped/ring', 64)).toBe('shipped/radio-64');
    // without the radio prior: the first prior of the size, as before
    expect(choosePosteriorPrior(list.filter((p) => p.name !== 'radio-64'), null, 64)).toBe('shipped/galaxy-64');
    // a user's prior of the same name is not the shipped one
    expect(choosePosteriorPrior([prior('galaxy-64', 64), prior('radio-64', 64, 'user')], null, 64)).toBe('shipped/galaxy-64');
    expect(choosePosteriorPrior([prior('ring', 2, 'shipped', 'analytic')], null, 64)).toBeNull();
  });
});

describe('self-calibration settings', () => {
  it("defaults to none; chosen, gives the command line's defaults and the form's values as its flags", () => {
    expect(DEFAULT_FORM.selfcal).toBe('none');
    expect(selfcalSettings(DEFAULT_FORM)).toBeUndefined();
    const p = selfcalSettings({ ...DEFAULT_FORM, selfcal: 'p' })!;
    expect(selfcalFlags(p)).toBe('--selfcal p --selfcal-rounds 3 --solint 0 --selfcal-start auto');
    const ap = selfcalSettings({ ...DEFAULT_FORM, selfcal: 'ap', selfcalRounds: 7, solint: 60, selfcalStart: 'clean' })!;
    expect(selfcalFlags(ap)).toBe('--selfcal ap --selfcal-rounds 7 --solint 60 --selfcal-start clean');
  });
});
