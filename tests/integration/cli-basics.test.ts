import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import pkg from '../../package.json' with { type: 'json' };

describe('skyscore CLI basics', () => {
  it('--help lists the commands and exits 0', () => {
    const r = runCli(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/usage: skyscore <command>/);
    expect(r.stdout).toMatch(/\n {2}serve\s/);
  });
  it('--version prints the versions', () => {
    const r = runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^skyscore ${pkg.version.replace(/\./g, '\\.')} \\(node \\d+\\.\\d+\\.\\d+, tfjs \\d+\\.\\d+\\.\\d+\\)`));
  });
  it('an unknown command exits 2 with one skyscore: line', () => {
    const r = runCli(['frobnicate']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^skyscore: unknown command 'frobnicate'/);
  });
  it('an unknown flag exits 2 naming the flag', () => {
    const r = runCli(['serve', '--colour', 'red']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^skyscore: serve: .*--colour/);
  });
  it('a bad flag value exits 2 naming the flag', () => {
    const r = runCli(['serve', '--port', 'abc']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^skyscore: serve: --port must be a number, got 'abc'/);
  });
  it('a command with --help prints its usage', () => {
    const r = runCli(['serve', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/usage: skyscore serve/);
  });
});
