/**
 * The Electron main process: one secure window, the application menu, single instance, and the engine in a
 * utilityProcess. The main thread only routes validated messages; it never computes.
 */
import { app, BrowserWindow, Menu, dialog, ipcMain, shell, utilityProcess, session, type MenuItemConstructorOptions } from 'electron';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promises as fs } from 'node:fs';
import { EngineClient, processRss, type EngineProcess } from '../engine/client.js';
import { validateRequest, ProtocolError, describeScoreEngine, type EngineEvent } from '../../src-shared/protocol/index.js';
import { versions } from '../version.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));

const CSP = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "worker-src 'self' blob:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

function utilityProcessSpawner(): EngineProcess {
  const child = utilityProcess.fork(path.join(HERE, 'engine.js'), [], {
    serviceName: 'SkyScore engine',
    env: { ...process.env },
    stdio: 'inherit',
  });
  return {
    post: (m) => child.postMessage(m),
    onMessage: (cb) => child.on('message', cb),
    onExit: (cb) => child.on('exit', cb),
    kill: async () => {
      child.kill();
    },
    rss: () => processRss(child.pid),
  };
}

let win: BrowserWindow | null = null;
const engine = new EngineClient(utilityProcessSpawner);

function send(channel: string, payload: unknown) {
  if (win && !win.isDestroyed()) win.webContents.send(channel, payload);
}

function buildMenu() {
  const isMac = process.platform === 'darwin';
  const template: MenuItemConstructorOptions[] = [
    ...(isMac ? [{ role: 'appMenu' as const }] : []),
    {
      label: 'File',
      submenu: [
        { label: 'Open FITS…', accelerator: 'CmdOrCtrl+O', click: () => void openFits() },
        { label: 'Open example', click: () => send('skyscore:menu', { action: 'open-example' }) },
        { label: 'Export…', accelerator: 'CmdOrCtrl+E', click: () => send('skyscore:menu', { action: 'export' }) },
        { type: 'separator' },
        isMac ? { role: 'close' } : { role: 'quit', label: 'Quit' },
      ],
    },
    { role: 'editMenu' },
    { role: 'viewMenu' },
    {
      label: 'Help',
      submenu: [{ label: 'About SkyScore', click: () => void showAbout() }],
    },
  ];
  Menu.setApplicationMenu(Menu.buildFromTemplate(template));
}

async function openFits() {
  if (!win) return;
  const r = await dialog.showOpenDialog(win, {
    title: 'Open FITS',
    properties: ['openFile'],
    filters: [
      { name: 'FITS', extensions: ['fits', 'fit', 'fts', 'fz', 'gz'] },
      { name: 'UVFITS visibilities', extensions: ['uvfits', 'uvf'] },
      { name: 'All files', extensions: ['*'] },
    ],
  });
  if (r.canceled || r.filePaths.length === 0) return;
  const file = r.filePaths[0]!;
  try {
    const bytes = await fs.readFile(file);
    // a Measurement Set's table.dat keeps its folder's name, so the message can name the set to export
    const name = path.basename(file) === 'table.dat' ? `${path.basename(path.dirname(file))}/table.dat` : path.basename(file);
    send('skyscore:menu', { action: 'open-file', name, bytes: new Uint8Array(bytes) });
  } catch (e) {
    dialog.showErrorBox('Cannot open file', `${file}: ${(e as Error).message}`);
  }
}

async function showAbout() {
  let backend = 'unknown';
  let score = 'unknown (the engine did not answer)';
  try {
    const info = await engine.request('engine.info', {});
    backend = `${info.backend.backend}${info.backend.gpuAdapter.found ? ` (${info.backend.gpuAdapter.description})` : ''}`;
    const s = info.scoreEngine;
    score = describeScoreEngine(s) + (s.engine === 'onnx' && s.note ? `\n  (${s.note})` : '');
  } catch {
    /* engine unavailable: still show versions */
  }
  const v = versions();
  await dialog.showMessageBox({
    type: 'info',
    title: 'About SkyScore',
    message: `SkyScore ${v.skyscore}`,
    detail: `Electron ${process.versions.electron}\nChromium ${process.versions.chrome}\nNode ${process.versions.node}\ntfjs ${v.tfjs}\nbackend ${backend}\nscore network: ${score}`,
  });
}

function createWindow() {
  win = new BrowserWindow({
    width: 1400,
    height: 900,
    title: 'SkyScore',
    show: false,
    webPreferences: {
      preload: path.join(HERE, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win?.show());
  win.webContents.on('will-navigate', (e) => e.preventDefault());
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  const devUrl = process.env.ELECTRON_RENDERER_URL;
  if (devUrl) void win.loadURL(devUrl);
  else void win.loadFile(path.join(HERE, '../renderer/index.html'));
  win.on('closed', () => (win = null));
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });
  app.on('web-contents-created', (_e, contents) => {
    contents.on('will-attach-webview', (e) => e.preventDefault());
    contents.on('will-navigate', (e) => e.preventDefault());
  });
  void app.whenReady().then(() => {
    session.defaultSession.webRequest.onHeadersReceived((details, cb) => {
      cb({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CSP] } });
    });
    session.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
    ipcMain.handle('skyscore:request', async (e, msg: unknown) => {
      if (!win || e.sender !== win.webContents) return { id: -1, ok: false, error: { code: 'bad-request', message: 'unknown sender' } };
      let id = -1;
      try {
        if (msg && typeof msg === 'object' && typeof (msg as { id?: unknown }).id === 'number') id = (msg as { id: number }).id;
        const req = validateRequest(msg);
        return { id: req.id, ok: true, result: await engine.forward(req.method, req.params) };
      } catch (err) {
        const x = err as Error & { code?: string };
        const code = err instanceof ProtocolError ? 'bad-request' : x.name === 'EngineDiedError' ? 'engine-died' : (x.code ?? 'internal');
        return { id, ok: false, error: { code, message: x.message } };
      }
    });
    engine.on('event', (ev: EngineEvent) => send('skyscore:event', ev));
    engine.start();
    buildMenu();
    createWindow();
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) createWindow();
    });
  });
  app.on('window-all-closed', () => {
    void engine.stop();
    if (process.platform !== 'darwin') app.quit();
  });
}
