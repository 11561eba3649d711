import { promises as fs } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { UserInputError } from '../src-shared/errors.js';

/** Reads a whole file; a missing or unreadable file is a UserInputError naming it. */
export async function readInputFile(file: string): Promise<Uint8Array> {
  try {
    const buf = await fs.readFile(file);
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : code === 'EACCES' ? 'permission denied' : (e as Error).message;
    throw new UserInputError(`${file}: ${why}`);
  }
}

/** Writes to a temporary name beside the target and renames it into place: never a half-written output. */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  await fs.mkdir(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true });
    throw e;
  }
}

/** The real path of `p`, or, for a path that does not exist yet, its nearest existing ancestor's real path joined with the rest. */
async function realOrResolved(p: string): Promise<string> {
  const abs = path.resolve(p);
  let head = abs;
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(await fs.realpath(head), ...rest.reverse());
    } catch {
      const up = path.dirname(head);
      if (up === head) return abs;
      rest.push(path.basename(head));
      head = up;
    }
  }
}

/** Whether `inner` is `outer` or lies inside it. */
function within(outer: string, inner: string): boolean {
  const rel = path.relative(outer, inner);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * An output folder a command may write: it must not hold any of the command's inputs (files or folders it reads,
 * symbolic links followed), and, when `products` is given (a product set that replaces the folder as a whole,
 * writeProductSet), an existing folder may hold nothing else than such products.
 */
export async function checkOutputFolder(outDir: string, inputs: readonly string[], command: string, products?: readonly string[]): Promise<void> {
  const out = await realOrResolved(outDir);
  for (const input of inputs) {
    if (within(out, await realOrResolved(input))) {
      throw new UserInputError(`${command}: --out ${outDir} holds the input ${input}; inputs are never overwritten: choose another output folder`);
    }
  }
  if (!products) return;
  let entries: string[];
  try {
    const st = await fs.stat(out);
    if (!st.isDirectory()) throw new UserInputError(`${command}: --out ${outDir} is a file, not a folder`);
    entries = await fs.readdir(out);
  } catch (e) {
    if (e instanceof UserInputError) throw e;
    return;
  }
  const others = entries.filter((n) => !products.includes(n) && !/^\..*\.tmp$/.test(n));
  if (others.length) {
    throw new UserInputError(
      `${command}: --out ${outDir} holds other files than a previous run's products (${others.slice(0, 3).join(', ')}${others.length > 3 ? ', …' : ''}); ` +
        'the products replace the folder as a whole: choose an empty or new folder',
    );
  }
}

/**
 * Writes a product set atomically as a whole: every file into a temporary folder beside `outDir`, then that
 * folder renamed into place — an existing `outDir` (its previous products: checkOutputFolder) is first renamed
 * aside and removed after. Readers see the old set or the new one, never a mix; a crash between the two renames
 * leaves `.NAME.old-…` beside it with the old set.
 */
export async function writeProductSet(outDir: string, files: readonly { name: string; bytes: Uint8Array | string }[]): Promise<void> {
  const out = await realOrResolved(outDir);
  const parent = path.dirname(out);
  await fs.mkdir(parent, { recursive: true });
  const tag = randomBytes(6).toString('hex');
  const tmp = path.join(parent, `.${path.basename(out)}.tmp-${tag}`);
  const old = path.join(parent, `.${path.basename(out)}.old-${tag}`);
  await fs.mkdir(tmp);
  try {
    for (const f of files) await fs.writeFile(path.join(tmp, f.name), f.bytes);
    let replaced = false;
    try {
      await fs.rename(out, old);
      replaced = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
    try {
      await fs.rename(tmp, out);
    } catch (e) {
      if (replaced) await fs.rename(old, out);
      throw e;
    }
    if (replaced) await fs.rm(old, { recursive: true, force: true });
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
