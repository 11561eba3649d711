/**
 * Matrix products that stay on fast kernels. On the wasm backend only the plain 2-D product (no transposes, no
 * batch) runs on XNNPACK's GEMM; transposed or batched products take a reference loop ~10× slower (measured:
 * 2-D 9 GFLOP/s, transposed 1.3, batched 1.0). So there, transposes are made explicit and batches are unrolled.
 */
import * as tf from '@tensorflow/tfjs-core';

function slowPaths(): boolean {
  return tf.getBackend() === 'wasm';
}

/** a·b with optional transposes, rank 2 or 3 (batch first, equal batch sizes). */
export function matmul(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  if (!slowPaths()) return tf.matMul(a, b, transposeA, transposeB);
  return tf.tidy(() => {
    if (a.rank === 2 && b.rank === 2) {
      const at = transposeA ? tf.transpose(a) : a;
      const bt = transposeB ? tf.transpose(b) : b;
      return tf.matMul(at as tf.Tensor2D, bt as tf.Tensor2D);
    }
    if (a.rank === 3 && b.rank === 3 && a.shape[0] === b.shape[0]) {
      const n = a.shape[0];
      const as = tf.unstack(a);
      const bs = tf.unstack(b);
      const out: tf.Tensor[] = [];
      for (let i = 0; i < n; i++) {
        const ai = transposeA ? tf.transpose(as[i]) : as[i];
        const bi = transposeB ? tf.transpose(bs[i]) : bs[i];
        out.push(tf.matMul(ai as tf.Tensor2D, bi as tf.Tensor2D));
      }
      return tf.stack(out);
    }
    return tf.matMul(a, b, transposeA, transposeB);
  });
}
