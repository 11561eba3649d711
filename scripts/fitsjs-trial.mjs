// Trial of fitsjs 0.6.6 against the corpus (evidence for docs/decisions.md, "FITS: its own reader and writer, not fitsjs").
// fitsjs is not a dependency. To rerun:
//   mkdir -p /tmp/fitsjs-try && cd /tmp/fitsjs-try && npm pack fitsjs && tar xzf fitsjs-*.tgz
//   node /path/to/repo/scripts/fitsjs-trial.mjs        (run from /tmp/fitsjs-try)
// fitsjs needs a browser (FileReader, Blob URLs, Web Workers): minimal shims below let it run in Node.
// Each file runs in a child process with a 15 s limit (fitsjs hangs on some inputs). Compared with astropy's
// image statistics in tests/fixtures/fits-expected/corpus.json (1e-5 relative).
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const __filename = fileURLToPath(import.meta.url);
const __dirname = path.dirname(__filename);
globalThis.window = globalThis;
const blobSrc = new Map();
let nblob = 0;
const NodeBlob = globalThis.Blob;
class ShimBlob extends NodeBlob { constructor(parts, opts) { super(parts, opts); this._parts = parts; } }
globalThis.Blob = ShimBlob;
if (!globalThis.File) globalThis.File = class File extends ShimBlob {};
URL.createObjectURL = (b) => { const u = 'blob:' + nblob++; blobSrc.set(u, b._parts.join('')); return u; };
URL.revokeObjectURL = () => {};
class ShimWorker {
  constructor(url) { this.url = url; }
  postMessage(msg) {
    const all = [...blobSrc.values()].join(';\n');
    const onmsg = new Function('postMessage', 'importScripts', `var onmessage; ${all}; return onmessage;`)(
      (arr) => setImmediate(() => this.onmessage({ data: arr })), () => {});
    onmsg({ data: msg });
  }
  terminate() {}
}
globalThis.Worker = ShimWorker;
globalThis.FileReader = class { readAsArrayBuffer(b) { b.arrayBuffer().then((buf) => { this.result = buf; this.onloadend({ target: this }); }); } };
const mod = { exports: {} };
new Function('module', 'exports', fs.readFileSync(path.join(process.cwd(), 'package', 'lib', 'fits.js'), 'utf8')).call(globalThis, mod, mod.exports);
const astro = globalThis.astro;

const expected = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'tests', 'fixtures', 'fits-expected', 'corpus.json'), 'utf8')).files;
const DATA = path.join(__dirname, '..', '..', 'shared', 'data');
function stats(a) { let mn = Infinity, mx = -Infinity, s = 0, n = 0, nan = 0; for (const v of a) { if (Number.isNaN(v)) { nan++; continue; } if (!Number.isFinite(v)) continue; mn = Math.min(mn, v); mx = Math.max(mx, v); s += v; n++; } return n ? { min: mn, max: mx, mean: s / n, nan } : { min: null, max: null, mean: null, nan }; }
const close = (a, b) => (a === null || b === null ? a === b : Math.abs(a - b) <= 1e-5 * Math.max(Math.abs(a), Math.abs(b)));

let pendingReject = null;
process.on('unhandledRejection', (e) => { if (pendingReject) pendingReject(e instanceof Error ? e : new Error(String(e))); });
process.on('uncaughtException', (e) => { if (pendingReject) pendingReject(e); });
function open(buf) {
  return new Promise((resolve, reject) => {
    pendingReject = reject;
    const t = setTimeout(() => reject(new Error('timeout (no callback)')), 5000);
    try { new astro.FITS(buf, function (f) { clearTimeout(t); resolve(f || this); }); } catch (e) { clearTimeout(t); reject(e); }
  });
}
function frame(img) {
  return new Promise((resolve, reject) => {
    pendingReject = reject;
    const t = setTimeout(() => reject(new Error('timeout (no frame)')), 5000);
    try { img.getFrame(0, (arr) => { clearTimeout(t); resolve(arr); }); } catch (e) { clearTimeout(t); reject(e); }
  });
}

(async () => {
  const rows = [];
  const only = process.argv[2];
  if (!only) {
    let good = 0, total = 0;
    for (const f of expected) {
      if (f.file.startsWith('fixtures/') || f.file.startsWith('train/')) continue;
      total++;
      const r = spawnSync(process.execPath, [__filename, f.file], { timeout: 15000, encoding: 'utf8' });
      const line = (r.stdout || '').split('\n').find((l) => l.startsWith(f.file + ' |'));
      const out = line ? line : `${f.file} | ${r.error && r.error.code === 'ETIMEDOUT' ? 'HANG (killed after 15 s)' : 'crashed: ' + (r.stderr || '').split('\n').slice(0, 3).join(' ')}`;
      if (/\| (ok|refused)/.test(out)) good++;
      console.log(out.slice(0, 400));
    }
    console.log(`SUMMARY ${good}/${total} files read as astropy reads them (ok or refused like astropy)`);
    return;
  }
  for (const f of expected) {
    if (f.file !== only) continue;
    const b = fs.readFileSync(path.join(DATA, f.file));
    const ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    let verdict = 'ok';
    const notes = [];
    try {
      const fits = await open(new ShimBlob([ab]));
      if (f.error) { verdict = 'accepted a file astropy refuses'; }
      else {
        if (!fits.hdus || fits.hdus.length !== f.hdus.length) notes.push(`HDUs ${fits.hdus ? fits.hdus.length : 'none'} vs ${f.hdus.length}`);
        for (const h of f.hdus) {
          const hdu = fits.hdus && fits.hdus[h.index];
          if (!hdu) continue;
          if (h.stats) {
            const d = hdu.data;
            if (!d || typeof d.getFrame !== 'function') { notes.push(`HDU ${h.index} ${h.kind}: no image API`); continue; }
            try {
              const arr = await frame(d);
              const s = stats(arr);
              if (!(close(s.min, h.stats.min) && close(s.max, h.stats.max) && close(s.mean, h.stats.mean) && s.nan === h.stats.nan))
                notes.push(`HDU ${h.index} ${h.kind} BITPIX ${h.bitpix}: stats ${JSON.stringify(s)} vs astropy ${JSON.stringify(h.stats)}`);
            } catch (e) { notes.push(`HDU ${h.index} ${h.kind}: ${e.message}`); }
          }
        }
      }
    } catch (e) {
      verdict = f.error ? 'refused (as astropy)' : `threw: ${e.message}`;
    }
    if (notes.length) verdict = 'wrong: ' + notes.join('; ');
    rows.push([f.file, verdict]);
    console.log(f.file, '|', verdict.slice(0, 300));
  }
  process.exit(0);
})();
