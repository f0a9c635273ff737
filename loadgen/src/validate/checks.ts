import { IdentityKeyer, type Identity } from '@clinical-ingest/intake-core';
import type { PublicStore } from '@clinical-ingest/consumer';
import type { Pool } from 'pg';

/** What the public store may hold: patient ID, favorite color, and the state revision. */
export const PUBLIC_ATTRIBUTES = new Set(['patient_id', 'favorite_color', 'rev']);

const CHUNK = 20_000;

/** How many of these identities the master store already knew (before a run). */
export async function countKnownIdentities(pool: Pool, keyer: IdentityKeyer, identities: readonly Identity[]): Promise<number> {
  let known = 0;
  for (let i = 0; i < identities.length; i += CHUNK) {
    const keys = identities.slice(i, i + CHUNK).map((id) => keyer.key(id));
    const r = await pool.query<{ n: string }>('SELECT count(*) AS n FROM ingest.identity WHERE id_key = ANY($1::bytea[])', [keys]);
    known += Number(r.rows[0]?.n ?? 0);
  }
  return known;
}

export interface OracleResult {
  /** Identities whose master state has the color of their newest generated record. */
  readonly matched: number;
  readonly wrongColor: number;
  /** Identities with no patient state in the master store. */
  readonly missing: number;
  /** patient ID → expected color, for the public-store comparison. */
  readonly expected: Map<string, string>;
}

/** Compares the master store's current state with what the generator sent (its newest colors). */
export async function checkMasterAgainstOracle(
  pool: Pool,
  keyer: IdentityKeyer,
  identities: readonly Identity[],
  newestColors: readonly string[],
): Promise<OracleResult> {
  let matched = 0;
  let wrongColor = 0;
  let found = 0;
  const expected = new Map<string, string>();
  for (let i = 0; i < identities.length; i += CHUNK) {
    const slice = identities.slice(i, i + CHUNK);
    const byKey = new Map<string, string>();
    const keys = slice.map((id, j) => {
      const k = keyer.key(id);
      byKey.set(k.toString('hex'), newestColors[i + j]!);
      return k;
    });
    const r = await pool.query<{ id_key: Buffer; patient_id: string; favorite_color: string }>(
      `SELECT i.id_key, s.patient_id, s.favorite_color
         FROM ingest.identity i JOIN ingest.patient_state s ON s.patient_id = i.patient_id
        WHERE i.id_key = ANY($1::bytea[])`,
      [keys],
    );
    for (const row of r.rows) {
      found++;
      const want = byKey.get(row.id_key.toString('hex'));
      if (want === row.favorite_color) matched++;
      else wrongColor++;
      expected.set(row.patient_id, want ?? '');
    }
  }
  return { matched, wrongColor, missing: identities.length - found, expected };
}

export interface PublicConsistency {
  readonly publicRows: number;
  /** Public rows whose color differs from the master's current state (all patients, not only this run's). */
  readonly differsFromMaster: number;
  /** Public rows for a patient the master does not know. */
  readonly unknownPatients: number;
  /** This run's patients missing from the public store. */
  readonly runPatientsMissing: number;
  /** This run's patients whose public color is not the generator's newest color. */
  readonly runPatientsWrong: number;
}

/** Every public row against the master's current state, and this run's patients against the oracle. */
export async function checkPublicAgainstMaster(pool: Pool, store: PublicStore, runExpected: ReadonlyMap<string, string>): Promise<PublicConsistency> {
  const master = new Map<string, string>();
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const r = await pool.query<{ patient_id: string; favorite_color: string }>(
      'SELECT patient_id, favorite_color FROM ingest.patient_state WHERE patient_id > $1 ORDER BY patient_id LIMIT 50000',
      [after],
    );
    if (r.rows.length === 0) break;
    for (const row of r.rows) master.set(row.patient_id, row.favorite_color);
    after = r.rows[r.rows.length - 1]!.patient_id;
  }
  let publicRows = 0;
  let differsFromMaster = 0;
  let unknownPatients = 0;
  const seenRun = new Set<string>();
  let runPatientsWrong = 0;
  for await (const page of store.scan()) {
    for (const item of page) {
      publicRows++;
      const m = master.get(item.patientId);
      if (m === undefined) unknownPatients++;
      else if (m !== item.favoriteColor) differsFromMaster++;
      const want = runExpected.get(item.patientId);
      if (want !== undefined) {
        seenRun.add(item.patientId);
        if (want !== item.favoriteColor) runPatientsWrong++;
      }
    }
  }
  return { publicRows, differsFromMaster, unknownPatients, runPatientsMissing: runExpected.size - seenRun.size, runPatientsWrong };
}

/** Attribute names found in the public store that are not allowed there (PHI must never be). */
export async function unexpectedPublicAttributes(store: PublicStore, pool: Pool | undefined): Promise<string[]> {
  const found = new Set<string>();
  if (store.kind === 'postgres' && pool) {
    const r = await pool.query<{ column_name: string }>(
      "SELECT column_name FROM information_schema.columns WHERE table_schema = 'anon' AND table_name = 'patient'",
    );
    for (const row of r.rows) found.add(row.column_name);
  } else {
    const raw = (store as unknown as { scanRaw?: () => AsyncIterable<Record<string, unknown>[]> }).scanRaw;
    if (raw) for await (const page of raw.call(store)) for (const item of page) for (const k of Object.keys(item)) found.add(k);
  }
  return [...found].filter((a) => !PUBLIC_ATTRIBUTES.has(a)).sort();
}
