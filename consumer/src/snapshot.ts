/**
 * Point-in-time snapshots for analysts (docs/architecture.md §7): what to export, the statement
 * that streams it, and the manifest that describes the result. Pure: the CLI (snapshot-main.ts)
 * and the PySpark export (spark/snapshot_export.py, which writes the same manifest) do the I/O.
 */

export type SnapshotScope = 'master' | 'public';
export type SnapshotFormat = 'csv' | 'jsonl';

export interface SnapshotRequest {
  /** The instant as the user wrote it (ISO-8601 with a zone); PostgreSQL parses it to the µs. */
  readonly asOf: string;
  readonly scope: SnapshotScope;
  /** One patient's state only. */
  readonly patientId?: string;
  readonly format: SnapshotFormat;
  /** A file, or '-' for stdout. */
  readonly out: string;
}

/** A wrong argument or instant: said plainly, exit code 2. It holds only what the user typed. */
export class SnapshotUsageError extends Error {
  override readonly name = 'SnapshotUsageError';
}

export const SNAPSHOT_COLUMNS: Readonly<Record<SnapshotScope, readonly string[]>> = {
  master: ['patient_id', 'name', 'date_of_birth', 'favorite_color', 'event_time', 'kafka_partition', 'kafka_offset'],
  public: ['patient_id', 'favorite_color'],
};

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}(:?\d{2})?)$/i;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface SnapshotOptions {
  readonly 'as-of'?: string | undefined;
  readonly patient?: string | undefined;
  readonly public?: boolean | undefined;
  readonly format?: string | undefined;
  readonly out?: string | undefined;
}

/** Checks the CLI's options; every mistake is a SnapshotUsageError naming the option. */
export function snapshotRequest(o: SnapshotOptions): SnapshotRequest {
  const asOf = o['as-of'];
  if (!asOf) throw new SnapshotUsageError('--as-of is required (an ISO-8601 instant with a zone, e.g. 2026-12-02T14:00:00Z)');
  if (!ISO_WITH_ZONE.test(asOf) || Number.isNaN(Date.parse(asOf))) {
    throw new SnapshotUsageError(`--as-of: not an ISO-8601 instant with a zone (Z or ±hh:mm): ${asOf}`);
  }
  if (o.patient !== undefined && !UUID.test(o.patient)) throw new SnapshotUsageError(`--patient: not a patient ID (a UUID): ${o.patient}`);
  if (!o.out) throw new SnapshotUsageError("--out is required (a file, or '-' for stdout)");
  const format = o.format ?? (o.out.endsWith('.jsonl') || o.out.endsWith('.ndjson') ? 'jsonl' : 'csv');
  if (format !== 'csv' && format !== 'jsonl') throw new SnapshotUsageError(`--format: csv or jsonl, not ${format}`);
  return {
    asOf,
    scope: o.public ? 'public' : 'master',
    ...(o.patient !== undefined ? { patientId: o.patient.toLowerCase() } : {}),
    format,
    out: o.out,
  };
}

/**
 * The COPY statement that streams the snapshot. COPY takes no parameters, so the two values are
 * literals: `quote` must be the driver's literal escaping (the instant is also checked by
 * snapshotRequest, the patient ID is a UUID). JSON lines use CSV mode with a quote and delimiter
 * that JSON text cannot hold (PostgreSQL escapes control characters in JSON), so each object is
 * written as it is.
 */
export function snapshotCopySql(r: SnapshotRequest, quote: (literal: string) => string): string {
  const at = `${quote(r.asOf)}::timestamptz`;
  const columns = SNAPSHOT_COLUMNS[r.scope].join(', ');
  const source = r.patientId
    ? `SELECT ${columns} FROM ingest.patient_as_of(${quote(r.patientId)}::uuid, ${at})`
    : r.scope === 'public'
      ? `SELECT ${columns} FROM ingest.public_projection_as_of(${at})`
      : `SELECT ${columns} FROM ingest.patient_state_as_of(${at})`;
  return r.format === 'csv'
    ? `COPY (${source}) TO STDOUT WITH (FORMAT csv, HEADER true)`
    : `COPY (SELECT row_to_json(s)::text FROM (${source}) s) TO STDOUT WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')`;
}

export interface HistoryBounds {
  /** PostgreSQL timestamptz text of the first and last commit. */
  readonly first: string;
  readonly last: string;
}

/**
 * Refuses what is almost surely a mistake, before anything is written: a store with no history,
 * an instant before its first record (an empty answer), an instant in the future (an answer that
 * could still change). Instants are compared in µs: `at`, `first` and `now` as PostgreSQL
 * normalizes them (epoch microseconds).
 */
export function checkInstant(atUs: bigint, nowUs: bigint, bounds: { firstUs: bigint; first: string } | undefined, asOf: string): void {
  if (atUs > nowUs) throw new SnapshotUsageError(`--as-of ${asOf} is in the future: a snapshot is of committed history only`);
  if (!bounds) throw new SnapshotUsageError('the master store holds no history yet: nothing to snapshot');
  if (atUs < bounds.firstUs) {
    throw new SnapshotUsageError(`--as-of ${asOf} is before the first record (history begins at ${bounds.first}): the snapshot would be empty`);
  }
}

export interface SnapshotFile {
  readonly path: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** What describes an export, the same from the CLI and from the PySpark job. */
export interface SnapshotManifest {
  readonly kind: 'clinical-ingest.snapshot';
  readonly version: 1;
  /** The instant, normalized by PostgreSQL (UTC, µs). */
  readonly asOf: string;
  readonly scope: SnapshotScope;
  readonly patientId: string | null;
  readonly format: SnapshotFormat | 'parquet';
  readonly columns: readonly string[];
  readonly rows: number;
  readonly files: readonly SnapshotFile[];
  /** Master scope holds names and dates of birth: the files are PHI. */
  readonly phi: boolean;
  readonly history: { readonly firstCommit: string; readonly lastCommit: string };
  readonly createdAt: string;
  readonly producer: string;
}

export function snapshotManifest(
  r: SnapshotRequest,
  normalizedAsOf: string,
  rows: number,
  files: readonly SnapshotFile[],
  bounds: HistoryBounds,
  createdAt: Date,
): SnapshotManifest {
  return {
    kind: 'clinical-ingest.snapshot',
    version: 1,
    asOf: normalizedAsOf,
    scope: r.scope,
    patientId: r.patientId ?? null,
    format: r.format,
    columns: SNAPSHOT_COLUMNS[r.scope],
    rows,
    files,
    phi: r.scope === 'master',
    history: { firstCommit: bounds.first, lastCommit: bounds.last },
    createdAt: createdAt.toISOString(),
    producer: 'intake-snapshot',
  };
}

/** One progress line: rows, MB, rate and, when the total is estimated, a percentage. */
export function progressLine(rows: number, bytes: number, seconds: number, estimatedRows: number | undefined): string {
  const rate = seconds > 0 ? Math.round(rows / seconds) : 0;
  const pct = estimatedRows && estimatedRows > 0 ? ` (~${Math.min(99, Math.floor((100 * rows) / estimatedRows))} %)` : '';
  return `${rows.toLocaleString('en-US')} rows${pct}, ${(bytes / 1e6).toFixed(1)} MB, ${rate.toLocaleString('en-US')} rows/s`;
}
