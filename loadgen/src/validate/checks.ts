import { IdentityKeyer, type Identity } from '@clinical-ingest/intake-core';
import type { PublicStoreReader, ValidationReads } from '@clinical-ingest/consumer';

/** What the public store may hold: patient ID, favorite color, and the state revision. */
export const PUBLIC_ATTRIBUTES = new Set(['patient_id', 'favorite_color', 'rev']);

const CHUNK = 20_000;

/** How many of these identities the master store already knew (before a run). */
export async function countKnownIdentities(master: ValidationReads, keyer: IdentityKeyer, identities: readonly Identity[]): Promise<number> {
  let known = 0;
  for (let i = 0; i < identities.length; i += CHUNK) known += await master.knownIdentities(identities.slice(i, i + CHUNK).map((id) => keyer.key(id)));
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
  master: ValidationReads,
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
    for (const row of await master.stateByIdentityKeys(keys)) {
      found++;
      const want = byKey.get(row.idKey.toString('hex'));
      if (want === row.favoriteColor) matched++;
      else wrongColor++;
      expected.set(row.patientId, want ?? '');
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
export async function checkPublicAgainstMaster(
  reads: ValidationReads,
  store: PublicStoreReader,
  runExpected: ReadonlyMap<string, string>,
): Promise<PublicConsistency> {
  const master = new Map<string, string>();
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const page = await reads.currentColorsPage(after, 50_000);
    if (page.length === 0) break;
    for (const row of page) master.set(row.patientId, row.favoriteColor);
    after = page[page.length - 1]!.patientId;
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
export async function unexpectedPublicAttributes(store: PublicStoreReader): Promise<string[]> {
  return (await store.attributeNames()).filter((a) => !PUBLIC_ATTRIBUTES.has(a)).sort();
}
