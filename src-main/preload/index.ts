/**
 * The preload: the renderer's only door to the host. It exposes a narrow API (request, events, menu actions)
 * through contextBridge; everything it forwards is validated again in the main process.
 */
import { contextBridge, ipcRenderer } from 'electron';

type Listener = (payload: unknown) => void;

const api = {
  kind: 'electron' as const,
  request: (msg: { id: number; method: string; params: unknown }): Promise<unknown> => ipcRenderer.invoke('skyscore:request', msg),
  onEvent: (cb: Listener): (() => void) => {
    const h = (_e: unknown, payload: unknown) => cb(payload);
    ipcRenderer.on('skyscore:event', h);
    return () => ipcRenderer.removeListener('skyscore:event', h);
  },
  onMenu: (cb: Listener): (() => void) => {
    const h = (_e: unknown, payload: unknown) => cb(payload);
    ipcRenderer.on('skyscore:menu', h);
    return () => ipcRenderer.removeListener('skyscore:menu', h);
  },
};

contextBridge.exposeInMainWorld('skyscore', api);
