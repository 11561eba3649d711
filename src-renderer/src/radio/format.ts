/** Numbers of the Visibilities view as an observer reads them: sky positions, frequencies, angles, flux densities. */

/** RA in hours (00h00m00.000s) or Dec in degrees (+00°00′00.00″), rounded once so that 60 never shows. */
export function hms(deg: number, hours: boolean): string {
  const sign = deg < 0 ? '−' : hours ? '' : '+';
  const digits = hours ? 3 : 2;
  const unit = 10 ** digits;
  // whole units of the last decimal place of the seconds
  const total = Math.round(Math.abs(hours ? deg / 15 : deg) * 3600 * unit);
  const a = Math.floor(total / (3600 * unit));
  const b = Math.floor((total - a * 3600 * unit) / (60 * unit));
  const c = (total - a * 3600 * unit - b * 60 * unit) / unit;
  const pad = (x: number) => String(x).padStart(2, '0');
  const sec = c.toFixed(digits).padStart(3 + digits, '0');
  return hours ? `${pad(a)}h${pad(b)}m${sec}s` : `${sign}${pad(a)}°${pad(b)}′${sec}″`;
}

export function hz(f: number): string {
  if (f >= 1e9) return `${+(f / 1e9).toPrecision(6)} GHz`;
  if (f >= 1e6) return `${+(f / 1e6).toPrecision(6)} MHz`;
  return `${+(f / 1e3).toPrecision(6)} kHz`;
}

/** An angle given in degrees, in mas, arcsec, arcmin or degrees (as `skyscore clean` prints it). */
export function fmtAngle(deg: number): string {
  const as = deg * 3600;
  if (as < 1) return `${+(as * 1000).toPrecision(4)} mas`;
  if (as < 60) return `${+as.toPrecision(4)}″`;
  if (as < 3600) return `${+(as / 60).toPrecision(4)}′`;
  return `${+deg.toPrecision(4)}°`;
}

export function fmtJy(x: number): string {
  const a = Math.abs(x);
  return a >= 1 || a === 0 ? `${+x.toPrecision(4)} Jy` : a >= 1e-3 ? `${+(x * 1e3).toPrecision(4)} mJy` : `${+(x * 1e6).toPrecision(4)} µJy`;
}
