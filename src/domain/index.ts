export * from './decide.js';
export * from './describe.js';
export * from './errors.js';
export * from './evolve.js';
export * from './limits.js';
export * from './types.js';
export * from './validate.js';
