/**
 * The real-server test harness (never shipped, never in an image): connections to the local
 * platform of `make up` and real consumer processes, for the integration tests, the fault suite
 * (chaos/) and the benchmarks (bench/).
 */
export * from './platform.js';
export * from './processes.js';
