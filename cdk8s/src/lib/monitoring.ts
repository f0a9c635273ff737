/**
 * Monitoring with the Prometheus Operator (monitoring.coreos.com/v1), as Strimzi and CloudNativePG
 * ship it: a PodMonitor for the consumers and one for the operator, the alerts as a
 * PrometheusRule, and the Grafana dashboard in a ConfigMap the Grafana sidecar picks up (label
 * `grafana_dashboard: "1"`). What the alerts and the dashboard say is in
 * ../monitoring/definitions.ts, proven against a real Prometheus by monitoring.e2e.ts.
 */
import { ApiObject } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { grafanaDashboard, ruleGroups } from '../monitoring/definitions.js';
import { appLabels } from './labels.js';

/** Pods Prometheus scrapes: their labels, and the name and number of their metrics port. */
export interface ScrapeTarget {
  readonly name: string;
  readonly podLabels: Readonly<Record<string, string>>;
  readonly portName: string;
  readonly port: number;
}

export interface PlatformMonitoringProps {
  /** The consumers, the operator, and PostgreSQL's instances (CloudNativePG's exporter, port 9187). */
  readonly targets: readonly ScrapeTarget[];
  /**
   * The namespace Prometheus runs in: the platform denies ingress by default, so each target
   * admits scrapes from it on its metrics port. @default 'monitoring'
   */
  readonly prometheusNamespace?: string;
  /** @default 15s */
  readonly interval?: string;
}

export class PlatformMonitoring extends Construct {
  constructor(scope: Construct, id: string, props: PlatformMonitoringProps) {
    super(scope, id);
    const labels = appLabels('clinical-ingest', 'monitoring');
    const interval = props.interval ?? '15s';
    const from = props.prometheusNamespace ?? 'monitoring';
    for (const t of props.targets) {
      new ApiObject(this, t.name, {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'PodMonitor',
        metadata: { name: t.name, labels },
        spec: { selector: { matchLabels: { ...t.podLabels } }, podMetricsEndpoints: [{ port: t.portName, path: '/metrics', interval }] },
      });
      new k8s.KubeNetworkPolicy(this, `${t.name}-scrape`, {
        metadata: { name: `allow-prometheus-${t.name}`, labels },
        spec: {
          podSelector: { matchLabels: { ...t.podLabels } },
          policyTypes: ['Ingress'],
          ingress: [
            {
              from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': from } } }],
              ports: [{ protocol: 'TCP', port: k8s.IntOrString.fromNumber(t.port) }],
            },
          ],
        },
      });
    }
    new ApiObject(this, 'rules', {
      apiVersion: 'monitoring.coreos.com/v1',
      kind: 'PrometheusRule',
      metadata: { name: 'clinical-ingest', labels },
      spec: { groups: ruleGroups() },
    });
    new k8s.KubeConfigMap(this, 'dashboard', {
      metadata: { name: 'clinical-ingest-dashboard', labels: { ...labels, grafana_dashboard: '1' } },
      data: { 'clinical-ingest.json': JSON.stringify(grafanaDashboard(), null, 2) },
    });
  }
}
