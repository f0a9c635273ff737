import type { IngestPipelineSpec } from './types.js';

/**
 * Defaults of every optional field, in one place: the CRD's schema declares the same values (the
 * apiserver fills them in), and the operator resolves a spec with them too, so an object written
 * before a default existed behaves the same.
 */
export const DEFAULTS = Object.freeze({
  imagePullPolicy: 'IfNotPresent' as const,
  resources: Object.freeze({
    requests: Object.freeze({ cpu: '500m', memory: '256Mi' }),
    limits: Object.freeze({ memory: '512Mi' }),
  }),
  serviceAccountName: 'default',
  metricsPort: 9464, // the consumer's METRICS_PORT default
  shutdownTimeoutSeconds: 25, // the consumer's SHUTDOWN_TIMEOUT_MS default
  minReplicas: 1,
  freshnessTargetSeconds: 5,
  pollIntervalSeconds: 10,
  policy: Object.freeze({
    targetUtilization: 0.8,
    initialRatePerReplica: 1000, // records/s
    rebalanceHoldSeconds: 30,
    scaleDownStabilizationSeconds: 120,
    stuckPartitionSeconds: 60,
    trendWindowSeconds: 30,
    evenSpread: true,
    scaleToZero: false,
    activationLag: 0,
    idleSecondsBeforeZero: 300, // five minutes
  }),
});

export type ResolvedPolicy = { -readonly [K in keyof typeof DEFAULTS.policy]: (typeof DEFAULTS.policy)[K] extends boolean ? boolean : number };

export interface ResolvedScaling {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly freshnessTargetSeconds: number;
  readonly pollIntervalSeconds: number;
  readonly policy: Readonly<ResolvedPolicy>;
}

/** The scaling section with every default filled in. */
export function resolveScaling(spec: IngestPipelineSpec): ResolvedScaling {
  const s = spec.scaling;
  const p = s.policy ?? {};
  const d = DEFAULTS.policy;
  return {
    minReplicas: s.minReplicas ?? DEFAULTS.minReplicas,
    maxReplicas: s.maxReplicas,
    freshnessTargetSeconds: s.freshnessTargetSeconds ?? DEFAULTS.freshnessTargetSeconds,
    pollIntervalSeconds: s.pollIntervalSeconds ?? DEFAULTS.pollIntervalSeconds,
    policy: {
      targetUtilization: p.targetUtilization ?? d.targetUtilization,
      initialRatePerReplica: p.initialRatePerReplica ?? d.initialRatePerReplica,
      rebalanceHoldSeconds: p.rebalanceHoldSeconds ?? d.rebalanceHoldSeconds,
      scaleDownStabilizationSeconds: p.scaleDownStabilizationSeconds ?? d.scaleDownStabilizationSeconds,
      stuckPartitionSeconds: p.stuckPartitionSeconds ?? d.stuckPartitionSeconds,
      trendWindowSeconds: p.trendWindowSeconds ?? d.trendWindowSeconds,
      evenSpread: p.evenSpread ?? d.evenSpread,
      scaleToZero: p.scaleToZero ?? d.scaleToZero,
      activationLag: p.activationLag ?? d.activationLag,
      idleSecondsBeforeZero: p.idleSecondsBeforeZero ?? d.idleSecondsBeforeZero,
    },
  };
}
