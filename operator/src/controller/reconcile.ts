import type { V1Deployment, V2HorizontalPodAutoscaler } from '@kubernetes/client-node';
import type { Logger } from '@clinical-ingest/intake-core';
import { resolveScaling } from '../api/defaults.js';
import { API_VERSION, KIND, type IngestPipeline } from '../api/types.js';
import { consumerName } from '../builders/common.js';
import { buildConsumerDeployment } from '../builders/deployment.js';
import { buildConsumerHpa } from '../builders/hpa.js';
import { decide, type Decision, type PolicyConfig, type PolicyState } from '../policy/policy.js';
import type { Clock, KubeClient, LagReader, ObjectRef } from './ports.js';
import { computeStatus, sameJson } from './status.js';
import { validateSpec, type SpecPolicy } from './validate.js';

export interface ReconcileResult {
  /** Reconcile again after this long (lag sends no events). */
  readonly requeueAfterMs?: number;
  /** A retriable failure: the queue backs off. */
  readonly error?: Error;
  readonly statusWritten: boolean;
  readonly decision?: Decision;
}

export interface ReconcilerObserver {
  reconciled?(key: string, r: ReconcileResult, seconds: number): void;
  /** The policy's decision, and the consumer replicas ready when it was taken. */
  decided?(pipeline: IngestPipeline, d: Decision, readyReplicas: number): void;
  forgotten?(key: string): void;
}

export interface ReconcilerDeps {
  readonly kube: KubeClient;
  readonly lag: LagReader;
  readonly clock: Clock;
  readonly log: Logger;
  readonly observer?: ReconcilerObserver;
  /** What a spec may ask for beyond its schema (the consumer images allowed). */
  readonly policy?: SpecPolicy;
}

/** The HPA's tolerance when the apiserver keeps no `behavior.*.tolerance` (the cluster default). */
export const CLUSTER_TOLERANCE = 0.1;

const errMessage = (e: unknown) => (e instanceof Error ? e.message : String(e)).slice(0, 1024);

/**
 * Reconciles one IngestPipeline key: re-reads the pipeline, reads the lag, applies the desired
 * Deployment and HPA (server-side apply: idempotent), runs the policy, scales across zero when
 * enabled, and writes status only when it differs. The policy's memory (rates, windows) is kept
 * per key in this process; after a restart the policy starts afresh and never scales down until
 * it has measured rates.
 */
export class Reconciler {
  private readonly states = new Map<string, PolicyState>();

  constructor(private readonly d: ReconcilerDeps) {}

  async reconcile(key: string): Promise<ReconcileResult> {
    const started = this.d.clock.now();
    const r = await this.run(key);
    this.d.observer?.reconciled?.(key, r, (this.d.clock.now() - started) / 1000);
    return r;
  }

  private async run(key: string): Promise<ReconcileResult> {
    const [namespace, name] = key.split('/') as [string, string];
    const log = this.d.log.child({ pipeline: key });
    const ref: ObjectRef = { apiVersion: API_VERSION, kind: KIND, namespace, name };
    const pipeline = await this.d.kube.get<IngestPipeline & { metadata: { deletionTimestamp?: string } }>(ref);
    if (pipeline === undefined || pipeline.metadata.deletionTimestamp !== undefined) {
      // Gone or going: owner references let the garbage collector remove the children.
      this.states.delete(key);
      this.d.observer?.forgotten?.(key);
      return { statusWritten: false };
    }
    const now = new Date(this.d.clock.now());

    const specErrors = validateSpec(pipeline.spec, this.d.policy);
    if (specErrors.length > 0) {
      log.warn({ problems: specErrors }, 'invalid IngestPipeline spec');
      const written = await this.writeStatus(ref, pipeline, computeStatus({ pipeline, now, specErrors }));
      return { statusWritten: written };
    }
    const scaling = resolveScaling(pipeline.spec);
    const requeueAfterMs = scaling.pollIntervalSeconds * 1000;

    // Lag first: the partition count bounds the HPA.
    let offsets: Awaited<ReturnType<LagReader['read']>> | undefined;
    let lagError: string | undefined;
    try {
      offsets = await this.d.lag.read(pipeline.spec.kafka.bootstrapServers, pipeline.spec.kafka.topic, pipeline.spec.kafka.consumerGroup);
    } catch (e) {
      lagError = errMessage(e);
      log.warn({ err: e }, 'cannot read lag');
    }
    const partitions = offsets?.length ?? pipeline.status?.partitions;

    // Desired children from the pure builders, applied idempotently.
    let deployment: V1Deployment | undefined;
    let hpa: V2HorizontalPodAutoscaler | undefined;
    try {
      deployment = await this.d.kube.apply(buildConsumerDeployment(pipeline));
      hpa = await this.d.kube.apply(buildConsumerHpa(pipeline, partitions === undefined || partitions === 0 ? {} : { partitions }));
    } catch (e) {
      const applyError = errMessage(e);
      log.error({ err: e }, 'apply failed');
      const live = await this.d.kube
        .get<V1Deployment>({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: consumerName(pipeline) })
        .catch(() => undefined);
      const written = await this.writeStatus(
        ref,
        pipeline,
        computeStatus({ pipeline, now, applyError, ...(lagError ? { lagError } : {}), ...(live ? { deployment: live } : {}) }),
      );
      return { statusWritten: written, error: e instanceof Error ? e : new Error(applyError), requeueAfterMs };
    }
    // An apiserver without HPAConfigurableTolerance drops the field: the policy then clears 10 %.
    const toleranceKept = hpa?.spec?.behavior?.scaleUp?.tolerance !== undefined;

    let decision: Decision | undefined;
    if (offsets !== undefined && deployment !== undefined) {
      const cfg: PolicyConfig = {
        ...scaling.policy,
        minReplicas: scaling.minReplicas,
        maxReplicas: scaling.maxReplicas,
        freshnessTargetSeconds: scaling.freshnessTargetSeconds,
        hpaTolerance: toleranceKept ? 0 : CLUSTER_TOLERANCE,
      };
      const specReplicas = deployment.spec?.replicas ?? 0;
      decision = decide(
        cfg,
        { at: this.d.clock.now(), partitions: offsets, replicas: specReplicas, readyReplicas: deployment.status?.readyReplicas ?? 0 },
        this.states.get(key),
      );
      this.states.set(key, decision.state);
      this.d.observer?.decided?.(pipeline, decision, deployment.status?.readyReplicas ?? 0);
      if (decision.changed) log.info({ from: specReplicas, to: decision.replicas, reason: decision.reason, lag: decision.totalLag }, decision.message);
      // Across zero the HPA is idle by design (it does not act on a target at 0): the operator
      // sets 0 and 1 itself, as KEDA does; the HPA owns every count from 1 up.
      const depRef = { apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: consumerName(pipeline) };
      if (decision.replicas === 0 && specReplicas > 0) await this.d.kube.scale(depRef, 0);
      else if (decision.replicas > 0 && specReplicas === 0) await this.d.kube.scale(depRef, 1);
    }

    const status = computeStatus({
      pipeline,
      now,
      ...(decision ? { decision } : {}),
      ...(deployment ? { deployment } : {}),
      ...(lagError ? { lagError } : {}),
      hpaToleranceIgnored: !toleranceKept,
    });
    const written = await this.writeStatus(ref, pipeline, status);
    return { statusWritten: written, requeueAfterMs, ...(decision ? { decision } : {}) };
  }

  private async writeStatus(ref: ObjectRef, pipeline: IngestPipeline, status: NonNullable<IngestPipeline['status']>): Promise<boolean> {
    if (sameJson(status, pipeline.status ?? {})) return false;
    await this.d.kube.patchStatus(ref, status);
    return true;
  }
}
