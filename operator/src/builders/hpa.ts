import type { V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import { DEFAULTS } from '../api/defaults.js';
import { usefulCap } from '../policy/counts.js';
import { DESIRED_REPLICAS_METRIC } from '../api/metrics.js';
import { type IngestPipeline } from '../api/types.js';
import { type BuildOptions, consumerName, objectLabels, ownerReferences, PIPELINE_LABEL, requireNamespace } from './common.js';

export interface HpaOptions extends BuildOptions {
  /**
   * Partitions of the topic, when known: the HPA's maximum is then the policy's cap, the largest
   * count worth running (≤ partitions; with evenSpread, the top even count). The policy relies on
   * it: a value published past the tolerance band is clamped to it.
   */
  readonly partitions?: number;
  /**
   * Set `behavior.scale{Up,Down}.tolerance: 0` (the HPAConfigurableTolerance feature, alpha in
   * Kubernetes 1.33). Without it the cluster-wide 10 % tolerance holds a count above 10 one step
   * short of the decision (11 → 12 is a ratio of 1.09). An apiserver without the feature drops
   * the field; the policy's even-spread steps then mostly clear the tolerance anyway.
   * @default true
   */
  readonly zeroTolerance?: boolean;
}

/** HPA sync period (kube-controller-manager `--horizontal-pod-autoscaler-sync-period` default). */
export const HPA_PERIOD_SECONDS = 15;

/**
 * The consumer's HPA. It scales the Deployment on the operator's External metric
 * `ingestpipeline-desired-replicas` (the policy's decision) with an `AverageValue` target of 1:
 * the HPA computes ceil(value / 1) = the decision. Its behaviour neither fights nor delays the
 * policy, which has its own stabilization and rebalance hold: no stabilization windows, scale-up
 * and scale-down may move to any count in one period, and (where supported) no tolerance. The
 * HPA stays the one writer of the replica count.
 */
export function buildConsumerHpa(pipeline: IngestPipeline, opts: HpaOptions = {}): V2HorizontalPodAutoscaler {
  const namespace = requireNamespace(pipeline);
  const owners = ownerReferences(pipeline, opts);
  const s = pipeline.spec.scaling;
  const even = s.policy?.evenSpread ?? DEFAULTS.policy.evenSpread;
  const cap = opts.partitions !== undefined && opts.partitions > 0 ? usefulCap(opts.partitions, s.maxReplicas, even) : s.maxReplicas;
  const maxReplicas = Math.max(1, cap);
  // The HPA cannot go below 1 (unless the HPAScaleToZero alpha gate is on); scale to zero is the
  // operator's 0 ↔ 1 edge, where the HPA is idle by design (as with KEDA).
  const minReplicas = Math.min(maxReplicas, Math.max(1, s.minReplicas ?? DEFAULTS.minReplicas));
  const zeroTolerance = opts.zeroTolerance ?? true;
  const tolerance = zeroTolerance ? { tolerance: '0' } : {};
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: {
      name: consumerName(pipeline),
      namespace,
      labels: objectLabels(pipeline, opts),
      ...(owners === undefined ? {} : { ownerReferences: owners }),
    },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: consumerName(pipeline) },
      minReplicas,
      maxReplicas,
      metrics: [
        {
          type: 'External',
          external: {
            metric: { name: DESIRED_REPLICAS_METRIC, selector: { matchLabels: { [PIPELINE_LABEL]: pipeline.metadata.name } } },
            target: { type: 'AverageValue', averageValue: '1' },
          },
        },
      ],
      behavior: {
        scaleUp: {
          stabilizationWindowSeconds: 0,
          selectPolicy: 'Max',
          policies: [
            { type: 'Percent', value: 1000, periodSeconds: HPA_PERIOD_SECONDS },
            { type: 'Pods', value: maxReplicas, periodSeconds: HPA_PERIOD_SECONDS },
          ],
          ...tolerance,
        },
        scaleDown: {
          stabilizationWindowSeconds: 0,
          selectPolicy: 'Max',
          policies: [{ type: 'Percent', value: 100, periodSeconds: HPA_PERIOD_SECONDS }],
          ...tolerance,
        },
      },
    },
  };
}
