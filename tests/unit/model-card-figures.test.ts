import { describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import {
  CHROMIUM,
  centredMean,
  defaultHalfWidth,
  describeStretch,
  evenlySpaced,
  formatTick,
  gridLayout,
  imageToRgba,
  linearScale,
  logInterval,
  logScale,
  logTicks,
  lossPage,
  lossPlot,
  batchSegments,
  imagesAtStep,
  stepAtImages,
  niceDomain,
  niceStep,
  niceTicks,
  openRenderer,
  parseTrainLog,
  pngSize,
  samplesPage,
  stretchValue,
  useLogScale,
  type LogEntry,
  type Stretch,
} from '../../scripts/model-card-figures.js';

const line = (step: number, loss: number, valLoss: number | null = null) =>
  JSON.stringify({ step, steps: 100, loss, valLoss, lr: 2e-4, gradNorm: 1, imagesPerS: 10, elapsedS: step, etaS: 1, time: 'x' });

/** A decaying loss with validation every 50 steps, deterministic "noise". */
function synthLog(n: number, every = 10): LogEntry[] {
  return Array.from({ length: n }, (_, i) => {
    const step = (i + 1) * every;
    const base = 0.08 + 0.9 * Math.exp(-step / 300);
    return { step, loss: base * (1 + 0.1 * Math.sin(i * 1.7)), valLoss: step % 50 === 0 ? base : null };
  });
}

describe('parseTrainLog', () => {
  it('reads steps, losses and validation losses, skipping blank lines', () => {
    const text = [line(1, 1.5), '', line(2, 1.25, 1.3), line(3, 1.0), ''].join('\n');
    expect(parseTrainLog(text)).toEqual([
      { step: 1, loss: 1.5, valLoss: null },
      { step: 2, loss: 1.25, valLoss: 1.3 },
      { step: 3, loss: 1.0, valLoss: null },
    ]);
  });

  it('lets a resumed run supersede the entries after its checkpoint', () => {
    const text = [line(10, 5), line(20, 4), line(30, 3), line(40, 2), line(30, 3.5), line(40, 2.5), line(50, 1)].join('\n');
    expect(parseTrainLog(text).map((e) => [e.step, e.loss])).toEqual([
      [10, 5],
      [20, 4],
      [30, 3.5],
      [40, 2.5],
      [50, 1],
    ]);
  });

  it('names the line of bad input', () => {
    const bad = [line(1, 1), '{"step": 2, "loss": ', line(3, 1)].join('\n');
    expect(() => parseTrainLog(bad, 'log')).toThrow(/log line 2: not valid JSON/);
    try {
      parseTrainLog(bad);
    } catch (e) {
      expect((e as Error).name).toBe('FiguresInputError');
    }
    expect(() => parseTrainLog('{"step": 1.5, "loss": 1}')).toThrow(/line 1: 'step' must be a non-negative integer/);
    expect(() => parseTrainLog('{"step": 1, "loss": "x"}')).toThrow(/'loss' must be a number/);
    expect(() => parseTrainLog('{"step": 1, "loss": 1, "valLoss": "x"}')).toThrow(/'valLoss'/);
    expect(() => parseTrainLog('[1, 2]')).toThrow(/'step'/);
    expect(() => parseTrainLog('\n\n')).toThrow(/no log entries/);
  });
});

describe('smoothing', () => {
  it('centred running mean of a known series', () => {
    const v = [1, 2, 9, 4, 5];
    expect(centredMean(v, 0)).toEqual(v);
    // h = 1: ends are the values, inside means of three
    expect(centredMean(v, 1)).toEqual([1, 4, 5, 6, 5]);
    // h = 2: the window shrinks symmetrically towards the ends
    const h2 = centredMean(v, 2);
    expect(h2[0]).toBe(1);
    expect(h2[1]).toBeCloseTo(4, 14);
    expect(h2[2]).toBeCloseTo(21 / 5, 14);
    expect(h2[3]).toBeCloseTo(6, 14);
    expect(h2[4]).toBe(5);
  });

  it('leaves a straight line unchanged (no lag) and a constant constant', () => {
    const lin = Array.from({ length: 50 }, (_, i) => 3 - 0.04 * i);
    centredMean(lin, 7).forEach((s, i) => expect(s).toBeCloseTo(lin[i]!, 12));
    expect(centredMean(Array(20).fill(0.25), 5)).toEqual(Array(20).fill(0.25));
  });

  it('skips non-finite values', () => {
    const s = centredMean([1, NaN, 3, Infinity, 5], 1);
    expect(s).toEqual([1, 2, 3, 4, 5]);
    expect(centredMean([NaN], 3)[0]).toBeNaN();
    expect(() => centredMean([1, 2], 1.5)).toThrow(/half-width/);
  });

  it('default half-width and logging interval', () => {
    expect(defaultHalfWidth(4)).toBe(0);
    expect(defaultHalfWidth(2000)).toBe(13);
    expect(logInterval(synthLog(30, 10))).toBe(10);
    expect(logInterval([{ step: 5, loss: 1, valLoss: null }])).toBeNull();
    // median of gaps 1, 10, 10, 10, 25
    const steps = [0, 1, 11, 21, 31, 56];
    expect(logInterval(steps.map((step) => ({ step, loss: 1, valLoss: null })))).toBe(10);
  });
});

describe('axis ticks', () => {
  it('1-2-5 steps', () => {
    expect(niceStep(1, 5)).toBe(0.2);
    expect(niceStep(0.09, 5)).toBe(0.02);
    expect(niceStep(20000, 8)).toBe(5000);
    expect(niceStep(100, 10)).toBe(10);
  });

  it('linear ticks for known ranges', () => {
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(niceTicks(0.93, 1.02, 5)).toEqual([0.94, 0.96, 0.98, 1, 1.02]);
    expect(niceTicks(0, 20000, 8)).toEqual([0, 5000, 10000, 15000, 20000]);
    expect(niceTicks(-3, 7, 5)).toEqual([-2, 0, 2, 4, 6]);
    // integer axes: no half steps
    expect(niceTicks(0, 4, 8)).toEqual([0, 0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4]);
    expect(niceTicks(0, 4, 8, 1)).toEqual([0, 1, 2, 3, 4]);
    expect(niceTicks(2, 2)).toEqual([2]);
  });

  it('nice domains enclose the data', () => {
    expect(niceDomain(0.9768, 1.0033, 6)).toEqual([0.975, 1.005]);
    expect(niceDomain(0, 1, 5)).toEqual([0, 1]);
    const [a, b] = niceDomain(5, 5);
    expect(a).toBeLessThan(5);
    expect(b).toBeGreaterThan(5);
  });

  it('log ticks: decades, else 1-2-5, else every mantissa', () => {
    expect(logTicks(1e-4, 1).major).toEqual([1e-4, 1e-3, 0.01, 0.1, 1]);
    const t = logTicks(0.055, 1.2);
    expect(t.major).toEqual([0.1, 0.2, 0.5, 1]);
    expect(t.minor).toEqual([0.06, 0.07, 0.08, 0.09, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9]);
    expect(logTicks(2, 4.5).major).toEqual([2, 3, 4]);
    expect(() => logTicks(0, 1)).toThrow();
  });

  it('log scale only for positive values spanning a factor ≥ 5', () => {
    expect(useLogScale([1, 0.1])).toBe(true);
    expect(useLogScale([1, 0.5, 0.3])).toBe(false);
    expect(useLogScale([1, 0.01, -1])).toBe(false);
    expect(useLogScale([1, 0.2])).toBe(true);
  });

  it('tick labels', () => {
    expect(formatTick(0)).toBe('0');
    expect(formatTick(5000)).toBe('5000');
    expect(formatTick(20000)).toBe('20k');
    expect(formatTick(1_500_000)).toBe('1.5M');
    expect(formatTick(0.1 + 0.2)).toBe('0.3');
    expect(formatTick(1e-4)).toBe('1e-4');
    expect(formatTick(2.5e-5)).toBe('2.5e-5');
    expect(formatTick(-0.02)).toBe('-0.02');
  });

  it('scales map domain ends to range ends', () => {
    const x = linearScale([0, 10], [100, 200]);
    expect(x(0)).toBe(100);
    expect(x(5)).toBe(150);
    expect(x(10)).toBe(200);
    const y = logScale([0.1, 10], [300, 100]);
    expect(y(0.1)).toBeCloseTo(300, 12);
    expect(y(1)).toBeCloseTo(200, 12);
    expect(y(10)).toBeCloseTo(100, 12);
  });
});

/** Numbers of every `points="…"` attribute inside the element of class `cls`. */
function seriesPoints(svg: string, cls: string): [number, number][] {
  const m = new RegExp(`<g class="${cls}"[^>]*><polyline[^>]*points="([^"]*)"`).exec(svg);
  if (!m) return [];
  return m[1]!.split(' ').map((p) => p.split(',').map(Number) as [number, number]);
}
const texts = (svg: string, cls: string) => [...svg.matchAll(new RegExp(`<text class="${cls}"[^>]*>([^<]*)</text>`, 'g'))].map((m) => m[1]);

describe('loss plot', () => {
  const entries = synthLog(300);
  const plot = lossPlot({ model: 'galaxy<64>', entries, batch: 16, subtitle: 'loss & more' });

  it('chooses a log y axis for a loss falling tenfold, labels everything, escapes text', () => {
    expect(plot.logY).toBe(true);
    expect(plot.svg).toContain('galaxy&lt;64&gt;: training and validation loss');
    expect(plot.svg).toContain('loss &amp; more');
    expect(texts(plot.svg, 'xlabel')).toEqual(['training step']);
    expect(texts(plot.svg, 'ylabel')).toEqual(['loss (log scale)']);
    expect(texts(plot.svg, 'x2label')).toEqual(['images seen (step × batch 16)']);
    expect(texts(plot.svg, 'xtick')).toEqual(niceTicks(0, 3000, 8, 1).map(formatTick));
    expect(texts(plot.svg, 'x2tick')).toEqual(niceTicks(0, 48000, 8, 1).map(formatTick));
    expect(texts(plot.svg, 'ytick')).toEqual(logTicks(plot.y.domain[0], plot.y.domain[1]).major.map(formatTick));
    expect(plot.svg).toContain('centred running mean of 5 entries (50 steps)');
    expect(plot.svg).toContain('validation loss (60 evaluations)');
  });

  it('places every point on its value, inside the plot area', () => {
    const train = seriesPoints(plot.svg, 'series-train');
    expect(train).toHaveLength(entries.length);
    const [xr0, xr1] = plot.x.range;
    const [yr1, yr0] = plot.y.range; // y grows downwards
    train.forEach(([px, py], i) => {
      expect(px).toBeCloseTo(plot.x(entries[i]!.step), 1);
      expect(py).toBeCloseTo(plot.y(entries[i]!.loss), 1);
      expect(px).toBeGreaterThanOrEqual(xr0);
      expect(px).toBeLessThanOrEqual(xr1);
      expect(py).toBeGreaterThanOrEqual(yr0);
      expect(py).toBeLessThanOrEqual(yr1);
    });
    // the images-seen axis: a tick at 16·s images sits over step s
    const x2 = [...plot.svg.matchAll(/<text class="x2tick" x="([\d.]+)"[^>]*>([^<]*)</g)];
    const t = x2.find((m) => m[2] === '20k')!;
    expect(Number(t[1])).toBeCloseTo(plot.x(20000 / 16), 1);
    const val = seriesPoints(plot.svg, 'series-validation');
    expect(val).toHaveLength(60);
    expect((plot.svg.match(/<circle/g) ?? []).length).toBe(60 + 1); // + the legend's marker
    val.forEach(([, py], i) => expect(py).toBeCloseTo(plot.y(plot.validation[i]!.valLoss!), 1));
    const sm = seriesPoints(plot.svg, 'series-smoothed');
    sm.forEach(([, py], i) => expect(py).toBeCloseTo(plot.y(plot.smoothed[i]!), 1));
  });

  it('images seen with a batch that changed at a resume: the change step from model.json, ticks placed piecewise', () => {
    // galaxy-64: 60 images a step to step 2050, then 240 to step 3383
    const meta = { steps: 3383, imagesSeen: 442_920, training: { batch: 240, batchAtStart: 60 } };
    const segs = batchSegments(meta)!;
    expect(segs).toEqual([
      { fromStep: 0, batch: 60 },
      { fromStep: 2050, batch: 240 },
    ]);
    expect(imagesAtStep(segs, 2050)).toBe(123_000);
    expect(imagesAtStep(segs, 3383)).toBe(442_920);
    expect(imagesAtStep(segs, 100)).toBe(6000);
    expect(stepAtImages(segs, 6000)).toBe(100);
    expect(stepAtImages(segs, 123_000 + 2400)).toBe(2060);
    // one batch throughout; inconsistent numbers (no single change fits) give no axis
    expect(batchSegments({ training: { batch: 16 } })).toEqual([{ fromStep: 0, batch: 16 }]);
    expect(batchSegments({ steps: 3383, imagesSeen: 442_921, training: { batch: 240, batchAtStart: 60 } })).toBeNull();
    expect(batchSegments({ steps: 10, imagesSeen: 10 * 240, training: { batch: 240, batchAtStart: 60 } })).toBeNull();
    expect(batchSegments({})).toBeNull();
    // a later segment back at the first batch records no batchAtStart: the images seen give it away
    expect(batchSegments({ steps: 3400, imagesSeen: 442_920 + 17 * 60, training: { batch: 60 } })).toBeNull();
    expect(batchSegments({ steps: 100, imagesSeen: 6000, training: { batch: 60 } })).toEqual([{ fromStep: 0, batch: 60 }]);

    const log = synthLog(300).map((e) => ({ ...e, step: Math.round((e.step * 3383) / 3000) }));
    const p = lossPlot({ model: 'm', entries: log, batch: segs });
    expect(texts(p.svg, 'x2label')).toEqual(['images seen (batch 60 to step 2050, then 240)']);
    const ticks = texts(p.svg, 'x2tick');
    expect(ticks).toEqual(niceTicks(0, 442_920, 8, 1).map(formatTick));
    // each tick sits at the step where that many images had been seen
    const xs = [...p.svg.matchAll(/<text class="x2tick" x="([\d.]+)"/g)].map((m) => Number(m[1]));
    const t1 = niceTicks(0, 442_920, 8, 1);
    t1.forEach((t, i) => expect(xs[i]).toBeCloseTo(p.x(stepAtImages(segs, t)), 1));
    expect(stepAtImages(segs, t1[1]!)).toBeLessThan(2050);
    expect(stepAtImages(segs, t1[t1.length - 1]!)).toBeGreaterThan(2050);
  });

  it('linear axis for a flat loss; no images axis without a batch; no validation said so', () => {
    const flat = [1, 2, 3, 4].map((step) => ({ step, loss: 1 - 0.01 * step, valLoss: null }));
    const p = lossPlot({ model: 'm', entries: flat, batch: null });
    expect(p.logY).toBe(false);
    expect(p.smoothing).toBe(0);
    expect(texts(p.svg, 'ylabel')).toEqual(['loss']);
    expect(texts(p.svg, 'x2label')).toEqual([]);
    expect(texts(p.svg, 'xtick')).toEqual(['0', '1', '2', '3', '4']);
    expect(p.svg).toContain('validation loss: none in the log');
    expect(p.svg).toContain('too few to smooth');
    expect(p.svg).not.toContain('training loss (per log entry)<');
    // forced log scale
    expect(lossPlot({ model: 'm', entries: flat, batch: null, yScale: 'log' }).logY).toBe(true);
    expect(() => lossPlot({ model: 'm', entries: [{ step: 1, loss: NaN, valLoss: null }], batch: null })).toThrow(/no finite loss/);
  });
});

describe('display stretch and orientation', () => {
  const lin: Stretch = { kind: 'linear', lo: 0, hi: 200 };
  it('linear: lo → 0, hi → 1, clipped outside', () => {
    expect(stretchValue(0, lin)).toBe(0);
    expect(stretchValue(100, lin)).toBe(0.5);
    expect(stretchValue(200, lin)).toBe(1);
    expect(stretchValue(-5, lin)).toBe(0);
    expect(stretchValue(300, lin)).toBe(1);
    expect(stretchValue(NaN, lin)).toBeNaN();
    expect(() => stretchValue(1, { kind: 'linear', lo: 2, hi: 2 })).toThrow(/hi > lo/);
  });

  it('asinh: asinh((x − lo)/β)/asinh((hi − lo)/β), monotone, brightening faint pixels', () => {
    const s: Stretch = { kind: 'asinh', lo: 10, hi: 210, beta: 20 };
    expect(stretchValue(10, s)).toBe(0);
    expect(stretchValue(210, s)).toBeCloseTo(1, 15);
    expect(stretchValue(30, s)).toBeCloseTo(Math.asinh(1) / Math.asinh(10), 15);
    expect(stretchValue(30, s)).toBeGreaterThan(stretchValue(30, { ...s, kind: 'linear' }));
    let prev = -1;
    for (let v = 0; v <= 220; v += 5) {
      const t = stretchValue(v, s);
      expect(t).toBeGreaterThanOrEqual(prev);
      prev = t;
    }
    // default β: a tenth of the range
    expect(stretchValue(30, { kind: 'asinh', lo: 10, hi: 210 })).toBeCloseTo(Math.asinh(1) / Math.asinh(10), 15);
    expect(describeStretch(s, 'max')).toMatch(/^asinh stretch .*β = 20/);
    expect(describeStretch(lin, 'the max')).toBe('linear stretch: 0 (black) to 200 (white) = the max; values outside clipped');
  });

  it('flips FITS rows so that row 0 is at the bottom; NaN in red', () => {
    // FITS order: row 0 = [0, 1, 2] (bottom), row 1 = [3, 4, 5] (top)
    const rgba = imageToRgba([0, 1, 2, 3, 4, NaN], 2, 3, { kind: 'linear', lo: 0, hi: 5 });
    const grey = (i: number) => Array.from(rgba.subarray(4 * i, 4 * i + 4));
    expect(grey(0)).toEqual([153, 153, 153, 255]); // top-left shows FITS (row 1, col 0) = 3
    expect(grey(1)).toEqual([204, 204, 204, 255]);
    expect(grey(2)).toEqual([255, 0, 0, 255]); // NaN
    expect(grey(3)).toEqual([0, 0, 0, 255]); // bottom-left: FITS (0, 0)
    expect(grey(5)).toEqual([102, 102, 102, 255]);
    expect(() => imageToRgba([1, 2, 3], 2, 2, lin)).toThrow(/expected 2×2/);
  });
});

describe('grid layout and selection', () => {
  it('⌈√n⌉ columns, row-major from the top left', () => {
    const g = gridLayout(16, 96, 4);
    expect([g.cols, g.rows, g.width, g.height]).toEqual([4, 4, 396, 396]);
    expect(g.cells[5]).toEqual([100, 100]);
    expect(g.cells[15]).toEqual([300, 300]);
    const g10 = gridLayout(10, 50, 2);
    expect([g10.cols, g10.rows, g10.width, g10.height]).toEqual([4, 3, 206, 154]);
    expect(g10.cells[9]).toEqual([52, 104]);
    expect([gridLayout(1, 64, 4).cols, gridLayout(1, 64, 4).width]).toEqual([1, 64]);
    expect([gridLayout(5, 1, 0).cols, gridLayout(5, 1, 0).rows]).toEqual([3, 2]);
    expect(() => gridLayout(0, 1, 1)).toThrow();
  });

  it('evenly spaced validation images', () => {
    expect(evenlySpaced(600, 4)).toEqual([0, 150, 300, 450]);
    expect(evenlySpaced(5, 5)).toEqual([0, 1, 2, 3, 4]);
    expect(() => evenlySpaced(3, 4)).toThrow(/only 3/);
  });
});

describe('rendering in Chromium', () => {
  it('screenshots the loss figure at twice its CSS size and draws the image grids pixel for pixel', async () => {
    expect(existsSync(CHROMIUM), `Chromium expected at ${CHROMIUM}`).toBe(true);
    const renderer = await openRenderer(2);
    try {
      const png = await renderer.png(lossPage(lossPlot({ model: 'm', entries: synthLog(40), batch: 8 })));
      // the figure: 960 × 560 SVG plus 18 px / 14 px padding on each side
      expect(pngSize(png)).toEqual({ width: 2 * (960 + 36), height: 2 * (560 + 28) });
    } finally {
      await renderer.close();
    }

    // the page's decoder puts the same RGBA bytes on the canvases that imageToRgba computed
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    try {
      const page = await browser.newPage();
      const img = (k: number) => Float32Array.from({ length: 8 * 6 }, (_, i) => ((i * 7 + k * 13) % 50) - 5);
      const stretch: Stretch = { kind: 'linear', lo: 0, hi: 40 };
      const html = samplesPage({
        title: 'T',
        subtitle: 'S',
        ny: 6,
        nx: 8,
        stretch,
        stretchWhat: 'w',
        panels: [
          { caption: 'samples from the prior', note: 'a', images: [img(0), img(1), img(2)] },
          { caption: 'validation images', note: 'b', images: [img(3), img(4), img(5)] },
        ],
      });
      expect(html).toContain('samples from the prior');
      expect(html).toContain('validation images');
      expect((html.match(/<canvas /g) ?? []).length).toBe(7); // 2 × 3 images + the colour bar
      await page.setContent(html);
      await page.waitForFunction(() => (window as unknown as { __ready?: boolean }).__ready === true);
      for (const [id, k] of [
        ['c0_0', 0],
        ['c1_2', 5],
      ] as const) {
        const got = await page.evaluate((cid) => {
          const c = document.getElementById(cid) as HTMLCanvasElement;
          return Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data);
        }, id);
        expect(got).toEqual(Array.from(imageToRgba(img(k), 6, 8, stretch)));
      }
    } finally {
      await browser.close();
    }
  });
});
