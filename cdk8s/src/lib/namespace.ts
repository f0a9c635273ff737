import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { clusterScoped } from './scope.js';

export interface PlatformNamespaceProps {
  /** @default 'clinical-ingest' */
  readonly name?: string;
}

/** The platform's namespace, enforcing the Pod Security Standard `restricted` (and auditing, warning). */
export class PlatformNamespace extends Construct {
  readonly name: string;
  constructor(scope: Construct, id: string, props: PlatformNamespaceProps = {}) {
    super(scope, id);
    this.name = props.name ?? 'clinical-ingest';
    clusterScoped(
      new k8s.KubeNamespace(this, 'namespace', {
        metadata: {
          name: this.name,
          labels: {
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/enforce-version': 'latest',
            'pod-security.kubernetes.io/audit': 'restricted',
            'pod-security.kubernetes.io/warn': 'restricted',
            'app.kubernetes.io/part-of': 'clinical-ingest',
          },
        },
      }),
    );
  }
}
