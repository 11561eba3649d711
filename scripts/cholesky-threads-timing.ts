// The dense Cholesky factorisation of the lens inversions on one thread (choleskyBlocked) and with each panel's rows
// and trailing update split over the lens fit's worker threads (choleskyBlockedThreaded through the pool's
// `factor`):
//
//   npx tsx scripts/cholesky-threads-timing.ts [--sizes 578,4097] [--threads N] [--reps R]
//
// For each order n, a random symmetric positive definite matrix (entries uniform in [−1, 1], the diagonal n + 1),
// factorised R times on one thread and R times on the threads, alternately; wall and CPU time of each
// (process.cpuUsage: the workers included) and whether the two factors are the same bit for bit. The pool is opened
// and warmed (one threaded factorisation of each size) before the timing.
import { cpuMs, flag } from './timing-common.js';
import { choleskyBlocked } from '../src-shared/linalg/cholesky.js';
import { openLensFitPool } from '../src-main/lens-fit/pool/pool.js';

const cpu = cpuMs;

function spd(n: number, seed: number): Float64Array {
  const A = new Float64Array(n * n);
  let s = seed >>> 0;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return (s / 2 ** 32) * 2 - 1;
  };
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) A[i * n + j] = A[j * n + i] = rnd();
    A[i * n + i] = n + 1;
  }
  return A;
}

function median(x: number[]): number {
  const s = [...x].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : 0.5 * (s[s.length / 2 - 1] + s[s.length / 2]);
}

function main(): void {
  const args = process.argv.slice(2);
  const sizes = (flag(args, '--sizes') ?? '578,4097').split(',').map(Number);
  const threads = Number(flag(args, '--threads') ?? 2);
  const reps = Number(flag(args, '--reps') ?? 5);
  const pool = openLensFitPool(threads);
  try {
    const fz = pool.factor!;
    for (const n of sizes) {
      const src = spd(n, n);
      const warm = fz.matrix(n);
      warm.set(src);
      fz.factor(warm, n);
      const one = { wall: [] as number[], cpu: [] as number[] };
      const split = { wall: [] as number[], cpu: [] as number[] };
      let same = true;
      for (let r = 0; r < reps; r++) {
        const A = new Float64Array(n * n);
        A.set(src);
        let c0 = cpu();
        let w0 = performance.now();
        const ok1 = choleskyBlocked(A, n);
        one.wall.push(performance.now() - w0);
        one.cpu.push(cpu() - c0);
        const S = fz.matrix(n);
        S.set(src);
        c0 = cpu();
        w0 = performance.now();
        const ok2 = fz.factor(S, n);
        split.wall.push(performance.now() - w0);
        split.cpu.push(cpu() - c0);
        if (!ok1 || !ok2) throw new Error('not positive definite');
        for (let k = 0; k < n * n; k++) {
          if (!Object.is(A[k], S[k])) {
            same = false;
            break;
          }
        }
      }
      const f = (x: number[]) => `${median(x).toFixed(1)} ms (${x.map((v) => v.toFixed(0)).join(', ')})`;
      console.log(`n ${n}: one thread wall ${f(one.wall)}, CPU ${f(one.cpu)}`);
      console.log(`n ${n}: ${threads} threads wall ${f(split.wall)}, CPU ${f(split.cpu)}; ×${(median(one.wall) / median(split.wall)).toFixed(2)} wall; factors the same bit for bit: ${same}`);
    }
  } finally {
    pool.close();
  }
}

main();
