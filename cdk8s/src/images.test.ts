/**
 * The images, proven without a container engine: the Node.js components are targets of the one root
 * Dockerfile, whose shared build stage runs the install and build steps CI runs (read from the root
 * Makefile); each target installs its production dependencies only, runs as a non-root user on a
 * small distroless base, and starts the command the manifests expect. Each check is shown to fail on
 * a broken Dockerfile. The DynamoDB-API image's contents are assembled here by the same bundle step
 * and started with the same command: dynalite answers and the public table exists.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildList, PROJECT_IMAGES, projectImage, SPARK_EXPORT, type ProjectImage } from './images.js';
import { APP_UID } from './lib/security.js';
import { REPO_ROOT } from './paths.js';
import { synthesize, type Synthesized } from './validation/platform.js';

interface Instruction {
  op: string;
  args: string;
}

interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

interface Dockerfile {
  args: Record<string, string>;
  stages: Stage[];
}

/** A Dockerfile's stages (continuation lines joined, comments dropped, global ARGs substituted in FROM). */
function parseDockerfile(text: string): Dockerfile {
  const lines = text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const [op = '', ...rest] = line.split(/\s+/);
    const a = rest.join(' ');
    if (op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(a)!;
      stages.push({ from: m[1]!.replace(/^\$\{(\w+)\}$/, (_x, v: string) => args[v] ?? v), ...(m[2] ? { name: m[2] } : {}), instructions: [] });
    } else if (op === 'ARG' && stages.length === 0) {
      const [k, v = ''] = a.split('=');
      args[k!] = v;
    } else stages.at(-1)?.instructions.push({ op, args: a });
  }
  return { args, stages };
}

/** A stage and the stages it is built FROM, base first (as `docker build --target` builds it). */
function lineage(df: Dockerfile, name: string): Stage[] {
  const i = df.stages.findIndex((x) => x.name === name);
  if (i < 0) throw new Error(`no stage ${name} (stages: ${df.stages.map((x) => x.name ?? '<unnamed>').join(', ')})`);
  const stage = df.stages[i]!;
  return [...(df.stages.slice(0, i).some((x) => x.name === stage.from) ? lineage(df, stage.from) : []), stage];
}

const instructions = (df: Dockerfile, stage: string, op: string) =>
  lineage(df, stage)
    .flatMap((x) => x.instructions)
    .filter((i) => i.op === op)
    .map((i) => i.args);
const runs = (df: Dockerfile, stage: string) => instructions(df, stage, 'RUN');
const copies = (df: Dockerfile, stage: string) => instructions(df, stage, 'COPY');
/** The value in effect at the end of a stage (a later USER, ENTRYPOINT or CMD replaces an earlier one). */
const last = (df: Dockerfile, stage: string, op: string) => instructions(df, stage, op).at(-1);
/** The image a stage's lineage starts from. */
const baseImage = (df: Dockerfile, stage: string) => lineage(df, stage)[0]!.from;
function startCommand(df: Dockerfile, stage: string): string[] {
  const cmd = last(df, stage, 'CMD');
  expect(cmd, `stage ${stage} has no CMD`).toBeDefined();
  return JSON.parse(cmd!) as string[];
}

/** The recipe lines of a root Makefile target. */
function makeRecipe(target: string): string[] {
  const text = readFileSync(join(REPO_ROOT, 'Makefile'), 'utf8');
  const m = new RegExp(`^${target}:.*\\n((?:\\t.*\\n)+)`, 'm').exec(text);
  if (!m) throw new Error(`no target ${target} in the root Makefile`);
  return m[1]!
    .split('\n')
    .filter((l) => l.startsWith('\t'))
    .map((l) => l.slice(1).trim());
}

const readText = (p: string) => readFileSync(join(REPO_ROOT, p), 'utf8');
const read = (p: string) => parseDockerfile(readText(p));
const workspaces = (JSON.parse(readText('package.json')) as { workspaces: string[] }).workspaces;
const INSTALL = makeRecipe('\\$\\(NPM_STAMP\\)')[0]!;
const BUILD = makeRecipe('build')[0]!;
const depsStep = (pkg: string) => `npm ci --omit=dev --no-audit --no-fund --workspace ${pkg}`;
const manifestCopies = (df: Dockerfile, stage: string) => copies(df, stage).filter((a) => a.includes('package.json'));
/** The workspace a Node.js image runs: the first path segment of its start file. */
const workspaceOf = (df: Dockerfile, target: string) => startCommand(df, target)[1]!.split('/')[0]!;
/** The project workspaces a workspace depends on at run time. */
const workspaceDeps = (pkg: string) =>
  Object.keys((JSON.parse(readText(`${pkg}/package.json`)) as { dependencies?: Record<string, string> }).dependencies ?? {})
    .filter((d) => d.startsWith('@clinical-ingest/'))
    .map((d) => d.slice('@clinical-ingest/'.length));

// The checks, one per property; each is applied to the real Dockerfiles and to broken copies below.

/** The build stage installs with CI's install step (make install), every workspace manifest copied first. */
function checkInstall(df: Dockerfile): void {
  expect(runs(df, 'build')[0]).toBe(INSTALL);
  for (const w of workspaces) expect(manifestCopies(df, 'build')).toContain(`${w}/package.json ${w}/`);
}

/** The target runs as a non-root user on distroless, with no RUN, no shell entrypoint and a node CMD. */
function checkRuntime(df: Dockerfile, target: string): void {
  expect(baseImage(df, target), `${target} is built on`).toMatch(/^gcr\.io\/distroless\/nodejs22-debian12:nonroot$/);
  expect(last(df, target, 'USER')).toBe(`${APP_UID}:${APP_UID}`);
  expect(runs(df, target), `${target} runs nothing at build time`).toEqual([]);
  expect(last(df, target, 'ENTRYPOINT'), `${target}'s entrypoint`).toBe('[]');
  expect(startCommand(df, target)[0]).toBe('node');
}

/** The build stage runs CI's build step (make build); the target's node_modules are its workspace's production dependencies only. */
function checkNodeBuild(df: Dockerfile, target: string): void {
  const pkg = workspaceOf(df, target);
  expect(runs(df, 'build'), 'the build stage runs make install, then make build').toEqual([INSTALL, BUILD]);
  const from = copies(df, target).flatMap((a) => /^--from=(\S+) \/app\/node_modules node_modules$/.exec(a)?.[1] ?? []);
  expect(from, `${target} copies node_modules from exactly one stage`).toHaveLength(1);
  expect(runs(df, from[0]!), `${target}'s node_modules are ${pkg}'s production dependencies only`).toEqual([depsStep(pkg)]);
  // npm ci needs the lockfile and every workspace's manifest.
  for (const w of workspaces) expect(manifestCopies(df, from[0]!)).toContain(`${w}/package.json ${w}/`);
}

/** The target copies its built package and the workspaces it depends on, and its start file is what tsc builds. */
function checkNodeCopies(df: Dockerfile, target: string): void {
  const pkg = workspaceOf(df, target);
  const copied = copies(df, target);
  for (const p of [pkg, ...workspaceDeps(pkg)]) {
    expect(copied).toContain(`--from=build /app/${p}/dist ${p}/dist`);
    expect(copied).toContain(`--from=build /app/${p}/package.json ${p}/`);
  }
  const cmd = startCommand(df, target);
  expect(existsSync(join(REPO_ROOT, pkg, 'src', cmd[1]!.split('/').at(-1)!.replace(/\.js$/, '.ts'))), `${cmd[1]} is built from src`).toBe(true);
}

/** Stage names are unique, and every FROM or COPY --from that names a stage names an earlier one. */
function checkStageReferences(df: Dockerfile): void {
  const names = df.stages.flatMap((x) => x.name ?? []);
  expect(new Set(names).size, `duplicate stage names: ${names.join(', ')}`).toBe(names.length);
  df.stages.forEach((stage, i) => {
    const earlier = new Set(df.stages.slice(0, i).flatMap((x) => x.name ?? []));
    // Anything else in FROM is an image (it has a registry, a tag or a digest, or was an ARG).
    if (!/[/:@]/.test(stage.from)) expect(earlier, `stage ${stage.name} is FROM ${stage.from}`).toContain(stage.from);
    for (const c of stage.instructions.filter((x) => x.op === 'COPY')) {
      const ref = /--from=(\S+)/.exec(c.args)?.[1];
      if (ref !== undefined) expect(earlier, `stage ${stage.name}: COPY ${c.args}`).toContain(ref);
    }
  });
}

let s: Synthesized;
beforeAll(() => {
  s = synthesize();
});

/** The start command each project image's pods run (from the manifests and the operator's builder). */
function startCommands(): Record<string, string[] | 'image CMD'> {
  const containerOf = (o: unknown) =>
    (o as { spec: { template: { spec: { containers: { image: string; command?: string[] }[] } } } }).spec.template.spec.containers[0]!;
  const out: Record<string, string[] | 'image CMD'> = {};
  for (const o of [...s.all, ...s.operatorBuilt].filter((x) => ['Deployment', 'StatefulSet', 'Job'].includes(x.kind))) {
    const c = containerOf(o);
    out[c.image] = c.command ?? 'image CMD';
  }
  return out;
}

const NODE_IMAGES = (Object.keys(PROJECT_IMAGES) as ProjectImage[]).filter((k) => k !== 'publicStore' && k !== 'snapshotExport');

describe.each(Object.entries(PROJECT_IMAGES).filter(([k]) => k !== 'snapshotExport'))('the %s image', (key, { dockerfile, target }) => {
  const df = read(dockerfile);

  it(`is a stage of ${dockerfile} (docker build --target ${target})`, () => {
    expect(df.stages.map((x) => x.name)).toContain(target);
    checkStageReferences(df);
  });

  it("installs with CI's install step (make install)", () => checkInstall(df));

  it('runs as a non-root user on a small base image (distroless), with no shell entrypoint', () => checkRuntime(df, target));

  it('starts the command the manifests run', () => {
    const image = projectImage(key as ProjectImage);
    const used = startCommands()[image];
    expect(used, `no workload runs ${image}`).toBeDefined();
    if (used !== 'image CMD') expect(startCommand(df, target).slice(0, used!.length)).toEqual(used);
  });

  if (key !== 'publicStore') {
    it("builds with CI's build step (make build) and installs this workspace's production dependencies only", () => checkNodeBuild(df, target));

    it('copies the built package and the workspaces it depends on, and its start file is what tsc builds', () => checkNodeCopies(df, target));
  }
});

describe('the Node.js images', () => {
  it('are targets of the one root Dockerfile, sharing its build stage; no workspace has a Dockerfile of its own', () => {
    expect(new Set(NODE_IMAGES.map((k) => PROJECT_IMAGES[k].dockerfile))).toEqual(new Set(['Dockerfile']));
    expect(new Set(NODE_IMAGES.map((k) => PROJECT_IMAGES[k].target)).size).toBe(NODE_IMAGES.length);
    const df = read('Dockerfile');
    for (const k of NODE_IMAGES) {
      const { target } = PROJECT_IMAGES[k];
      expect(
        lineage(df, target).map((x) => x.name),
        `${target} is built on the runtime stage, not on build`,
      ).not.toContain('build');
      expect(copies(df, target).filter((c) => c.startsWith('--from=build ')).length, `${target} copies from the shared build stage`).toBeGreaterThan(0);
    }
    for (const w of workspaces) expect(existsSync(join(REPO_ROOT, w, 'Dockerfile')), `${w}/Dockerfile`).toBe(false);
  });

  it('are what make kind-up builds: docker build -f <dockerfile> --target <target> -t <image>', () => {
    const lines = buildList({ registry: 'r', tag: 't' });
    expect(lines).toEqual(Object.values(PROJECT_IMAGES).map((i) => `${i.dockerfile} ${i.target} r/${i.name}:t`));
    const up = readText('cdk8s/scripts/kind-up.sh');
    expect(up).toMatch(/while read -r dockerfile target image; do\n/);
    expect(up).toMatch(/"\$DOCKER" build -f "\$ROOT\/\$dockerfile" --target "\$target" -t "\$image" "\$ROOT"/);
    expect(up).toMatch(/done < <\(node "\$ROOT\/cdk8s\/dist\/images\.js"\)/);
  });
});

describe('the checks bite', () => {
  const text = readText('Dockerfile');
  /** The root Dockerfile with one edit; the edit must apply, or the case would prove nothing. */
  const broken = (from: string | RegExp, to: string) => {
    const t = text.replace(from, to);
    expect(t, `edit ${String(from)} does not apply to the Dockerfile`).not.toBe(text);
    return parseDockerfile(t);
  };
  const pass = (df: Dockerfile) => {
    checkStageReferences(df);
    checkInstall(df);
    for (const k of NODE_IMAGES) {
      const { target } = PROJECT_IMAGES[k];
      checkRuntime(df, target);
      checkNodeBuild(df, target);
      checkNodeCopies(df, target);
    }
  };

  it('the real root Dockerfile passes every check', () => pass(read('Dockerfile')));

  it.each([
    ['a workspace manifest missing before npm ci', 'COPY operator/package.json operator/\n', '', /to include 'operator\/package\.json operator\/'/],
    [
      'another install command than make install',
      'RUN npm ci --no-audit --no-fund\n',
      'RUN npm install --no-audit --no-fund\n',
      /expected 'npm install .* to be 'npm ci /,
    ],
    ['no tsc build', 'RUN npx tsc -b\n', '', /the build stage runs make install, then make build/],
    [
      'the build stage not built on the manifests',
      'FROM manifests AS build',
      'FROM ${NODE_IMAGE} AS build',
      /expected \[\] to include 'intake-core\/package\.json intake-core\/'/,
    ],
    [
      'a target not built on distroless',
      'FROM ${RUNTIME_IMAGE} AS runtime',
      'FROM ${NODE_IMAGE} AS runtime',
      /consumer is built on: expected 'node:22-bookworm-slim'/,
    ],
    ['a root user', 'USER 1000:1000', 'USER 0:0', /expected '0:0' to be '1000:1000'/],
    ['a later USER root in a target', 'EXPOSE 9464\n', 'EXPOSE 9464\nUSER root\n', /expected 'root' to be '1000:1000'/],
    ['a RUN in a runtime stage', 'ENTRYPOINT []\n', 'ENTRYPOINT []\nRUN ["node", "-e", "0"]\n', /consumer runs nothing at build time/],
    ['a shell entrypoint', 'ENTRYPOINT []', 'ENTRYPOINT ["/bin/sh", "-c"]', /consumer's entrypoint/],
    [
      "another workspace's production dependencies",
      'COPY --from=consumer-deps',
      'COPY --from=loadgen-deps',
      /consumer's node_modules are consumer's production dependencies only/,
    ],
    [
      'development dependencies',
      '--omit=dev --no-audit --no-fund --workspace operator',
      '--no-audit --no-fund --workspace operator',
      /operator's node_modules are operator's production dependencies only/,
    ],
    [
      "loadgen without consumer's dist",
      /(FROM runtime AS loadgen\n(?:.*\n)*?)COPY --from=build \/app\/consumer\/dist consumer\/dist\n/,
      '$1',
      /to include '--from=build \/app\/consumer\/dist/,
    ],
    ["the operator's package without its dist", 'COPY --from=build /app/operator/dist operator/dist\n', '', /to include '--from=build \/app\/operator\/dist/],
    ['a start file tsc does not build', 'consumer/dist/main.js', 'consumer/dist/start.js', /consumer\/dist\/start\.js is built from src/],
    ['a missing target stage', 'FROM runtime AS operator', 'FROM runtime AS ingest-operator', /no stage operator /],
    ['a copy from a stage that does not exist', 'COPY --from=operator-deps', 'COPY --from=operator-dependencies', /COPY --from=operator-dependencies/],
    ['a duplicate stage name', 'FROM manifests AS loadgen-deps', 'FROM manifests AS consumer-deps', /duplicate stage names/],
  ] as const)('a Dockerfile with %s fails', (_what, from, to, error) => {
    const df = broken(from, to);
    expect(() => pass(df)).toThrow(error);
  });
});

describe('the build context', () => {
  it('leaves out what the images build themselves, local state and secrets', () => {
    const ignored = readText('.dockerignore').split('\n');
    for (const p of ['.git', '.local', '**/node_modules', '**/dist', 'cdk8s/dist-manifests', 'reports']) expect(ignored).toContain(p);
  });
});

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

describe('the DynamoDB-API image contents', () => {
  it('hold dynalite and the clients its files import (bootstrap, authorizer), with their production dependencies only', () => {
    const list = execFileSync('node', ['platform/dynalite/bundle.mjs', '--list'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim().split('\n');
    for (const p of [
      'node_modules/dynalite',
      'node_modules/kafkajs',
      'node_modules/@aws-sdk/client-dynamodb',
      'node_modules/classic-level',
      'node_modules/@smithy/signature-v4',
    ])
      expect(list).toContain(p);
    for (const dev of ['node_modules/typescript', 'node_modules/vitest', 'node_modules/cdk8s']) expect(list).not.toContain(dev);
  });

  it('start dynalite behind the authorizer and create the public table (the image start command, run here)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'dynalite-image-'));
    const [port, readyPort, dynalitePort] = [await freePort(), await freePort(), await freePort()];
    try {
      execFileSync('node', ['platform/dynalite/bundle.mjs', out], { cwd: REPO_ROOT, stdio: 'pipe' });
      const child = spawn('node', ['platform/dynalite/start.mjs'], {
        cwd: out,
        env: {
          PATH: process.env['PATH'] ?? '',
          PORT: String(port),
          READY_PORT: String(readyPort),
          DYNALITE_PORT: String(dynalitePort),
          PUBLIC_STORE_WRITER_KEY_ID: 'writer',
          PUBLIC_STORE_WRITER_SECRET: 'writer-secret',
          PUBLIC_STORE_READER_KEY_ID: 'reader',
          PUBLIC_STORE_READER_SECRET: 'reader-secret',
          PUBLIC_TABLE: 'public_patients',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let log = '';
      child.stdout.on('data', (d) => (log += String(d)));
      child.stderr.on('data', (d) => (log += String(d)));
      try {
        let ready = false;
        for (let i = 0; i < 100 && !ready; i++) {
          ready = await fetch(`http://127.0.0.1:${readyPort}/ready`).then(
            (r) => r.ok,
            () => false,
          );
          if (!ready) await new Promise((r) => setTimeout(r, 100));
        }
        expect(ready, log).toBe(true);
        // Ready: the bootstrap made the table on dynalite. Signed access through the front is proven
        // with the AWS SDK in consumer/src/public-store-auth.itest.ts. dynalite checks the shape of a
        // SigV4 request, not its signature; the front refuses this one (an unknown key).
        const forged = await fetch(`http://127.0.0.1:${port}/`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-amz-json-1.0',
            'x-amz-target': 'DynamoDB_20120810.DescribeTable',
            'x-amz-date': '20260101T000000Z',
            authorization: `AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=${'0'.repeat(64)}`,
          },
          body: JSON.stringify({ TableName: 'public_patients' }),
        });
        expect(forged.status).toBe(400);
        expect(((await forged.json()) as { __type: string }).__type).toMatch(/UnrecognizedClientException/);
        expect(log).toMatch(/node node_modules\/dynalite\/cli\.js --host 127\.0\.0\.1 --port/);
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('the snapshot-export image (Spark, not Node.js)', () => {
  const { dockerfile, target } = PROJECT_IMAGES.snapshotExport;
  const text = readText(dockerfile);
  it("is a stage of spark/Dockerfile, runs as apache/spark's user, and holds the job and the driver where the SparkApplications look", () => {
    expect(read(dockerfile).stages.map((x) => x.name)).toContain(target);
    expect(text).toMatch(new RegExp(`^USER ${SPARK_EXPORT.uid}$`, 'm'));
    expect(text).toContain(` spark/snapshot_export.py ${SPARK_EXPORT.mainApplicationFile.replace('local://', '')}`);
    expect(text).toContain(` ${SPARK_EXPORT.jdbcJar.replace('local://', '')}`);
  });
  it('is the Spark and the JDBC driver that make spark installs for local runs', () => {
    const mk = readText('mk/snapshot.mk');
    expect(/^PYSPARK_VERSION \?= (\S+)$/m.exec(mk)?.[1]).toBe(SPARK_EXPORT.sparkVersion);
    expect(/^ARG SPARK_IMAGE=apache\/spark:([\d.]+)-/m.exec(text)?.[1]).toBe(SPARK_EXPORT.sparkVersion);
    expect(/^ARG PG_JDBC_VERSION=(\S+)$/m.exec(text)?.[1]).toBe(/^PG_JDBC_VERSION \?= (\S+)$/m.exec(mk)?.[1]);
  });
});
