import type { V1Deployment } from '@kubernetes/client-node';
import type { Condition, ConditionType, IngestPipeline, IngestPipelineStatus } from '../api/types.js';
import { selectorString } from '../builders/common.js';
import type { Decision } from '../policy/policy.js';

/**
 * Status is rebuilt from the state of the world on every pass (kubebuilder: "status should be
 * able to be reconstituted from the state of the world"): the pipeline, the policy's decision,
 * the live Deployment, and what failed. Conditions keep their lastTransitionTime while their
 * status holds, so an unchanged world gives an identical status and no write.
 */

export interface StatusInput {
  readonly pipeline: IngestPipeline;
  readonly now: Date;
  readonly decision?: Decision;
  readonly deployment?: V1Deployment;
  /** The lag could not be read (Kafka unreachable, topic missing). */
  readonly lagError?: string;
  /** Applying the children failed. */
  readonly applyError?: string;
  /** The spec is invalid (beyond what the schema checks). */
  readonly specErrors?: readonly string[];
  /** The HPA's tolerance the policy had to clear (the cluster dropped `behavior.*.tolerance`). */
  readonly hpaToleranceIgnored?: boolean;
}

export interface ConditionInput {
  readonly type: ConditionType;
  readonly status: 'True' | 'False' | 'Unknown';
  readonly reason: string;
  readonly message: string;
}

/** Sets a condition; lastTransitionTime moves only when the status flips. */
export function setCondition(conditions: readonly Condition[] | undefined, c: ConditionInput, now: Date, generation: number | undefined): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((x) => x.type === c.type);
  const prev = i >= 0 ? list[i] : undefined;
  const next: Condition = {
    type: c.type,
    status: c.status,
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    lastTransitionTime: prev !== undefined && prev.status === c.status ? prev.lastTransitionTime : rfc3339(now),
    reason: c.reason,
    message: c.message.slice(0, 32_768),
  };
  if (i >= 0) list[i] = next;
  else list.push(next);
  return list;
}

/** RFC 3339 in whole seconds, as metav1.Time serializes. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function computeStatus(x: StatusInput): IngestPipelineStatus {
  const { pipeline, decision, deployment: dep, now } = x;
  const prev = pipeline.status ?? {};
  const generation = pipeline.metadata.generation;
  const replicas = dep?.spec?.replicas ?? dep?.status?.replicas ?? prev.replicas;
  const ready = dep?.status?.readyReplicas ?? (dep ? 0 : prev.readyReplicas);
  const updated = dep?.status?.updatedReplicas ?? 0;
  const desired = decision?.replicas ?? prev.desiredReplicas;

  let conditions = prev.conditions;
  const set = (c: ConditionInput) => {
    conditions = setCondition(conditions, c, now, generation);
  };

  // Degraded: what needs a person.
  if (x.specErrors && x.specErrors.length > 0) set({ type: 'Degraded', status: 'True', reason: 'InvalidSpec', message: x.specErrors.join('; ') });
  else if (x.applyError) set({ type: 'Degraded', status: 'True', reason: 'ApplyFailed', message: x.applyError });
  else if (x.lagError) set({ type: 'Degraded', status: 'True', reason: 'LagUnavailable', message: x.lagError });
  else if (decision && decision.stuckPartitions.length > 0)
    set({
      type: 'Degraded',
      status: 'True',
      reason: 'StuckPartitions',
      message: `partitions ${decision.stuckPartitions.join(', ')} have lag that does not move (a stalled partition: see the consumers' intake_partition_stalled and docs/operations.md)`,
    });
  else if (decision && decision.drainSeconds === undefined && decision.totalLag > 0)
    set({
      type: 'Degraded',
      status: 'True',
      reason: 'CapacityExceeded',
      message: `${decision.replicas} replicas at ${Math.round(decision.ratePerReplica)} rec/s each cannot keep up with ${Math.round(decision.arrivalRate)} rec/s`,
    });
  else
    set({
      type: 'Degraded',
      status: 'False',
      reason: 'AsExpected',
      message: x.hpaToleranceIgnored ? 'the HPA ignores behavior.*.tolerance; steps are chosen to clear its 10% band' : '',
    });

  // Progressing: the group is moving toward the decision.
  if (dep === undefined || desired === undefined)
    set({ type: 'Progressing', status: 'Unknown', reason: 'Pending', message: 'no consumer Deployment or decision yet' });
  else if (replicas !== desired) set({ type: 'Progressing', status: 'True', reason: 'Scaling', message: `${replicas} → ${desired} replicas` });
  else if (updated < (replicas ?? 0) || (ready ?? 0) < (replicas ?? 0))
    set({ type: 'Progressing', status: 'True', reason: 'RollingOut', message: `${updated} updated, ${ready} ready of ${replicas}` });
  else set({ type: 'Progressing', status: 'False', reason: 'Stable', message: `${replicas} replicas` });

  // Ready: consumers in place and lag known.
  if (x.specErrors && x.specErrors.length > 0) set({ type: 'Ready', status: 'False', reason: 'InvalidSpec', message: 'the spec is invalid' });
  else if (dep === undefined) set({ type: 'Ready', status: 'False', reason: 'NoDeployment', message: 'the consumer Deployment does not exist yet' });
  else if (desired === 0 && (replicas ?? 0) === 0) set({ type: 'Ready', status: 'True', reason: 'ScaledToZero', message: 'idle: no replicas' });
  else if ((ready ?? 0) < 1) set({ type: 'Ready', status: 'False', reason: 'ConsumersNotReady', message: `0 of ${replicas} replicas ready` });
  else if (x.lagError) set({ type: 'Ready', status: 'False', reason: 'LagUnavailable', message: 'consumers run but the lag cannot be read' });
  else set({ type: 'Ready', status: 'True', reason: 'Consuming', message: `${ready} of ${replicas} replicas ready` });

  const scaled = decision !== undefined && decision.changed;
  const out: IngestPipelineStatus = {
    ...(generation === undefined ? {} : { observedGeneration: generation }),
    ...(decision ? { partitions: decision.partitions } : prev.partitions === undefined ? {} : { partitions: prev.partitions }),
    ...(decision ? { lag: decision.totalLag } : prev.lag === undefined ? {} : { lag: prev.lag }),
    ...(decision
      ? decision.drainSeconds === undefined
        ? {}
        : { lagSeconds: Math.ceil(decision.drainSeconds) }
      : prev.lagSeconds === undefined
        ? {}
        : { lagSeconds: prev.lagSeconds }),
    ...(decision
      ? {
          partitionLag: decision.lagPerPartition.map((lag, partition) => ({
            partition,
            lag,
            ...(decision.stuckPartitions.includes(partition) ? { stuck: true } : {}),
          })),
        }
      : prev.partitionLag === undefined
        ? {}
        : { partitionLag: prev.partitionLag }),
    ...(decision ? { ratePerReplica: decision.ratePerReplica.toFixed(1) } : prev.ratePerReplica === undefined ? {} : { ratePerReplica: prev.ratePerReplica }),
    ...(replicas === undefined ? {} : { replicas }),
    ...(ready === undefined ? {} : { readyReplicas: ready }),
    ...(desired === undefined ? {} : { desiredReplicas: desired }),
    ...(decision ? { metricValue: decision.metricValue } : prev.metricValue === undefined ? {} : { metricValue: prev.metricValue }),
    ...(scaled
      ? { lastScaleTime: rfc3339(now), lastScaleReason: `${decision.reason}: ${decision.message}`.slice(0, 1024) }
      : pick(prev, 'lastScaleTime', 'lastScaleReason')),
    selector: selectorString(pipeline),
    conditions: conditions ?? [],
  };
  return out;
}

function pick(s: IngestPipelineStatus, ...keys: (keyof IngestPipelineStatus)[]): Partial<IngestPipelineStatus> {
  const out: Record<string, unknown> = {};
  for (const k of keys) if (s[k] !== undefined) out[k] = s[k];
  return out;
}

/** Key-order-independent equality of two JSON values. */
export function sameJson(a: unknown, b: unknown): boolean {
  return stable(a) === stable(b);
}

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}
