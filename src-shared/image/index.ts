/** Image display: statistics, limits, scales, colour maps, histograms and the reference renderer. Pure. */
export * from './stats.js';
export * from './zscale.js';
export * from './limits.js';
export * from './scales.js';
export * from './histogram.js';
export * from './colormaps.js';
export * from './color.js';
export * from './render.js';
export * from './decimate.js';
export * from './fits-planes.js';
