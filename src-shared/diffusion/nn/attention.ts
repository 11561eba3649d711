/** Single-head self-attention over pixels (NCSN++ AttnBlockpp). */
import * as tf from '@tensorflow/tfjs-core';
import { conv2d } from './conv.js';
import { matmul } from './linalg.js';
import { groupNormAct } from './fused.js';
import { groupsFor, type Get } from './layers.js';

/**
 * Self-attention over pixels with one head (NCSN++ AttnBlockpp, skip rescaled by 1/√2):
 * h = GN(x); q, k, v = 1×1 convs; out = x + proj(softmax(q kᵀ/√C) v).
 */
export function attention(x: tf.Tensor4D, get: Get, prefix: string): tf.Tensor4D {
  return tf.tidy(() => {
    const [n, h, w, c] = x.shape;
    const hn = groupNormAct(x, get(`${prefix}.norm.gamma`), get(`${prefix}.norm.beta`), groupsFor(c), false);
    const qkv = conv2d(hn, get(`${prefix}.qkv.w`) as tf.Tensor4D, get(`${prefix}.qkv.b`) as tf.Tensor1D);
    const flat = tf.reshape(qkv, [n, h * w, 3 * c]);
    const [q, k, v] = tf.split(flat, 3, 2) as tf.Tensor3D[];
    const logits = tf.mul(matmul(q, k, false, true), 1 / Math.sqrt(c));
    const att = tf.softmax(logits);
    const o = tf.reshape(matmul(att, v), [n, h, w, c]) as tf.Tensor4D;
    const proj = conv2d(o, get(`${prefix}.proj.w`) as tf.Tensor4D, get(`${prefix}.proj.b`) as tf.Tensor1D);
    return tf.mul(tf.add(x, proj), Math.SQRT1_2) as tf.Tensor4D;
  });
}
