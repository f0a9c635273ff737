/**
 * The consumers, declared as an `IngestPipeline`: the operator turns it into the consumer
 * Deployment and its HPA (cdk8s emits no consumer Deployment of its own, which would fight it).
 * Here: the consumers' ConfigMap (non-secret settings), their ServiceAccount (no token), the
 * pipeline itself with references to the Secrets, and a Service over the consumers' /metrics.
 */
import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { API_VERSION, DEFAULTS, KIND, type IngestPipeline, type IngestPipelineSpec } from '@clinical-ingest/operator';
import { appLabels } from './labels.js';
import type { ResourceRequirements } from './security.js';

export interface SecretRef {
  readonly name: string;
  readonly key: string;
}

export interface ConsumerPipelineProps {
  /** The IngestPipeline's name; the operator names the Deployment `<name>-consumer`. @default 'intake' */
  readonly name?: string;
  readonly namespace: string;
  readonly image: string;
  readonly kafka: IngestPipelineSpec['kafka'];
  /** The consumers' non-secret settings (consumer/src/config.ts variables), as a ConfigMap. */
  readonly config: Readonly<Record<string, string>>;
  readonly secrets: IngestPipelineSpec['consumer']['secrets'];
  /** @default the IngestPipeline's (DEFAULTS.minReplicas) */
  readonly minReplicas?: number;
  readonly maxReplicas: number;
  /** Drain the backlog within this many seconds (docs/architecture.md §1: queryable within 2 s). @default 2 */
  readonly freshnessTargetSeconds?: number;
  /** @default the IngestPipeline's (DEFAULTS.metricsPort, the consumer's METRICS_PORT) */
  readonly metricsPort?: number;
  /** @default requests 1 CPU / 512Mi, limit 1Gi */
  readonly resources?: ResourceRequirements;
  /** Labels of the consumer pods (the operator's selector labels for this pipeline). */
  readonly podLabels: Readonly<Record<string, string>>;
}

export class ConsumerPipeline extends Construct {
  readonly name: string;
  /** The IngestPipeline object as synthesized (what the operator will read). */
  readonly pipeline: IngestPipeline;
  readonly configMapName: string;
  readonly serviceAccountName: string;
  /** Service over the consumers' /metrics (the validation reads freshness there). */
  readonly metricsUrl: string;
  /** The consumers' METRICS_PORT. */
  readonly metricsPort: number;

  constructor(scope: Construct, id: string, props: ConsumerPipelineProps) {
    super(scope, id);
    this.name = props.name ?? 'intake';
    this.configMapName = `${this.name}-consumer-config`;
    this.serviceAccountName = `${this.name}-consumer`;
    const port = props.metricsPort ?? DEFAULTS.metricsPort;
    this.metricsPort = port;
    const labels = appLabels('intake-consumer', 'consumer');
    const metricsService = `${this.name}-consumer-metrics`;
    this.metricsUrl = `http://${metricsService}:${port}/metrics`;

    new k8s.KubeConfigMap(this, 'config', { metadata: { name: this.configMapName, labels }, data: { ...props.config } });
    new k8s.KubeServiceAccount(this, 'sa', { metadata: { name: this.serviceAccountName, labels }, automountServiceAccountToken: false });
    new k8s.KubeService(this, 'metrics', {
      metadata: { name: metricsService, labels },
      spec: { selector: { ...props.podLabels }, ports: [{ name: 'metrics', port, targetPort: k8s.IntOrString.fromString('metrics') }] },
    });

    const spec: IngestPipelineSpec = {
      kafka: props.kafka,
      consumer: {
        image: props.image,
        imagePullPolicy: 'IfNotPresent',
        configMapName: this.configMapName,
        secrets: props.secrets,
        serviceAccountName: this.serviceAccountName,
        metricsPort: port,
        resources: props.resources ?? { requests: { cpu: '1', memory: '512Mi' }, limits: { memory: '1Gi' } },
      },
      scaling: {
        minReplicas: props.minReplicas ?? DEFAULTS.minReplicas,
        maxReplicas: props.maxReplicas,
        freshnessTargetSeconds: props.freshnessTargetSeconds ?? 2,
      },
    };
    this.pipeline = { apiVersion: API_VERSION, kind: KIND, metadata: { name: this.name, namespace: props.namespace, labels }, spec };
    new ApiObject(this, 'pipeline', { apiVersion: API_VERSION, kind: KIND, metadata: { name: this.name, labels }, spec });
  }
}
