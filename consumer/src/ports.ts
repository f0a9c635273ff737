import { IngestError, type Identity, type IntakeRecord } from '@clinical-ingest/intake-core';

/**
 * The batch processor's ports: small interfaces that the adapters (PostgreSQL, Redis, DynamoDB,
 * Kafka) implement. Only main.ts builds real clients; the processor sees these.
 */

/** One Kafka message as the processor sees it. Offsets fit a JS number (< 2^53). */
export interface InboundMessage {
  readonly offset: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** The Kafka record timestamp (producer create time), epoch ms. */
  readonly timestampMs: number;
}

export interface AcceptedRow {
  readonly offset: number;
  readonly producedAtMs: number;
  readonly record: IntakeRecord;
  readonly patientId: string;
  /**
   * The identity was created while resolving this batch: its patient ID is brand new, so no state
   * row can exist for it yet and the master store may insert the state without a conflict check.
   */
  readonly newIdentity: boolean;
}

export interface RejectedRow {
  readonly offset: number;
  readonly producedAtMs: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  /** PHI-free reason code, e.g. `invalid_date:dateOfBirth`. */
  readonly reason: string;
}

/** What the public store holds of a patient: nothing else may ever be added. */
export interface PublicItem {
  readonly patientId: string;
  readonly favoriteColor: string;
  /** Revision of the patient's state in the master store; a write never lowers it. */
  readonly rev: number;
}

/** Where a partition's consumption stands in the master store. */
export interface PartitionPosition {
  /** The next offset to store; a batch commits only if it starts here (compare-and-set). */
  readonly next: number;
  /** Every record below this offset has reached the public store (and, if rejected, the DLQ). */
  readonly published: number;
  /**
   * The master store's epoch: it changes when the database is replaced, restored or failed over.
   * The identity cache is read and filled under it, and a batch commits only while it holds, so
   * entries cached from another database are never trusted.
   */
  readonly epoch: string;
}

export interface BatchCommit {
  readonly topic: string;
  readonly partition: number;
  /** The stored next offset this batch continues from (the fence). */
  readonly expectedNext: number;
  /** The offset after the last message of the batch. */
  readonly next: number;
  /** The epoch the batch's identities were resolved under; the commit fails with EPOCH_CHANGED if it moved. */
  readonly epoch: string;
  /** Records below this offset are known to be in the public store. */
  readonly publishedThrough: number;
  readonly accepted: readonly AcceptedRow[];
  readonly rejected: readonly RejectedRow[];
  /** The newest accepted row of each patient in the batch (event time, then offset). */
  readonly newestPerPatient: readonly AcceptedRow[];
}

export interface MasterStore {
  /** The partition's stored position, if it has one (read only). */
  storedPosition(topic: string, partition: number): Promise<PartitionPosition | undefined>;
  /** Loads the partition's stored position, creating it at `initialOffset` if there is none. */
  position(topic: string, partition: number, initialOffset: number): Promise<PartitionPosition>;
  /**
   * Writes the batch and moves the partition's offset in one transaction. Throws FencedError when
   * the stored offset is no longer `expectedNext` (another consumer owns the partition now).
   * Returns the patients whose current state changed, as the public store must now show them.
   */
  commitBatch(batch: BatchCommit): Promise<PublicItem[]>;
  /** Current public view of the patients touched by records in [from, to) of a partition. */
  publicStateForRange(topic: string, partition: number, from: number, to: number): Promise<PublicItem[]>;
  /** The rejected records in [from, to) of a partition, for a DLQ send the previous owner did not finish. */
  rejectedForRange(topic: string, partition: number, from: number, to: number): Promise<RejectedRow[]>;
  /** Records that everything below `offset` has reached the public store and the DLQ. */
  markPublished(topic: string, partition: number, offset: number): Promise<void>;
  /** Copies commit timestamps of finished ingest transactions into the master store. */
  stampCommits(): Promise<number>;
}

export interface IdentityToResolve {
  /** HMAC of the normalized identity, base64url. */
  readonly keyB64: string;
  readonly key: Buffer;
  readonly identity: Identity;
}

export interface ResolvedIdentities {
  /** keyB64 → patient ID, for every identity asked for. */
  readonly ids: Map<string, string>;
  /** The keys whose identity this call created (their patient IDs are new). */
  readonly created: ReadonlySet<string>;
}

/** The source of truth for patient IDs (PostgreSQL, UNIQUE on the identity key). */
export interface IdentityStore {
  /** Returns the patient ID of every identity, creating random IDs for new ones. */
  resolve(identities: readonly IdentityToResolve[]): Promise<ResolvedIdentities>;
}

/**
 * A cache of identity key → patient ID (Redis). Holds no plaintext PHI; may be flushed anytime.
 * Entries live under a namespace: the master store's epoch.
 */
export interface IdentityCache {
  getMany(namespace: string, keysB64: readonly string[]): Promise<(string | null)[]>;
  putMany(namespace: string, entries: ReadonlyMap<string, string>): Promise<void>;
}

/** The public store as the consumers (and a backfill) use it: they only write. */
export interface PublicStoreWriter {
  readonly kind: 'dynamodb' | 'postgres';
  /**
   * Idempotent upsert of the newest state of each patient (at most one item per patient): an item
   * never replaces a newer revision.
   */
  put(items: readonly PublicItem[]): Promise<void>;
  close(): Promise<void>;
}

/** The public store as the validation and exports use it: they only read. */
export interface PublicStoreReader {
  readonly kind: 'dynamodb' | 'postgres';
  get(patientIds: readonly string[]): Promise<Map<string, PublicItem>>;
  count(): Promise<number>;
  /** Every item, page by page. */
  scan(): AsyncIterable<PublicItem[]>;
  /** Every attribute (column) name the store holds, for the check that no PHI is there. */
  attributeNames(): Promise<string[]>;
  close(): Promise<void>;
}

/** An adapter of the public store: both sides (each user takes the side it needs). */
export type PublicStore = PublicStoreWriter & PublicStoreReader;

/** A known identity's current state, by its key (the validation's oracle check). */
export interface IdentityState {
  readonly idKey: Buffer;
  readonly patientId: string;
  readonly favoriteColor: string;
}

/** The master-store reads of the seed's validation: identity keys, patient IDs and colors only. */
export interface ValidationReads {
  /** How many of these identity keys the master store knows. */
  knownIdentities(keys: readonly Buffer[]): Promise<number>;
  stateByIdentityKeys(keys: readonly Buffer[]): Promise<IdentityState[]>;
  /** Every patient's current color, a page at a time in patient ID order. */
  currentColorsPage(afterPatientId: string, limit: number): Promise<{ patientId: string; favoriteColor: string }[]>;
}

/** Pages of the master's current public projection, in patient ID order (the backfill's source). */
export interface PublicProjectionSource {
  publicStatePage(afterPatientId: string, limit: number): Promise<PublicItem[]>;
}

/**
 * A consumer lost its partition: another member owns it now and has moved its offset
 * (`MasterStore.commitBatch` throws it; the runner stops working on the partition).
 */
export class FencedError extends IngestError {
  constructor(message: string) {
    super('FENCED', message, { retriable: false });
    this.name = 'FencedError';
  }
}

/** What Kafka still holds of the intake topic. */
export interface IntakeLog {
  /** The partition's log start offset: everything below it was deleted by retention. */
  earliestOffset(topic: string, partition: number): Promise<number>;
}

export interface DeadLetters {
  publish(topic: string, partition: number, rows: readonly RejectedRow[]): Promise<void>;
}

export interface Clock {
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };
