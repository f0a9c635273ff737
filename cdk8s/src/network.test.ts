/**
 * NetworkPolicies: the namespace denies everything by default; each flow of the architecture is
 * opened at both ends, and nothing else. The assertions read the synthesized policies back.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { synthesize, type Synthesized } from './validation/platform.js';
import type { KubeObject } from './validation/types.js';

interface Policy {
  metadata: { name: string };
  spec: {
    podSelector: { matchLabels?: Record<string, string> };
    policyTypes: string[];
    ingress?: { from: Record<string, unknown>[]; ports: { port: number; protocol: string }[] }[];
    egress?: { to: Record<string, unknown>[]; ports: { port: number; protocol: string }[] }[];
  };
}

let s: Synthesized;
let policies: Policy[];
beforeAll(() => {
  s = synthesize();
  policies = s.all.filter((o) => o.kind === 'NetworkPolicy') as unknown as Policy[];
});

const selects = (p: Policy, labels: Record<string, string>) => Object.entries(p.spec.podSelector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
/** Peers (pod labels) allowed to reach pods with `labels` on `port`. */
function ingressPeers(labels: Record<string, string>, port: number): string[] {
  return policies
    .filter((p) => p.spec.policyTypes.includes('Ingress') && selects(p, labels))
    .flatMap((p) => (p.spec.ingress ?? []).filter((r) => r.ports.some((x) => x.port === port)).flatMap((r) => r.from.map((f) => JSON.stringify(f))));
}
function podLabelsOf(o: KubeObject): Record<string, string> {
  return (o as unknown as { spec: { template: { metadata: { labels: Record<string, string> } } } }).spec.template.metadata.labels;
}

describe('network policies', () => {
  it('deny all ingress and egress by default, and allow DNS to kube-dns only', () => {
    const deny = policies.find((p) => p.metadata.name === 'default-deny');
    expect(deny?.spec).toEqual({ podSelector: {}, policyTypes: ['Ingress', 'Egress'] });
    const dns = policies.find((p) => p.metadata.name === 'allow-dns');
    expect(dns?.spec.egress?.[0]?.ports.map((p) => `${p.port}/${p.protocol}`)).toEqual(['53/UDP', '53/TCP']);
  });

  it('let only the consumers reach Redis', () => {
    const redis = podLabelsOf(s.all.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'redis')!);
    expect(ingressPeers(redis, 6379)).toEqual([JSON.stringify({ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'intake-consumer' } } })]);
  });

  it('let the consumers, the operator and the load test reach the Kafka TLS listener, nobody else', () => {
    const peers = ingressPeers({ 'strimzi.io/cluster': 'intake', 'strimzi.io/kind': 'Kafka' }, 9093).map(
      (p) => JSON.parse(p).podSelector.matchLabels['app.kubernetes.io/name'],
    );
    expect(peers.sort()).toEqual(['ingest-operator', 'intake-consumer', 'intake-loadtest']);
    const kafka = s.all.find((o) => o.kind === 'Kafka') as unknown as {
      spec: { kafka: { listeners: { networkPolicyPeers: { podSelector: { matchLabels: Record<string, string> } }[] }[] } };
    };
    expect(kafka.spec.kafka.listeners[0]!.networkPolicyPeers.map((p) => p.podSelector.matchLabels['app.kubernetes.io/name']).sort()).toEqual(peers.sort());
  });

  it('put the consumers, not the load test, behind the pooler; PostgreSQL itself only takes the pooler, readers and its operator', () => {
    const pooler = ingressPeers({ 'cnpg.io/poolerName': 'pg-pooler-rw' }, 5432).map((p) => JSON.parse(p).podSelector.matchLabels['app.kubernetes.io/name']);
    expect(pooler).toEqual(['intake-consumer']);
    const pg = ingressPeers({ 'cnpg.io/cluster': 'pg', 'cnpg.io/podRole': 'instance' }, 5432);
    expect(pg.length).toBe(5); // pooler, load test, replication, CloudNativePG operator, Spark export
    expect(pg.some((p) => p.includes('intake-consumer'))).toBe(false);
  });

  it('open egress for every pod that has ingress elsewhere: each client flow has both ends', () => {
    for (const p of policies.filter((x) => x.spec.policyTypes.includes('Ingress') && x.metadata.name.endsWith('-ingress'))) {
      for (const rule of p.spec.ingress ?? []) {
        for (const from of rule.from) {
          const labels = (from as { podSelector?: { matchLabels: Record<string, string> }; namespaceSelector?: unknown }).podSelector?.matchLabels;
          if (labels === undefined || (from as { namespaceSelector?: unknown }).namespaceSelector !== undefined) continue;
          const egress = policies.filter((e) => e.spec.policyTypes.includes('Egress') && selects(e, labels));
          expect(egress.length, `${JSON.stringify(labels)} → ${p.metadata.name}`).toBeGreaterThan(0);
        }
      }
    }
  });

  it('select pods that exist: each of our policies names the labels of a synthesized or operator-managed pod', () => {
    const ours = [...s.all, ...s.operatorBuilt].filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind)).map(podLabelsOf);
    const operatorManaged: Record<string, string>[] = [
      { 'strimzi.io/cluster': 'intake', 'strimzi.io/kind': 'Kafka' },
      { 'strimzi.io/name': 'intake-entity-operator' },
      { 'cnpg.io/cluster': 'pg', 'cnpg.io/podRole': 'instance' },
      { 'cnpg.io/poolerName': 'pg-pooler-rw' },
      { 'app.kubernetes.io/name': 'snapshot-export' },
    ];
    for (const p of policies) {
      if (Object.keys(p.spec.podSelector.matchLabels ?? {}).length === 0) continue;
      expect(
        [...ours, ...operatorManaged].some((l) => selects(p, l)),
        p.metadata.name,
      ).toBe(true);
    }
  });
});

describe('the network assertions refuse', () => {
  it('a policy that lets another pod reach Redis', () => {
    const extra: Policy = {
      metadata: { name: 'oops' },
      spec: {
        podSelector: { matchLabels: { 'app.kubernetes.io/name': 'redis' } },
        policyTypes: ['Ingress'],
        ingress: [{ from: [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'intake-loadtest' } } }], ports: [{ port: 6379, protocol: 'TCP' }] }],
      },
    };
    policies.push(extra);
    try {
      const redis = podLabelsOf(s.all.find((o) => o.kind === 'StatefulSet' && o.metadata.name === 'redis')!);
      expect(ingressPeers(redis, 6379)).toHaveLength(2);
    } finally {
      policies.pop();
    }
  });
});
