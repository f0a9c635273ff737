/**
 * Network flows, declared once as data and turned into NetworkPolicies: the namespace denies every
 * ingress and egress by default, and each flow the architecture needs (who talks to whom, on which
 * port) opens exactly that, on both ends (egress at the client, ingress at the server).
 */
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';

/** Pods of this namespace, another namespace, or an address block (the API server, node traffic). */
export type Endpoint =
  | { readonly kind: 'pods'; readonly name: string; readonly labels: Readonly<Record<string, string>> }
  | { readonly kind: 'external-pods'; readonly name: string; readonly namespace: string; readonly labels: Readonly<Record<string, string>> }
  | { readonly kind: 'cidr'; readonly name: string; readonly cidrs: readonly string[] };

export interface Port {
  readonly port: number;
  /** @default 'TCP' */
  readonly protocol?: 'TCP' | 'UDP';
}

export interface Flow {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly ports: readonly Port[];
  /** Why the architecture needs it (shown as an annotation on the policy). */
  readonly why: string;
}

export const pods = (name: string, labels: Readonly<Record<string, string>>): Endpoint => ({ kind: 'pods', name, labels });
export const externalPods = (name: string, namespace: string, labels: Readonly<Record<string, string>>): Endpoint => ({
  kind: 'external-pods',
  name,
  namespace,
  labels,
});

/**
 * The Kubernetes API server. It runs on the host network, so no label selects it: its addresses
 * (the endpoints of the `kubernetes` Service, which policies see after DNAT; settings.apiServerCidrs,
 * discovered by `make deploy`) on its ports (443 on the Service, 6443 on kind's control-plane node).
 * Never every address: the pods that call it hold PHI or credentials.
 */
export const kubeApiServer = (cidrs: readonly string[]): Endpoint => ({ kind: 'cidr', name: 'kube-apiserver', cidrs });
export const KUBE_APISERVER_PORTS: readonly Port[] = [{ port: 443 }, { port: 6443 }];

/** Traffic that reaches a pod from a node (NodePort services), source-NATed to a node address. */
export const NODE_NETWORK: Endpoint = { kind: 'cidr', name: 'nodes', cidrs: ['0.0.0.0/0'] };

function peers(e: Endpoint): k8s.NetworkPolicyPeer[] {
  switch (e.kind) {
    case 'pods':
      return [{ podSelector: { matchLabels: { ...e.labels } } }];
    case 'external-pods':
      return [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': e.namespace } }, podSelector: { matchLabels: { ...e.labels } } }];
    case 'cidr':
      return e.cidrs.map((cidr) => ({ ipBlock: { cidr } }));
  }
}

function ports(list: readonly Port[]): k8s.NetworkPolicyPort[] {
  return list.map((p) => ({ port: k8s.IntOrString.fromNumber(p.port), protocol: p.protocol ?? 'TCP' }));
}

export interface FlowPoliciesProps {
  readonly flows: readonly Flow[];
}

/**
 * One ingress policy per server and one egress policy per client of this namespace, each listing
 * every flow of that endpoint. Endpoints outside the namespace get no policy (theirs is not ours).
 */
export class FlowPolicies extends Construct {
  constructor(scope: Construct, id: string, props: FlowPoliciesProps) {
    super(scope, id);
    const egress = new Map<string, { ep: Endpoint & { kind: 'pods' }; flows: Flow[] }>();
    const ingress = new Map<string, { ep: Endpoint & { kind: 'pods' }; flows: Flow[] }>();
    for (const f of props.flows) {
      if (f.from.kind === 'pods') push(egress, f.from, f);
      if (f.to.kind === 'pods') push(ingress, f.to, f);
    }
    for (const [name, { ep, flows }] of egress) {
      new k8s.KubeNetworkPolicy(this, `${name}-egress`, {
        metadata: { name: `${name}-egress`, annotations: { 'clinical.dev/flows': flows.map((f) => `${f.to.name}: ${f.why}`).join('; ') } },
        spec: {
          podSelector: { matchLabels: { ...ep.labels } },
          policyTypes: ['Egress'],
          egress: flows.map((f) => ({ to: peers(f.to), ports: ports(f.ports) })),
        },
      });
    }
    for (const [name, { ep, flows }] of ingress) {
      new k8s.KubeNetworkPolicy(this, `${name}-ingress`, {
        metadata: { name: `${name}-ingress`, annotations: { 'clinical.dev/flows': flows.map((f) => `${f.from.name}: ${f.why}`).join('; ') } },
        spec: {
          podSelector: { matchLabels: { ...ep.labels } },
          policyTypes: ['Ingress'],
          ingress: flows.map((f) => ({ from: peers(f.from), ports: ports(f.ports) })),
        },
      });
    }
  }
}

function push(map: Map<string, { ep: Endpoint & { kind: 'pods' }; flows: Flow[] }>, ep: Endpoint & { kind: 'pods' }, f: Flow): void {
  const entry = map.get(ep.name);
  if (entry === undefined) map.set(ep.name, { ep, flows: [f] });
  else {
    if (JSON.stringify(entry.ep.labels) !== JSON.stringify(ep.labels)) throw new Error(`endpoint ${ep.name} declared with two label sets`);
    entry.flows.push(f);
  }
}

/** Default deny (ingress and egress) for every pod of the namespace, and DNS for all of them. */
export class DefaultDeny extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    new k8s.KubeNetworkPolicy(this, 'default-deny', {
      metadata: { name: 'default-deny' },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
    new k8s.KubeNetworkPolicy(this, 'allow-dns', {
      metadata: { name: 'allow-dns' },
      spec: {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [
          {
            to: [
              { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } },
            ],
            ports: ports([
              { port: 53, protocol: 'UDP' },
              { port: 53, protocol: 'TCP' },
            ]),
          },
        ],
      },
    });
  }
}
