export * from './types.js';
export * from './defaults.js';
export * from './crd.js';
export * from './metrics.js';
export * from './rbac.js';
export * from './snapshot.js';
