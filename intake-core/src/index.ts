export * from './config.js';
export * from './dates.js';
export * from './errors.js';
export * from './identity.js';
export * from './logger.js';
export * from './record.js';
export * from './kafka.js';
export * from './prng.js';
