import type { ResolvedPolicy } from '../api/defaults.js';
import { allowedCounts, partitionsPerReplica, usefulCap } from './counts.js';

/**
 * The replica policy (docs/architecture.md §5), a pure function of (configuration, observation, previous
 * state): time comes in with the observation, nothing is read from the clock or the network.
 *
 * It sizes the consumer group on *drain time*. Per partition q, from Kafka offsets only:
 *
 *   lag_q    = logEnd_q − committed_q                                 (records)
 *   λ_q      = Δ logEnd_q / Δt over the trend window                 (arrivals, records/s)
 *   λ'_q     = λ_q × rising trend extrapolated one trend window ahead  (arrivals when a change lands)
 *   demand_q = λ'_q + lag_q / T                                       (T = freshness target)
 *   μ        = measured records/s one replica consumes (see `measureRate`)
 *
 * and chooses the smallest count R whose busiest consumer keeps up:
 *
 *   sum of the ceil(P/R) largest demands ≤ μ × targetUtilization     (evenSpread, the default)
 *   Σ demand_q ≤ R × μ × targetUtilization                            (evenSpread: false)
 *
 * over the counts that spread the partitions evenly, never above min(maxReplicas, P). A partition
 * whose committed offset has not moved for `stuckPartitionSeconds` while it has lag (poison record,
 * stuck consumer) adds no demand, so it cannot push the count to the maximum, but it is reported
 * (`stuck`), counted in the total lag, and keeps at least one replica. Scale-up is immediate;
 * scale-down goes to the highest count wanted over `scaleDownStabilizationSeconds`; no change at
 * all for `rebalanceHoldSeconds` after one (the group is rebalancing and rates read then are
 * wrong). With `hpaTolerance` > 0 (an HPA without the configurable tolerance), steps are chosen so
 * the HPA's tolerance band never swallows them, and never one short of the cap.
 */

export interface PartitionOffsets {
  readonly partition: number;
  /** Log-end (high-water) offset. */
  readonly logEndOffset: number;
  /** The group's committed offset (the log start when nothing is committed yet). */
  readonly committedOffset: number;
}

export interface Observation {
  /** When the offsets were read, in milliseconds (any epoch; only differences matter). */
  readonly at: number;
  readonly partitions: readonly PartitionOffsets[];
  /** The consumer Deployment's replica count (spec: what the HPA last set). */
  readonly replicas: number;
  /** Replicas ready (in the group). @default replicas */
  readonly readyReplicas?: number;
}

export interface PolicyConfig extends ResolvedPolicy {
  readonly minReplicas: number;
  readonly maxReplicas: number;
  readonly freshnessTargetSeconds: number;
  /**
   * The HPA's tolerance the decision must clear: 0 when the HPA has `behavior.*.tolerance: 0`
   * (HPAConfigurableTolerance), 0.1 (the cluster default) otherwise. @default 0
   */
  readonly hpaTolerance?: number;
}

export type ScaleReason =
  | 'Initial'
  | 'Steady'
  | 'ScaleUp'
  | 'ScaleDown'
  | 'ScaleDownStabilizing'
  | 'RebalanceHold'
  | 'WithinTolerance'
  | 'Activate'
  | 'Idle'
  | 'ScaleToZero'
  | 'Bounds'
  | 'NoPartitions';

interface Recommendation {
  readonly at: number;
  readonly replicas: number;
}

interface Movement {
  readonly offset: number;
  /** Since when the committed offset has been `offset` (reset while lag is 0 or nobody consumes). */
  readonly since: number;
}

export interface PolicyState {
  readonly history: readonly Observation[];
  readonly decision: number;
  readonly lastChangeAt: number | undefined;
  readonly replicasChangedAt: number | undefined;
  readonly recommendations: readonly Recommendation[];
  /** Records/s one replica consumes (measured, or the configured initial rate). */
  readonly ratePerReplica: number;
  readonly movement: Readonly<Record<number, Movement>>;
  readonly idleSince: number | undefined;
}

export interface Decision {
  /** The count decided (the HPA lands on it). */
  readonly replicas: number;
  /**
   * The value to publish as the HPA's External metric (AverageValue target 1). Equal to
   * `replicas`, except for a step to the cap that the HPA's tolerance band would swallow
   * (11 → 12 is a ratio of 1.09): then a value past the band, which the HPA clamps to its
   * maxReplicas (the cap) — it lands on the cap instead of stalling one short.
   */
  readonly metricValue: number;
  /** The count the demand alone asks for (before stabilization, hold and tolerance). */
  readonly recommended: number;
  readonly changed: boolean;
  readonly reason: ScaleReason;
  readonly message: string;
  readonly partitions: number;
  readonly lagPerPartition: readonly number[];
  readonly totalLag: number;
  /** Partitions whose lag does not move. */
  readonly stuckPartitions: readonly number[];
  /** Arrivals, records/s (all partitions that are not stuck). */
  readonly arrivalRate: number;
  readonly ratePerReplica: number;
  /** Estimated seconds to drain the lag of the partitions that move, at the chosen count; undefined if it cannot. */
  readonly drainSeconds: number | undefined;
  readonly state: PolicyState;
}

/** A backlog longer than this many seconds of a partition's arrivals means its consumer is busy. */
const BACKLOG_SECONDS = 2;
/** Weight of a new saturated measurement in the rate estimate. */
const RATE_SMOOTHING = 0.5;

export function decide(cfg: PolicyConfig, obs: Observation, prev: PolicyState | undefined): Decision {
  const now = obs.at;
  const parts = [...obs.partitions].sort((a, b) => a.partition - b.partition);
  const P = parts.length;
  const ready = Math.max(0, obs.readyReplicas ?? obs.replicas);
  const lags = parts.map((p) => Math.max(0, p.logEndOffset - p.committedOffset));
  const totalLag = lags.reduce((a, b) => a + b, 0);
  const tol = Math.max(0, cfg.hpaTolerance ?? 0);
  const current = prev?.decision ?? obs.replicas;

  const zeroAllowed = cfg.scaleToZero && cfg.minReplicas === 0;
  const hardCap = Math.max(1, Math.min(cfg.maxReplicas, P));
  const floor = zeroAllowed ? 0 : Math.min(hardCap, Math.max(1, cfg.minReplicas));
  const cap = Math.max(floor, usefulCap(P, cfg.maxReplicas, cfg.evenSpread));

  // History within the trend window (the newest sample is this one).
  const windowMs = Math.max(0, cfg.trendWindowSeconds) * 1000;
  const history = [...(prev?.history ?? []).filter((h) => h.at >= now - windowMs && h.at < now), obs];
  const last = prev?.history[prev.history.length - 1];
  const replicasChangedAt =
    prev === undefined || last === undefined
      ? prev?.replicasChangedAt
      : last.replicas !== obs.replicas || (last.readyReplicas ?? last.replicas) !== ready
        ? now
        : prev.replicasChangedAt;

  // Stuck partitions: lag, consumers, and a committed offset that has not moved for
  // `stuckPartitionSeconds`: reported. A partition with lag that made no progress at all since
  // the previous observation while others did is no capacity problem (a busy consumer still
  // moves every partition it holds): it adds no demand from then on, so a poison record never
  // drives a scale-up; it is reported stuck once `stuckPartitionSeconds` have passed.
  const movement: Record<number, Movement> = {};
  const stuck: number[] = [];
  const excluded = new Set<number>();
  const othersMoved = parts.some((p) => {
    const b = prev?.movement[p.partition];
    return b !== undefined && b.offset !== p.committedOffset;
  });
  parts.forEach((p, i) => {
    const before = prev?.movement[p.partition];
    const reset = before === undefined || before.offset !== p.committedOffset || lags[i] === 0 || ready === 0;
    const m = reset ? { offset: p.committedOffset, since: now } : before;
    movement[p.partition] = m;
    const frozen = now - m.since;
    if ((lags[i] ?? 0) > 0 && ready > 0 && frozen >= cfg.stuckPartitionSeconds * 1000) {
      stuck.push(p.partition);
      excluded.add(p.partition);
    } else if ((lags[i] ?? 0) > 0 && ready > 0 && othersMoved && frozen > 0) {
      excluded.add(p.partition);
    }
  });
  const isStuck = (partition: number) => excluded.has(partition);

  if (P === 0) {
    const replicas = Math.max(floor, Math.min(current, cfg.maxReplicas));
    const state = nextState(prev, {
      history,
      decision: replicas,
      changedAt: replicas !== current ? now : prev?.lastChangeAt,
      replicasChangedAt,
      movement,
      recommendations: prev?.recommendations ?? [],
      rate: prev?.ratePerReplica ?? cfg.initialRatePerReplica,
      idleSince: undefined,
    });
    return result('NoPartitions', 'the topic has no partitions (missing?)', replicas, replicas, current, state, {
      P,
      lags,
      totalLag,
      stuck,
      arrival: 0,
      drain: undefined,
    });
  }

  // Arrival and consumption rates over the window, per partition.
  const base = history[0]!;
  const dt = (now - base.at) / 1000;
  const baseOf = (partition: number) => base.partitions.find((b) => b.partition === partition);
  const arrivals = parts.map((p) => {
    const b = baseOf(p.partition);
    return dt > 0 && b ? Math.max(0, p.logEndOffset - b.logEndOffset) / dt : 0;
  });
  const consumed = parts.map((p) => {
    const b = baseOf(p.partition);
    return dt > 0 && b ? Math.max(0, p.committedOffset - b.committedOffset) / dt : 0;
  });
  const arrivalRate = arrivals.reduce((a, v, i) => a + (isStuck(parts[i]!.partition) ? 0 : v), 0);
  const trendFactor = risingTrend(history, parts, isStuck, cfg.trendWindowSeconds);

  // Per-replica rate: a lower bound whenever measured; the estimate itself when every moving
  // partition was backlogged across the window (the consumers were the bottleneck).
  let rate = prev?.ratePerReplica ?? cfg.initialRatePerReplica;
  const consumers = Math.min(ready, P);
  const settled = replicasChangedAt === undefined || base.at >= replicasChangedAt + cfg.rebalanceHoldSeconds * 1000;
  if (dt > 0 && consumers > 0 && settled && history.every((h) => (h.readyReplicas ?? h.replicas) === ready)) {
    const moving = parts.map((p, i) => i).filter((i) => !isStuck(parts[i]!.partition));
    const measured = moving.reduce((a, i) => a + consumed[i]!, 0) / consumers;
    const backlogged =
      moving.length > 0 &&
      moving.every((i) => {
        const b = baseOf(parts[i]!.partition);
        const threshold = Math.max(1, arrivals[i]! * BACKLOG_SECONDS);
        return b !== undefined && b.logEndOffset - b.committedOffset > threshold && lags[i]! > threshold;
      });
    if (backlogged && measured > 0) rate = rate + RATE_SMOOTHING * (measured - rate);
    else rate = Math.max(rate, measured);
  }

  // Demand and the smallest count that meets it: the busiest consumer carries its arrivals within
  // the planned utilization, and arrivals plus draining its lag within T at full rate.
  const T = Math.max(1, cfg.freshnessTargetSeconds);
  const flows = parts.map((p, i) => (isStuck(p.partition) ? 0 : arrivals[i]! * trendFactor));
  const demands = parts.map((p, i) => (isStuck(p.partition) ? 0 : flows[i]! + lags[i]! / T));
  const counts = allowedCounts(P, Math.max(1, floor), cap, cfg.evenSpread);
  let recommended = cap;
  const byFlow = [...flows].sort((a, b) => b - a);
  const byDemand = [...demands].sort((a, b) => b - a);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const total = sum(demands);
  for (const r of counts) {
    const k = partitionsPerReplica(P, r);
    const flow = cfg.evenSpread ? sum(byFlow.slice(0, k)) : sum(flows) / r;
    const load = cfg.evenSpread ? sum(byDemand.slice(0, k)) : total / r;
    if (flow <= rate * cfg.targetUtilization && load <= rate) {
      recommended = r;
      break;
    }
  }
  recommended = Math.min(cap, Math.max(floor, recommended));

  // Scale to zero: only if allowed, after a quiet period, back at the activation threshold.
  const idle = totalLag === 0 && arrivalRate === 0 && dt > 0;
  const idleSince = zeroAllowed && idle ? (prev?.idleSince ?? now) : undefined;
  if (zeroAllowed) {
    if (current === 0) {
      const replicas = totalLag > cfg.activationLag ? Math.max(1, recommended) : 0;
      const state = nextState(prev, {
        history,
        decision: replicas,
        changedAt: replicas !== 0 ? now : prev?.lastChangeAt,
        replicasChangedAt,
        movement,
        recommendations: [{ at: now, replicas }],
        rate,
        idleSince,
      });
      const drain = drainSeconds(lags, isStuck, parts, replicas, P, rate, arrivalRate);
      return replicas > 0
        ? result('Activate', `lag ${totalLag} above the activation threshold ${cfg.activationLag}`, replicas, recommended, current, state, {
            P,
            lags,
            totalLag,
            stuck,
            arrival: arrivalRate,
            drain,
          })
        : result('Idle', `lag ${totalLag} at or below the activation threshold ${cfg.activationLag}`, 0, 0, current, state, {
            P,
            lags,
            totalLag,
            stuck,
            arrival: arrivalRate,
            drain,
          });
    }
    if (idleSince !== undefined && now - idleSince >= cfg.idleSecondsBeforeZero * 1000) {
      const state = nextState(prev, {
        history,
        decision: 0,
        changedAt: now,
        replicasChangedAt,
        movement,
        recommendations: [{ at: now, replicas: 0 }],
        rate,
        idleSince,
      });
      return result('ScaleToZero', `no lag and no arrivals for ${cfg.idleSecondsBeforeZero}s`, 0, 0, current, state, {
        P,
        lags,
        totalLag,
        stuck,
        arrival: 0,
        drain: 0,
      });
    }
    recommended = Math.max(1, recommended);
  }
  // A stuck partition still needs a consumer to retry it.
  if (stuck.length > 0) recommended = Math.max(1, recommended);

  // Stabilization: up at once, down to the highest recommendation in the window.
  const downWindowMs = cfg.scaleDownStabilizationSeconds * 1000;
  // Without rates (dt = 0) the count in place is what stands for the recommendation.
  const windowed = dt <= 0 ? Math.max(recommended, Math.min(cap, current)) : recommended;
  const recommendations = [...(prev?.recommendations ?? []).filter((r) => r.at > now - downWindowMs), { at: now, replicas: windowed }];
  let target = recommended;
  let reason: ScaleReason = 'Steady';
  let message = '';
  if (dt <= 0) {
    // No rates yet (first observation, e.g. after an operator restart): never scale down on lag alone.
    target = Math.min(cap, Math.max(floor, recommended, current));
    reason = prev === undefined ? 'Initial' : 'Steady';
    message = `no arrival rate measured yet: ${target}`;
  } else if (current > cap || current < floor) {
    target = current > cap ? cap : Math.max(floor, recommended);
    reason = 'Bounds';
    message = `${current} outside [${floor}, ${cap}]`;
  } else if (recommended < current) {
    const highest = Math.max(...recommendations.map((r) => r.replicas));
    target = Math.min(current, highest);
    if (target === current) {
      reason = 'ScaleDownStabilizing';
      message = `${recommended} would do; holding ${current} for ${cfg.scaleDownStabilizationSeconds}s of lower recommendations`;
    }
  }

  // Clear the HPA's tolerance band (only when the cluster imposes one).
  if (tol > 0 && target !== current && current > 0 && reason !== 'Bounds') {
    const allowed = allowedCounts(P, Math.max(1, floor), cap, cfg.evenSpread);
    if (target > current) {
      if (target <= current * (1 + tol)) target = allowed.find((c) => c > current * (1 + tol)) ?? cap;
      if (target < cap && cap <= target * (1 + tol)) target = cap;
    } else if (target >= current * (1 - tol)) {
      target = current;
      reason = 'WithinTolerance';
      message = `${recommended} is within the HPA's ${tol * 100}% tolerance of ${current}`;
    }
  }

  // Hold through a rebalance.
  const holdMs = cfg.rebalanceHoldSeconds * 1000;
  const lastMove = Math.max(prev?.lastChangeAt ?? Number.NEGATIVE_INFINITY, replicasChangedAt ?? Number.NEGATIVE_INFINITY);
  // Amending a scale-up whose pods have not joined yet costs no extra rebalance: allowed.
  // (fewer ready than decided: the last step up has not landed, its rebalance is still to come).
  const amendingUp = target > current && ready < current;
  if (prev !== undefined && target !== current && reason !== 'Bounds' && !amendingUp && now - lastMove < holdMs) {
    reason = 'RebalanceHold';
    message = `wants ${target}; holding ${current} until ${cfg.rebalanceHoldSeconds}s after the last change of the group`;
    target = current;
  }

  if (reason === 'Steady' && target !== current) {
    reason = target > current ? 'ScaleUp' : 'ScaleDown';
  }
  if (message === '') {
    message =
      reason === 'Steady'
        ? `${target} replicas meet the demand`
        : `${current} → ${target}: demand ${Math.round(total)} rec/s at ${Math.round(rate)} rec/s per replica, lag ${totalLag}` +
          (stuck.length > 0 ? `, stuck partitions ${stuck.join(',')}` : '');
  }
  const state = nextState(prev, {
    history,
    decision: target,
    changedAt: target !== current ? now : prev?.lastChangeAt,
    replicasChangedAt,
    movement,
    recommendations,
    rate,
    idleSince,
  });
  const drain = drainSeconds(lags, isStuck, parts, target, P, rate, arrivalRate);
  // A step up to the cap inside the tolerance band: publish past the band; the HPA clamps to the cap.
  const metricValue =
    tol > 0 && target === cap && target > obs.replicas && obs.replicas > 0 && target <= obs.replicas * (1 + tol)
      ? Math.floor(obs.replicas * (1 + tol)) + 1
      : target;
  return result(reason, message, target, recommended, current, state, { P, lags, totalLag, stuck, arrival: arrivalRate, drain, metricValue });
}

/** Estimated seconds to drain the moving partitions' lag with `replicas` consumers at `rate`. */
function drainSeconds(
  lags: number[],
  isStuck: (p: number) => boolean,
  parts: PartitionOffsets[],
  replicas: number,
  P: number,
  rate: number,
  arrival: number,
): number | undefined {
  const lag = lags.reduce((a, l, i) => a + (isStuck(parts[i]!.partition) ? 0 : l), 0);
  if (lag === 0) return 0;
  const net = Math.min(replicas, P) * rate - arrival;
  return net > 0 ? lag / net : undefined;
}

/**
 * Multiplier on the arrival rate for a rising trend: the rate of the window's newer half against
 * its older half, extrapolated over `leadSeconds` (how long a change takes to land). Falling
 * trends are ignored (scale-down waits for the rates themselves).
 */
function risingTrend(history: readonly Observation[], parts: PartitionOffsets[], isStuck: (p: number) => boolean, leadSeconds: number): number {
  if (history.length < 3) return 1;
  const first = history[0]!;
  const last = history[history.length - 1]!;
  const midAt = (first.at + last.at) / 2;
  const mid = history.reduce((best, h) => (Math.abs(h.at - midAt) < Math.abs(best.at - midAt) ? h : best), first);
  if (mid.at <= first.at || mid.at >= last.at) return 1;
  const sum = (o: Observation) =>
    o.partitions.reduce((a, p) => a + (isStuck(p.partition) || !parts.some((q) => q.partition === p.partition) ? 0 : p.logEndOffset), 0);
  const older = (sum(mid) - sum(first)) / ((mid.at - first.at) / 1000);
  const newer = (sum(last) - sum(mid)) / ((last.at - mid.at) / 1000);
  if (!(older > 0) || newer <= older) return 1;
  const slope = (newer - older) / ((last.at - first.at) / 2000); // records/s per second
  const projected = newer + slope * leadSeconds;
  const mean = (sum(last) - sum(first)) / ((last.at - first.at) / 1000);
  return mean > 0 ? Math.min(4, projected / mean) : 1;
}

function nextState(
  _prev: PolicyState | undefined,
  s: {
    history: readonly Observation[];
    decision: number;
    changedAt: number | undefined;
    replicasChangedAt: number | undefined;
    movement: Readonly<Record<number, Movement>>;
    recommendations: readonly Recommendation[];
    rate: number;
    idleSince: number | undefined;
  },
): PolicyState {
  return {
    history: s.history,
    decision: s.decision,
    lastChangeAt: s.changedAt,
    replicasChangedAt: s.replicasChangedAt,
    recommendations: s.recommendations,
    ratePerReplica: s.rate,
    movement: s.movement,
    idleSince: s.idleSince,
  };
}

function result(
  reason: ScaleReason,
  message: string,
  replicas: number,
  recommended: number,
  current: number,
  state: PolicyState,
  x: { P: number; lags: number[]; totalLag: number; stuck: number[]; arrival: number; drain: number | undefined; metricValue?: number },
): Decision {
  return {
    replicas,
    metricValue: x.metricValue ?? replicas,
    recommended,
    changed: replicas !== current,
    reason,
    message,
    partitions: x.P,
    lagPerPartition: x.lags,
    totalLag: x.totalLag,
    stuckPartitions: x.stuck,
    arrivalRate: x.arrival,
    ratePerReplica: state.ratePerReplica,
    drainSeconds: x.drain,
    state,
  };
}
