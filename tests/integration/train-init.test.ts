/**
 * `skyscore train --init DIR`: a fine-tune starts from a model folder's weights and architecture with a fresh
 * optimiser and step counter, keeps the model's σ range, records where it started in model.json, and refuses
 * options that contradict the model (a tiny U-Net at 16×16 on synthetic radio sources, so it runs in seconds).
 */
import { describe, it, expect, beforeAll, afterAll } from 'vitest';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { trainCommand } from '../../src-main/cli/commands/train.js';
import { isInputError } from '../../src-main/cli/errors.js';
import { readPriorMeta } from '../../src-main/prior-folder.js';
import { writeFits } from '../../src-shared/fits/index.js';
import { decodeCheckpoint } from '../../src-shared/diffusion/train/checkpoint.js';
import { decodeWeights } from '../../src-shared/diffusion/nn/weights.js';
import { unetLayout, type UnetArch } from '../../src-shared/diffusion/nn/unet.js';
import { Rng } from '../../src-shared/diffusion/nn/rng.js';
import { synthRadioImages } from '../../src-shared/radio/synth-sources.js';

const TINY = ['--nf', '8', '--ch-mult', '1,2', '--res-blocks', '1', '--batch', '8', '--warmup', '0', '--ema', '0.5', '--val-size', '16', '--backend', 'wasm', '--workers', '1', '--log-every', '1', '--scale', '1', '--val-fraction', '0.25'];

let dir: string;
let cube: string;
let base: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'skyscore-train-init-'));
  cube = path.join(dir, 'radio.fits');
  writeFileSync(cube, writeFits([{ data: synthRadioImages(new Rng(1), 48, 16).images, shape: [16, 16, 48] }]));
  base = path.join(dir, 'base');
  await trainCommand.run(['--data', cube, '--out', base, ...TINY, '--lr', '2e-3', '--steps', '4', '--checkpoint-every', '4', '--val-every', '4']);
}, 300_000);
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function inputError(args: string[]): Promise<Error> {
  let err: unknown = null;
  try {
    await trainCommand.run(args);
  } catch (e) {
    err = e;
  }
  expect(err, 'expected an input error').not.toBeNull();
  expect(isInputError(err), String(err)).toBe(true);
  return err as Error;
}

describe('skyscore train --init', () => {
  it("starts from the model's weights, architecture and σ range with a fresh optimiser and step counter", async () => {
    const baseMeta = await readPriorMeta(base);
    const fine = path.join(dir, 'fine');
    // architecture flags that agree with the model are accepted; a learning rate of 1e-9: one Adam step moves every parameter by ≲ 1e-9, so the run holds the model's weights
    const r = runCli(['train', '--data', cube, '--out', fine, '--init', base, ...TINY, '--lr', '1e-9', '--steps', '1', '--checkpoint-every', '1', '--val-every', '1'], { timeoutMs: 300_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/starting from .*base \(its step 4, 32 images\) with a fresh optimiser and step counter; its architecture and σ range \[0\.01, [\d.]+\] are kept/);
    expect(r.stderr).toMatch(/\(the initial model's\)/);

    const meta = await readPriorMeta(fine);
    expect(meta.arch).toEqual(baseMeta.arch);
    expect(meta.sde).toEqual(baseMeta.sde);
    expect(meta.steps).toBe(1);
    expect(meta.imagesSeen).toBe(8);
    expect(meta.training?.init).toMatchObject({ source: base, steps: 4, imagesSeen: 32, peakPrior: baseMeta.data.peakPrior });

    const ck = decodeCheckpoint(new Uint8Array(readFileSync(path.join(fine, 'checkpoint.bin'))));
    expect(ck.state.step).toBe(1);
    expect(ck.state.adam.t).toBe(1);
    // the run's parameters are the model's (EMA) weights, to Adam's one step of 1e-9
    const start = decodeWeights(unetLayout(baseMeta.arch as UnetArch), baseMeta.weights.manifest, new Uint8Array(readFileSync(path.join(base, 'weights.bin'))));
    let maxDiff = 0;
    let maxAbs = 0;
    for (let i = 0; i < start.length; i++) {
      maxDiff = Math.max(maxDiff, Math.abs(ck.state.params[i] - start[i]));
      maxAbs = Math.max(maxAbs, Math.abs(start[i]));
    }
    expect(maxAbs).toBeGreaterThan(0.01);
    expect(maxDiff).toBeLessThan(1e-6);
    // so its validation loss (same data, split, seed and fixed validation noise) is the model's
    expect(meta.validationLoss).toBeCloseTo(baseMeta.validationLoss as number, 4);

    // the same run from random weights is a different network: its validation loss differs
    const scratch = path.join(dir, 'scratch');
    await trainCommand.run(['--data', cube, '--out', scratch, ...TINY, '--sigma-max', String(baseMeta.sde.sigmaMax), '--lr', '1e-9', '--steps', '1', '--checkpoint-every', '1', '--val-every', '1']);
    const scratchMeta = await readPriorMeta(scratch);
    expect(Math.abs((scratchMeta.validationLoss as number) - (baseMeta.validationLoss as number))).toBeGreaterThan(1e-3);
    expect(scratchMeta.training?.init).toBeUndefined();
  }, 300_000);

  it('refuses options that contradict the model, --resume with --init, and folders that are not U-Net models', async () => {
    const out = (n: string) => path.join(dir, n);
    expect((await inputError(['--data', cube, '--out', out('c1'), '--init', base, '--nf', '16', '--steps', '1', '--scale', '1'])).message).toMatch(
      /--init .*base keeps the model's architecture and σ range; these differ: --nf \(the model has 8\)/,
    );
    expect((await inputError(['--data', cube, '--out', out('c2'), '--init', base, '--sigma-max', '5', '--steps', '1', '--scale', '1'])).message).toMatch(/--sigma-max 5 \(the model's σmax is [\d.]+\)/);
    expect((await inputError(['--data', cube, '--out', out('c3'), '--init', base, '--no-attention', '--steps', '1', '--scale', '1'])).message).toMatch(/--no-attention \(the model has attention\)/);
    expect((await inputError(['--data', cube, '--out', base, '--init', base, '--steps', '1'])).message).toMatch(/--init .* is the output folder/);
    expect((await inputError(['--data', cube, '--out', out('c4'), '--init', out('nope'), '--steps', '1'])).message).toMatch(/no such model folder/);
    // a Gaussian-field prior's folder has no network (no model.json) to fine-tune
    expect((await inputError(['--data', cube, '--out', out('c6'), '--init', 'models/galaxy-gaussian-64', '--steps', '1', '--scale', '1'])).message).toMatch(/model\.json: no such file/);
    // --resume continues a run; --init starts one
    expect((await inputError(['--data', cube, '--out', base, '--init', path.join(dir, 'fine'), '--resume', '--steps', '5'])).message).toMatch(/--init starts a run from a model; --resume continues a run/);
  }, 120_000);
});
