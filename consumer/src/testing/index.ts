export * from './platform.js';
export * from './processes.js';
export * from './fakes.js';
