/**
 * The kind workflow, as far as it can be run without a container engine: every make target is
 * listed by `make help`, fails with a message that names the missing tool (docker, kind, kubectl,
 * helm) before doing anything, and the scripts pin the operator versions the CRDs are from.
 * kind-config.yaml maps what the manifests expose.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DEPLOY_ORDER, OPTIONAL } from './charts.js';
import { REPO_ROOT } from './paths.js';
import { defaultSettings, DEV_PUBLIC_STORE_NODEPORT } from './settings.js';

const FRAGMENT = 'mk/kubernetes.mk';

/** make with the fragment included (as the root Makefile does, or alongside it until it does). */
function make(args: string[], env: Record<string, string> = {}) {
  const root = readFileSync(join(REPO_ROOT, 'Makefile'), 'utf8');
  const files = root.includes(FRAGMENT) ? ['-f', 'Makefile'] : ['-f', 'Makefile', '-f', FRAGMENT];
  const r = spawnSync('make', ['--no-print-directory', ...files, ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 60_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const TARGETS = ['kind-up', 'deploy', 'loadtest', 'kind-down', 'snapshot-export', 'chart', 'helm', 'helm-check'];

describe('mk/kubernetes.mk', () => {
  it('lists every target in make help, with its description', () => {
    const { status, out } = make(['help']);
    expect(status).toBe(0);
    for (const t of TARGETS) expect(out).toMatch(new RegExp(`${t}\\s*\\S*\\s+\\S`));
  });

  it.each([
    ['kind-up', 'DOCKER', 'docker'],
    ['kind-up', 'KIND', 'kind'],
    ['kind-up', 'KUBECTL', 'kubectl'],
    ['kind-up', 'HELM', 'helm'],
    ['deploy', 'KUBECTL', 'kubectl'],
    ['loadtest', 'KUBECTL', 'kubectl'],
    ['snapshot-export', 'KUBECTL', 'kubectl'],
    ['kind-down', 'KIND', 'kind'],
  ])('%s fails at once, naming %s, when it is missing', (target, variable, tool) => {
    // The other tools exist (as `true`), so the message must be about this one. docker "answers".
    const present = Object.fromEntries(['DOCKER', 'KIND', 'KUBECTL', 'HELM'].map((v) => [v, 'true']));
    const started = Date.now();
    const { status, out } = make([target, ...Object.entries({ ...present, [variable]: `/nonexistent/${tool}` }).map(([k, v]) => `${k}=${v}`)]);
    expect(status).not.toBe(0);
    expect(out).toMatch(new RegExp(`'/nonexistent/${tool}' not found: ${tool} \\(${variable}\\) is required`));
    expect(out).not.toMatch(/npm ci|npx tsc|node dist\/main\.js/); // nothing was built first
    expect(Date.now() - started).toBeLessThan(30_000);
  });

  it('helm-check says how to get helm when it is missing', () => {
    const { status, out } = make(['-n', 'helm-check', 'HELM=/nonexistent/helm']);
    expect(status).toBe(0); // dry run: the recipe names the check
    expect(out).toMatch(/helm not found .*make helm/);
  });
});

describe('the workflow scripts', () => {
  const script = (name: string) => readFileSync(join(REPO_ROOT, 'cdk8s', 'scripts', `${name}.sh`), 'utf8');
  const fragment = readFileSync(join(REPO_ROOT, FRAGMENT), 'utf8');

  it('pin Strimzi 1.2.0, CloudNativePG 1.30.0 and spark-operator 2.5.2, the versions of ../shared/crds', () => {
    expect(fragment).toMatch(/^STRIMZI_VERSION \?= 1\.2\.0$/m);
    expect(fragment).toMatch(/^CNPG_VERSION \?= 1\.30\.0$/m);
    expect(fragment).toMatch(/^SPARK_OPERATOR_VERSION \?= 2\.5\.2$/m);
    const up = script('kind-up');
    expect(up).toMatch(/--version "\$STRIMZI_VERSION"/);
    expect(up).toMatch(/cnpg-\$\{CNPG_VERSION\}\.yaml/);
    expect(up).toMatch(/--version "\$SPARK_OPERATOR_VERSION"/);
  });

  it('install the operators in the namespaces the NetworkPolicies allow them from', () => {
    const ns = defaultSettings().operatorNamespaces;
    const up = script('kind-up');
    expect(up).toMatch(new RegExp(`strimzi-kafka-operator .*\\n\\s*--namespace ${ns.strimzi} `));
    expect(up).toMatch(new RegExp(`-n ${ns.cnpg} rollout status`));
    expect(up).toMatch(new RegExp(`--namespace ${ns.sparkOperator} `));
  });

  it('deploy applies every chart of the deploy order, in that order, then the optional ones, and waits for Kafka and PostgreSQL', () => {
    const deploy = script('deploy');
    const applied = [...deploy.matchAll(/apply_chart ([\w-]+)/g)].map((m) => m[1]);
    expect(applied).toEqual([...DEPLOY_ORDER, ...OPTIONAL]);
    expect(deploy).toMatch(/get crd podmonitors\.monitoring\.coreos\.com prometheusrules\.monitoring\.coreos\.com .*\n\s+apply_chart monitoring/);
    expect(deploy).toMatch(/wait kafka --all --for=condition=Ready/);
    expect(deploy).toMatch(/wait cluster\.postgresql\.cnpg\.io --all --for=condition=Ready/);
    expect(deploy).toMatch(/rollout status deployment\/ingest-operator/);
  });

  it('are idempotent: existing cluster, releases (upgrade --install), server-side apply, kept Secrets, re-run Job', () => {
    expect(script('kind-up')).toMatch(/get clusters .*grep -qx/);
    expect(script('kind-up').match(/helm|HELM/g)?.length).toBeGreaterThan(0);
    expect(script('kind-up')).not.toMatch(/"\$HELM" install /);
    expect(script('lib')).toMatch(/apply --server-side/);
    expect(script('loadtest')).toMatch(/delete job "\$JOB" --ignore-not-found/);
    expect(script('kind-down')).toMatch(/get clusters .*grep -qx/);
  });

  it('loadtest exits with the Job container exit code', () => {
    expect(script('loadtest')).toMatch(/state\.terminated\.exitCode/);
    expect(script('loadtest')).toMatch(/exit "\$code"/);
  });
});

describe('kind-config.yaml', () => {
  const cfg = parse(readFileSync(join(REPO_ROOT, 'kind-config.yaml'), 'utf8')) as {
    kind: string;
    apiVersion: string;
    name: string;
    nodes: { role: string; extraPortMappings?: { containerPort: number; hostPort: number; listenAddress: string }[] }[];
  };

  it('has a control plane and workers', () => {
    expect(cfg.apiVersion).toBe('kind.x-k8s.io/v1alpha4');
    expect(cfg.nodes.filter((n) => n.role === 'control-plane')).toHaveLength(1);
    expect(cfg.nodes.filter((n) => n.role === 'worker').length).toBeGreaterThanOrEqual(2);
    expect(cfg.name).toBe('clinical-ingest');
  });

  it("maps the public store's NodePort to the host's loopback only", () => {
    const mappings = cfg.nodes.flatMap((n) => n.extraPortMappings ?? []);
    expect(mappings).toEqual([{ containerPort: DEV_PUBLIC_STORE_NODEPORT, hostPort: 28000, listenAddress: '127.0.0.1', protocol: 'TCP' }]);
  });
});
