/** The viewer's cursor read-out WCS (its adapter over src-shared/wcs) against astropy 5.2.1 (all_pix2world, origin 0) on the shared files. */
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { dataPath } from '../helpers/data.js';
import { readFits } from '../../src-shared/fits/reader.js';
import { celestialWcs, sexagesimal } from '../../src-renderer/src/viewer/wcs.js';

const header = (hdu: number, ...p: string[]) => readFits(new Uint8Array(readFileSync(dataPath(...p))), { strict: false }).hdus[hdu].header;
const PTS: [number, number][] = [[0, 0], [10.5, 20.25], [99, 37]];

// astropy 5.2.1: WCS(header).celestial.all_pix2world(PTS, 0)
const CASES: [string[], number, string, [number, number][]][] = [
  [['fits', 'm13.fits'], 0, 'TAN', [[250.4741920446058, 36.418672757408196], [250.47057200188837, 36.424297682288106], [250.44002972552622, 36.428957484174425]]],
  [['radio', 'purify_30dor_spitzer8um.fits'], 0, 'TAN', [[84.8954671164506, -69.17812991308976], [84.87763673701924, -69.16600068604814], [84.7283177831872, -69.15605261994838]]],
  [['fits', 'galsim_sipsample_spitzer_irac.fits'], 0, 'TAN-SIP', [[202.39314492778334, 47.177533522929046], [202.40368985767626, 47.174915474878034], [202.44167153830298, 47.19111496912174]]],
  [['fits', 'sip-wcs.fits'], 0, 'TAN-SIP', [[280.53791697041885, 0.11007538803043622], [280.5400346692834, 0.11291063623477096], [280.5539963216009, 0.11327500306568675]]],
  [['fits', 'test0.fits'], 2, 'TAN', [[215.59088951120967, -12.73358785015611], [215.59007120802545, -12.734565779407442], [215.59119093447117, -12.739425654300685]]],
  [['radio', 'purify_M31.fits'], 0, 'SIN', [[0.04304766489996727, 34.96471461780921], [0.039491317357445724, 34.97034082336569], [0.009492014571590912, 34.97499962906922]]],
  [['radio', 'purify_cluster.fits'], 0, 'SIN', [[0.008299055970758697, -23.00763867274706], [0.006937367834508406, -23.005221745657437], [359.99546160229903, -23.003222591605002]]],
];

describe('cursor read-out WCS', () => {
  for (const [path, hdu, proj, expected] of CASES) {
    it(`${path.join('/')}[${hdu}] (${proj}) matches astropy to 1e-9 deg`, () => {
      const { wcs, note } = celestialWcs(header(hdu, ...path));
      expect(note).toBeNull();
      expect(wcs!.projection).toBe(proj);
      PTS.forEach(([x, y], i) => {
        const [ra, dec] = wcs!.pixToWorld(x, y);
        expect(Math.abs(ra - expected[i][0]) * Math.cos((dec * Math.PI) / 180)).toBeLessThan(1e-9);
        expect(Math.abs(dec - expected[i][1])).toBeLessThan(1e-9);
      });
    });
  }

  it('says why there is no celestial WCS', () => {
    expect(celestialWcs(header(0, 'fits', 'fixed-1890.fits')).note).toMatch(/no celestial WCS.*PIXEL/);
    expect(celestialWcs(header(0, 'fits', 'test_multiF.fits')).note).toMatch(/no WCS/);
  });

  it('formats sexagesimal with carries', () => {
    expect(sexagesimal(250.4741920446058, true)).toBe('16:41:53.806');
    expect(sexagesimal(-69.17812991308976, false)).toBe('−69:10:41.27');
    expect(sexagesimal(359.9999999, true)).toBe('00:00:00.000');
    expect(sexagesimal(29.99999999, false)).toBe('+30:00:00.00');
  });
});
