/**
 * `make deploy` runs this: creates, in the platform namespace, each Secret of the plan
 * (lib/secrets.ts) that does not exist yet, with fresh random values (32 random bytes, hex), through
 * `kubectl apply -f -` (the values go through a pipe, never a file). A Secret that exists is left
 * alone, so passwords survive redeploys. `--dry-run` lists what it would create.
 *
 *   node cdk8s/dist/secrets.js [--dry-run]      (KUBECTL, K8S_NAMESPACE from the environment)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { App } from 'cdk8s';
import { buildPlatform } from './charts.js';
import { deployTimeObjects, secretPlan, type GeneratedSecret, type SecretPlanContext } from './lib/secrets.js';
import { settingsFromEnvironment } from './settings.js';

export function planContext(env: Readonly<Record<string, string | undefined>>): SecretPlanContext & { readonly operatorName: string } {
  const settings = settingsFromEnvironment(env);
  const p = buildPlatform(new App({ outdir: '/nonexistent' }), settings);
  return {
    namespace: settings.namespace,
    database: settings.postgres.database,
    poolerHost: p.postgres.postgres.poolerService,
    primaryHost: p.postgres.postgres.rwService,
    redisHost: p.redis.redis.name,
    redisPort: p.redis.redis.port,
    operatorName: p.operator.operator.name,
  };
}

/**
 * A self-signed serving certificate (P-256, 825 days) for the names given (the first is its CN),
 * from openssl; key and certificate come back on stdout, never in a file.
 */
export function selfSignedCertificate(dns: readonly string[], openssl = 'openssl'): { crt: string; key: string } {
  const out = execFileSync(
    openssl,
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '825',
      '-subj',
      `/CN=${dns[0]}`,
      '-addext',
      `subjectAltName=${dns.map((d) => `DNS:${d}`).join(',')}`,
      '-keyout',
      '-',
      '-out',
      '-',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const blocks = new Map([...out.matchAll(/-----BEGIN ([A-Z ]+)-----\n[\s\S]+?\n-----END \1-----\n/g)].map((m) => [m[1], m[0]]));
  const key = blocks.get('PRIVATE KEY');
  const crt = blocks.get('CERTIFICATE');
  if (key === undefined || crt === undefined) throw new Error('openssl did not print a key and a certificate');
  return { crt, key };
}

/** The Secret object for `kubectl apply` (stringData: the apiserver encodes it). */
export function secretManifest(s: GeneratedSecret, namespace: string, random: () => string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: s.type,
    metadata: {
      name: s.name,
      namespace,
      labels: { 'app.kubernetes.io/part-of': 'clinical-ingest', 'app.kubernetes.io/managed-by': 'make-deploy' },
      annotations: { 'clinical.dev/description': s.description },
    },
    stringData: s.generate(random),
  };
}

function main(): number {
  const kubectl = process.env['KUBECTL'] ?? 'kubectl';
  const dryRun = process.argv.includes('--dry-run');
  const ctx = planContext(process.env);
  const random = () => randomBytes(32).toString('hex');
  for (const s of secretPlan(ctx)) {
    if (dryRun) {
      process.stdout.write(`secret ${ctx.namespace}/${s.name} (${s.type}): ${s.keys.join(', ')}\n`);
      continue;
    }
    const exists = spawnSync(kubectl, ['get', 'secret', s.name, '-n', ctx.namespace, '-o', 'name'], { stdio: ['ignore', 'ignore', 'ignore'] });
    if (exists.error) {
      process.stderr.write(`secrets: cannot run ${kubectl}: ${exists.error.message}\n`);
      return 1;
    }
    if (exists.status === 0) {
      process.stdout.write(`secret ${s.name}: exists, kept\n`);
      continue;
    }
    execFileSync(kubectl, ['apply', '-f', '-'], { input: JSON.stringify(secretManifest(s, ctx.namespace, random)), stdio: ['pipe', 'ignore', 'inherit'] });
    process.stdout.write(`secret ${s.name}: created (${s.keys.join(', ')})\n`);
  }
  if (dryRun) return 0;

  // The serving certificates, once each; the aggregator's client CA, refreshed every time.
  const d = deployTimeObjects(ctx.operatorName, ctx.namespace, ctx.redisHost);
  const labels = { 'app.kubernetes.io/part-of': 'clinical-ingest', 'app.kubernetes.io/managed-by': 'make-deploy' };
  for (const cert of [d.tlsSecret, d.redisTlsSecret]) {
    const exists = spawnSync(kubectl, ['get', 'secret', cert.name, '-n', ctx.namespace, '-o', 'name'], { stdio: 'ignore' }).status === 0;
    if (exists) {
      process.stdout.write(`secret ${cert.name}: exists, kept\n`);
      continue;
    }
    const { crt, key } = selfSignedCertificate(cert.dnsNames, process.env['OPENSSL'] ?? 'openssl');
    const secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: { name: cert.name, namespace: ctx.namespace, labels },
      stringData: { 'tls.crt': crt, 'tls.key': key },
    };
    execFileSync(kubectl, ['apply', '-f', '-'], { input: JSON.stringify(secret), stdio: ['pipe', 'ignore', 'inherit'] });
    process.stdout.write(`secret ${cert.name}: created (self-signed serving certificate)\n`);
  }
  const ca = execFileSync(
    kubectl,
    ['-n', 'kube-system', 'get', 'configmap', 'extension-apiserver-authentication', '-o', 'jsonpath={.data.requestheader-client-ca-file}'],
    { encoding: 'utf8' },
  );
  if (!ca.includes('BEGIN CERTIFICATE')) {
    process.stderr.write(
      'secrets: kube-system/extension-apiserver-authentication has no requestheader-client-ca-file: the API server has no aggregation layer\n',
    );
    return 1;
  }
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: d.clientCaConfigMap.name, namespace: ctx.namespace, labels }, data: { 'ca.crt': ca } };
  execFileSync(kubectl, ['apply', '-f', '-'], { input: JSON.stringify(cm), stdio: ['pipe', 'ignore', 'inherit'] });
  process.stdout.write(`configmap ${d.clientCaConfigMap.name}: the aggregator's client CA\n`);
  return 0;
}

const script = process.argv[1];
if (script !== undefined && realpathSync(script) === realpathSync(fileURLToPath(import.meta.url))) process.exitCode = main();
