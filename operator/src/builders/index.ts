export * from './common.js';
export * from './deployment.js';
export * from './hpa.js';
