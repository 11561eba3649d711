/**
 * The import rules of docs/architecture.md, checked on the source text: which layer may import which, and which
 * modules must stay free of tensor code (so the renderer, the protocol and the CLI's flag parsing can use them
 * without loading tfjs). Type-only imports are erased at build time and do not count.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(path.join(ROOT, dir))) {
    const rel = path.join(dir, name);
    if (statSync(path.join(ROOT, rel)).isDirectory()) out.push(...sourceFiles(rel));
    else if (/\.(ts|tsx)$/.test(name) && !name.endsWith('.d.ts')) out.push(rel);
  }
  return out;
}

const IMPORT = /(?:^|\n)\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

/** The modules a file imports at run time (type-only imports left out), as written. */
function runtimeImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(IMPORT)) {
    if (m[5]) {
      out.push(m[5]);
      continue;
    }
    if (m[2]) continue; // import type … / export type …
    const clause = m[3] ?? '';
    const braces = /^\{([\s\S]*)\}$/.exec(clause.trim());
    // `import { type A, type B } from` is type-only too
    if (braces && braces[1]!.split(',').every((s) => s.trim() === '' || /^type\s/.test(s.trim()))) continue;
    out.push(m[4]!);
  }
  return out;
}

/** A relative specifier resolved to a repository path (.js written for .ts, extension-less for the renderer). */
function resolveLocal(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = path.join(path.dirname(from), spec);
  for (const c of [base.replace(/\.js$/, '.ts'), base.replace(/\.js$/, '.tsx'), `${base}.ts`, `${base}.tsx`, path.join(base, 'index.ts')]) {
    if (existsSync(path.join(ROOT, c)) && statSync(path.join(ROOT, c)).isFile()) return path.normalize(c);
  }
  return null;
}

const texts = new Map<string, string>();
const read = (f: string) => {
  let t = texts.get(f);
  if (t === undefined) texts.set(f, (t = readFileSync(path.join(ROOT, f), 'utf8')));
  return t;
};

/** Every package a module pulls in at run time, through the repository's own modules. */
function transitivePackages(entry: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const seen = new Set<string>();
  const walk = (f: string, chain: string[]) => {
    if (seen.has(f)) return;
    seen.add(f);
    for (const spec of runtimeImports(read(f))) {
      const local = resolveLocal(f, spec);
      if (local) walk(local, [...chain, local]);
      else if (!spec.startsWith('.') && !found.has(spec)) found.set(spec, chain);
    }
  };
  walk(entry, [entry]);
  return found;
}

const SHARED = sourceFiles('src-shared');
const MAIN = sourceFiles('src-main');
const RENDERER = sourceFiles('src-renderer/src');

describe('architecture: import directions', () => {
  it('reads type-only imports as type-only', () => {
    expect(runtimeImports(`import type { A } from './a.js';\nimport { type B, type C } from './b.js';\nimport { D, type E } from './d.js';\nexport * from './e.js';`)).toEqual(['./d.js', './e.js']);
    expect(runtimeImports(`const m = await import('./lazy.js');`)).toEqual(['./lazy.js']);
  });

  it('finds tfjs behind the sampler registry (the check below can fail)', () => {
    expect([...transitivePackages('src-shared/diffusion/samplers/index.ts').keys()]).toContain('@tensorflow/tfjs-core');
  });

  it('src-shared imports nothing from the hosts or the UI, and no Node API', () => {
    const bad: string[] = [];
    for (const f of SHARED) {
      for (const spec of runtimeImports(read(f))) {
        const local = resolveLocal(f, spec);
        if (local && !local.startsWith('src-shared/')) bad.push(`${f} → ${local}`);
        if (spec.startsWith('node:') || ['fs', 'path', 'os', 'worker_threads', 'child_process'].includes(spec)) bad.push(`${f} → ${spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  it('the renderer imports nothing from the hosts and never loads tfjs', () => {
    const bad: string[] = [];
    for (const f of RENDERER) {
      for (const spec of runtimeImports(read(f))) {
        const local = resolveLocal(f, spec);
        if (local?.startsWith('src-main/')) bad.push(`${f} → ${local}`);
      }
      for (const [pkg, chain] of transitivePackages(f)) if (pkg.startsWith('@tensorflow/')) bad.push(`${chain.join(' → ')} → ${pkg}`);
    }
    expect(bad).toEqual([]);
  });

  it('only the command line imports the command line', () => {
    const bad: string[] = [];
    for (const f of MAIN.filter((f) => !f.startsWith('src-main/cli/'))) {
      for (const spec of runtimeImports(read(f))) {
        const local = resolveLocal(f, spec);
        if (local?.startsWith('src-main/cli/')) bad.push(`${f} → ${local}`);
      }
    }
    expect(bad).toEqual([]);
  });

  const TENSOR_FREE = ['src-shared/diffusion/samplers/spec.ts', 'src-shared/operators/forward-model-spec.ts', 'src-shared/protocol/index.ts', 'src-shared/errors.ts'];
  for (const f of TENSOR_FREE) {
    it(`${f} stays free of tensor code`, () => {
      expect(existsSync(path.join(ROOT, f)), `${f} exists`).toBe(true);
      const tf = [...transitivePackages(f)].filter(([pkg]) => pkg.startsWith('@tensorflow/')).map(([pkg, chain]) => `${chain.join(' → ')} → ${pkg}`);
      expect(tf).toEqual([]);
    });
  }
});
