/**
 * The public store's DynamoDB API inside the cluster: the project's dynalite image (its start
 * script runs the same dynalite CLI as the local platform, on localhost only, behind an authorizer
 * that verifies each request's SigV4 signature and lets the consumers' key write and the
 * validation's key read (platform/dynalite/authorizer.mjs); then scripts/bootstrap.mjs creates the
 * public table, and the pod reports ready on a second port once the table exists). The image is a prop, so
 * another DynamoDB-API server can take its place; or skip this construct and point the consumers at
 * an external endpoint (AWS DynamoDB in production).
 */
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { appLabels, selector } from './labels.js';
import { literalEnv, quantities, restrictedPodSpec, secretEnv, TMP_MOUNT, TMP_VOLUME, singleReplicaStatefulSet } from './workload.js';

export interface DynamoApiStoreProps {
  /** @default 'public-store' */
  readonly name?: string;
  readonly image: string;
  /** The public table (created at start). */
  readonly table: string;
  /** @default 8000 */
  readonly port?: number;
  /** Port of the image's readiness endpoint (GET /ready: 200 once the table exists). @default 8001 */
  readonly readyPort?: number;
  /** @default '2Gi' */
  readonly storageSize?: string;
  /** A NodePort for access from the host (kind-config.yaml maps it); 0: none. @default 0 */
  readonly nodePort?: number;
  /** The authorizer's access keys: a Secret and its keys for the writer's and the reader's id and secret. */
  readonly keys: {
    readonly secret: string;
    readonly writerKeyId: string;
    readonly writerSecret: string;
    readonly readerKeyId: string;
    readonly readerSecret: string;
  };
}

export class DynamoApiStore extends Construct {
  readonly name: string;
  readonly port: number;
  readonly endpoint: string;
  readonly podLabels: Record<string, string>;

  constructor(scope: Construct, id: string, props: DynamoApiStoreProps) {
    super(scope, id);
    this.name = props.name ?? 'public-store';
    this.port = props.port ?? 8000;
    this.endpoint = `http://${this.name}:${this.port}`;
    this.podLabels = selector(this.name);
    const readyPort = props.readyPort ?? 8001;
    const labels = appLabels(this.name, 'public-store');

    new k8s.KubeServiceAccount(this, 'sa', { metadata: { name: this.name, labels }, automountServiceAccountToken: false });
    new k8s.KubeService(this, 'service', {
      metadata: { name: this.name, labels },
      spec: { selector: this.podLabels, ports: [{ name: 'dynamodb', port: this.port, targetPort: k8s.IntOrString.fromString('dynamodb') }] },
    });
    if ((props.nodePort ?? 0) > 0) {
      new k8s.KubeService(this, 'external', {
        metadata: { name: `${this.name}-external`, labels },
        spec: {
          type: 'NodePort',
          selector: this.podLabels,
          ports: [{ name: 'dynamodb', port: this.port, targetPort: k8s.IntOrString.fromString('dynamodb'), nodePort: props.nodePort }],
        },
      });
    }

    singleReplicaStatefulSet(this, 'statefulset', {
      name: this.name,
      labels,
      podLabels: this.podLabels,
      storageSize: props.storageSize ?? '2Gi',
      podSpec: restrictedPodSpec({
        serviceAccountName: this.name,
        fsGroup: true,
        containers: [
          {
            name: 'dynamodb',
            image: props.image,
            env: [
              ...literalEnv({ PORT: this.port, READY_PORT: readyPort, DATA_DIR: '/data', PUBLIC_TABLE: props.table }),
              secretEnv('PUBLIC_STORE_WRITER_KEY_ID', props.keys.secret, props.keys.writerKeyId),
              secretEnv('PUBLIC_STORE_WRITER_SECRET', props.keys.secret, props.keys.writerSecret),
              secretEnv('PUBLIC_STORE_READER_KEY_ID', props.keys.secret, props.keys.readerKeyId),
              secretEnv('PUBLIC_STORE_READER_SECRET', props.keys.secret, props.keys.readerSecret),
            ],
            ports: [
              { name: 'dynamodb', containerPort: this.port },
              { name: 'ready', containerPort: readyPort },
            ],
            readinessProbe: { httpGet: { path: '/ready', port: k8s.IntOrString.fromString('ready') }, periodSeconds: 2, timeoutSeconds: 2 },
            livenessProbe: { tcpSocket: { port: k8s.IntOrString.fromString('dynamodb') }, initialDelaySeconds: 10, periodSeconds: 10 },
            // dynalite is one event loop: one core is all it can use (docs/architecture.md §4).
            resources: quantities({ requests: { cpu: '1', memory: '512Mi' }, limits: { memory: '1Gi' } }),
            volumeMounts: [{ name: 'data', mountPath: '/data' }, TMP_MOUNT],
          },
        ],
        volumes: [TMP_VOLUME],
      }),
    });
  }
}
