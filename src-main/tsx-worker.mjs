// Runs a TypeScript worker-thread entry from source (serve, CLI and tests under tsx): worker threads on Node 20
// do not inherit tsx's loader from --import, so register it here, then load the entry named by argv[2].
import { register } from 'tsx/esm/api';
import { pathToFileURL } from 'node:url';

register();
await import(pathToFileURL(process.argv[2]).href);
