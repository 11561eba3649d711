import { describe, it, expect, beforeEach } from 'vitest';
import { useStore } from '../../src-renderer/src/store/index.js';
import { IDLE_RUN } from '../../src-renderer/src/store/run.js';
import { handleJobEvent, runBlockers, noiseInput } from '../../src-renderer/src/run/actions.js';
import { chi2Trace, getPreview, lossTrace, setPreview } from '../../src-renderer/src/run/previews.js';
import type { PriorInfo, ReconstructPreview } from '../../src-shared/protocol/index.js';
import { DEFAULT_NOISE } from '../../src-renderer/src/store/model.js';

function preview(step: number): ReconstructPreview {
  const n = 8 * 8;
  return {
    shape: [8, 8],
    dataShape: [8, 8],
    samples: new Float32Array(2 * n).fill(step),
    nSamples: 2,
    mean: new Float32Array(n).fill(step),
    std: new Float32Array(n).fill(1),
    residual: new Float32Array(n),
  };
}

/** Every value reachable from the store's state (functions skipped). */
function* walk(v: unknown, seen = new Set<unknown>()): Generator<unknown> {
  if (v === null || typeof v !== 'object' || seen.has(v)) return;
  seen.add(v);
  yield v;
  for (const x of Object.values(v as object)) if (typeof x !== 'function') yield* walk(x, seen);
}

const prior = (shape: [number, number]): PriorInfo => ({ spec: '/m/p', name: 'p', kind: 'unet', source: 'user', imageShape: shape, sigmaMin: 0.01, sigmaMax: 10, card: '', facts: {} });

describe('run panel state from job events', () => {
  beforeEach(() => {
    chi2Trace.clear();
    lossTrace.clear();
    setPreview(null);
    useStore.setState({ run: { ...IDLE_RUN, jobId: 'run-a1', state: 'running', steps: 20 }, notices: [] });
  });

  it('progress updates counters and the χ² trace; pixels stay out of the store', () => {
    for (let s = 1; s <= 5; s++) {
      handleJobEvent({ event: 'job.progress', data: { jobId: 'run-a1', kind: 'reconstruct', step: s, steps: 20, sigma: 10 / s, chi2: 100 / s, elapsedS: s, etaS: 20 - s, preview: s % 2 ? preview(s) : undefined } });
    }
    const run = useStore.getState().run;
    expect(run).toMatchObject({ step: 5, steps: 20, sigma: 2, chi2: 20, etaS: 15, state: 'running' });
    expect(run.previewVersion).toBe(3);
    expect(run.previews).toBe(3);
    expect(run.chartVersion).toBe(5);
    expect(chi2Trace.length).toBe(5);
    expect(chi2Trace.last()).toEqual({ x: 5, y: 20 });
    expect(getPreview()!.mean[0]).toBe(5);
    for (const v of walk(useStore.getState())) expect(ArrayBuffer.isView(v), 'a typed array in reactive state').toBe(false);
  });

  it('events of another job are ignored', () => {
    handleJobEvent({ event: 'job.progress', data: { jobId: 'run-zz', kind: 'reconstruct', step: 9, steps: 20, sigma: 1, chi2: 1, elapsedS: 1, etaS: 1 } });
    expect(useStore.getState().run.step).toBe(0);
    expect(chi2Trace.length).toBe(0);
  });

  it('done, stopped and failed runs end in their states with a message', () => {
    handleJobEvent({ event: 'job.done', data: { jobId: 'run-a1', kind: 'reconstruct', summary: { chi2PerPixel: 1.04, n: 2 } } });
    expect(useStore.getState().run).toMatchObject({ state: 'done', step: 20, summary: { chi2PerPixel: 1.04, n: 2 } });
    expect(useStore.getState().notices.at(-1)!.text).toMatch(/χ² per pixel 1.040/);
    useStore.setState({ run: { ...IDLE_RUN, jobId: 'run-a2', state: 'stopping' } });
    handleJobEvent({ event: 'job.error', data: { jobId: 'run-a2', kind: 'reconstruct', message: 'stopped', code: 'cancelled' } });
    expect(useStore.getState().run.state).toBe('cancelled');
    useStore.setState({ run: { ...IDLE_RUN, jobId: 'run-a3', state: 'running' } });
    handleJobEvent({ event: 'job.error', data: { jobId: 'run-a3', kind: 'reconstruct', message: 'the prior describes 64×64 images', code: 'input' } });
    expect(useStore.getState().run).toMatchObject({ state: 'error', message: 'the prior describes 64×64 images' });
    expect(useStore.getState().notices.at(-1)).toMatchObject({ level: 'error', text: 'The run failed: the prior describes 64×64 images' });
  });

  it('an engine restart during a run ends it with a message; the settings stay', () => {
    useStore.getState().setSettings({ seed: 77, steps: 33 });
    handleJobEvent({ event: 'engine.status', data: { state: 'restarting', message: 'engine exited with code 1; restarting' } });
    const s = useStore.getState();
    expect(s.run.state).toBe('error');
    expect(s.run.message).toMatch(/engine stopped and is restarting; your data, forward model and settings are kept/);
    expect(s.settings).toMatchObject({ seed: 77, steps: 33 });
    expect(s.notices.at(-1)!.level).toBe('error');
  });

  it('a queued run shows its place, moves up, then runs; a queued run can be stopped', () => {
    useStore.setState({ run: { ...IDLE_RUN, jobId: 'run-q1', state: 'queued', queuePosition: 3, steps: 20 } });
    handleJobEvent({ event: 'job.queued', data: { jobId: 'run-zz', kind: 'reconstruct', position: 1 } });
    expect(useStore.getState().run).toMatchObject({ state: 'queued', queuePosition: 3 });
    handleJobEvent({ event: 'job.queued', data: { jobId: 'run-q1', kind: 'reconstruct', position: 1 } });
    expect(useStore.getState().run).toMatchObject({ state: 'queued', queuePosition: 1 });
    handleJobEvent({ event: 'job.queued', data: { jobId: 'run-q1', kind: 'reconstruct', position: 0 } });
    expect(useStore.getState().run).toMatchObject({ state: 'running', queuePosition: null });
    // a progress event also means it runs (should the start event be missed)
    useStore.setState({ run: { ...IDLE_RUN, jobId: 'run-q2', state: 'queued', queuePosition: 2, steps: 20 } });
    handleJobEvent({ event: 'job.progress', data: { jobId: 'run-q2', kind: 'reconstruct', step: 1, steps: 20, sigma: 1, chi2: 1, elapsedS: 0.1, etaS: 2 } });
    expect(useStore.getState().run).toMatchObject({ state: 'running', queuePosition: null, step: 1 });
    // stopped while queued (state 'stopping'): a late queue event does not bring it back
    useStore.setState({ run: { ...IDLE_RUN, jobId: 'run-q3', state: 'stopping', queuePosition: 2 } });
    handleJobEvent({ event: 'job.queued', data: { jobId: 'run-q3', kind: 'reconstruct', position: 1 } });
    expect(useStore.getState().run.state).toBe('stopping');
    handleJobEvent({ event: 'job.error', data: { jobId: 'run-q3', kind: 'reconstruct', message: 'stopped', code: 'cancelled' } });
    expect(useStore.getState().run.state).toBe('cancelled');
  });

  it('training progress feeds the loss curve', () => {
    useStore.setState({ train: { ...useStore.getState().train, jobId: 'train-b1', state: 'running' } });
    handleJobEvent({ event: 'job.progress', data: { jobId: 'train-b1', kind: 'train', step: 10, steps: 100, loss: 0.5, valLoss: 0.6, imagesPerS: 12, elapsedS: 3, etaS: 27 } });
    expect(useStore.getState().train).toMatchObject({ step: 10, loss: 0.5, valLoss: 0.6, imagesPerS: 12 });
    expect(lossTrace.last()).toEqual({ x: 10, y: 0.5 });
  });
});

describe('what stops a run from starting', () => {
  it('names the missing observation, noise and prior, and a Gaussian-field prior of another size (a U-Net runs on it)', () => {
    useStore.setState({ obs: null, priorSpec: null, priors: [], noise: { ...DEFAULT_NOISE, mode: 'sigma', sigma: null } });
    const b = runBlockers();
    expect(b).toEqual(['open the observation (Forward model › Data)', 'noise: type the noise σ (in data units, > 0)', 'choose a prior (Prior tab)']);
    expect(noiseInput()).toMatch(/type the noise σ/);
    useStore.setState({
      obs: { name: 'o.fits', sha256: 'x', size: 1, hdu: 0, plane: 0, hdus: [], shape: [128, 128], planes: 1, bunit: null },
      modelDoc: { shape: [128, 128], operators: [{ type: 'psf', fwhmPx: 2 }] },
      noise: { ...DEFAULT_NOISE, mode: 'sigma', sigma: 0.1 },
      priors: [{ ...prior([64, 64]), kind: 'gaussian-field' }],
      priorSpec: '/m/p',
    });
    expect(runBlockers()).toEqual(['the prior "p" describes 64×64 images but the unknown is 128×128: choose a prior of that size or change the model\'s shape']);
    useStore.setState({ priors: [{ ...prior([128, 128]), kind: 'gaussian-field' }] });
    expect(runBlockers()).toEqual([]);
    // a U-Net of another size: the engine runs it with a note (or refuses one below its down-sampling factor)
    useStore.setState({ priors: [prior([64, 64])] });
    expect(runBlockers()).toEqual([]);
    expect(noiseInput()).toEqual({ kind: 'sigma', sigma: 0.1 });
  });

  it('sends a correlated or Poisson–Gaussian choice as a noise block, and says what is missing', () => {
    useStore.setState({ noise: { ...DEFAULT_NOISE, mode: 'correlated', corrSource: 'region', corrRegion: null } });
    expect(noiseInput()).toMatch(/draw a blank-sky box on the observation/);
    useStore.setState({ noise: { ...DEFAULT_NOISE, mode: 'correlated', corrSource: 'region', corrRegion: { x0: 2, y0: 3, x1: 40, y1: 20 } } });
    expect(noiseInput()).toEqual({ kind: 'model', spec: { model: 'correlated', region: [2, 3, 40, 20] } });
    useStore.setState({ noise: { ...DEFAULT_NOISE, mode: 'correlated', corrSource: 'image', noiseImage: null } });
    expect(noiseInput()).toMatch(/choose a noise-only FITS image/);
    useStore.setState({ noise: { ...DEFAULT_NOISE, mode: 'correlated', corrSource: 'image', noiseImage: 'n.fits' } });
    expect(noiseInput()).toEqual({ kind: 'model', spec: { model: 'correlated', image: 'n.fits' } });
    useStore.setState({ noise: { ...DEFAULT_NOISE, mode: 'poisson-gaussian', readNoise: null } });
    expect(noiseInput()).toMatch(/type the read noise in e⁻/);
    expect(runBlockers()).toContain('noise: type the read noise in e⁻ (> 0)');
    // the gain left empty: the header's, as on the command line
    useStore.setState({ noise: { ...DEFAULT_NOISE, mode: 'poisson-gaussian', readNoise: 5 } });
    expect(noiseInput()).toEqual({ kind: 'model', spec: { model: 'poisson-gaussian', readNoise: 5 } });
    useStore.setState({ noise: { ...DEFAULT_NOISE, mode: 'poisson-gaussian', readNoise: 5, gain: 2.5, sky: 30 } });
    expect(noiseInput()).toEqual({ kind: 'model', spec: { model: 'poisson-gaussian', readNoise: 5, gain: 2.5, sky: 30 } });
  });
});
