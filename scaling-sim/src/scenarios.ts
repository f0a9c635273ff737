import type { ScalerSpec } from './run.js';

/**
 * The scalers compared by `make sim`. KEDA's lagThreshold is the lag one replica should carry;
 * the like-for-like value for a freshness target T is what a replica drains in T (rate × T), and
 * a quarter of it is the aggressive setting (more replicas, fresher).
 */
export const SCALERS: readonly ScalerSpec[] = [
  { name: 'ours', kind: 'ours', hpaTolerance: 0 },
  { name: 'KEDA lagThreshold=rate*T', kind: 'keda', lagThresholdFactor: 1 },
  { name: 'KEDA lagThreshold=rate*T/4', kind: 'keda', lagThresholdFactor: 0.25 },
];
