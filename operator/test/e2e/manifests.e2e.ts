import type { KubernetesObject } from '@kubernetes/client-node';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ingestPipelineCrd } from '../../src/api/crd.js';
import { leaderElectionRoleRules, operatorClusterRoleRules } from '../../src/api/rbac.js';
import { applyAsAdmin, connectCluster, eventually, installCrd, isNotFound, kubectl, REPO_ROOT, UPSTREAM_CRDS, write, type Cluster } from './harness.js';

// Server-side dry run of what the cdk8s app synthesizes (`make synth` → cdk8s/dist-manifests/)
// against the real apiserver: every object passes the apiserver's own validation, defaulting,
// admission and, for custom resources, the installed CRD's schema and CEL rules.
//
// Our kinds (the IngestPipeline CRD, the pipeline, the operator's RBAC, Service, APIService and
// Deployment, and the built-in kinds around them) are always checked. The Strimzi, CloudNativePG
// and Spark resources are checked when their upstream CRDs are found (K8S_UPSTREAM_CRDS, default
// ../shared/crds next to the repository); they are read from there and installed for real.

const MANIFESTS = join(REPO_ROOT, 'cdk8s', 'dist-manifests');
const NAMESPACE = 'clinical-ingest';
const OUR_GROUPS = new Set([
  '',
  'apps',
  'rbac.authorization.k8s.io',
  'apiregistration.k8s.io',
  'admissionregistration.k8s.io',
  'networking.k8s.io',
  'policy',
  'batch',
  'autoscaling',
  'ingest.clinical.dev',
  'apiextensions.k8s.io',
]);

const groupOf = (o: KubernetesObject) => (o.apiVersion?.includes('/') ? o.apiVersion.split('/')[0]! : '');
const describeObj = (o: KubernetesObject) =>
  `${o.kind}/${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name ?? `${o.metadata?.generateName ?? ''}*`}`;

function manifests(): { file: string; objects: KubernetesObject[] }[] {
  if (!existsSync(MANIFESTS)) throw new Error(`${MANIFESTS} does not exist: run \`make synth\` (make test-k8s does)`);
  const files = readdirSync(MANIFESTS)
    .filter((f) => f.endsWith('.k8s.yaml'))
    .sort();
  if (files.length === 0) throw new Error(`no *.k8s.yaml in ${MANIFESTS}: run \`make synth\``);
  return files.map((file) => ({ file, objects: parseYaml(readFileSync(join(MANIFESTS, file), 'utf8')) as KubernetesObject[] }));
}

/**
 * Every document as plain JSON. (Not client-node's loadAllYaml: it deserializes into its typed
 * models, which renames `from` to `_from` and `default` to `_default`.)
 */
function parseYaml(text: string): unknown[] {
  return parseAllDocuments(text)
    .map((d) => {
      if (d.errors.length > 0) throw new Error(d.errors.map((e) => e.message).join('; '));
      return d.toJSON() as unknown;
    })
    .filter((o) => o !== null && o !== undefined);
}

function upstreamCrdFiles(): string[] {
  if (!existsSync(UPSTREAM_CRDS)) return [];
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(dir, e.name));
      else if (/\.ya?ml$/.test(e.name)) out.push(join(dir, e.name));
    }
  };
  walk(UPSTREAM_CRDS);
  return out.sort();
}

let c: Cluster;
let createdNamespace = false;
const upstream = upstreamCrdFiles();
const upstreamGroups = new Set<string>();

beforeAll(async () => {
  c = await connectCluster();
  await installCrd(c);
  for (const f of upstream) {
    // Server-side: Strimzi's Kafka CRD is larger than the last-applied annotation allows.
    await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=operator-e2e', '-f', f]);
    for (const crd of parseYaml(readFileSync(f, 'utf8')) as { kind?: string; metadata?: { name?: string }; spec?: { group?: string } }[]) {
      if (crd?.kind !== 'CustomResourceDefinition') continue;
      upstreamGroups.add(crd.spec!.group!);
      await eventually(
        `CRD ${crd.metadata?.name} Established`,
        async () =>
          (await c.ext.readCustomResourceDefinition({ name: crd.metadata!.name! })).status?.conditions?.some(
            (x) => x.type === 'Established' && x.status === 'True',
          ) === true,
        30_000,
      );
    }
  }
  if (upstream.length === 0) {
    const msg = `no upstream CRDs at ${UPSTREAM_CRDS} (../shared/crds beside the repository): Strimzi/CloudNativePG/Spark resources are not dry-run`;
    // CI always has ../shared beside its clone: there a missing folder is a failure, never a silent pass.
    if (process.env['CI']) throw new Error(msg);
    write(`manifests.e2e: ${msg}`);
  }
  // Namespaced objects cannot be dry-run into a namespace that does not exist.
  try {
    await c.core.readNamespace({ name: NAMESPACE });
  } catch (e) {
    if (!isNotFound(e)) throw e;
    await c.core.createNamespace({ body: { metadata: { name: NAMESPACE, labels: { 'clinical-ingest/e2e': 'true' } } } });
    createdNamespace = true;
  }
});

afterAll(async () => {
  if (createdNamespace) await c.core.deleteNamespace({ name: NAMESPACE }).catch(() => undefined);
});

describe('the synthesized manifests, server-side dry run', () => {
  const all = manifests();

  it.each(all.map((m) => [m.file, m] as const))('%s is accepted by the apiserver', async (_file, m) => {
    const failures: string[] = [];
    const skipped: string[] = [];
    for (const o of m.objects) {
      const g = groupOf(o);
      if (!OUR_GROUPS.has(g) && !upstreamGroups.has(g)) {
        skipped.push(describeObj(o));
        continue;
      }
      try {
        // A template with generateName is created, not applied (make snapshot-export: kubectl create).
        if (o.metadata?.name === undefined && o.metadata?.generateName !== undefined)
          await kubectl(['create', '--dry-run=server', '-o', 'json', '-f', '-'], { input: JSON.stringify(o) });
        else await applyAsAdmin(c, o, true);
      } catch (e) {
        const msg = e instanceof Error ? e.message.replace(/^kubectl .*? failed: /, '') : String(e);
        failures.push(`${describeObj(o)}: ${msg}`);
      }
    }
    if (skipped.length > 0) write(`manifests.e2e: ${m.file}: not dry-run (no CRD installed): ${skipped.join(', ')}`);
    expect(failures).toEqual([]);
    expect(m.objects.length - skipped.length).toBeGreaterThan(0);
  });

  it('the synthesized CRD is ingestPipelineCrd() (manifests are not stale)', () => {
    const crd = all
      .flatMap((m) => m.objects)
      .find((o) => o.kind === 'CustomResourceDefinition' && o.metadata?.name === ingestPipelineCrd().metadata.name) as unknown as ReturnType<
      typeof ingestPipelineCrd
    >;
    expect(crd).toBeDefined();
    expect(JSON.parse(JSON.stringify(crd.spec))).toEqual(JSON.parse(JSON.stringify(ingestPipelineCrd().spec)));
  });

  it("the synthesized operator RBAC is api/rbac.ts's", () => {
    const objs = all.flatMap((m) => m.objects) as (KubernetesObject & { rules?: unknown })[];
    const cr = objs.find((o) => o.kind === 'ClusterRole' && o.metadata?.name === 'ingest-operator');
    const role = objs.find((o) => o.kind === 'Role' && o.metadata?.name === 'ingest-operator-leader-election');
    expect(cr?.rules).toEqual(operatorClusterRoleRules());
    expect(role?.rules).toEqual(leaderElectionRoleRules());
  });

  it.runIf(upstream.length > 0)('covers the upstream kinds too (Strimzi, CloudNativePG, Spark)', () => {
    const groups = new Set(all.flatMap((m) => m.objects).map(groupOf));
    for (const g of ['kafka.strimzi.io', 'postgresql.cnpg.io', 'sparkoperator.k8s.io']) {
      if (groups.has(g)) expect(upstreamGroups.has(g)).toBe(true);
    }
  });
});
