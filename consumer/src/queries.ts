import type { Pool } from 'pg';

/**
 * Point-in-time queries over the master store (the SQL functions of db/migrations/003_as_of.sql and
 * 009_snapshots.sql; docs/architecture.md §7).
 */

export interface PatientStateRow {
  readonly patientId: string;
  readonly name: string;
  readonly dateOfBirth: string;
  readonly favoriteColor: string;
  readonly eventTime: Date;
}

/**
 * An instant: a Date (millisecond precision), or a timestamptz literal such as PostgreSQL prints it
 * (microseconds: commit times are that precise, so an instant a few µs after a commit can round
 * to before it as a Date).
 */
export type Instant = Date | string;

const COLUMNS = `patient_id AS "patientId", name, to_char(date_of_birth, 'YYYY-MM-DD') AS "dateOfBirth", favorite_color AS "favoriteColor", event_time AS "eventTime"`;

/**
 * Every patient's state as committed at `at`, or only the given patients' (the SQL function is
 * inlined, so the filter reaches the patient index).
 */
export async function stateAsOf(pool: Pool, at: Instant, patientIds?: readonly string[]): Promise<PatientStateRow[]> {
  const r = patientIds
    ? await pool.query<PatientStateRow>(`SELECT ${COLUMNS} FROM ingest.patient_state_as_of($1) WHERE patient_id = ANY($2::uuid[]) ORDER BY patient_id`, [
        at,
        patientIds,
      ])
    : await pool.query<PatientStateRow>(`SELECT ${COLUMNS} FROM ingest.patient_state_as_of($1) ORDER BY patient_id`, [at]);
  return r.rows;
}

/** One patient's state as committed at `at`, or undefined if the patient had no record yet. */
export async function patientAsOf(pool: Pool, patientId: string, at: Instant): Promise<PatientStateRow | undefined> {
  const r = await pool.query<PatientStateRow>(`SELECT ${COLUMNS} FROM ingest.patient_as_of($1, $2)`, [patientId, at]);
  return r.rows[0];
}

/** The public store's content at `at`: the projection of the master's state (optionally of some patients). */
export async function publicProjectionAsOf(pool: Pool, at: Instant, patientIds?: readonly string[]): Promise<Map<string, string>> {
  const r = patientIds
    ? await pool.query<{ patient_id: string; favorite_color: string }>(
        'SELECT patient_id, favorite_color FROM ingest.public_projection_as_of($1) WHERE patient_id = ANY($2::uuid[])',
        [at, patientIds],
      )
    : await pool.query<{ patient_id: string; favorite_color: string }>('SELECT patient_id, favorite_color FROM ingest.public_projection_as_of($1)', [at]);
  return new Map(r.rows.map((row) => [row.patient_id, row.favorite_color]));
}

/** One record of a patient's history, with the commit time of the transaction that stored it. */
export interface HistoryRow extends PatientStateRow {
  readonly committedAt: Date;
  readonly recordId: string;
}

/** One patient's records committed in (from, to], oldest commit first. */
export async function patientHistory(pool: Pool, patientId: string, from: Instant, to: Instant): Promise<HistoryRow[]> {
  const r = await pool.query<HistoryRow>(`SELECT committed_at AS "committedAt", record_id AS "recordId", ${COLUMNS} FROM ingest.patient_history($1, $2, $3)`, [
    patientId,
    from,
    to,
  ]);
  return r.rows;
}

/** The first and last commit instants of the master store's history (undefined when it is empty). */
export async function historyBounds(pool: Pool): Promise<{ first: string; last: string } | undefined> {
  const r = await pool.query<{ first: string | null; last: string | null }>(
    'SELECT first_commit::text AS first, last_commit::text AS last FROM ingest.history_bounds()',
  );
  const row = r.rows[0];
  return row?.first && row.last ? { first: row.first, last: row.last } : undefined;
}
