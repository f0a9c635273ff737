/**
 * A model of the Kubernetes HPA controller for one External metric with an `AverageValue`
 * target, following pkg/controller/podautoscaler (replica_calculator.go
 * `GetExternalPerPodMetricReplicas`, horizontal.go `stabilizeRecommendationWithBehaviors`,
 * `convertDesiredReplicasWithBehaviorRate`, `calculateScaleUpLimitWithScalingRules`,
 * `calculateScaleDownLimitWithBehaviors`). Per sync, with C = the target's spec replicas:
 *
 *   C = 0 and minReplicas > 0           → scaling disabled (stays 0)
 *   C > max → max;  C < min → min
 *   ratio = value / (target × C)
 *   raw = C                if (1 − ratio) ≤ tolDown and (ratio − 1) ≤ tolUp   (default 0.1 both)
 *       = ceil(value / target) otherwise
 *   stabilized: up = min(raw, recommendations within scaleUp window),
 *               down = max(raw, recommendations within scaleDown window),
 *               r = C; r = max(r, up); r = min(r, down)                   (then raw is recorded)
 *   rate limits over each policy's period, from periodStart = C − added + deleted in the period:
 *     up:   Pods → periodStart + v;  Percent → ceil(periodStart × (1 + v/100)); Max → largest
 *     down: Pods → periodStart − v;  Percent → trunc(periodStart × (1 − v/100)); Max → smallest
 *   clamp to [min, max].
 *
 * Default behaviour (autoscaling/v2 defaults): scale-up no stabilization, max(+100 %, +4 pods)
 * per 15 s; scale-down stabilization 300 s, −100 % per 15 s; tolerance 10 %; sync every 15 s.
 */

export interface ScalingPolicy {
  readonly type: 'Pods' | 'Percent';
  readonly value: number;
  readonly periodSeconds: number;
}

export interface ScalingRules {
  readonly stabilizationWindowSeconds: number;
  readonly selectPolicy: 'Max' | 'Min' | 'Disabled';
  readonly policies: readonly ScalingPolicy[];
  /** Per-direction tolerance (HPAConfigurableTolerance); the cluster's when absent. */
  readonly tolerance?: number;
}

export interface HpaConfig {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  /** Cluster-wide tolerance (`--horizontal-pod-autoscaler-tolerance`). @default 0.1 */
  readonly clusterTolerance?: number;
  readonly scaleUp: ScalingRules;
  readonly scaleDown: ScalingRules;
}

export const DEFAULT_SCALE_UP: ScalingRules = Object.freeze<ScalingRules>({
  stabilizationWindowSeconds: 0,
  selectPolicy: 'Max',
  policies: [
    { type: 'Percent', value: 100, periodSeconds: 15 },
    { type: 'Pods', value: 4, periodSeconds: 15 },
  ],
});

export const DEFAULT_SCALE_DOWN: ScalingRules = Object.freeze<ScalingRules>({
  stabilizationWindowSeconds: 300,
  selectPolicy: 'Max',
  policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }],
});

/** The behaviour our HPA builder writes (no stabilization, any step in one period, no tolerance). */
export function operatorBehavior(maxReplicas: number, tolerance: number | undefined): { scaleUp: ScalingRules; scaleDown: ScalingRules } {
  const tol = tolerance === undefined ? {} : { tolerance };
  return {
    scaleUp: {
      stabilizationWindowSeconds: 0,
      selectPolicy: 'Max',
      policies: [
        { type: 'Percent', value: 1000, periodSeconds: 15 },
        { type: 'Pods', value: maxReplicas, periodSeconds: 15 },
      ],
      ...tol,
    },
    scaleDown: { stabilizationWindowSeconds: 0, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }], ...tol },
  };
}

interface Stamped {
  readonly at: number; // seconds
  readonly value: number;
}

export class HpaModel {
  private recommendations: Stamped[] = [];
  private upEvents: Stamped[] = [];
  private downEvents: Stamped[] = [];

  constructor(private readonly cfg: HpaConfig) {}

  /**
   * One sync at `now` (seconds): the External metric's `value` (summed over series), the
   * AverageValue `target`, and the target's spec replicas. Returns the new spec replicas.
   */
  sync(now: number, value: number, target: number, current: number): number {
    const { minReplicas: min, maxReplicas: max } = this.cfg;
    if (current === 0 && min !== 0) return 0; // ScalingDisabled
    let raw: number;
    if (current > max) raw = max;
    else if (current < min) raw = min;
    else {
      const clusterTol = this.cfg.clusterTolerance ?? 0.1;
      const tolUp = this.cfg.scaleUp.tolerance ?? clusterTol;
      const tolDown = this.cfg.scaleDown.tolerance ?? clusterTol;
      const ratio = value / (target * current);
      raw = 1 - ratio <= tolDown && ratio - 1 <= tolUp ? current : Math.ceil(value / target - 1e-9);
    }
    const stabilized = this.stabilize(now, raw, current);
    const next = this.limit(now, stabilized, current);
    if (next !== current) {
      (next > current ? this.upEvents : this.downEvents).push({ at: now, value: Math.abs(next - current) });
    }
    return next;
  }

  private stabilize(now: number, raw: number, current: number): number {
    const upCut = now - this.cfg.scaleUp.stabilizationWindowSeconds;
    const downCut = now - this.cfg.scaleDown.stabilizationWindowSeconds;
    let up = raw;
    let down = raw;
    for (const r of this.recommendations) {
      if (r.at > upCut) up = Math.min(up, r.value);
      if (r.at > downCut) down = Math.max(down, r.value);
    }
    let rec = current;
    if (rec < up) rec = up;
    if (rec > down) rec = down;
    const keep = Math.max(this.cfg.scaleUp.stabilizationWindowSeconds, this.cfg.scaleDown.stabilizationWindowSeconds);
    this.recommendations = this.recommendations.filter((r) => r.at > now - keep);
    this.recommendations.push({ at: now, value: raw });
    return rec;
  }

  private changeIn(events: Stamped[], now: number, period: number): number {
    return events.filter((e) => e.at > now - period).reduce((a, e) => a + e.value, 0);
  }

  private limit(now: number, desired: number, current: number): number {
    const { minReplicas: min, maxReplicas: max, scaleUp, scaleDown } = this.cfg;
    if (desired > current) {
      let limit: number;
      if (scaleUp.selectPolicy === 'Disabled') limit = current;
      else {
        const proposals = scaleUp.policies.map((p) => {
          const start = current - this.changeIn(this.upEvents, now, p.periodSeconds) + this.changeIn(this.downEvents, now, p.periodSeconds);
          return p.type === 'Pods' ? start + p.value : Math.ceil(start * (1 + p.value / 100));
        });
        limit = scaleUp.selectPolicy === 'Min' ? Math.min(...proposals) : Math.max(...proposals);
      }
      if (limit < current) limit = current;
      return Math.min(desired, Math.min(max, limit));
    }
    if (desired < current) {
      let limit: number;
      if (scaleDown.selectPolicy === 'Disabled') limit = current;
      else {
        const proposals = scaleDown.policies.map((p) => {
          const start = current - this.changeIn(this.upEvents, now, p.periodSeconds) + this.changeIn(this.downEvents, now, p.periodSeconds);
          return p.type === 'Pods' ? start - p.value : Math.trunc(start * (1 - p.value / 100));
        });
        limit = scaleDown.selectPolicy === 'Min' ? Math.max(...proposals) : Math.min(...proposals);
      }
      if (limit > current) limit = current;
      return Math.max(desired, Math.max(min, limit));
    }
    return desired;
  }
}
