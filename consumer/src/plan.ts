import { decodeRecord, partitionKey, rejectionCode, type IdentityKeyer, type IntakeRecord } from '@clinical-ingest/intake-core';
import type { AcceptedRow, IdentityToResolve, InboundMessage, RejectedRow } from './ports.js';

/** Pure batch planning: decode, key, and pick the newest record of each patient. */

export interface DecodedRow {
  readonly offset: number;
  readonly producedAtMs: number;
  readonly record: IntakeRecord;
  readonly keyB64: string;
}

export interface DecodedBatch {
  readonly decoded: DecodedRow[];
  readonly rejected: RejectedRow[];
  /** One entry per distinct identity key in the batch. */
  readonly identities: Map<string, IdentityToResolve>;
  /**
   * Accepted records whose Kafka key is not their identity's partition key (an upstream producer
   * keying by its own number, or not at all): still stored correctly, since the master store and
   * the public store order every patient's writes themselves, but counted.
   */
  readonly keyMismatches: number;
}

export function decodeBatch(messages: readonly InboundMessage[], keyer: IdentityKeyer, now: Date, maxBytes?: number): DecodedBatch {
  const decoded: DecodedRow[] = [];
  const rejected: RejectedRow[] = [];
  const identities = new Map<string, IdentityToResolve>();
  let keyMismatches = 0;
  const options = maxBytes === undefined ? {} : { maxBytes };
  for (const m of messages) {
    const result = decodeRecord(m.value, now, options);
    if (!result.ok) {
      rejected.push({ offset: m.offset, producedAtMs: m.timestampMs, key: m.key, value: m.value, reason: rejectionCode(result.rejection) });
      continue;
    }
    const identity = result.identity;
    const key = keyer.key(identity);
    const keyB64 = key.toString('base64url');
    if (!identities.has(keyB64)) identities.set(keyB64, { keyB64, key, identity });
    if (m.key === null || m.key.toString('latin1') !== partitionKey(identity)) keyMismatches++;
    decoded.push({ offset: m.offset, producedAtMs: m.timestampMs, record: result.record, keyB64 });
  }
  return { decoded, rejected, identities, keyMismatches };
}

/** Newer means: later event time, then later Kafka position (all rows here share a partition). */
export function isNewer(a: AcceptedRow, b: AcceptedRow): boolean {
  if (a.record.eventTimeMs !== b.record.eventTimeMs) return a.record.eventTimeMs > b.record.eventTimeMs;
  return a.offset > b.offset;
}

export function attachPatients(
  decoded: readonly DecodedRow[],
  patientIds: ReadonlyMap<string, string>,
  created: ReadonlySet<string> = new Set(),
): AcceptedRow[] {
  return decoded.map((d) => {
    const patientId = patientIds.get(d.keyB64);
    if (patientId === undefined) throw new Error('identity left unresolved');
    return { offset: d.offset, producedAtMs: d.producedAtMs, record: d.record, patientId, newIdentity: created.has(d.keyB64) };
  });
}

export function newestPerPatient(rows: readonly AcceptedRow[]): AcceptedRow[] {
  const newest = new Map<string, AcceptedRow>();
  for (const r of rows) {
    const cur = newest.get(r.patientId);
    if (cur === undefined || isNewer(r, cur)) newest.set(r.patientId, r);
  }
  return [...newest.values()];
}
