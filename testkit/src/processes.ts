import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { env, TEST_SECRET } from './platform.js';

/** Real consumer processes (consumer/dist/main.js) for integration tests. */

/** The consumer's process, as its image runs it (built by make build); the same path from src/ and dist/. */
const MAIN = fileURLToPath(new URL('../../consumer/dist/main.js', import.meta.url));

export interface ConsumerProcessOptions {
  readonly topic: string;
  readonly group: string;
  readonly metricsPort: number;
  readonly publicStore: 'postgres' | 'dynamodb';
  readonly publicTable?: string;
  readonly extraEnv?: Record<string, string>;
  /** Keep every line the process writes (default: the last 200 chunks). */
  readonly fullLog?: boolean;
}

export class ConsumerProcess {
  readonly metricsUrl: string;
  #exit: Promise<number | null>;
  #log: string[] = [];

  private constructor(
    readonly child: ChildProcess,
    readonly options: ConsumerProcessOptions,
  ) {
    this.metricsUrl = `http://127.0.0.1:${options.metricsPort}/metrics`;
    this.#exit = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
    const keep = (b: Buffer) => {
      this.#log.push(b.toString());
      if (!options.fullLog && this.#log.length > 200) this.#log.shift();
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
  }

  static async start(requested: ConsumerProcessOptions): Promise<ConsumerProcess> {
    // A port still held (by a consumer another run left behind, say) would answer /readyz for a
    // process that never started: take the first free one from the port asked for.
    const o = { ...requested, metricsPort: await firstFreePort(requested.metricsPort) };
    const child = spawn(process.execPath, [MAIN], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        KAFKA_BROKERS: env.brokers.join(','),
        INTAKE_TOPIC: o.topic,
        DLQ_TOPIC: `${o.topic}.dlq`,
        CONSUMER_GROUP: o.group,
        DATABASE_URL: env.appDb,
        PUBLIC_DATABASE_URL: env.publicDb,
        REDIS_URL: env.redis,
        DYNAMODB_ENDPOINT: env.dynamo,
        PUBLIC_STORE: o.publicStore,
        PUBLIC_TABLE: o.publicTable ?? 'public_patients',
        IDENTITY_HMAC_SECRET: TEST_SECRET,
        METRICS_PORT: String(o.metricsPort),
        KAFKA_SESSION_TIMEOUT_MS: '10000',
        KAFKA_REBALANCE_TIMEOUT_MS: '10000',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_REGION: 'us-east-1',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        ...o.extraEnv,
      },
    });
    const p = new ConsumerProcess(child, o);
    live.add(child);
    child.once('exit', () => live.delete(child));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`consumer exited with ${child.exitCode}:\n${p.log()}`);
      try {
        const r = await fetch(`http://127.0.0.1:${o.metricsPort}/readyz`);
        if (r.ok && child.exitCode === null) return p;
      } catch {
        /* not listening yet */
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`consumer not ready within 60 s:\n${p.log()}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  log(): string {
    return this.#log.join('');
  }

  async metric(name: string): Promise<number> {
    const text = await (await fetch(this.metricsUrl)).text();
    let sum = 0;
    for (const line of text.split('\n')) if (line.startsWith(name) && !line.startsWith('#')) sum += Number(line.split(' ').pop());
    return sum;
  }

  /** The exit code, once the process has ended on its own. */
  exited(): Promise<number | null> {
    return this.#exit;
  }

  /** SIGTERM and wait for the graceful shutdown; returns the exit code. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    return this.#exit;
  }

  kill(): Promise<number | null> {
    this.child.kill('SIGKILL');
    return this.#exit;
  }
}

/** Consumer processes still running: killed if this process exits first (no orphans after a crash). */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** The first port from `from` that nothing listens on (127.0.0.1). */
async function firstFreePort(from: number): Promise<number> {
  for (let port = from; port < from + 200; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port from ${from} to ${from + 199}`);
}

let nextPort = 19500 + (process.pid % 200) * 2;
/** A metrics port unlikely to collide with running consumers (they use 9464 and up). */
export function freePort(): number {
  return nextPort++;
}
