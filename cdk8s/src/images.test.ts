/**
 * The images, proven without a container engine: each Dockerfile runs the install and build steps
 * CI runs (read from the root Makefile), installs production dependencies only, runs as a non-root
 * user on a small distroless base, and starts the command the manifests expect. The DynamoDB-API
 * image's contents are assembled here by the same bundle step and started with the same command:
 * dynalite answers and the public table exists.
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_IMAGES, projectImage } from './images.js';
import { APP_UID } from './lib/security.js';
import { REPO_ROOT } from './paths.js';
import { synthesize, type Synthesized } from './validation/platform.js';

interface Stage {
  from: string;
  name?: string;
  instructions: { op: string; args: string }[];
}

/** A Dockerfile's stages (continuation lines joined, comments dropped). */
function parseDockerfile(text: string): { args: Record<string, string>; stages: Stage[] } {
  const lines = text.replace(/\\\n\s*/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
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

/** The recipe lines of a root Makefile target. */
function makeRecipe(target: string): string[] {
  const text = readFileSync(join(REPO_ROOT, 'Makefile'), 'utf8');
  const m = new RegExp(`^${target}:.*\\n((?:\\t.*\\n)+)`, 'm').exec(text);
  if (!m) throw new Error(`no target ${target} in the root Makefile`);
  return m[1]!.split('\n').filter((l) => l.startsWith('\t')).map((l) => l.slice(1).trim());
}

const read = (p: string) => parseDockerfile(readFileSync(join(REPO_ROOT, p), 'utf8'));
const runs = (s: Stage | undefined) => (s?.instructions ?? []).filter((i) => i.op === 'RUN').map((i) => i.args);
const workspaces = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { workspaces: string[] }).workspaces;

let s: Synthesized;
beforeAll(() => {
  s = synthesize();
});

/** The start command each project image's pods run (from the manifests and the operator's builder). */
function startCommands(): Record<string, string[] | 'image CMD'> {
  const containerOf = (o: unknown) => (o as { spec: { template: { spec: { containers: { image: string; command?: string[] }[] } } } }).spec.template.spec.containers[0]!;
  const out: Record<string, string[] | 'image CMD'> = {};
  for (const o of [...s.all, ...s.operatorBuilt].filter((x) => ['Deployment', 'StatefulSet', 'Job'].includes(x.kind))) {
    const c = containerOf(o);
    out[c.image] = c.command ?? 'image CMD';
  }
  return out;
}

describe.each(Object.entries(PROJECT_IMAGES))('the %s image', (key, { dockerfile }) => {
  const df = read(dockerfile);
  const build = df.stages.find((x) => x.name === 'build');
  const runtime = df.stages.at(-1)!;
  const cmd = JSON.parse(runtime.instructions.find((i) => i.op === 'CMD')!.args) as string[];

  it("installs with CI's install step (make install)", () => {
    expect(runs(build)[0]).toBe(makeRecipe('\\$\\(NPM_STAMP\\)')[0]);
    const copied = (build?.instructions ?? []).filter((i) => i.op === 'COPY' && i.args.includes('package.json')).map((i) => i.args);
    for (const w of workspaces) expect(copied).toContain(`${w}/package.json ${w}/`);
  });

  it('runs as a non-root user on a small base image (distroless), with no shell entrypoint', () => {
    expect(runtime.from).toMatch(/^gcr\.io\/distroless\/nodejs20-debian12:nonroot$/);
    expect(runtime.instructions.find((i) => i.op === 'USER')?.args).toBe(`${APP_UID}:${APP_UID}`);
    expect(runtime.instructions.filter((i) => i.op === 'RUN')).toEqual([]);
    expect(runtime.instructions.find((i) => i.op === 'ENTRYPOINT')?.args).toBe('[]');
    expect(cmd[0]).toBe('node');
  });

  it('starts the command the manifests run', () => {
    const used = startCommands()[projectImage(key as keyof typeof PROJECT_IMAGES)];
    expect(used, `no workload runs ${projectImage(key as keyof typeof PROJECT_IMAGES)}`).toBeDefined();
    if (used !== 'image CMD') expect(cmd.slice(0, used!.length)).toEqual(used);
  });

  if (key !== 'publicStore') {
    const pkg = cmd[1]!.split('/')[0]!;
    it("builds with CI's build step (make build) and installs this workspace's production dependencies only", () => {
      expect(runs(build)).toEqual([makeRecipe('\\$\\(NPM_STAMP\\)')[0], makeRecipe('build')[0]]);
      expect(runs(df.stages.find((x) => x.name === 'deps'))).toEqual([`npm ci --omit=dev --no-audit --no-fund --workspace ${pkg}`]);
      expect(runtime.instructions.filter((i) => i.op === 'COPY').map((i) => i.args)).toContain('--from=deps /app/node_modules node_modules');
    });

    it('copies the built package and the workspaces it depends on, and its start file is what tsc builds', () => {
      const copies = runtime.instructions.filter((i) => i.op === 'COPY').map((i) => i.args);
      const deps = Object.keys((JSON.parse(readFileSync(join(REPO_ROOT, pkg, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies)
        .filter((d) => d.startsWith('@clinical-ingest/'))
        .map((d) => d.slice('@clinical-ingest/'.length));
      for (const p of [pkg, ...deps]) expect(copies).toContain(`--from=build /app/${p}/dist ${p}/dist`);
      expect(existsSync(join(REPO_ROOT, pkg, 'src', cmd[1]!.split('/').at(-1)!.replace(/\.js$/, '.ts'))), `${cmd[1]} is built from src`).toBe(true);
    });
  }
});

describe('the build context', () => {
  it('leaves out what the images build themselves, local state and secrets', () => {
    const ignored = readFileSync(join(REPO_ROOT, '.dockerignore'), 'utf8').split('\n');
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
  it('hold dynalite and the clients bootstrap.mjs imports, with their production dependencies only', () => {
    const list = execFileSync('node', ['platform/dynalite/bundle.mjs', '--list'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim().split('\n');
    for (const p of ['node_modules/dynalite', 'node_modules/kafkajs', 'node_modules/@aws-sdk/client-dynamodb', 'node_modules/classic-level']) expect(list).toContain(p);
    for (const dev of ['node_modules/typescript', 'node_modules/vitest', 'node_modules/cdk8s']) expect(list).not.toContain(dev);
  });

  it('start dynalite with the local platform CLI and create the public table (the image start command, run here)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'dynalite-image-'));
    const [port, readyPort] = [await freePort(), await freePort()];
    try {
      execFileSync('node', ['platform/dynalite/bundle.mjs', out], { cwd: REPO_ROOT, stdio: 'pipe' });
      const child = spawn('node', ['platform/dynalite/start.mjs'], {
        cwd: out,
        env: { PATH: process.env['PATH'] ?? '', PORT: String(port), READY_PORT: String(readyPort), PUBLIC_TABLE: 'public_patients', AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let log = '';
      child.stdout.on('data', (d) => (log += String(d)));
      child.stderr.on('data', (d) => (log += String(d)));
      try {
        let ready = false;
        for (let i = 0; i < 100 && !ready; i++) {
          ready = await fetch(`http://127.0.0.1:${readyPort}/ready`).then((r) => r.ok, () => false);
          if (!ready) await new Promise((r) => setTimeout(r, 100));
        }
        expect(ready, log).toBe(true);
        const res = await fetch(`http://127.0.0.1:${port}/`, {
          method: 'POST',
          // dynalite checks the shape of a SigV4 request, not its signature.
          headers: {
            'content-type': 'application/x-amz-json-1.0',
            'x-amz-target': 'DynamoDB_20120810.DescribeTable',
            'x-amz-date': '20260101T000000Z',
            authorization: 'AWS4-HMAC-SHA256 Credential=local/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host;x-amz-date, Signature=00',
          },
          body: JSON.stringify({ TableName: 'public_patients' }),
        });
        const body = (await res.json()) as { Table?: { TableStatus: string; KeySchema: { AttributeName: string }[] } };
        expect(body.Table?.TableStatus).toBe('ACTIVE');
        expect(body.Table?.KeySchema.map((k) => k.AttributeName)).toEqual(['patient_id']);
        expect(log).toMatch(/node node_modules\/dynalite\/cli\.js --host 0\.0\.0\.0 --port/);
      } finally {
        child.kill('SIGTERM');
        await new Promise((r) => child.once('exit', r));
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});
