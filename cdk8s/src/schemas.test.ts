/**
 * Every synthesized object against its schema: core kinds against the Kubernetes OpenAPI schemas
 * (and the API's field list), Strimzi / CloudNativePG / spark-operator resources against their
 * upstream CRDs in ../shared/crds, our CRD as a CRD and the IngestPipeline against it, and what the
 * operator builds from that IngestPipeline. Each check also gets a broken object it must refuse.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ingestPipelineCrd } from '@clinical-ingest/operator';
import { crdsDir } from './paths.js';
import { crdStructuralErrors } from './validation/crd-structural.js';
import { coreErrors, coreSchemaErrors, isCoreKind, unknownFieldErrors } from './validation/k8s-schema.js';
import { crdRegistry, synthesize, upstreamCrds, type Synthesized } from './validation/platform.js';
import type { KubeObject } from './validation/types.js';
import type { CrdDocument } from './validation/crd-schema.js';

let s: Synthesized;
beforeAll(() => {
  s = synthesize();
});

/** Validates one object with the check its kind calls for. */
function errorsOf(obj: KubeObject): string[] {
  if (isCoreKind(obj.apiVersion)) return coreErrors(obj);
  return crdRegistry().errors(obj);
}

const clone = <T>(v: T): T => structuredClone(v);
const find = (kind: string, name?: string): KubeObject => {
  const o = [...s.all, ...s.operatorBuilt].find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  if (o === undefined) throw new Error(`no ${kind} ${name ?? ''} synthesized`);
  return clone(o);
};

describe('the upstream CRDs', () => {
  it('are required: without ../shared/crds the schema tests fail, naming the folder', () => {
    expect(() => crdsDir('/nonexistent/shared/crds')).toThrow(/upstream CRDs not found at \/nonexistent\/shared\/crds.*never pass without them/);
  });

  it('are read from ../shared/crds (Strimzi kafka.strimzi.io/v1, CloudNativePG v1, spark-operator v1beta2)', () => {
    const served = upstreamCrds().flatMap((c) => c.spec.versions.filter((v) => v.served).map((v) => `${c.spec.group}/${v.name}/${c.spec.names.kind}`));
    expect(served).toEqual(
      expect.arrayContaining([
        'kafka.strimzi.io/v1/Kafka',
        'kafka.strimzi.io/v1/KafkaNodePool',
        'kafka.strimzi.io/v1/KafkaTopic',
        'kafka.strimzi.io/v1/KafkaUser',
        'postgresql.cnpg.io/v1/Cluster',
        'postgresql.cnpg.io/v1/Pooler',
        'sparkoperator.k8s.io/v1beta2/SparkApplication',
      ]),
    );
  });
});

describe('every synthesized object', () => {
  it('has a schema check: a core kind or a kind of a known CRD', () => {
    const unknown = s.all.filter((o) => !isCoreKind(o.apiVersion) && !crdRegistry().defines(o.apiVersion, o.kind)).map((o) => `${o.apiVersion} ${o.kind}`);
    expect(unknown).toEqual([]);
  });

  it('of a core kind is valid against the Kubernetes schema, with no unknown field', () => {
    const errors = s.all.filter((o) => isCoreKind(o.apiVersion)).flatMap(coreErrors);
    expect(errors).toEqual([]);
  });

  it('of a Strimzi, CloudNativePG, spark-operator or Prometheus Operator kind is valid against its upstream CRD', () => {
    // The SparkApplication is the operator's, built for a Snapshot from the synthesized settings.
    const custom = [...s.all, ...s.operatorBuilt].filter((o) => /strimzi|cnpg|sparkoperator|monitoring\.coreos\.com/.test(o.apiVersion));
    expect(new Set(custom.map((o) => o.kind))).toEqual(
      new Set(['Kafka', 'KafkaNodePool', 'KafkaTopic', 'KafkaUser', 'Cluster', 'Pooler', 'SparkApplication', 'PodMonitor', 'PrometheusRule']),
    );
    expect(custom.flatMap((o) => crdRegistry().errors(o))).toEqual([]);
  });

  it('uses only kafka.strimzi.io/v1 for Strimzi', () => {
    expect(s.all.filter((o) => o.apiVersion.startsWith('kafka.strimzi.io/') && o.apiVersion !== 'kafka.strimzi.io/v1')).toEqual([]);
  });
});

describe('the IngestPipeline CRD (from @clinical-ingest/operator)', () => {
  it('is synthesized unchanged', () => {
    const crd = s.all.find((o) => o.kind === 'CustomResourceDefinition');
    expect(crd).toEqual(ingestPipelineCrd());
  });

  it('is a valid CustomResourceDefinition with a structural schema', () => {
    const crd = ingestPipelineCrd() as unknown as KubeObject;
    expect(coreErrors(crd)).toEqual([]);
    expect(crdStructuralErrors(ingestPipelineCrd() as unknown as Parameters<typeof crdStructuralErrors>[0])).toEqual([]);
  });

  it('validates the synthesized IngestPipeline', () => {
    const pipeline = find('IngestPipeline');
    expect(crdRegistry().errors(pipeline)).toEqual([]);
  });
});

describe('what the operator builds from the synthesized IngestPipeline and settings', () => {
  const core = () => s.operatorBuilt.filter((o) => isCoreKind(o.apiVersion));
  it('is a valid Deployment and HPA, and a SparkApplication for a Snapshot', () => {
    expect(s.operatorBuilt.map((o) => o.kind)).toEqual(['Deployment', 'HorizontalPodAutoscaler', 'SparkApplication']);
    expect(core().flatMap(coreSchemaErrors)).toEqual([]);
  });

  it('uses no field the Kubernetes API does not know', () => {
    expect(core().flatMap(unknownFieldErrors)).toEqual([]);
  });
});

describe('the checks refuse broken objects', () => {
  it('core schema: a wrong type', () => {
    const d = find('Deployment', 'ingest-operator') as KubeObject & { spec: { replicas: unknown } };
    d.spec.replicas = 'one';
    expect(errorsOf(d).join('\n')).toMatch(/\/spec\/replicas must be integer/);
  });

  it('core schema: a missing required field', () => {
    const svc = find('Service', 'redis') as KubeObject & { spec: { ports: { port?: number }[] } };
    delete svc.spec.ports[0]!.port;
    expect(errorsOf(svc).join('\n')).toMatch(/\/spec\/ports\/0 must have required property port/);
  });

  it('core fields: a misspelt field', () => {
    const sts = find('StatefulSet', 'redis') as KubeObject & { spec: { template: { spec: { containers: Record<string, unknown>[] } } } };
    const c = sts.spec.template.spec.containers[0]!;
    (c['securityContext'] as Record<string, unknown>)['readOnlyRootFilesytem'] = true;
    expect(errorsOf(sts).join('\n')).toMatch(/readOnlyRootFilesytem: unknown field/);
  });

  it('core: a kind without a schema', () => {
    expect(coreSchemaErrors({ apiVersion: 'v1', kind: 'Secretive', metadata: { name: 'x' } })[0]).toMatch(/no Kubernetes schema/);
  });

  it('Strimzi: a value outside the enum (SCRAM-SHA-256 is not offered)', () => {
    const k = find('Kafka') as KubeObject & { spec: { kafka: { listeners: { authentication: { type: string } }[] } } };
    k.spec.kafka.listeners[0]!.authentication.type = 'scram-sha-256';
    expect(errorsOf(k).join('\n')).toMatch(/listeners\/0\/authentication\/type must be equal to one of the allowed values/);
  });

  it('Strimzi: an unknown field (pruned by the apiserver, refused by strict apply)', () => {
    const t = find('KafkaTopic') as KubeObject & { spec: Record<string, unknown> };
    t.spec['partitons'] = 12;
    expect(errorsOf(t).join('\n')).toMatch(/must NOT have additional properties.*partitons/);
  });

  it('Strimzi: an API version Strimzi 1.2 no longer serves', () => {
    const u = { ...find('KafkaUser'), apiVersion: 'kafka.strimzi.io/v1beta2' };
    expect(errorsOf(u).join('\n')).toMatch(/no CRD serves kafka.strimzi.io\/v1beta2 KafkaUser/);
  });

  it('CloudNativePG: a wrong type and a missing required field', () => {
    const c = find('Cluster') as KubeObject & { spec: Record<string, unknown> };
    c.spec['instances'] = '1';
    expect(errorsOf(c).join('\n')).toMatch(/\/spec\/instances must be integer/);
    const p = find('Pooler') as KubeObject & { spec: Record<string, unknown> };
    delete p.spec['cluster'];
    expect(errorsOf(p).join('\n')).toMatch(/must have required property 'cluster'/);
  });

  it('CloudNativePG: a pool mode PgBouncer does not have', () => {
    const p = find('Pooler') as KubeObject & { spec: { pgbouncer: { poolMode: string } } };
    p.spec.pgbouncer.poolMode = 'statement';
    expect(errorsOf(p).join('\n')).toMatch(/poolMode must be equal to one of the allowed values/);
  });

  it('spark-operator: a missing sparkVersion and an unknown driver field', () => {
    const a = find('SparkApplication') as KubeObject & { spec: Record<string, unknown> & { driver: Record<string, unknown> } };
    delete a.spec['sparkVersion'];
    a.spec.driver['coresLimit'] = '1';
    const text = errorsOf(a).join('\n');
    expect(text).toMatch(/must have required property 'sparkVersion'/);
    expect(text).toMatch(/additional properties.*coresLimit/);
  });

  it('custom resources: metadata is checked as ObjectMeta', () => {
    const t = find('KafkaTopic');
    (t.metadata as Record<string, unknown>)['name'] = 'Intake_Records';
    expect(errorsOf(t).join('\n')).toMatch(/metadata.name is not a DNS subdomain/);
  });

  it('IngestPipeline: a value below the minimum and an unknown field', () => {
    const p = find('IngestPipeline') as KubeObject & { spec: { scaling: Record<string, unknown>; consumer: Record<string, unknown> } };
    p.spec.scaling['maxReplicas'] = 0;
    p.spec.consumer['imagePullPolicyy'] = 'Always';
    const text = errorsOf(p).join('\n');
    expect(text).toMatch(/scaling\/maxReplicas must be >= 1/);
    expect(text).toMatch(/additional properties.*imagePullPolicyy/);
  });

  it('our CRD: a node without a type, a default its own schema refuses, two storage versions', () => {
    const crd = clone(ingestPipelineCrd()) as unknown as CrdDocument & {
      spec: { versions: { storage: boolean; schema: { openAPIV3Schema: Record<string, Record<string, Record<string, unknown>>> } }[] };
    };
    const v = crd.spec.versions[0]!;
    const spec = v.schema.openAPIV3Schema['properties']!['spec'] as Record<string, Record<string, Record<string, unknown>>>;
    spec['properties']!['extra'] = { description: 'no type' };
    (spec['properties']!['scaling'] as Record<string, Record<string, Record<string, unknown>>>)['properties']!['minReplicas'] = {
      type: 'integer',
      minimum: 0,
      default: -1,
    };
    crd.spec.versions.push({ ...clone(v), storage: true, name: 'v1alpha2' } as never);
    const text = crdStructuralErrors(crd).join('\n');
    expect(text).toMatch(/spec.extra: no type/);
    expect(text).toMatch(/minReplicas: default -1 is invalid/);
    expect(text).toMatch(/exactly one storage version/);
  });
});
