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

export interface PlatformMonitoringProps {
  /** Labels of the consumer pods (the operator's selector labels, without the pipeline's instance). */
  readonly consumerPodLabels: Readonly<Record<string, string>>;
  /** Their metrics port's name. */
  readonly consumerPort: string;
  readonly operatorPodLabels: Readonly<Record<string, string>>;
  readonly operatorPort: string;
  /** @default 15s */
  readonly interval?: string;
}

export class PlatformMonitoring extends Construct {
  constructor(scope: Construct, id: string, props: PlatformMonitoringProps) {
    super(scope, id);
    const labels = appLabels('clinical-ingest', 'monitoring');
    const interval = props.interval ?? '15s';
    const podMonitor = (name: string, matchLabels: Readonly<Record<string, string>>, port: string) =>
      new ApiObject(this, name, {
        apiVersion: 'monitoring.coreos.com/v1',
        kind: 'PodMonitor',
        metadata: { name, labels },
        spec: { selector: { matchLabels: { ...matchLabels } }, podMetricsEndpoints: [{ port, path: '/metrics', interval }] },
      });
    podMonitor('intake-consumer', props.consumerPodLabels, props.consumerPort);
    podMonitor('ingest-operator', props.operatorPodLabels, props.operatorPort);
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
