/**
 * Our operator: the IngestPipeline CRD, its RBAC rules and its APIService (all from
 * @clinical-ingest/operator, never copied), its ServiceAccount, the Deployment, and the Service in
 * front of the External metrics API it serves to the HPA (as KEDA's metrics server does).
 *
 * Least privilege: the operator's rules come as a ClusterRole but are granted by a RoleBinding, in
 * the one namespace it watches; leader election is a Role on Leases there; the HPA controller may
 * read external metrics and nothing else. The API is served over TLS with a serving certificate
 * `make deploy` generates (Secret `<name>-tls`), and only to clients that present a certificate of
 * the aggregator's client CA (ConfigMap `<name>-client-ca`, copied by `make deploy` from
 * kube-system/extension-apiserver-authentication); `make deploy` also sets the APIService's
 * caBundle from that certificate, so no certificate is synthesized.
 */
import { ApiObject, JsonPatch } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  externalMetricsApiService,
  externalMetricsReaderRules,
  ingestPipelineCrd,
  snapshotCrd,
  leaderElectionRoleRules,
  operatorClusterRoleRules,
} from '@clinical-ingest/operator';
import { appLabels, selector } from './labels.js';
import { clusterScoped } from './scope.js';
import { literalEnv, quantities, restrictedPodSpec, TMP_MOUNT, TMP_VOLUME } from './workload.js';

const TLS_DIR = '/etc/ingest-operator/tls';
const CLIENT_CA_DIR = '/etc/ingest-operator/client-ca';

export interface IngestOperatorProps {
  /** @default 'ingest-operator' */
  readonly name?: string;
  readonly image: string;
  readonly namespace: string;
  /** Extra variables (Kafka client settings). */
  readonly extraEnv?: readonly k8s.EnvVar[];
  /** HTTPS port of the External metrics API. @default 6443 */
  readonly metricsApiPort?: number;
  /** HTTP port of /metrics, /healthz, /readyz. @default 8080 */
  readonly healthPort?: number;
  /**
   * Register the External metrics API (`v1beta1.external.metrics.k8s.io`). A cluster has one such
   * APIService: turn it off where KEDA or another adapter already serves it. @default true
   */
  readonly externalMetricsApi?: boolean;
  /** @default requests 100m / 128Mi, limit 256Mi */
  readonly resources?: { readonly requests?: Record<string, string>; readonly limits?: Record<string, string> };
}

export class IngestOperator extends Construct {
  readonly name: string;
  readonly podLabels: Record<string, string>;
  readonly metricsApiPort: number;
  /** /metrics, /healthz, /readyz (plain HTTP, port name `health`). */
  readonly healthPort: number;
  /** Deploy-time Secret (kubernetes.io/tls) with the API's serving certificate. */
  readonly tlsSecret: string;
  /** Deploy-time ConfigMap (key `ca.crt`) with the aggregator's client CA. */
  readonly clientCaConfigMap: string;

  constructor(scope: Construct, id: string, props: IngestOperatorProps) {
    super(scope, id);
    this.name = props.name ?? 'ingest-operator';
    this.podLabels = selector(this.name);
    this.metricsApiPort = props.metricsApiPort ?? 6443;
    this.tlsSecret = `${this.name}-tls`;
    this.clientCaConfigMap = `${this.name}-client-ca`;
    const healthPort = props.healthPort ?? 8080;
    this.healthPort = healthPort;
    const labels = appLabels(this.name, 'operator');
    const ns = props.namespace;
    const metricsApi = props.externalMetricsApi ?? true;
    const subject = [{ kind: 'ServiceAccount', name: this.name, namespace: ns }];
    const rules = (r: { apiGroups: string[]; resources: string[]; verbs: string[] }[]) =>
      r.map((x) => ({ apiGroups: x.apiGroups, resources: x.resources, verbs: x.verbs }));

    clusterScoped(new ApiObject(this, 'crd', ingestPipelineCrd() as unknown as ConstructorParameters<typeof ApiObject>[2]));
    clusterScoped(new ApiObject(this, 'snapshot-crd', snapshotCrd() as unknown as ConstructorParameters<typeof ApiObject>[2]));
    new k8s.KubeServiceAccount(this, 'sa', { metadata: { name: this.name, labels } });

    // The operator's rules, granted in the watched namespace only.
    clusterScoped(new k8s.KubeClusterRole(this, 'cluster-role', { metadata: { name: this.name, labels }, rules: rules(operatorClusterRoleRules()) }));
    new k8s.KubeRoleBinding(this, 'role-binding', {
      metadata: { name: this.name, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: this.name },
      subjects: subject,
    });
    new k8s.KubeRole(this, 'leader-role', { metadata: { name: `${this.name}-leader-election`, labels }, rules: rules(leaderElectionRoleRules()) });
    new k8s.KubeRoleBinding(this, 'leader-binding', {
      metadata: { name: `${this.name}-leader-election`, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${this.name}-leader-election` },
      subjects: subject,
    });

    if (metricsApi) {
      clusterScoped(
        new k8s.KubeClusterRole(this, 'metrics-reader', {
          metadata: { name: `${this.name}-external-metrics-reader`, labels },
          rules: rules(externalMetricsReaderRules()),
        }),
      );
      clusterScoped(
        new k8s.KubeClusterRoleBinding(this, 'metrics-reader-hpa', {
          metadata: { name: `${this.name}-external-metrics-reader`, labels },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: `${this.name}-external-metrics-reader` },
          subjects: [{ kind: 'ServiceAccount', name: 'horizontal-pod-autoscaler', namespace: 'kube-system' }],
        }),
      );
      // Delegated authorization of the metric reads (SubjectAccessReviews), as KEDA's server has it.
      clusterScoped(
        new k8s.KubeClusterRoleBinding(this, 'auth-delegator', {
          metadata: { name: `${this.name}-auth-delegator`, labels },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
          subjects: subject,
        }),
      );
      new k8s.KubeService(this, 'service', {
        metadata: { name: this.name, labels },
        spec: { selector: this.podLabels, ports: [{ name: 'metrics-api', port: 443, targetPort: k8s.IntOrString.fromString('metrics-api') }] },
      });
      const apiService = externalMetricsApiService({ serviceNamespace: ns, serviceName: this.name, caBundle: '' }) as {
        metadata: { labels: Record<string, string> };
      };
      const obj = clusterScoped(
        new ApiObject(this, 'apiservice', {
          ...apiService,
          metadata: { ...apiService.metadata, labels: { ...apiService.metadata.labels, ...labels } },
        } as never),
      );
      // The caBundle is the serving certificate make deploy generates: it sets the field then.
      obj.addJsonPatch(JsonPatch.remove('/spec/caBundle'));
    }

    new k8s.KubeDeployment(this, 'deployment', {
      metadata: { name: this.name, labels },
      spec: {
        replicas: 1,
        selector: { matchLabels: this.podLabels },
        strategy: { type: 'Recreate' },
        template: {
          metadata: { labels },
          spec: restrictedPodSpec({
            serviceAccountName: this.name,
            apiAccess: true,
            fsGroup: true,
            containers: [
              {
                name: 'operator',
                image: props.image,
                command: ['node', 'operator/dist/main.js'],
                env: [
                  { name: 'WATCH_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                  ...literalEnv({
                    HEALTH_HOST: '0.0.0.0',
                    HEALTH_PORT: healthPort,
                    ...(metricsApi
                      ? {
                          EXTERNAL_METRICS_HOST: '0.0.0.0',
                          EXTERNAL_METRICS_PORT: this.metricsApiPort,
                          TLS_CERT_FILE: `${TLS_DIR}/tls.crt`,
                          TLS_KEY_FILE: `${TLS_DIR}/tls.key`,
                          CLIENT_CA_FILE: `${CLIENT_CA_DIR}/ca.crt`,
                        }
                      : {}),
                  }),
                  ...(props.extraEnv ?? []),
                ],
                ports: [...(metricsApi ? [{ name: 'metrics-api', containerPort: this.metricsApiPort }] : []), { name: 'health', containerPort: healthPort }],
                livenessProbe: { httpGet: { path: '/healthz', port: k8s.IntOrString.fromString('health') }, periodSeconds: 10 },
                readinessProbe: { httpGet: { path: '/readyz', port: k8s.IntOrString.fromString('health') }, periodSeconds: 5 },
                resources: quantities(props.resources ?? { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } }),
                volumeMounts: [
                  TMP_MOUNT,
                  ...(metricsApi
                    ? [
                        { name: 'tls', mountPath: TLS_DIR, readOnly: true },
                        { name: 'client-ca', mountPath: CLIENT_CA_DIR, readOnly: true },
                      ]
                    : []),
                ],
              },
            ],
            volumes: [
              TMP_VOLUME,
              ...(metricsApi
                ? [
                    { name: 'tls', secret: { secretName: this.tlsSecret, defaultMode: 0o440 } },
                    { name: 'client-ca', configMap: { name: this.clientCaConfigMap } },
                  ]
                : []),
            ],
          }),
        },
      },
    });
  }
}
