/**
 * `skyscore train` end to end on the galaxy cube (a tiny U-Net at 16×16 so it runs in seconds): the loss falls,
 * the model folder loads as a score model, `--resume` continues bit-exactly where the run stopped, and bad input
 * gets one clear `skyscore:` line with exit code 2.
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { runCli, runCliAsync } from '../helpers/cli.js';
import { trainCommand } from '../../src-main/cli/commands/train.js';
import { isInputError } from '../../src-main/cli/errors.js';
import { dataPath } from '../helpers/data.js';
import { loadPriorFolder, readPriorMeta } from '../../src-main/prior-folder.js';
import { initBackend } from '../../src-main/engine/backend.js';
import { writeFits } from '../../src-shared/fits/index.js';
import { decodeCheckpoint } from '../../src-shared/diffusion/train/checkpoint.js';

const CUBE = dataPath('train', 'galaxyzoo_kaggle2000_gray64.fits');
const TINY = ['--size', '16', '--nf', '8', '--ch-mult', '1,2', '--res-blocks', '1', '--batch', '16', '--lr', '2e-3', '--warmup', '0', '--ema', '0.5', '--val-size', '48', '--backend', 'wasm', '--workers', '2', '--log-every', '4'];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-train-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface LogLine {
  step: number;
  loss: number;
  valLoss: number | null;
  lr: number;
  imagesPerS: number;
}
const readLog = (out: string): LogLine[] =>
  readFileSync(path.join(out, 'train-log.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as LogLine);

describe('skyscore train', () => {
  it('trains a tiny U-Net on the galaxy cube with a falling loss, resumes exactly, and writes a loadable model folder', async () => {
    const full = path.join(dir, 'full');
    const part = path.join(dir, 'part');
    // the uninterrupted run and the first half of the interrupted one, side by side
    const [a, b1] = await Promise.all([
      runCliAsync(['train', '--data', CUBE, '--out', full, ...TINY, '--steps', '16', '--checkpoint-every', '8', '--val-every', '8'], { timeoutMs: 300_000 }),
      runCliAsync(['train', '--data', CUBE, '--out', part, ...TINY, '--steps', '8', '--checkpoint-every', '8', '--val-every', '8'], { timeoutMs: 300_000 }),
    ]);
    expect(a.code, a.stderr).toBe(0);
    expect(b1.code, b1.stderr).toBe(0);
    expect(a.stderr).toMatch(/train: step 16\/16 {2}loss \d\.\d{4} {2}val \d\.\d{4} {2}lr 2\.0e-3 {2}[\d.]+ img\/s {2}elapsed \S+ {2}ETA/);
    expect(a.stderr).toMatch(/on 1400 images of 16×16, 600 for validation/);
    expect(a.stdout).toMatch(/trained at step 16 \(256 images\)/);

    // falling loss: the last entries well below the first (DSM loss starts at 1 for the zero-output network)
    const log = readLog(full);
    expect(log.map((l) => l.step)).toEqual([4, 8, 12, 16]);
    expect(log[0].loss).toBeGreaterThan(0.8);
    expect(log[log.length - 1].loss).toBeLessThan(0.75 * log[0].loss);
    const vals = log.filter((l) => l.valLoss !== null).map((l) => l.valLoss as number);
    expect(vals).toHaveLength(2);
    expect(vals[1]).toBeLessThan(vals[0]);

    // resume: same step counter, optimiser state and data order → the same weights as the uninterrupted run
    const b2 = runCli(['train', '--data', CUBE, '--out', part, ...TINY, '--steps', '16', '--checkpoint-every', '8', '--val-every', '8', '--resume'], { timeoutMs: 300_000 });
    expect(b2.code, b2.stderr).toBe(0);
    expect(b2.stderr).toMatch(/resuming .* at step 8 \(128 images seen\)/);
    expect(readLog(part).map((l) => l.step)).toEqual([4, 8, 12, 16]);
    const ckA = decodeCheckpoint(new Uint8Array(readFileSync(path.join(full, 'checkpoint.bin'))));
    const ckB = decodeCheckpoint(new Uint8Array(readFileSync(path.join(part, 'checkpoint.bin'))));
    expect(ckB.state.step).toBe(16);
    expect(ckB.state.adam.t).toBe(16);
    expect(ckB.state.imagesSeen).toBe(256);
    expect(Buffer.from(ckB.state.params.buffer).equals(Buffer.from(ckA.state.params.buffer))).toBe(true);
    expect(Buffer.from(ckB.state.adam.v.buffer).equals(Buffer.from(ckA.state.adam.v.buffer))).toBe(true);
    expect(readFileSync(path.join(part, 'weights.bin')).equals(readFileSync(path.join(full, 'weights.bin')))).toBe(true);

    // a cooldown is not pinned: resuming to step 20 with --cooldown 4 decays the rate over steps 17–20
    const b3 = runCli(['train', '--data', CUBE, '--out', part, ...TINY, '--steps', '20', '--log-every', '2', '--val-every', '0', '--cooldown', '4', '--sigma-focus', '0.01,0.3,0.8', '--resume'], { timeoutMs: 300_000 });
    expect(b3.code, b3.stderr).toBe(0);
    const cooled = readLog(part).filter((l) => l.step > 16);
    expect(cooled.map((l) => l.step)).toEqual([18, 20]);
    expect(cooled[0].lr).toBeCloseTo(2e-3 * (3 / 4), 12);
    expect(cooled[1].lr).toBeCloseTo(2e-3 * (1 / 4), 12);
    const cooledMeta = await readPriorMeta(part);
    expect(cooledMeta.steps).toBe(20);
    expect(cooledMeta.training?.cooldown).toMatchObject({ steps: 4, endStep: 20 });
    // so is a σ focus: recorded with the step it ran to and the share of draws in its range
    expect(b3.stderr).toMatch(/σ focus for this segment: log-uniform in \[0\.01, 0\.3\] with probability 0\.8/);
    const focus = cooledMeta.training?.sigmaFocus as { lo: number; hi: number; p: number; untilStep: number; shareInRange: number };
    expect(focus).toMatchObject({ lo: 0.01, hi: 0.3, p: 0.8, untilStep: 20 });
    expect(focus.shareInRange).toBeGreaterThan(0.8);
    expect(focus.shareInRange).toBeLessThan(1);
    // a resumed segment may take another batch (e.g. on a GPU): recorded, and the images counted
    const b4 = runCli(['train', '--data', CUBE, '--out', part, ...TINY, '--batch', '24', '--steps', '22', '--log-every', '2', '--val-every', '2', '--resume'], { timeoutMs: 300_000 });
    expect(b4.code, b4.stderr).toBe(0);
    expect(b4.stderr).toMatch(/this segment: batch 24 \(the run started with 16; validation keeps batches of 16\)/);
    const bigMeta = await readPriorMeta(part);
    expect(bigMeta.imagesSeen).toBe(20 * 16 + 2 * 24);
    expect(bigMeta.training).toMatchObject({ batch: 24, batchAtStart: 16 });
    expect(bigMeta.validationLoss).toBeGreaterThan(0);
    expect((await readPriorMeta(full)).training?.batchAtStart).toBeUndefined();
    expect((await readPriorMeta(full)).training?.sigmaFocus).toBeUndefined();
    expect((await readPriorMeta(full)).training?.cooldown).toBeUndefined();

    // the model folder: documented fields, EMA weights, loads as a U-Net score model
    const meta = await readPriorMeta(full);
    expect(meta.kind).toBe('unet');
    expect(meta.imageShape).toEqual([16, 16]);
    expect(meta.channels).toBe(1);
    expect(meta.sde.type).toBe('ve');
    expect(meta.sde.sigmaMin).toBe(0.01);
    expect(meta.sde.sigmaMax).toBeGreaterThan(1);
    expect(meta.normalisation).toEqual({ offset: 0, scale: 255 });
    expect(meta.steps).toBe(16);
    expect(meta.imagesSeen).toBe(256);
    expect(meta.validationLoss).toBeCloseTo(vals[1], 6);
    expect(meta.data.train).toBe(1400);
    expect(meta.data.validation).toBe(600);
    expect(meta.data.split).toBe('SPLIT');
    expect(meta.data.resampled).toMatch(/64×64 to 16×16/);
    // the automatic flux scale's reference: numpy's median over the 1400 training images (4×4 box means, /255) of
    // np.percentile(img, 99.5) is 0.5452175245 (float32 data here, so a few 1e-7 off)
    expect(meta.data.peakPrior).toBeCloseTo(0.5452175245, 5);
    // the sky reference: the median over the same images of their sigma-clipped median (3σ about the median, σ =
    // 1.4826 MAD, iterated until nothing is clipped), computed independently with numpy: 0.0235294122 (6/255)
    expect(meta.data.backgroundPrior).toBeCloseTo(0.0235294122, 6);
    expect(meta.weights.dtype).toBe('float32');
    expect(existsSync(path.join(full, 'README.md'))).toBe(false);
    await initBackend('wasm');
    const { model } = await loadPriorFolder(full);
    expect(model.kind).toBe('unet');
    expect(model.trainedShape).toEqual([16, 16]);
    tf.tidy(() => {
      const s = model.score(tf.zeros([2, 16, 16]), tf.tensor1d([0.1, 1]));
      expect(s.shape).toEqual([2, 16, 16]);
      expect(Number.isFinite(tf.sum(tf.abs(s)).dataSync()[0])).toBe(true);
    });
    model.dispose();
  });

  function cube(name: string, n: number, nanImages: number[]): string {
    const data = new Float32Array(n * 16 * 16);
    for (let i = 0; i < data.length; i++) data[i] = ((i * 7919) % 101) / 10;
    for (const k of nanImages) data[k * 256 + 17] = NaN;
    const file = path.join(dir, name);
    writeFileSync(file, writeFits([{ data, shape: [16, 16, n] }]));
    return file;
  }

  it('leaves out images with NaN pixels, with a warning; refuses data that is all NaN', () => {
    const some = cube('some-nan.fits', 12, [3, 7]);
    const r = runCli(['train', '--data', some, '--out', path.join(dir, 'nan1'), ...TINY, '--steps', '2', '--batch', '4', '--val-fraction', '0']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: .*some-nan\.fits: 2 of 12 images contain NaN or infinite pixels and are left out/);
    expect(r.stderr).toMatch(/on 10 images of 16×16/);
    expect(r.stderr).toMatch(/x_prior = \(x − 0\)\/10 \(largest \|x − offset\| of the training images\)/);
    const all = cube('all-nan.fits', 4, [0, 1, 2, 3]);
    const r2 = runCli(['train', '--data', all, '--out', path.join(dir, 'nan2'), ...TINY, '--steps', '2']);
    expect(r2.code).toBe(2);
    expect(r2.stderr.trim().split('\n').filter((l) => l.startsWith('skyscore:'))).toHaveLength(1);
    expect(r2.stderr).toMatch(/skyscore: no usable training images: every image has NaN or infinite pixels/);
    expect(existsSync(path.join(dir, 'nan2', 'model.json'))).toBe(false);
  });

  it('refuses bad input with one clear line and exit code 2', async () => {
    // through the real CLI once: exit code 2 and a single skyscore: line
    const r = runCli(['train', '--data', path.join(dir, 'nope.fits'), '--out', path.join(dir, 'x')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^skyscore: train: --data .*nope\.fits: no such file or folder/);
    // the rest in this process: the command throws an input error (what the CLI turns into exit 2)
    const bad = async (args: string[], re: RegExp) => {
      let err: unknown = null;
      try {
        await trainCommand.run(args);
      } catch (e) {
        err = e;
      }
      expect(err, `expected ${re}`).not.toBeNull();
      expect(isInputError(err), String(err)).toBe(true);
      expect((err as Error).message).toMatch(re);
    };
    await bad(['--out', path.join(dir, 'x')], /train: missing --data/);
    await bad(['--data', CUBE, '--out', path.join(dir, 'r1'), '--resume', '--steps', '1'], /--resume: .*checkpoint\.bin does not exist/);
    // sizes the default U-Net (3 levels: factor 4) cannot take
    await bad(['--data', CUBE, '--out', path.join(dir, 'r2'), '--size', '18', '--steps', '1'], /images of 18×18 are not divisible by the U-Net's down-sampling factor 4/);
    await bad(['--data', CUBE, '--out', path.join(dir, 'r3'), '--size', '128', '--steps', '1'], /resampling only shrinks/);
    await bad(['--data', CUBE, '--out', path.join(dir, 'r4'), '--split', 'KIND', '--steps', '1'], /no table column 'KIND'/);
    await bad(['--data', CUBE, '--out', path.join(dir, 'r5'), '--ch-mult', '1,x'], /--ch-mult must be positive integers/);
    await bad(['--data', CUBE, '--out', path.join(dir, 'r5'), '--weights-dtype', 'int8'], /--weights-dtype must be float32 or float16/);
    await bad(['--data', CUBE, '--out', path.join(dir, 'r5'), '--backend', 'cuda'], /--backend must be tensorflow, webgpu, wasm or cpu/);
    await bad(['--data', CUBE, '--out', path.join(dir, 'r5'), '--sigma-focus', '0.3,0.1,0.5'], /--sigma-focus must be LO,HI,P with 0 < LO < HI and 0 < P ≤ 1, got '0\.3,0\.1,0\.5'/);
    await bad(['--data', CUBE, '--out', path.join(dir, 'r5'), '--sigma-focus', '0.01,0.3'], /--sigma-focus must be LO,HI,P/);
    // a focus outside the run's σ range (default σmin 0.01) is refused before any step
    await bad(['--data', CUBE, '--out', path.join(dir, 'r7'), '--sigma-focus', '0.001,0.005,0.5', '--steps', '1'], /--sigma-focus \[0\.001, 0\.005\] does not overlap the run's σ range \[0\.01, /);
    // a folder of images of different sizes
    const folder = path.join(dir, 'mixed');
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'a.fits'), writeFits([{ data: new Float32Array(256).fill(1), shape: [16, 16] }]));
    writeFileSync(path.join(folder, 'b.fits'), writeFits([{ data: new Float32Array(512).fill(1), shape: [32, 16] }]));
    await bad(['--data', folder, '--out', path.join(dir, 'r6'), '--steps', '1'], /b\.fits: images are 16×32, .*a\.fits has 16×16 \(use --size N/);
    // an existing run is not overwritten; --resume with another architecture is refused
    const run = path.join(dir, 'run');
    const ok = runCli(['train', '--data', CUBE, '--out', run, ...TINY, '--steps', '1', '--batch', '2']);
    expect(ok.code, ok.stderr).toBe(0);
    await bad(['--data', CUBE, '--out', run, ...TINY, '--steps', '2'], /already holds a training run \(checkpoint\.bin\); use --resume/);
    await bad(['--data', CUBE, '--out', run, ...TINY, '--steps', '2', '--resume', '--nf', '16'], /--resume continues the run as it was started; these differ: --nf 16 \(the run has 8\)/);
    // a model folder that is missing or damaged
    await expect(loadPriorFolder(path.join(dir, 'no-model'))).rejects.toThrow(/no-model: no such model folder/);
    writeFileSync(path.join(run, 'weights.bin'), Buffer.alloc(10));
    await expect(loadPriorFolder(run)).rejects.toThrow(/weights file is truncated/);
    writeFileSync(path.join(run, 'model.json'), '{"kind": "unet"');
    await expect(loadPriorFolder(run)).rejects.toThrow(/model\.json: not valid JSON/);
  });
});
