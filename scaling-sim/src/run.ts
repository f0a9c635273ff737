import { decide, DEFAULTS, type PolicyConfig, type PolicyState, type ResolvedPolicy } from '@clinical-ingest/operator';
import { DEFAULT_SCALE_DOWN, DEFAULT_SCALE_UP, HpaModel, operatorBehavior } from './hpa.js';
import { KedaKafkaScaler } from './keda.js';
import { TopicModel, type ModelParams } from './model.js';
import type { Profile } from './profiles.js';

export interface SimParams extends ModelParams {
  readonly freshnessTargetSeconds: number;
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly initialReplicas: number;
  readonly hpaSyncSeconds: number;
  /** Phase of the HPA's sync relative to t = 0. */
  readonly hpaSyncOffsetSeconds: number;
  readonly operatorPollSeconds: number;
  /** Seconds at the profile's initial rate before the measured run (not counted). */
  readonly warmupSeconds: number;
}

export const DEFAULT_SIM: SimParams = Object.freeze({
  partitions: 12,
  ratePerReplica: 1000,
  startupSeconds: 15,
  rebalancePauseSeconds: 10,
  seed: 42,
  freshnessTargetSeconds: 10,
  minReplicas: 1,
  maxReplicas: 24,
  initialReplicas: 1,
  hpaSyncSeconds: 15,
  hpaSyncOffsetSeconds: 7,
  operatorPollSeconds: 10,
  warmupSeconds: 600,
});

/** Who decides: KEDA's Kafka scaler behind the default HPA, or our policy behind our HPA. */
export interface ScalerSpec {
  readonly name: string;
  readonly kind: 'ours' | 'keda';
  /** ours: the HPA's tolerance the policy must clear (0 = configurable tolerance set to 0). */
  readonly hpaTolerance?: number;
  /** keda: lagThreshold as a multiple of ratePerReplica × freshness target. */
  readonly lagThresholdFactor?: number;
  readonly policy?: Partial<ResolvedPolicy>;
}

export interface Series {
  readonly t: number[];
  /** Age of the oldest unconsumed record (max over partitions that are not stuck), seconds. */
  readonly lagSeconds: number[];
  readonly lag: number[];
  readonly replicas: number[];
  readonly ready: number[];
  readonly arrival: number[];
}

export interface RunResult {
  readonly profile: string;
  readonly scaler: string;
  readonly worstLatency: number;
  readonly p99Latency: number;
  readonly p50Latency: number;
  readonly secondsAboveTarget: number;
  readonly replicaSeconds: number;
  readonly scaleChanges: number;
  readonly rebalances: number;
  readonly maxReplicas: number;
  readonly series: Series;
}

export function runOne(profile: Profile, scaler: ScalerSpec, sim: SimParams = DEFAULT_SIM): RunResult {
  const P = sim.partitions;
  // Start from a count that carries the initial rate (both scalers), then warm up.
  const initial = Math.max(sim.initialReplicas, Math.min(P, Math.ceil(profile.rate(0) / (sim.ratePerReplica * 0.8))));
  const model = new TopicModel(sim, initial);
  model.statsFrom = 0;
  if (profile.stuck) model.excludeFromStats.add(profile.stuck.partition);
  const T = sim.freshnessTargetSeconds;
  let hpa: HpaModel;
  let target: number;
  let metric: () => number;
  let poll: ((t: number) => void) | undefined;

  if (scaler.kind === 'keda') {
    const lagThreshold = Math.max(1, Math.round(sim.ratePerReplica * T * (scaler.lagThresholdFactor ?? 1)));
    const keda = new KedaKafkaScaler({ lagThreshold });
    hpa = new HpaModel({ minReplicas: sim.minReplicas, maxReplicas: sim.maxReplicas, scaleUp: DEFAULT_SCALE_UP, scaleDown: DEFAULT_SCALE_DOWN });
    target = lagThreshold;
    metric = () => keda.metric(model.logEnd.map((e, q) => ({ partition: q, logEndOffset: e, committedOffset: model.committed[q]! })));
  } else {
    const cfg: PolicyConfig = {
      ...DEFAULTS.policy,
      ...scaler.policy,
      minReplicas: sim.minReplicas,
      maxReplicas: sim.maxReplicas,
      freshnessTargetSeconds: T,
      initialRatePerReplica: scaler.policy?.initialRatePerReplica ?? sim.ratePerReplica,
      hpaTolerance: scaler.hpaTolerance ?? 0,
    };
    const tol = scaler.hpaTolerance ?? 0;
    // The operator's HPA: maxReplicas is the policy's cap (the builder does the same).
    const cap = Math.min(sim.maxReplicas, P);
    hpa = new HpaModel({
      minReplicas: sim.minReplicas,
      maxReplicas: cap,
      ...operatorBehavior(cap, tol > 0 ? undefined : 0),
      clusterTolerance: tol > 0 ? tol : 0.1,
    });
    target = 1;
    let state: PolicyState | undefined;
    let published = initial;
    metric = () => published;
    poll = (t) => {
      const d = decide(
        cfg,
        {
          at: t * 1000,
          replicas: model.replicas,
          readyReplicas: model.readyReplicas,
          partitions: model.logEnd.map((e, q) => ({ partition: q, logEndOffset: e, committedOffset: model.committed[q]! })),
        },
        state,
      );
      state = d.state;
      published = d.metricValue;
    };
  }

  const series: Series = { t: [], lagSeconds: [], lag: [], replicas: [], ready: [], arrival: [] };
  let aboveTarget = 0;
  let replicaSeconds = 0;
  let changes = 0;
  let maxSeen = 0;
  let rebalancesAtStart = 0;
  const start = -sim.warmupSeconds;
  const initialRate = profile.rate(0);
  for (let t = start; t < profile.durationSeconds; t++) {
    const measuring = t >= 0;
    if (t === 0) {
      model.latency.length = 0;
      rebalancesAtStart = model.rebalances;
    }
    const rate = measuring ? profile.rate(t) : initialRate;
    const stuck = new Set<number>();
    if (profile.stuck && t >= profile.stuck.from && t < profile.stuck.to) stuck.add(profile.stuck.partition);
    model.step(t, rate, stuck);
    if (poll && (t - start) % sim.operatorPollSeconds === 0) poll(t);
    if ((t - start - sim.hpaSyncOffsetSeconds) % sim.hpaSyncSeconds === 0) {
      const before = model.replicas;
      const next = hpa.sync(t, metric(), target, before);
      if (next !== before) {
        model.scaleTo(next, t);
        if (measuring) changes++;
      }
    }
    if (!measuring) continue;
    let age = 0;
    let lag = 0;
    for (let q = 0; q < P; q++) {
      lag += model.lag(q);
      if (!model.excludeFromStats.has(q)) age = Math.max(age, model.oldestAge(q, t));
    }
    if (age > T) aboveTarget++;
    replicaSeconds += model.replicas;
    maxSeen = Math.max(maxSeen, model.replicas);
    series.t.push(t);
    series.lagSeconds.push(age);
    series.lag.push(lag);
    series.replicas.push(model.replicas);
    series.ready.push(model.readyReplicas);
    series.arrival.push(rate);
  }
  const hist = model.latency;
  return {
    profile: profile.name,
    scaler: scaler.name,
    worstLatency: percentile(hist, 1),
    p99Latency: percentile(hist, 0.99),
    p50Latency: percentile(hist, 0.5),
    secondsAboveTarget: aboveTarget,
    replicaSeconds,
    scaleChanges: changes,
    rebalances: model.rebalances - rebalancesAtStart,
    maxReplicas: maxSeen,
    series,
  };
}

/** Latency (s) at quantile q of a histogram of whole-second buckets (latency = bucket + 0.5). */
export function percentile(hist: readonly number[], q: number): number {
  let total = 0;
  for (const n of hist) total += n ?? 0;
  if (total === 0) return 0;
  if (q >= 1) {
    for (let i = hist.length - 1; i >= 0; i--) if ((hist[i] ?? 0) > 0) return i + 0.5;
  }
  const want = q * total;
  let seen = 0;
  for (let i = 0; i < hist.length; i++) {
    seen += hist[i] ?? 0;
    if (seen >= want) return i + 0.5;
  }
  return hist.length - 0.5;
}
