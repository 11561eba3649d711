/**
 * The ONNX graph of SkyScore's U-Net score model (unet.ts), written from its architecture and flat parameter
 * vector: the same computation as unetScore, op for op, in NCHW.
 *
 * The graph follows SkyScore's ONNX score-model contract (docs/onnx-priors.md):
 *   inputs   x      float32 [batch, 1, height, width]   the noisy images (prior units)
 *            sigma  float32 [batch]                     their noise levels
 *   output   score  float32 [batch, 1, height, width]   s(x, σ) = net(x, σ)/σ
 * with dynamic batch and image size; height and width must be multiples of the down-sampling factor
 * 2^(levels−1) (SkyScore pads other sizes by reflection before calling it, as the tfjs model does).
 * Opset 17, standard domain only. GroupNorm is InstanceNormalization over [batch, groups, −1] followed by the
 * per-channel affine map (the same statistics: population variance, ε = 1e-6); SiLU is x·sigmoid(x); the
 * attention's q, k, v are three 1×1 convolutions (the qkv kernel split by output channel).
 */
import { ONNX_FLOAT, encodeModel } from './onnx-proto.js';
import { GraphBuilder } from './onnx-graph.js';
import { downFactor, unetLayout, validateArch, type UnetArch } from './unet.js';
import { groupsFor } from './layers.js';
import { sizeOf } from './params.js';

export const ONNX_OPSET = 17;
export const ONNX_IR_VERSION = 8;

/** Reads parameters by name from the flat vector laid out by unetLayout. */
function paramReader(arch: UnetArch, values: Float32Array) {
  const layout = unetLayout(arch);
  if (values.length !== layout.size) throw new Error(`ONNX export: ${values.length} parameter values, the architecture needs ${layout.size}`);
  return (name: string): { shape: number[]; data: Float32Array } => {
    const spec = layout.spec(name);
    const off = layout.offsets[layout.specs.indexOf(spec)];
    return { shape: spec.shape, data: values.subarray(off, off + sizeOf(spec.shape)) };
  };
}

/** [k, k, cin, cout] (tfjs HWIO) → [cout, cin, k, k] (ONNX OIHW), optionally output channels [from, from + n) only. */
function toOihw(w: { shape: number[]; data: Float32Array }, from = 0, n = w.shape[3]): Float32Array {
  const [k, , cin, cout] = w.shape;
  const out = new Float32Array(n * cin * k * k);
  for (let o = 0; o < n; o++)
    for (let c = 0; c < cin; c++)
      for (let a = 0; a < k; a++) for (let b = 0; b < k; b++) out[((o * cin + c) * k + a) * k + b] = w.data[((a * k + b) * cin + c) * cout + from + o];
  return out;
}

/**
 * The .onnx bytes of a U-Net score model. `metadata` is stored as the model's metadata_props (SkyScore writes
 * the source's hash there).
 */
export function exportUnetOnnx(arch: UnetArch, values: Float32Array, metadata: Record<string, string> = {}, producerVersion = 'unknown'): Uint8Array {
  validateArch(arch);
  const get = paramReader(arch, values);
  const g = new GraphBuilder();

  const conv = (x: string, p: string, from?: number, n?: number): string => {
    const w = get(`${p}.w`);
    const [k, , cin, cout] = w.shape;
    const co = n ?? cout;
    const suffix = from === undefined ? '' : `.${from}`;
    const wn = g.weight(`${p}.w${suffix}`, [co, cin, k, k], toOihw(w, from ?? 0, co));
    const b = get(`${p}.b`).data.slice(from ?? 0, (from ?? 0) + co);
    const bn = g.weight(`${p}.b${suffix}`, [co], b);
    const pad = (k - 1) / 2;
    return g.op('Conv', [x, wn, bn], { kernel_shape: { kind: 'ints', v: [k, k] }, pads: { kind: 'ints', v: [pad, pad, pad, pad] }, strides: { kind: 'ints', v: [1, 1] } });
  };
  const silu = (x: string): string => g.op('Mul', [x, g.op('Sigmoid', [x])]);
  const dense = (x: string, p: string): string => {
    const w = get(`${p}.w`);
    const b = get(`${p}.b`);
    return g.op('Gemm', [x, g.weight(`${p}.w`, w.shape, w.data), g.weight(`${p}.b`, b.shape, b.data)]);
  };
  /** GroupNorm (ε = 1e-6) with its per-channel γ, β, then SiLU if `act`. */
  const groupNorm = (x: string, p: string, act: boolean): string => {
    const gamma = get(`${p}.gamma`);
    const c = gamma.shape[0];
    const groups = groupsFor(c);
    const grouped = g.op('Reshape', [x, g.ints([0, groups, -1])]);
    const normed = g.op('InstanceNormalization', [grouped, g.floats(new Array<number>(groups).fill(1)), g.floats(new Array<number>(groups).fill(0))], { epsilon: { kind: 'float', v: 1e-6 } });
    const back = g.op('Reshape', [normed, g.op('Shape', [x])]);
    const scaled = g.op('Mul', [back, g.weight(`${p}.gamma`, [c, 1, 1], gamma.data)]);
    const u = g.op('Add', [scaled, g.weight(`${p}.beta`, [c, 1, 1], get(`${p}.beta`).data)]);
    return act ? silu(u) : u;
  };
  const rescale = (a: string, b: string): string => g.op('Mul', [g.op('Add', [a, b]), g.floats([Math.SQRT1_2], [])]);

  // Fourier features of log σ and the embedding MLP
  const W = get('fourier.W');
  const w2pi = Float32Array.from(W.data, (v) => Math.fround(v * Math.fround(2 * Math.PI)));
  const logSigma = g.op('Unsqueeze', [g.op('Log', ['sigma']), g.ints([1])]);
  const proj = g.op('Mul', [logSigma, g.weight('fourier.W2pi', [1, W.shape[0]], w2pi)]);
  const emb = g.op('Concat', [g.op('Sin', [proj]), g.op('Cos', [proj])], { axis: { kind: 'int', v: 1 } });
  const t0 = dense(emb, 'temb.0');
  const t1 = dense(silu(t0), 'temb.1');
  const tact = silu(t1);

  const resBlock = (x: string, p: string, cin: number, cout: number): string => {
    let h = groupNorm(x, `${p}.norm0`, true);
    h = conv(h, `${p}.conv0`);
    const t = g.op('Unsqueeze', [dense(tact, `${p}.temb`), g.ints([2, 3])]);
    h = g.op('Add', [h, t]);
    h = groupNorm(h, `${p}.norm1`, true);
    h = conv(h, `${p}.conv1`);
    const skip = cin === cout ? x : conv(x, `${p}.skip`);
    return rescale(skip, h);
  };

  const attention = (x: string, p: string, c: number): string => {
    const hn = groupNorm(x, `${p}.norm`, false);
    const flat = (v: string) => g.op('Reshape', [v, g.ints([0, 0, -1])]); // [B, C, H·W]
    const q = flat(conv(hn, `${p}.qkv`, 0, c));
    const k = flat(conv(hn, `${p}.qkv`, c, c));
    const v = flat(conv(hn, `${p}.qkv`, 2 * c, c));
    const logits = g.op('Mul', [g.op('MatMul', [g.op('Transpose', [q], { perm: { kind: 'ints', v: [0, 2, 1] } }), k]), g.floats([1 / Math.sqrt(c)], [])]);
    const att = g.op('Softmax', [logits], { axis: { kind: 'int', v: -1 } }); // [B, H·W (queries), H·W (keys)]
    const o = g.op('MatMul', [v, g.op('Transpose', [att], { perm: { kind: 'ints', v: [0, 2, 1] } })]); // [B, C, H·W]
    const proj2 = conv(g.op('Reshape', [o, g.op('Shape', [x])]), `${p}.proj`);
    return rescale(x, proj2);
  };

  // the same walk as unet.ts: down path with skips, middle, up path, output
  const L = arch.chMult.length;
  let h = conv('x', 'conv_in');
  let ch = arch.nf;
  const hs: { name: string; ch: number }[] = [{ name: h, ch }];
  for (let i = 0; i < L; i++) {
    for (let r = 0; r < arch.numResBlocks; r++) {
      const out = arch.nf * arch.chMult[i];
      h = resBlock(h, `down.${i}.res.${r}`, ch, out);
      ch = out;
      hs.push({ name: h, ch });
    }
    if (i < L - 1) {
      const pooled = g.op('AveragePool', [h], { kernel_shape: { kind: 'ints', v: [2, 2] }, strides: { kind: 'ints', v: [2, 2] } });
      h = conv(pooled, `down.${i}.down.conv`);
      hs.push({ name: h, ch });
    }
  }
  h = resBlock(h, 'mid.res.0', ch, ch);
  if (arch.attention) h = attention(h, 'mid.attn', ch);
  h = resBlock(h, 'mid.res.1', ch, ch);
  for (let i = L - 1; i >= 0; i--) {
    for (let r = 0; r <= arch.numResBlocks; r++) {
      const out = arch.nf * arch.chMult[i];
      const skip = hs.pop();
      if (!skip) throw new Error('ONNX export: U-Net skip stack underflow');
      const input = g.op('Concat', [h, skip.name], { axis: { kind: 'int', v: 1 } });
      h = resBlock(input, `up.${i}.res.${r}`, ch + skip.ch, out);
      ch = out;
    }
    if (i > 0) {
      const up = g.op('Resize', [h, '', g.floats([1, 1, 2, 2])], {
        mode: { kind: 'string', v: 'nearest' },
        coordinate_transformation_mode: { kind: 'string', v: 'asymmetric' },
        nearest_mode: { kind: 'string', v: 'floor' },
      });
      h = conv(up, `up.${i}.up.conv`);
    }
  }
  h = groupNorm(h, 'out.norm', true);
  h = conv(h, 'out.conv');
  const sigma4 = g.op('Reshape', ['sigma', g.ints([-1, 1, 1, 1])]);
  g.nodes.push({ op: 'Div', inputs: [h, sigma4], outputs: ['score'], name: 'score' });

  const f = downFactor(arch);
  return encodeModel({
    irVersion: ONNX_IR_VERSION,
    opset: ONNX_OPSET,
    producer: { name: 'skyscore', version: producerVersion },
    doc: `SkyScore U-Net score model (nf ${arch.nf}, chMult [${arch.chMult.join(', ')}], ${arch.numResBlocks} res blocks/level, attention ${arch.attention}): score = s(x, sigma); height and width multiples of ${f}`,
    graph: {
      name: 'skyscore_unet_score',
      nodes: g.nodes,
      initializers: g.initializers,
      inputs: [
        { name: 'x', elemType: ONNX_FLOAT, dims: ['batch', 1, 'height', 'width'] },
        { name: 'sigma', elemType: ONNX_FLOAT, dims: ['batch'] },
      ],
      outputs: [{ name: 'score', elemType: ONNX_FLOAT, dims: ['batch', 1, 'height', 'width'] }],
    },
    metadata: { 'skyscore.output': 'score', 'skyscore.size_multiple': String(f), ...metadata },
  });
}
