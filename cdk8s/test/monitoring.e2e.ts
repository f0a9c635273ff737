/**
 * The alerts and the dashboard, proven against a real Prometheus (scripts/observe.sh: Debian's
 * package) scraping a real consumer and the real operator: after a short load, every alert signal
 * and every dashboard query of the platform's own metrics returns series, and every alert
 * expression evaluates without error. `promtool check rules` passes on the synthesized rules.
 * Needs the local platform (make up) and the local control plane (make k8s-up), as make test has.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { encodeRecord, identityOf, partitionKey } from '@clinical-ingest/intake-core';
import { ConsumerProcess, env, freePort, TestPlatform, uniquePerson } from '@clinical-ingest/testkit';
import { API_VERSION, ingestPipelineCrd } from '@clinical-ingest/operator';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALERTS, provableQueries, ruleGroups } from '../src/monitoring/definitions.js';
import { REPO_ROOT } from '../src/paths.js';

const run = promisify(execFile);
const OBSERVE = join(REPO_ROOT, 'scripts', 'observe.sh');
const KUBECTL = join(REPO_ROOT, '.local', 'k8s', 'bin', 'kubectl');
const KUBECONFIG = process.env['K8S_TESTENV_KUBECONFIG'] ?? join(REPO_ROOT, '.local', 'k8s', 'kubeconfig');
const OPERATOR_MAIN = join(REPO_ROOT, 'operator', 'dist', 'main.js');

let platform: TestPlatform;
let consumer: ConsumerProcess | undefined;
let operator: ChildProcess | undefined;
let prometheus = '';
let namespace = '';

const kubectl = (args: string[], input?: string) =>
  new Promise<string>((resolve, reject) => {
    const child = execFile(KUBECTL, ['--kubeconfig', KUBECONFIG, ...args], (err, stdout, stderr) =>
      err ? reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`)) : resolve(stdout),
    );
    if (input !== undefined) child.stdin!.end(input);
  });

async function query(expr: string): Promise<{ status: string; error?: string; data?: { result: unknown[] } }> {
  const r = await fetch(`${prometheus}/api/v1/query?query=${encodeURIComponent(expr)}`);
  return (await r.json()) as { status: string; error?: string; data?: { result: unknown[] } };
}

async function until(what: string, ok: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

beforeAll(async () => {
  if (!existsSync(KUBECONFIG)) throw new Error(`no local control plane (${KUBECONFIG}): run make k8s-up`);
  platform = await TestPlatform.connect();
  await run(OBSERVE, ['up']);
  prometheus = (await run(OBSERVE, ['url'])).stdout.trim();

  // A consumer on a topic of its own (a short load with some bad records follows, once scraped).
  const topic = await platform.topic(2);
  const group = `observe-${randomUUID().slice(0, 8)}`;
  consumer = await ConsumerProcess.start({ topic, group, metricsPort: freePort(), publicStore: 'postgres' });
  // The operator, watching a namespace with a pipeline on that topic and group (no pods run on a
  // control plane without nodes: desired and ready replicas differ, as the alert expects).
  await kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager=monitoring-e2e', '-f', '-'], JSON.stringify(ingestPipelineCrd()));
  await kubectl(['wait', 'crd/ingestpipelines.ingest.clinical.dev', '--for=condition=Established', '--timeout=60s']);
  namespace = `observe-${randomUUID().slice(0, 8)}`;
  await kubectl(['create', 'namespace', namespace]);
  await kubectl(
    ['apply', '-n', namespace, '-f', '-'],
    stringify({
      apiVersion: API_VERSION,
      kind: 'IngestPipeline',
      metadata: { name: 'observed', namespace },
      spec: {
        kafka: { bootstrapServers: env.brokers.join(','), topic, consumerGroup: group },
        consumer: {
          image: 'clinical-ingest/consumer:e2e',
          secrets: { identityHmacSecret: { name: 'ingest-identity', key: 'hmac-secret' }, databaseUrl: { name: 'pg', key: 'url' } },
        },
        scaling: { minReplicas: 1, maxReplicas: 4, pollIntervalSeconds: 1 },
      },
    }),
  );
  const healthPort = freePort();
  operator = spawn(process.execPath, [OPERATOR_MAIN], {
    env: {
      ...process.env,
      KUBECONFIG,
      WATCH_NAMESPACE: namespace,
      POD_NAMESPACE: namespace,
      LEADER_ELECTION: 'false',
      SNAPSHOTS: 'false',
      HEALTH_HOST: '127.0.0.1',
      HEALTH_PORT: String(healthPort),
    },
    stdio: 'ignore',
  });

  await run(OBSERVE, ['targets', 'intake-consumer', new URL(consumer.metricsUrl).host]);
  await run(OBSERVE, ['targets', 'ingest-operator', `127.0.0.1:${healthPort}`]);
  await until('both jobs scraped', async () => {
    const up = await query('sum by (job) (up)');
    return (up.data?.result ?? []).length === 2 && (await query('min(up) == 1')).data!.result.length === 1;
  });
  // The load, once both are scraped, spread over ~10 s so that the rates see it.
  const producer = platform.kafka.producer();
  await producer.connect();
  for (let chunk = 0; chunk < 5; chunk++) {
    const messages = Array.from({ length: 400 }, (_, i) => {
      if (i % 50 === 0) return { key: null, value: Buffer.from('{"not": "a record"}') };
      const p = uniquePerson();
      const r = { v: 1 as const, recordId: randomUUID(), name: p.name, dateOfBirth: p.dateOfBirth, favoriteColor: 'teal', eventTime: new Date().toISOString() };
      return { key: partitionKey(identityOf(r.name, r.dateOfBirth)), value: encodeRecord(r) };
    });
    await producer.send({ topic, acks: -1, messages });
    await new Promise((r) => setTimeout(r, 2_000));
  }
  await producer.disconnect();
  // Enough samples for the rates of every window the queries use at their shortest (1m, 5m).
  await until('records consumed and rated', async () => ((await query('sum(rate(intake_records_total[1m])) > 0')).data?.result ?? []).length > 0);
  await new Promise((r) => setTimeout(r, 10_000));
}, 240_000);

afterAll(async () => {
  operator?.kill('SIGTERM');
  await consumer?.stop();
  if (namespace) await kubectl(['delete', 'namespace', namespace, '--wait=false']).catch(() => undefined);
  await run(OBSERVE, ['targets', 'intake-consumer']).catch(() => undefined);
  await run(OBSERVE, ['targets', 'ingest-operator']).catch(() => undefined);
  await run(OBSERVE, ['down']).catch(() => undefined);
  await platform?.close();
});

describe('the alerts and the dashboard, against a real Prometheus', () => {
  it('promtool accepts the rules the PrometheusRule carries', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-'));
    writeFileSync(join(dir, 'rules.yml'), stringify({ groups: ruleGroups() }));
    const r = await run('promtool', ['check', 'rules', join(dir, 'rules.yml')]);
    expect(r.stdout).toMatch(new RegExp(`SUCCESS: ${ALERTS.length} rules found`));
  });

  it.each(provableQueries().map((q) => [q.what, q.expr] as const))('%s returns series', async (_what, expr) => {
    const r = await query(expr);
    expect(r.error, expr).toBeUndefined();
    expect(r.status).toBe('success');
    expect(r.data!.result.length, `no series for: ${expr}`).toBeGreaterThan(0);
  });

  it.each(ALERTS.map((a) => [a.alert, a.expr] as const))('alert %s evaluates', async (_alert, expr) => {
    const r = await query(expr);
    expect(r.error, expr).toBeUndefined();
    expect(r.status).toBe('success');
  });

  it('Prometheus loaded every rule from the rules file, and none fails to evaluate', async () => {
    const r = (await (await fetch(`${prometheus}/api/v1/rules`)).json()) as {
      data: { groups: { rules: { name: string; health: string; lastError?: string }[] }[] };
    };
    const rules = r.data.groups.flatMap((g) => g.rules);
    expect(rules.map((x) => x.name).sort()).toEqual(ALERTS.map((a) => a.alert).sort());
    await until(
      'every rule evaluated',
      async () => {
        const again = (await (await fetch(`${prometheus}/api/v1/rules`)).json()) as typeof r;
        return again.data.groups.flatMap((g) => g.rules).every((x) => x.health === 'ok');
      },
      30_000,
    );
  });
});
