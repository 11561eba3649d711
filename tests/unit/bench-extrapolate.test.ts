/**
 * The reconstruct bench's extrapolation (src-main/bench/reconstruct.ts): a run has a fixed part (set-up, the draws'
 * ending) and a part per level; from runs of L and 2L levels the full run's time, CPU time and evaluations follow.
 * A single short run scaled by STEPS/L (what the bench did before) counts the fixed part STEPS/L times.
 */
import { describe, expect, it } from 'vitest';
import { extrapolate, type RunFigures } from '../../src-main/bench/reconstruct.js';
import type { SamplingResult } from '../../src-shared/diffusion/posterior.js';

/** A run of `levels` levels: start-up, fixed seconds, seconds per level; 16 chains × (2 per level + 17 at the end). */
function run(levels: number, startupS: number, fixedS: number, perLevelS: number): RunFigures {
  const samplingS = fixedS + levels * perLevelS;
  const result = { scoreEvaluations: 16 * (2 * levels + 17) } as SamplingResult;
  return { result, cpuS: 2 * (startupS + samplingS), workers: 2, startupS, samplingS };
}

describe('reconstruct bench extrapolation', () => {
  it('separates the fixed part from the per-level part', () => {
    const e = extrapolate(run(8, 1.5, 12, 0.25), run(16, 1.5, 12, 0.25), 8, 500);
    expect(e.perLevelS).toBeCloseTo(0.25, 12);
    expect(e.fixedS).toBeCloseTo(12, 12);
    expect(e.wall).toBeCloseTo(1.5 + 12 + 500 * 0.25, 9);
    expect(e.evaluations).toBe(16 * (2 * 500 + 17));
    // CPU: the short run's (start-up, fixed part, its 8 levels) plus 492 more levels at 2 × 0.25 s
    expect(e.cpuS).toBeCloseTo(2 * (1.5 + 12 + 8 * 0.25) + 492 * 0.5, 9);
    // the old rule, one run × 500/8, would have said (12 + 2) × 62.5 = 875 s instead of 138.7 s
    expect(e.wall).toBeLessThan(0.2 * (run(8, 1.5, 12, 0.25).samplingS * 500) / 8);
  });

  it('does not let timer noise make the per-level part negative', () => {
    const e = extrapolate(run(2, 0, 10, 0), { ...run(4, 0, 10, 0), samplingS: 9.9 }, 2, 500);
    expect(e.perLevelS).toBe(0);
    expect(e.fixedS).toBeCloseTo(10, 12);
  });
});
