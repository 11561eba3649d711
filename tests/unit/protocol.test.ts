import { describe, expect, it } from 'vitest';
import { validateRequest, validateResponse, ProtocolError, methodParams, samplerSettings } from '../../src-shared/protocol/index.js';
import { MAX_CORRECTOR_STEPS, MAX_STEPS, RUN_OPTION_RANGES, SAMPLERS, SAMPLER_INFO, samplerHelp } from '../../src-shared/diffusion/samplers/spec.js';
import { encodeFrame, decodeFrame } from '../../src-shared/protocol/codec.js';

describe('protocol: request validation', () => {
  it('accepts a well-formed request and fills empty params', () => {
    expect(validateRequest({ id: 3, method: 'engine.info', params: {} })).toEqual({ id: 3, method: 'engine.info', params: {} });
    expect(validateRequest({ id: 4, method: 'engine.info' })).toEqual({ id: 4, method: 'engine.info', params: {} });
    expect(validateRequest({ id: 5, method: 'engine.ping', params: { payload: 'x' } }).params).toEqual({ payload: 'x' });
  });

  it("states pc's score evaluations a level from its corrector steps", () => {
    expect(samplerHelp('pc')).toMatch(/a Langevin corrector step at each level; 2 score evaluations a level/);
    expect(samplerHelp('pc', { correctorSteps: 3 })).toMatch(/3 Langevin corrector steps at each level; 4 score evaluations a level/);
    expect(samplerHelp('pc', { correctorSteps: 0 })).toMatch(/no corrector steps\); 1 score evaluation a level/);
    expect(samplerHelp('em', { correctorSteps: 3 })).toBe(SAMPLER_INFO.em.help);
  });

  const bad: [string, unknown, RegExp][] = [
    ['not an object', 'engine.info', /expected an object/],
    ['null', null, /expected an object/],
    ['array', [1, 'engine.info'], /expected an object/],
    ['missing id', { method: 'engine.info', params: {} }, /request\.id/],
    ['fractional id', { id: 1.5, method: 'engine.info', params: {} }, /integer/],
    ['negative id', { id: -1, method: 'engine.info', params: {} }, /≥ 0/],
    ['string id', { id: '1', method: 'engine.info', params: {} }, /request\.id/],
    ['unknown method', { id: 1, method: 'fs.readFile', params: {} }, /unknown method 'fs\.readFile'/],
    ['prototype method', { id: 1, method: '__proto__', params: {} }, /unknown method/],
    ['method not a string', { id: 1, method: 42, params: {} }, /request\.method/],
    ['extra envelope field', { id: 1, method: 'engine.info', params: {}, evil: true }, /unexpected field 'evil'/],
    ['extra param', { id: 1, method: 'engine.info', params: { path: '/etc/passwd' } }, /unexpected field 'path'/],
    ['wrong param type', { id: 1, method: 'engine.ping', params: { payload: 7 } }, /engine\.ping\.params\.payload: expected a string/],
    ['param too long', { id: 1, method: 'engine.ping', params: { payload: 'x'.repeat(2000) } }, /at most 1000/],
    ['params an array', { id: 1, method: 'engine.ping', params: [] }, /expected an object/],
  ];
  for (const [name, msg, re] of bad) {
    it(`refuses ${name}`, () => {
      expect(() => validateRequest(msg)).toThrow(ProtocolError);
      expect(() => validateRequest(msg)).toThrow(re);
    });
  }

  it('has a params validator for every method', () => {
    for (const v of Object.values(methodParams)) expect(typeof v).toBe('function');
  });
});

describe('protocol: responses', () => {
  it('accepts ok and error responses', () => {
    expect(validateResponse({ id: 1, ok: true, result: 5 })).toEqual({ id: 1, ok: true, result: 5 });
    expect(validateResponse({ id: 2, ok: false, error: { code: 'input', message: 'no' } }).ok).toBe(false);
  });
  it('refuses malformed responses', () => {
    expect(() => validateResponse({ id: 1 })).toThrow(/response\.ok/);
    expect(() => validateResponse({ id: 1, ok: false, error: { code: 'weird', message: 'x' } })).toThrow(/malformed/);
    expect(() => validateResponse({ ok: true })).toThrow(/response\.id/);
  });
});

describe('protocol: binary frames', () => {
  it('round-trips nested typed arrays bit-exactly', () => {
    const f32 = new Float32Array([1.5, NaN, -Infinity, 3e-38]);
    const f64 = new Float64Array([Math.PI, -0]);
    const u8 = new Uint8Array([1, 2, 3]);
    const msg = { id: 9, result: { a: f32, list: [u8, { deep: f64 }], s: 'ü' } };
    const back = decodeFrame(encodeFrame(msg)) as typeof msg;
    expect(back.id).toBe(9);
    expect(back.result.s).toBe('ü');
    expect(Array.from(new Uint32Array(back.result.a.buffer))).toEqual(Array.from(new Uint32Array(f32.buffer)));
    expect(back.result.list[0]).toEqual(u8);
    expect(Object.is((back.result.list[1] as { deep: Float64Array }).deep[1], -0)).toBe(true);
  });
  it('refuses truncated or lying frames', () => {
    const frame = encodeFrame({ x: new Float32Array(100) });
    expect(() => decodeFrame(frame.subarray(0, frame.length - 8))).toThrow(/beyond the frame/);
    expect(() => decodeFrame(new Uint8Array([1]))).toThrow(/too short/);
    const lying = frame.slice();
    new DataView(lying.buffer).setUint32(0, 1e9, true);
    expect(() => decodeFrame(lying)).toThrow(/header length/);
    const garbage = new Uint8Array(64).fill(65);
    new DataView(garbage.buffer).setUint32(0, 10, true);
    expect(() => decodeFrame(garbage)).toThrow(/not valid JSON/);
  });
});

describe('protocol: sampler settings (from the tfjs-free sampler catalogue)', () => {
  const base = { sampler: 'pc', n: 4, steps: 500, seed: 1, fluxScale: null };
  const check = (v: unknown) => samplerSettings(v, 'settings');

  it('accepts every registered sampler, the options the CLI has, workers and batch', () => {
    for (const sampler of SAMPLERS) expect(check({ ...base, sampler, steps: SAMPLER_INFO[sampler].defaultSteps }).sampler).toBe(sampler);
    const full = { ...base, options: { snr: 0.2, correctorSteps: 3, stepSize: 0.01, zeta: 2, denoise: 'mean', raoBlackwell: false, symmetrise: true }, workers: 2, batch: 8 };
    expect(check(full)).toEqual(full);
    expect(check({ ...base, workers: null, batch: null })).toEqual({ ...base, workers: null, batch: null });
  });

  const bad: [string, unknown, RegExp][] = [
    ['an unknown sampler that fits the old /^[a-z]+$/ rule', { ...base, sampler: 'foo' }, /settings\.sampler: expected one of pc, em, ald, ula, dps/],
    ['too few steps for ald', { ...base, sampler: 'ald', steps: 1 }, /ald takes at least 2 steps/],
    ['steps beyond the samplers’ maximum', { ...base, steps: MAX_STEPS + 1 }, /settings\.steps/],
    ['a non-positive snr', { ...base, options: { snr: 0 } }, /settings\.options\.snr/],
    ['an snr beyond its range', { ...base, options: { snr: RUN_OPTION_RANGES.snr.max * 2 } }, /settings\.options\.snr/],
    ['an unknown ending', { ...base, options: { denoise: 'blur' } }, /settings\.options\.denoise: expected one of draw, mean, none/],
    ['an option the protocol does not carry', { ...base, options: { langevinSteps: 3 } }, /unexpected field 'langevinSteps'/],
    ['fractional corrector steps', { ...base, options: { correctorSteps: 1.5 } }, /settings\.options\.correctorSteps/],
    ['corrector steps beyond the range', { ...base, options: { correctorSteps: MAX_CORRECTOR_STEPS + 1 } }, /settings\.options\.correctorSteps/],
    ['zero workers', { ...base, workers: 0 }, /settings\.workers/],
    ['a fractional batch', { ...base, batch: 1.5 }, /settings\.batch/],
  ];
  for (const [name, v, re] of bad) it(`refuses ${name}`, () => expect(() => check(v)).toThrow(re));
});

describe('protocol: the posterior from visibilities and the dirty image', () => {
  const base = { fileId: 'uv1', prior: 'user/gf32', n: 2, steps: 30, seed: 3, previewHz: 4 };
  const req = (method: string, params: unknown) => validateRequest({ id: 1, method, params });

  it('carries the sampler options, workers and reweighting', () => {
    const full = { ...base, sampler: 'pc', options: { snr: 0.2, correctorSteps: 2, denoise: 'mean' }, workers: 2, reweight: true };
    expect(req('job.reconstructVis', full).params).toEqual(full);
    expect(req('job.reconstructVis', { ...base, workers: null }).params).toEqual({ ...base, workers: null });
    expect(req('uv.cancelImage', { fileId: 'uv1' }).params).toEqual({ fileId: 'uv1' });
  });

  it("carries a multi-source file's choice (uv.open's source) and the request for its sources (uv.sources)", () => {
    const bytes = new Uint8Array(8);
    expect(req('uv.open', { name: 'm.uvfits', bytes, source: 'OJ287' }).params).toMatchObject({ source: 'OJ287' });
    expect(req('uv.sources', { name: 'm.uvfits', bytes, stokes: 'LL' }).params).toMatchObject({ name: 'm.uvfits', stokes: 'LL' });
    expect(() => req('uv.sources', { name: 'm.uvfits', bytes, source: '1' })).toThrow(/unexpected field 'source'/);
    expect(() => req('uv.open', { name: 'm.uvfits', bytes, source: 3 })).toThrow(/params\.source/);
  });

  const clean = { fileId: 'uv1', weighting: 'natural', niter: 100, gain: 0.1, threshold: 0, method: 'cotton-schwab' };
  const sc = { mode: 'ap', rounds: 3, solint: 0, start: 'auto' };

  it('carries the self-calibration settings of CLEAN and of the posterior (--selfcal, --selfcal-rounds, --solint, --selfcal-start)', () => {
    expect(req('job.clean', { ...clean, selfcal: sc }).params).toEqual({ ...clean, selfcal: sc });
    expect(req('job.clean', { ...clean, selfcal: { mode: 'p', rounds: 50, solint: 30.5, start: 'point' } }).params).toMatchObject({ selfcal: { rounds: 50, solint: 30.5 } });
    expect(req('job.reconstructVis', { ...base, selfcal: { ...sc, start: 'clean' } }).params).toMatchObject({ selfcal: { mode: 'ap', start: 'clean' } });
    expect(req('job.clean', clean).params).not.toHaveProperty('selfcal');
  });

  const bad: [string, string, unknown, RegExp][] = [
    ['a self-calibration mode the command line does not have', 'job.clean', { ...clean, selfcal: { ...sc, mode: 'a' } }, /params\.selfcal\.mode/],
    ['zero self-calibration rounds', 'job.clean', { ...clean, selfcal: { ...sc, rounds: 0 } }, /params\.selfcal\.rounds/],
    ['more than 50 rounds', 'job.reconstructVis', { ...base, selfcal: { ...sc, rounds: 51 } }, /params\.selfcal\.rounds/],
    ['fractional rounds', 'job.clean', { ...clean, selfcal: { ...sc, rounds: 2.5 } }, /params\.selfcal\.rounds/],
    ['a negative solution interval', 'job.reconstructVis', { ...base, selfcal: { ...sc, solint: -1 } }, /params\.selfcal\.solint/],
    ['an unknown first model', 'job.clean', { ...clean, selfcal: { ...sc, start: 'gauss' } }, /params\.selfcal\.start/],
    ['self-calibration settings without a mode', 'job.clean', { ...clean, selfcal: { rounds: 3, solint: 0, start: 'auto' } }, /params\.selfcal\.mode/],
    ['zero workers', 'job.reconstructVis', { ...base, workers: 0 }, /params\.workers/],
    ['an unknown option', 'job.reconstructVis', { ...base, options: { langevinSteps: 3 } }, /unexpected field 'langevinSteps'/],
    ['reweighting that is not a boolean', 'job.reconstructVis', { ...base, reweight: 'yes' }, /params\.reweight/],
    ['a file id with a path in it', 'uv.cancelImage', { fileId: '../x' }, /params\.fileId/],
  ];
  for (const [name, method, v, re] of bad) it(`refuses ${name}`, () => expect(() => req(method, v)).toThrow(re));
});

describe('protocol: hostile messages', () => {
  it('refuses keys of Object.prototype as unknown fields', () => {
    for (const k of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      const params = JSON.parse(`{"${k}": 1}`);
      expect(() => validateRequest({ id: 1, method: 'engine.ping', params }), k).toThrow(new RegExp(`unexpected field '${k}'`));
      expect(() => validateRequest({ id: 1, method: 'engine.info', params }), k).toThrow(ProtocolError);
    }
  });

  it('decodes a "__proto__" key of a frame header as a key (refused), not as a prototype', () => {
    const header = new TextEncoder().encode('{"id": 1, "method": "engine.ping", "params": {"__proto__": {"payload": "x"}}}');
    const f = new Uint8Array(4 + header.length);
    new DataView(f.buffer).setUint32(0, header.length, true);
    f.set(header, 4);
    const m = decodeFrame(f) as { params: object };
    expect(Object.getPrototypeOf(m.params)).toBe(Object.prototype);
    expect(Object.keys(m.params)).toEqual(['__proto__']);
    expect(() => validateRequest(m)).toThrow(/unexpected field '__proto__'/);
  });

  it('refuses a frame header nested too deeply, without exhausting the stack', () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const header = new TextEncoder().encode(`{"id": 1, "x": ${deep}}`);
    const f = new Uint8Array(4 + header.length);
    new DataView(f.buffer).setUint32(0, header.length, true);
    f.set(header, 4);
    expect(() => decodeFrame(f)).toThrow(ProtocolError);
    expect(() => decodeFrame(f)).toThrow(/nested more than 64 deep/);
  });
});
