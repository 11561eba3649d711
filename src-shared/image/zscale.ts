/**
 * IRAF's zscale display limits, in the form astropy's ZScaleInterval uses (the de-facto reference):
 * take ≤ nSamples pixels at a regular stride, sort them, fit a straight line to value against rank with
 * iterative k-σ rejection (rejected points dilated by 1 % of the sample), and if enough points survive set
 * the limits to median ∓ (slope / contrast) × (ranks from the centre), clipped to the sample's range.
 */

export interface ZscaleOptions {
  nSamples?: number;
  contrast?: number;
  maxReject?: number;
  minNpixels?: number;
  krej?: number;
  maxIterations?: number;
}

/** zscale limits of the finite values given (in their original pixel order). */
export function zscaleFromValues(values: ArrayLike<number>, opts: ZscaleOptions = {}): [number, number] {
  const nSamples = opts.nSamples ?? 1000;
  const contrast = opts.contrast ?? 0.25;
  const maxReject = opts.maxReject ?? 0.5;
  const minNpixels = opts.minNpixels ?? 5;
  const krej = opts.krej ?? 2.5;
  const maxIterations = opts.maxIterations ?? 5;

  const total = values.length;
  if (total === 0) return [NaN, NaN];
  const stride = Math.max(1, Math.floor(total / nSamples));
  const picked: number[] = [];
  for (let i = 0; i < total && picked.length < nSamples; i += stride) picked.push(values[i]);
  const s = Float64Array.from(picked).sort();
  const n = s.length;
  let vmin = s[0];
  let vmax = s[n - 1];

  const minpix = Math.max(minNpixels, Math.floor(n * maxReject));
  const ngrow = Math.max(1, Math.floor(n * 0.01));
  let bad = new Uint8Array(n);
  let ngood = n;
  let lastNgood = n + 1;
  let slope = 0;
  let fitted = false;
  for (let it = 0; it < maxIterations; it++) {
    if (ngood >= lastNgood || ngood < minpix) break;
    // least-squares line through the good points: value = intercept + slope · rank
    let sw = 0, sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (let i = 0; i < n; i++) {
      if (bad[i]) continue;
      sw++;
      sx += i;
      sy += s[i];
      sxx += i * i;
      sxy += i * s[i];
    }
    const det = sw * sxx - sx * sx;
    slope = det !== 0 ? (sw * sxy - sx * sy) / det : 0;
    const intercept = (sy - slope * sx) / sw;
    fitted = true;
    // k-σ threshold from the residuals of the good points (population σ)
    let m = 0;
    for (let i = 0; i < n; i++) if (!bad[i]) m += s[i] - (intercept + slope * i);
    m /= sw;
    let v = 0;
    for (let i = 0; i < n; i++) if (!bad[i]) v += (s[i] - (intercept + slope * i) - m) ** 2;
    const threshold = krej * Math.sqrt(v / sw);
    for (let i = 0; i < n; i++) {
      const r = s[i] - (intercept + slope * i);
      if (r < -threshold || r > threshold) bad[i] = 1;
    }
    // dilate the rejected points by a window of ngrow ('same' convolution alignment)
    const grown = new Uint8Array(n);
    const before = Math.ceil((ngrow - 1) / 2);
    const after = Math.floor((ngrow - 1) / 2);
    for (let i = 0; i < n; i++) {
      if (!bad[i]) continue;
      for (let j = Math.max(0, i - after); j <= Math.min(n - 1, i + before); j++) grown[j] = 1;
    }
    bad = grown;
    lastNgood = ngood;
    ngood = 0;
    for (let i = 0; i < n; i++) if (!bad[i]) ngood++;
  }
  if (fitted && ngood >= minpix) {
    if (contrast > 0) slope /= contrast;
    const center = Math.floor((n - 1) / 2);
    const median = n % 2 ? s[(n - 1) / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    vmin = Math.max(vmin, median - (center - 1) * slope);
    vmax = Math.min(vmax, median + (n - center) * slope);
  }
  return [vmin, vmax];
}
