// Runs the TypeScript sampling worker from source (CLI under tsx): worker threads on Node 20 do not inherit
// tsx's loader from --import, so register it here, then load the worker.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
