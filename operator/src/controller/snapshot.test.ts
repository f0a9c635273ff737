import { describe, expect, it } from 'vitest';
import type { Snapshot } from '../api/snapshot.js';
import {
  buildSparkApplication,
  invalidSpec,
  rowsFromTerminationMessage,
  snapshotStatusFrom,
  type SnapshotExportSettings,
  type SparkApplication,
} from './snapshot.js';

const settings: SnapshotExportSettings = {
  image: 'img',
  sparkVersion: '4.0.1',
  mainApplicationFile: 'local:///job.py',
  jdbcJar: 'local:///pg.jar',
  jdbcUrl: 'jdbc:postgresql://pg-rw:5432/clinical',
  dbUser: 'history_reader',
  dbPasswordSecret: { name: 'pg-history-reader', key: 'password' },
  dbCa: { name: 'pg-ca', key: 'ca.crt' },
  serviceAccount: 'spark-driver',
  uid: 185,
  executors: 2,
};
const snap: Snapshot = {
  apiVersion: 'ingest.clinical.dev/v1alpha1',
  kind: 'Snapshot',
  metadata: { name: 'daily', namespace: 'ns', uid: 'u1', generation: 1 },
  spec: { asOf: '2026-12-01T00:00:00Z', scope: 'public', destination: { persistentVolumeClaim: { claimName: 'exports' }, path: 'a/b' } },
};
const app = (state: string | undefined, extra: Partial<NonNullable<SparkApplication['status']>> = {}): SparkApplication => ({
  ...buildSparkApplication(snap, settings),
  status: { ...(state === undefined ? {} : { applicationState: { state } }), ...extra },
});
const NOW = '2026-12-02T00:00:00.000Z';

describe('buildSparkApplication', () => {
  it("runs the export job with the Snapshot's arguments, the claim mounted, the history role's secret, owned by the Snapshot", () => {
    const a = buildSparkApplication(snap, settings);
    expect(a.metadata).toMatchObject({
      name: 'snapshot-daily',
      namespace: 'ns',
      ownerReferences: [{ kind: 'Snapshot', name: 'daily', uid: 'u1', controller: true }],
    });
    expect(a.spec['arguments']).toEqual(['--as-of', '2026-12-01T00:00:00Z', '--scope', 'public', '--out', '/snapshots/a/b']);
    expect(a.spec['volumes']).toContainEqual({ name: 'destination', persistentVolumeClaim: { claimName: 'exports' } });
    // The database CA, only its one key, where a verify-full JDBC URL's sslrootcert names it.
    expect(a.spec['volumes']).toContainEqual({
      name: 'database-ca',
      secret: { secretName: 'pg-ca', items: [{ key: 'ca.crt', path: 'ca.crt' }], defaultMode: 0o444 },
    });
    for (const role of ['driver', 'executor'])
      expect((a.spec[role] as { volumeMounts: unknown[] }).volumeMounts).toContainEqual({
        name: 'database-ca',
        mountPath: '/etc/intake/database-ca',
        readOnly: true,
      });
    expect(a.spec['driver']).toMatchObject({
      serviceAccount: 'spark-driver',
      envSecretKeyRefs: { SNAPSHOT_DB_PASSWORD: { name: 'pg-history-reader', key: 'password' } },
    });
    expect(JSON.stringify(a)).not.toMatch(/ingest_reader|ingest_app/);
  });
});

describe('snapshotStatusFrom', () => {
  it("follows the SparkApplication: Pending, Running, Succeeded with the driver's row count, Failed with a reason", () => {
    expect(snapshotStatusFrom(snap, app(undefined), undefined, NOW).phase).toBe('Pending');
    expect(snapshotStatusFrom(snap, app('SUBMITTED'), undefined, NOW).phase).toBe('Pending');
    expect(snapshotStatusFrom(snap, app('RUNNING'), undefined, NOW).phase).toBe('Running');
    expect(snapshotStatusFrom(snap, app('COMPLETED', { terminationTime: NOW }), '{"rows": 42}', NOW)).toMatchObject({
      phase: 'Succeeded',
      rows: 42,
      completionTime: NOW,
    });
    expect(snapshotStatusFrom(snap, app('FAILED'), undefined, NOW)).toMatchObject({ phase: 'Failed', reason: 'ExportFailed' });
    expect(snapshotStatusFrom(snap, app('SUBMISSION_FAILED'), undefined, NOW)).toMatchObject({ phase: 'Failed', reason: 'SubmissionFailed' });
  });
  it('never claims a result it does not have: completed without a readable row count stays Running', () => {
    for (const m of [undefined, '', 'not json', '{"rows": -1}', '{"rows": "7"}']) {
      expect(snapshotStatusFrom(snap, app('COMPLETED'), m, NOW).phase, String(m)).toBe('Running');
    }
  });
});

describe('rowsFromTerminationMessage and invalidSpec', () => {
  it('reads a non-negative integer row count only', () => {
    expect(rowsFromTerminationMessage('{"rows": 0}')).toBe(0);
    expect(rowsFromTerminationMessage('{"rows": 1.5}')).toBeUndefined();
  });
  it('refuses an instant in the future', () => {
    expect(invalidSpec(snap, Date.parse('2026-12-02T00:00:00Z'))).toBeUndefined();
    expect(invalidSpec(snap, Date.parse('2026-11-30T00:00:00Z'))).toMatchObject({ phase: 'Failed', reason: 'InvalidSpec' });
  });
});
