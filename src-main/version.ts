import pkg from '../package.json' with { type: 'json' };
import { version_core } from '@tensorflow/tfjs-core';

export interface Versions {
  skyscore: string;
  node: string;
  tfjs: string;
  electron?: string;
}

export const SKYSCORE_VERSION: string = pkg.version;

export function versions(): Versions {
  const v: Versions = { skyscore: pkg.version, node: process.versions.node, tfjs: version_core };
  if (process.versions.electron) v.electron = process.versions.electron;
  return v;
}
