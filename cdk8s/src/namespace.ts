import { ApiObject, Chart, type ChartProps } from 'cdk8s';
import type { Construct } from 'constructs';

export interface PlatformNamespaceProps extends ChartProps {
  /** @default 'clinical-ingest' */
  readonly name?: string;
}

/**
 * The platform's namespace, labelled for Pod Security Standards `restricted`. Issue #3 adds the
 * charts for Kafka, PostgreSQL, Redis, the public store, Spark and our components.
 */
export class PlatformNamespace extends Chart {
  readonly namespaceName: string;

  constructor(scope: Construct, id: string, props: PlatformNamespaceProps = {}) {
    super(scope, id, props);
    this.namespaceName = props.name ?? 'clinical-ingest';
    new ApiObject(this, 'namespace', {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: {
        name: this.namespaceName,
        labels: {
          'pod-security.kubernetes.io/enforce': 'restricted',
          'pod-security.kubernetes.io/audit': 'restricted',
          'pod-security.kubernetes.io/warn': 'restricted',
        },
      },
    });
  }
}
