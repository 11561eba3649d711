import { afterEach, describe, expect, it, vi } from 'vitest';
import { progressPrinter } from '../../src-main/cli/commands/reconstruct.js';

describe('the command line progress printer', () => {
  afterEach(() => vi.restoreAllMocks());

  it('prints the last step once, though the sampler reports it again after its final denoising step', () => {
    const lines: string[] = [];
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const print = progressPrinter('demo', false);
    const at = (step: number, elapsedS: number) => ({ step, steps: 500, sigma: 0.01, chi2: 0.98, elapsedS, etaS: null });
    print(at(499, 85.9));
    print(at(500, 86.0));
    print(at(500, 86.3));
    const done = lines.join('').split(/[\r\n]/).filter((l) => l.includes('step 500/500'));
    expect(done).toHaveLength(1);
    expect(done[0]).toMatch(/^demo: step 500\/500 {2}σ 0\.0100 {2}χ²\/px 0\.9800 {2}86\.0 s/);
  });

  it('prints nothing with --quiet', () => {
    const write = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    progressPrinter('reconstruct', true)({ step: 10, steps: 10, sigma: 0.01, chi2: null, elapsedS: 1, etaS: null });
    expect(write).not.toHaveBeenCalled();
  });
});
