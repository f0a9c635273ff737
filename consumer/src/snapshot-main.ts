#!/usr/bin/env node
/**
 * intake-snapshot: the master store (or its public projection) as it was committed at an instant,
 * streamed to a file or stdout as CSV or JSON lines, with a manifest (docs/architecture.md §7).
 */
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { Transform, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createLogger, env, loadConfig, localDatabaseUrl } from '@clinical-ingest/intake-core';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { checkInstant, progressLine, snapshotCopySql, snapshotManifest, snapshotRequest, SnapshotUsageError, type HistoryBounds } from './snapshot.js';

const USAGE = `intake-snapshot: the master store as it was committed at an instant

  intake-snapshot --as-of <ISO-8601> [--patient <id>] [--public] [--format csv|jsonl]
                  --out <file|-> [--manifest <file>] [--progress|--no-progress]

  --as-of     the instant, with a zone (2026-12-02T14:00:00Z, 2026-12-02T15:00:00.123456+01:00)
  --patient   one patient's state only (a patient ID)
  --public    the public projection (patient ID and favorite color); default: the master
              scope, which holds names and dates of birth: PHI
  --format    csv (with a header; the default) or jsonl (default for a .jsonl file)
  --out       the output file (written whole or not at all), or - for stdout
  --manifest  where the manifest goes (default: <out>.manifest.json; stderr with --out -)
  --progress  progress on stderr (default: when stderr is a terminal)

Environment: SNAPSHOT_DATABASE_URL (default: the history_reader role on the local platform).
Exit codes: 0 done, 1 failed, 2 wrong arguments or instant.`;

const configShape = {
  SNAPSHOT_DATABASE_URL: env.string(localDatabaseUrl('history_reader')),
};

/** A settled instant stays settled; until it is, wait a little (a commit at T may still be becoming visible). */
async function waitSettled(client: pg.Client, asOf: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await client.query('SELECT ingest.assert_settled($1::timestamptz)', [asOf]);
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== '40001' || attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'as-of': { type: 'string' },
      patient: { type: 'string' },
      public: { type: 'boolean', default: false },
      format: { type: 'string' },
      out: { type: 'string' },
      manifest: { type: 'string' },
      progress: { type: 'boolean' },
      'no-progress': { type: 'boolean' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const request = snapshotRequest(values);
  if (request.out !== '-' && !existsSync(dirname(request.out))) throw new SnapshotUsageError(`--out: no such directory: ${dirname(request.out)}`);
  const cfg = loadConfig(configShape, process.env);
  const client = new pg.Client({ connectionString: cfg.snapshotDatabaseUrl, application_name: 'intake-snapshot' });
  await client.connect();
  // Dates and times in the output do not depend on the server's or the role's settings.
  await client.query("SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'iso_8601'; SET extra_float_digits = 1");
  const partial = request.out === '-' ? undefined : `${request.out}.partial`;
  try {
    const parsed = await client
      .query<{ at: string; at_us: string; now_us: string }>(
        `SELECT $1::timestamptz::text AS at, (extract(epoch FROM $1::timestamptz) * 1e6)::int8::text AS at_us,
              (extract(epoch FROM clock_timestamp()) * 1e6)::int8::text AS now_us`,
        [request.asOf],
      )
      .catch((err: unknown) => {
        if ((err as { code?: string }).code?.startsWith('22')) throw new SnapshotUsageError(`--as-of: PostgreSQL cannot read this instant: ${request.asOf}`);
        throw err;
      });
    const { at, at_us: atUs, now_us: nowUs } = parsed.rows[0]!;
    const b = (
      await client.query<{ first: string | null; last: string | null; first_us: string | null }>(
        `SELECT first_commit::text AS first, last_commit::text AS last, (extract(epoch FROM first_commit) * 1e6)::int8::text AS first_us FROM ingest.history_bounds()`,
      )
    ).rows[0];
    const bounds: HistoryBounds | undefined = b?.first && b.last ? { first: b.first, last: b.last } : undefined;
    checkInstant(BigInt(atUs), BigInt(nowUs), bounds && b?.first_us ? { firstUs: BigInt(b.first_us), first: bounds.first } : undefined, request.asOf);
    await waitSettled(client, request.asOf);

    const estimated = request.patientId
      ? undefined
      : Number(
          (await client.query<{ n: string }>("SELECT greatest(reltuples, 0)::int8::text AS n FROM pg_class WHERE oid = 'ingest.patient_state'::regclass"))
            .rows[0]?.n ?? 0,
        );
    const showProgress = values['no-progress'] ? false : (values.progress ?? process.stderr.isTTY === true);
    if (request.scope === 'master' && request.out !== '-')
      process.stderr.write(`intake-snapshot: ${request.out} will hold PHI (names, dates of birth); it is created readable by its owner only\n`);

    const hash = createHash('sha256');
    let bytes = 0;
    let lines = 0;
    const t0 = process.hrtime.bigint();
    let lastShown = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        bytes += chunk.length;
        for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
        if (showProgress) {
          const s = Number(process.hrtime.bigint() - t0) / 1e9;
          if (s - lastShown >= 0.5) {
            lastShown = s;
            process.stderr.write(`\r${progressLine(lines, bytes, s, estimated)}   `);
          }
        }
        done(null, chunk);
      },
    });
    const sink: Writable = partial ? createWriteStream(partial, { mode: request.scope === 'master' ? 0o600 : 0o644 }) : process.stdout;
    const source = client.query(copyTo(snapshotCopySql(request, (v) => client.escapeLiteral(v))));
    await pipeline(source, meter, sink, { end: partial !== undefined });
    const rows = source.rowCount;
    if (showProgress) process.stderr.write(`\r${progressLine(rows, bytes, Number(process.hrtime.bigint() - t0) / 1e9, undefined)}   \n`);
    if (partial) renameSync(partial, request.out);

    const manifest = snapshotManifest(
      request,
      at,
      rows,
      [{ path: request.out === '-' ? '-' : basename(request.out), bytes, sha256: hash.digest('hex') }],
      bounds!,
      new Date(),
    );
    const text = `${JSON.stringify(manifest, null, 2)}\n`;
    const manifestPath = values.manifest ?? (request.out === '-' ? undefined : `${request.out}.manifest.json`);
    if (manifestPath) writeFileSync(manifestPath, text);
    else process.stderr.write(text);
    return 0;
  } catch (err) {
    if (partial) rmSync(partial, { force: true });
    throw err;
  } finally {
    await client.end();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof SnapshotUsageError) {
      process.stderr.write(`intake-snapshot: ${err.message}\nRun 'intake-snapshot --help' for usage.\n`);
      process.exit(2);
    }
    // Anything else through the redacting logger: a driver's error may quote a value.
    createLogger('snapshot').fatal({ err }, 'intake-snapshot failed');
    process.exit(1);
  },
);
