export * from './counts.js';
export * from './policy.js';
