/**
 * The `Snapshot` API (group `ingest.clinical.dev`, version `v1alpha1`): a point-in-time export of
 * the master store (docs/architecture.md §7). The operator turns each Snapshot into one
 * SparkApplication running spark/snapshot_export.py, owned by the Snapshot, and reports its
 * progress in the Snapshot's status. A Snapshot is a one-off: its spec cannot change (CEL rule);
 * to export again, create another.
 */
import { CRD_LABELS, type CustomResourceDefinition } from './crd.js';
import { GROUP, VERSION } from './types.js';

export const SNAPSHOT_KIND = 'Snapshot';
export const SNAPSHOT_PLURAL = 'snapshots';
export const SNAPSHOT_CRD_NAME = `${SNAPSHOT_PLURAL}.${GROUP}`;

export type SnapshotScope = 'public' | 'master';
export type SnapshotPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed';

export interface SnapshotSpec {
  /** The instant, RFC 3339 with a zone: the state committed at or before it. */
  readonly asOf: string;
  /** `public` (patient ID and favorite color) or `master` (PHI: names, dates of birth). */
  readonly scope: SnapshotScope;
  /** Where the Parquet files and the manifest go: a directory on a PersistentVolumeClaim. */
  readonly destination: { readonly persistentVolumeClaim: { readonly claimName: string }; readonly path: string };
}

export interface SnapshotStatus {
  readonly phase?: SnapshotPhase;
  /** The SparkApplication running the export. */
  readonly sparkApplication?: string;
  /** Rows exported (Succeeded). */
  readonly rows?: number;
  /** Why it failed, PHI-free (Failed). */
  readonly reason?: string;
  readonly message?: string;
  readonly startTime?: string;
  readonly completionTime?: string;
  readonly observedGeneration?: number;
}

export interface Snapshot {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; uid?: string; generation?: number; creationTimestamp?: string };
  spec: SnapshotSpec;
  status?: SnapshotStatus;
}

const str = (description: string, extra: Record<string, unknown> = {}) => ({ type: 'string', description, ...extra });

export function snapshotCrd(): CustomResourceDefinition {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: SNAPSHOT_CRD_NAME, labels: { ...CRD_LABELS } },
    spec: {
      group: GROUP,
      names: {
        kind: SNAPSHOT_KIND,
        listKind: `${SNAPSHOT_KIND}List`,
        plural: SNAPSHOT_PLURAL,
        singular: 'snapshot',
        shortNames: ['snap'],
        categories: ['clinical-ingest'],
      },
      scope: 'Namespaced',
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              description: 'Snapshot: the master store (or its public projection) as committed at an instant, exported as Parquet by Spark.',
              required: ['spec'],
              properties: {
                apiVersion: { type: 'string' },
                kind: { type: 'string' },
                metadata: { type: 'object' },
                spec: {
                  type: 'object',
                  description: 'What to export and where. Immutable: create another Snapshot to export again.',
                  required: ['asOf', 'scope', 'destination'],
                  'x-kubernetes-validations': [{ rule: 'self == oldSelf', message: 'a Snapshot is immutable; create another one' }],
                  properties: {
                    asOf: str('The instant (RFC 3339 with a zone): the state committed at or before it.', { format: 'date-time' }),
                    scope: str('public: patient ID and favorite color. master: every column, PHI (names, dates of birth).', { enum: ['public', 'master'] }),
                    destination: {
                      type: 'object',
                      description: 'A directory on a PersistentVolumeClaim of this namespace; a master export there is PHI.',
                      required: ['persistentVolumeClaim', 'path'],
                      properties: {
                        persistentVolumeClaim: {
                          type: 'object',
                          required: ['claimName'],
                          properties: { claimName: str('The claim.', { minLength: 1, maxLength: 253 }) },
                        },
                        path: str('A new directory, relative to the claim root.', {
                          minLength: 1,
                          maxLength: 512,
                          pattern: '^[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*$',
                        }),
                      },
                      'x-kubernetes-validations': [{ rule: "!self.path.split('/').exists(s, s == '..')", message: 'path must stay inside the claim' }],
                    },
                  },
                },
                status: {
                  type: 'object',
                  properties: {
                    phase: str('Pending, Running, Succeeded or Failed.', { enum: ['Pending', 'Running', 'Succeeded', 'Failed'] }),
                    sparkApplication: str('The SparkApplication running the export.'),
                    rows: { type: 'integer', format: 'int64', minimum: 0, description: 'Rows exported.' },
                    reason: str('Why it failed (a code).'),
                    message: str('What happened, in words (no PHI).'),
                    startTime: str('When the export was submitted.', { format: 'date-time' }),
                    completionTime: str('When it succeeded or failed.', { format: 'date-time' }),
                    observedGeneration: { type: 'integer', format: 'int64' },
                  },
                },
              },
            },
          },
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: 'As-Of', type: 'string', jsonPath: '.spec.asOf' },
            { name: 'Scope', type: 'string', jsonPath: '.spec.scope' },
            { name: 'Phase', type: 'string', jsonPath: '.status.phase' },
            { name: 'Rows', type: 'integer', jsonPath: '.status.rows' },
            { name: 'Reason', type: 'string', jsonPath: '.status.reason', priority: 1 },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
        },
      ],
    },
  } as CustomResourceDefinition;
}
