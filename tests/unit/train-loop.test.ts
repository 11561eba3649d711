/**
 * The training machinery without files: optimiser arithmetic, data preparation (area resampling, the eight
 * flips/rotations, σmax, splits and normalisation), the checkpoint format, and the training loop itself
 * (flat tensor count over 20 steps, exact resume, stop, logs, validation with the EMA weights).
 */
import { describe, it, expect, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { initBackend } from '../../src-main/engine/backend.js';
import { Adam, Ema, clipByGlobalNorm, globalNorm, scheduledLr, warmupLr } from '../../src-shared/diffusion/train/optim.js';
import { augmentInto, augmentationCount, BatchSampler, fixedBatches, focusShare, largestPairwiseDistance, resampleArea, sampleSigma, sampleSigmaFocused, type ImageStack } from '../../src-shared/diffusion/train/data.js';
import { imagesFromFits, prepareTrainingData } from '../../src-shared/diffusion/train/fits-data.js';
import { decodeCheckpoint, encodeCheckpoint } from '../../src-shared/diffusion/train/checkpoint.js';
import { initialState, trainLoop, validationLoss, type LogEntry, type TrainLoopConfig } from '../../src-shared/diffusion/train/trainer.js';
import { LocalUnetEngine } from '../../src-shared/diffusion/train/engine.js';
import { unetLayout, type UnetArch } from '../../src-shared/diffusion/nn/unet.js';
import { Rng } from '../../src-shared/diffusion/nn/rng.js';
import { writeFits } from '../../src-shared/fits/index.js';
import { dataPath } from '../helpers/data.js';

describe('optimiser', () => {
  it('Adam takes the bias-corrected step (first step: lr·sign(g)) and follows the moment recursions', () => {
    const p = new Float32Array([1, -2, 3]);
    const g = new Float32Array([0.5, -4, 0]);
    const adam = new Adam(3, { lr: 0.1 });
    adam.step(p, g, 0.1);
    expect(p[0]).toBeCloseTo(1 - 0.1, 6);
    expect(p[1]).toBeCloseTo(-2 + 0.1, 6);
    expect(p[2]).toBe(3);
    // second step by hand
    const g2 = new Float32Array([1, 1, 1]);
    const m = [0.9 * 0.05 + 0.1 * 1, 0.9 * -0.4 + 0.1 * 1, 0.1];
    const v = [0.999 * 0.00025 + 0.001, 0.999 * 0.016 + 0.001, 0.001];
    const before = Array.from(p);
    adam.step(p, g2, 0.1);
    for (let i = 0; i < 3; i++) {
      const mh = m[i] / (1 - 0.9 ** 2);
      const vh = v[i] / (1 - 0.999 ** 2);
      expect(p[i]).toBeCloseTo(before[i] - (0.1 * mh) / (Math.sqrt(vh) + 1e-8), 5);
    }
    // masked entries never move
    const q = new Float32Array([1, 1]);
    const masked = new Adam(2, {}, new Uint8Array([1, 0]));
    masked.step(q, new Float32Array([1, 1]), 0.1);
    expect(q[1]).toBe(1);
    expect(q[0]).toBeLessThan(1);
  });

  it('EMA, global-norm clipping and warm-up', () => {
    const e = new Ema(new Float32Array([0, 10]), 0.9);
    e.update(new Float32Array([1, 0]));
    expect(e.values[0]).toBeCloseTo(0.1, 6);
    expect(e.values[1]).toBeCloseTo(9, 5);
    // warmed-up decay: after 0 updates d = min(0.9, 1/10) = 0.1
    const w = new Ema(new Float32Array([0]), 0.9);
    w.update(new Float32Array([1]), 0);
    expect(w.values[0]).toBeCloseTo(0.9, 6);
    w.update(new Float32Array([1]), 1000);
    expect(w.values[0]).toBeCloseTo(0.9 * 0.9 + 0.1, 6);
    const g = new Float32Array([3, 4]);
    expect(clipByGlobalNorm(g, 1)).toBeCloseTo(5, 6);
    expect(globalNorm(g)).toBeCloseTo(1, 6);
    expect(g[0] / g[1]).toBeCloseTo(0.75, 6);
    const h = new Float32Array([0.3, 0.4]);
    clipByGlobalNorm(h, 1);
    expect(h[0]).toBeCloseTo(0.3, 7);
    expect(warmupLr(1e-3, 0, 10)).toBeCloseTo(1e-4, 12);
    expect(warmupLr(1e-3, 9, 10)).toBe(1e-3);
    expect(warmupLr(1e-3, 50, 10)).toBe(1e-3);
    expect(warmupLr(1e-3, 0, 0)).toBe(1e-3);
  });

  it('the warm-up–stable–decay schedule: constant until the last `cooldown` steps, then linear towards 0', () => {
    // 100 steps, warm-up 10, cooldown 20: steps 80..99 run at lr·(100 − step)/20
    expect(scheduledLr(1e-3, 0, 10, 100, 20)).toBeCloseTo(1e-4, 12);
    expect(scheduledLr(1e-3, 50, 10, 100, 20)).toBe(1e-3);
    expect(scheduledLr(1e-3, 79, 10, 100, 20)).toBe(1e-3);
    expect(scheduledLr(1e-3, 80, 10, 100, 20)).toBeCloseTo(1e-3, 12);
    expect(scheduledLr(1e-3, 90, 10, 100, 20)).toBeCloseTo(5e-4, 12);
    expect(scheduledLr(1e-3, 99, 10, 100, 20)).toBeCloseTo(5e-5, 12);
    // strictly decreasing through the cooldown, never negative
    for (let s = 80; s < 99; s++) expect(scheduledLr(1e-3, s + 1, 10, 100, 20)).toBeLessThan(scheduledLr(1e-3, s, 10, 100, 20));
    expect(scheduledLr(1e-3, 120, 10, 100, 20)).toBe(0);
    // no cooldown: the warm-up alone
    for (const s of [0, 5, 50, 99]) expect(scheduledLr(1e-3, s, 10, 100, 0)).toBe(warmupLr(1e-3, s, 10));
    // a cooldown that starts during the warm-up multiplies both
    expect(scheduledLr(1e-3, 2, 10, 10, 5)).toBeCloseTo(1e-3 * 0.3, 12);
    expect(scheduledLr(1e-3, 6, 10, 10, 5)).toBeCloseTo(1e-3 * 0.7 * 0.8, 12);
  });
});

describe('training data', () => {
  it('area resampling is exact block averaging and conserves the mean for uneven factors', () => {
    const s: ImageStack = { data: Float32Array.from({ length: 2 * 4 * 6 }, (_, i) => i), n: 2, ny: 4, nx: 6 };
    const r = resampleArea(s, 2, 3);
    // block (0,0) of image 0: pixels 0,1,6,7
    expect(r.data[0]).toBeCloseTo((0 + 1 + 6 + 7) / 4, 6);
    // image 1, output (1, 2): input rows 2–3, columns 4–5 of the second image (offset 24)
    expect(r.data[6 + 5]).toBeCloseTo((40 + 41 + 46 + 47) / 4, 6);
    const mean = (a: Float32Array) => a.reduce((p, q) => p + q, 0) / a.length;
    const u = resampleArea(s, 3, 4);
    expect(mean(u.data)).toBeCloseTo(mean(s.data), 4);
    expect(() => resampleArea(s, 8, 8)).toThrow(/only shrinks/);
  });

  it('the eight augmentations are the distinct flips and rotations of a square image, four for a rectangle', () => {
    const n = 3;
    const src = Float32Array.from({ length: n * n }, (_, i) => i);
    const seen = new Set<string>();
    for (let k = 0; k < 8; k++) {
      const d = new Float32Array(n * n);
      augmentInto(src, n, n, k, d);
      expect(Array.from(d).sort((a, b) => a - b)).toEqual(Array.from(src)); // a permutation
      seen.add(Array.from(d).join(','));
    }
    expect(seen.size).toBe(8);
    // k = 5 (flip x, transpose): dst[y][x] = src[n−1−x][y], a quarter turn — the first column, bottom up, on top
    const rot = new Float32Array(9);
    augmentInto(src, 3, 3, 5, rot);
    expect(Array.from(rot.subarray(0, 3))).toEqual([6, 3, 0]);
    expect(augmentationCount(4, 6)).toBe(4);
    expect(() => augmentInto(new Float32Array(6), 2, 3, 4, new Float32Array(6))).toThrow(/square/);
  });

  it('σmax is the largest pairwise distance; the sampler visits every image once per epoch', () => {
    const s: ImageStack = { data: new Float32Array([0, 0, 3, 4, 1, 1, -6, -8]), n: 4, ny: 1, nx: 2 };
    expect(largestPairwiseDistance(s, new Rng(1))).toBeCloseTo(Math.hypot(9, 12), 5);
    const imgs: ImageStack = { data: Float32Array.from({ length: 10 }, (_, i) => i), n: 10, ny: 1, nx: 1 };
    const sampler = new BatchSampler(imgs, new Rng(3), 0.1, 10, false);
    const b = sampler.next(10);
    expect(Array.from(b.x).sort((p, q) => p - q)).toEqual(Array.from(imgs.data));
    for (const sg of b.sigma) {
      expect(sg).toBeGreaterThanOrEqual(0.1);
      expect(sg).toBeLessThanOrEqual(10);
    }
    // log-uniform σ: the median of many draws is the geometric mean of the range (binomial 4σ bound)
    const many = sampler.next(4000).sigma;
    const below = Array.from(many).filter((v) => v < 1).length;
    expect(Math.abs(below - 2000)).toBeLessThan(4 * Math.sqrt(4000 * 0.25));
  });

  it('a σ focus draws the stated share of σ in its range, log-uniform inside it; without one the draws are unchanged', () => {
    const imgs: ImageStack = { data: Float32Array.from({ length: 10 }, (_, i) => i), n: 10, ny: 1, nx: 1 };
    // no focus: bit-identical to the plain sampler (a resumed run without --sigma-focus is unchanged)
    const plain = new BatchSampler(imgs, new Rng(5), 0.01, 30, true).next(50);
    const none = new BatchSampler(imgs, new Rng(5), 0.01, 30, true, undefined, null).next(50);
    expect(Array.from(none.sigma)).toEqual(Array.from(plain.sigma));
    expect(Array.from(none.x)).toEqual(Array.from(plain.x));
    expect(sampleSigmaFocused(new Rng(9), 0.01, 30, null)).toBe(sampleSigma(new Rng(9), 0.01, 30));

    const focus = { lo: 0.01, hi: 0.3, p: 0.8 };
    // share in [lo, hi]: p plus the whole range's share of it, 0.8 + 0.2·ln(0.3/0.01)/ln(30/0.01)
    const share = focusShare(focus, 0.01, 30);
    expect(share).toBeCloseTo(0.8 + (0.2 * Math.log(30)) / Math.log(3000), 12);
    const n = 20000;
    const sig = new BatchSampler(imgs, new Rng(7), 0.01, 30, false, undefined, focus).next(n).sigma;
    const inRange = Array.from(sig).filter((v) => v <= 0.3);
    expect(Math.abs(inRange.length / n - share)).toBeLessThan(4 * Math.sqrt((share * (1 - share)) / n));
    expect(Math.min(...sig)).toBeGreaterThanOrEqual(0.01);
    expect(Math.max(...sig)).toBeLessThanOrEqual(30);
    // inside the range log-uniform: the geometric midpoint √(0.01·0.3) splits it in half (binomial 4σ bound)
    const below = inRange.filter((v) => v < Math.sqrt(0.003)).length;
    expect(Math.abs(below / inRange.length - 0.5)).toBeLessThan(4 * Math.sqrt(0.25 / inRange.length));
    // a focus range beyond the run's is clipped to it: [5, 100] in [0.01, 30] → draws in [5, 30] with p = 1
    const clipped = new BatchSampler(imgs, new Rng(8), 0.01, 30, false, undefined, { lo: 5, hi: 100, p: 1 }).next(500).sigma;
    expect(Math.min(...clipped)).toBeGreaterThanOrEqual(5);
    expect(Math.max(...clipped)).toBeLessThanOrEqual(30);
  });

  it('prepares the galaxy cube: SPLIT column, 8-bit scaling, --size by block averaging', () => {
    const bytes = new Uint8Array(readFileSync(dataPath('train', 'galaxyzoo_kaggle2000_gray64.fits')));
    const parts = [imagesFromFits(bytes, 'galaxies.fits')];
    expect(parts[0].stack.n).toBe(2000);
    expect(parts[0].labels?.filter((l) => l === 'train')).toHaveLength(1400);
    const prep = prepareTrainingData(parts, { size: 32, scale: null, offset: 0, valFraction: 0.1, seed: 0 });
    expect(prep.train.n).toBe(1400);
    expect(prep.val?.n).toBe(600);
    expect(prep.normalisation).toMatchObject({ scale: 255, offset: 0, automatic: true });
    expect(prep.provenance.split).toBe('SPLIT');
    expect(prep.provenance.resampled).toBe('area-averaged from 64×64 to 32×32');
    // first training image, first output pixel = mean of the 2×2 block / 255
    const first = parts[0].labels!.indexOf('train');
    const img = parts[0].stack.data.subarray(first * 4096, first * 4096 + 4096);
    expect(prep.train.data[0]).toBeCloseTo((img[0] + img[1] + img[64] + img[65]) / 4 / 255, 6);
    let max = 0;
    for (const v of prep.train.data) max = Math.max(max, v);
    expect(max).toBeLessThanOrEqual(1);
    // without the split column: a seeded random 10 % held out
    const noSplit = prepareTrainingData([imagesFromFits(bytes, 'g.fits', null)], { size: 16, scale: 100, offset: 10, valFraction: 0.1, seed: 0 });
    expect(noSplit.train.n + (noSplit.val?.n ?? 0)).toBe(2000);
    expect(noSplit.val?.n).toBe(200);
    expect(noSplit.normalisation).toMatchObject({ scale: 100, offset: 10, automatic: false });
  });

  it('reads single images and cubes, refuses a split column of the wrong length', () => {
    const img = writeFits([{ data: new Float32Array(64).fill(2), shape: [8, 8] }]);
    expect(imagesFromFits(img, 'one.fits').stack).toMatchObject({ n: 1, ny: 8, nx: 8 });
    expect(() => imagesFromFits(img, 'one.fits', 'SPLIT')).toThrow(/one\.fits: no table column 'SPLIT'/);
    const vec = writeFits([{ data: new Float32Array(8), shape: [8] }]);
    expect(() => imagesFromFits(vec, 'vec.fits')).toThrow(/vec\.fits: HDU 0 has 1 axis/);
  });
});

describe('checkpoint format', () => {
  it('round-trips the whole training state and refuses damaged files', () => {
    const n = 7;
    const st = {
      step: 12,
      imagesSeen: 96,
      elapsedS: 3.5,
      params: Float32Array.from({ length: n }, (_, i) => i * 0.5),
      ema: Float32Array.from({ length: n }, (_, i) => -i),
      adam: { t: 12, m: new Float32Array(n).fill(0.25), v: new Float32Array(n).fill(2) },
      rng: new Rng(5).state(),
      sampler: { perm: [2, 0, 1], pos: 1 },
      lastLoss: 0.5,
      valLoss: null,
    };
    const bytes = encodeCheckpoint(st, { arch: 'x' });
    const back = decodeCheckpoint(bytes);
    expect(back.config).toEqual({ arch: 'x' });
    expect(back.state).toEqual(st);
    expect(() => decodeCheckpoint(bytes.subarray(0, bytes.length - 4), 'ck')).toThrow(/ck: truncated or corrupt data/);
    expect(() => decodeCheckpoint(new Uint8Array(20), 'ck')).toThrow(/not a SkyScore training checkpoint/);
  });
});

describe('training loop', () => {
  const ARCH: UnetArch = { nf: 8, chMult: [1, 2], numResBlocks: 1, attention: false, embeddingDim: 8, fourierScale: 16 };
  const S = 8;
  const rng = new Rng(21);
  const train: ImageStack = { data: rng.fillUniform(new Float32Array(24 * S * S), 0, 1), n: 24, ny: S, nx: S };
  const val: ImageStack = { data: rng.fillUniform(new Float32Array(6 * S * S), 0, 1), n: 6, ny: S, nx: S };
  const cfg: TrainLoopConfig = {
    steps: 20,
    batch: 4,
    lr: 3e-3,
    warmup: 5,
    cooldown: 0,
    ema: 0.9,
    gradClip: 1,
    sigmaMin: 0.01,
    sigmaMax: 5,
    augment: true,
    seed: 4,
    logEvery: 5,
    checkpointEvery: 10,
    valEvery: 10,
  };
  const mask = unetLayout(ARCH).trainableMask();

  beforeAll(async () => {
    await initBackend('wasm');
  });

  it('runs 20 steps with a flat tensor count, logs, validates with the EMA weights, checkpoints, and resumes exactly', async () => {
    const values = unetLayout(ARCH).initialise(4);
    const engine = new LocalUnetEngine(ARCH, values, [S, S], 2);
    const logs: LogEntry[] = [];
    const checkpoints: number[] = [];
    let mid: Uint8Array | null = null;
    await engine.gradient({ n: 1, ny: S, nx: S, x: new Float32Array(S * S), noise: new Float32Array(S * S), sigma: new Float32Array([1]) });
    const before = tf.memory().numTensors;
    const final = await trainLoop(cfg, { train, val, trainableMask: mask }, engine, initialState(values.slice(), 4, train), {
      onLog: (e) => {
        logs.push(e);
      },
      onCheckpoint: (s, finished) => {
        checkpoints.push(s.step);
        if (!finished) mid = encodeCheckpoint(s, {});
      },
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(final.step).toBe(20);
    expect(final.imagesSeen).toBe(80);
    expect(checkpoints).toEqual([10, 20]);
    expect(logs.map((l) => l.step)).toEqual([5, 10, 15, 20]);
    expect(logs.filter((l) => l.valLoss !== null).map((l) => l.step)).toEqual([10, 20]);
    expect(logs[0].lr).toBeCloseTo(3e-3, 12); // warm-up over 5 steps is over at step 5
    expect(logs.every((l) => l.imagesPerS > 0 && Number.isFinite(l.loss))).toBe(true);
    expect(final.valLoss).toBe(logs[3].valLoss);

    // resume from the step-10 checkpoint in a fresh engine: the same final state, bit for bit
    const ck = decodeCheckpoint(mid!);
    const engine2 = new LocalUnetEngine(ARCH, ck.state.params, [S, S], 2);
    const resumed = await trainLoop(cfg, { train, val, trainableMask: mask }, engine2, ck.state);
    expect(resumed.step).toBe(20);
    expect(Buffer.from(resumed.params.buffer).equals(Buffer.from(final.params.buffer))).toBe(true);
    expect(Buffer.from(resumed.ema.buffer).equals(Buffer.from(final.ema.buffer))).toBe(true);
    expect(resumed.adam.t).toBe(20);

    // a stop request ends the loop after the current step with a checkpoint
    let calls = 0;
    const engine3 = new LocalUnetEngine(ARCH, values, [S, S], 2);
    const stopped = await trainLoop({ ...cfg, steps: 100 }, { train, val: null, trainableMask: mask }, engine3, initialState(values.slice(), 4, train), {
      shouldStop: () => ++calls > 3,
      onCheckpoint: (s, finished) => {
        expect(finished).toBe(false);
        expect(s.step).toBe(3);
      },
    });
    expect(stopped.step).toBe(3);

    // resumed with a cooldown over its last 8 steps: the logged learning rate follows the schedule, and the
    // parameters differ from the constant-rate run's
    const cooled: LogEntry[] = [];
    const engine4 = new LocalUnetEngine(ARCH, ck.state.params, [S, S], 2);
    const withCooldown = await trainLoop({ ...cfg, cooldown: 8 }, { train, val, trainableMask: mask }, engine4, decodeCheckpoint(mid!).state, {
      onLog: (e) => {
        cooled.push(e);
      },
    });
    expect(cooled.map((l) => l.step)).toEqual([15, 20]);
    // the entry at step s reports the rate of step s − 1 (0-based): (20 − 14)/8 and (20 − 19)/8 of the base
    expect(cooled[0].lr).toBeCloseTo(3e-3 * (6 / 8), 12);
    expect(cooled[1].lr).toBeCloseTo(3e-3 * (1 / 8), 12);
    expect(Buffer.from(withCooldown.params.buffer).equals(Buffer.from(final.params.buffer))).toBe(false);

    // a segment with a larger batch (a resume on a GPU) sees more images per step, and its validation loss is
    // still computed on the run's fixed batches of the original size (the same noise as before)
    const seg: LogEntry[] = [];
    const engine5 = new LocalUnetEngine(ARCH, ck.state.params, [S, S], 2);
    const bigger = await trainLoop({ ...cfg, steps: 12, batch: 8, valBatch: 4, valEvery: 2, logEvery: 2 }, { train, val, trainableMask: mask }, engine5, decodeCheckpoint(mid!).state, {
      onLog: (e) => {
        seg.push(e);
      },
    });
    expect(bigger.imagesSeen).toBe(40 + 2 * 8);
    const fixed = (b: number) => fixedBatches(val, cfg.seed ^ 0x5eed, cfg.sigmaMin, cfg.sigmaMax, b, (s) => new Rng(s));
    const expected = await validationLoss(engine5, bigger.ema, bigger.params, fixed(4));
    expect(seg[seg.length - 1].valLoss).toBe(expected);
    expect(await validationLoss(engine5, bigger.ema, bigger.params, fixed(8))).not.toBe(expected);
    await Promise.all([engine.dispose(), engine2.dispose(), engine3.dispose(), engine4.dispose(), engine5.dispose()]);
  });
});
