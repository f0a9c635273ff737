/**
 * The CloudNativePG Cluster runs the project's own migrations (read from db/migrations at synth
 * time, never copied), with what they require, and manages exactly the login roles they create.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_ROLES } from './lib/postgres.js';
import { MIGRATIONS_DIR } from './paths.js';
import { synthesize, type Synthesized } from './validation/platform.js';

interface ClusterSpec {
  postgresql: { parameters: Record<string, string> };
  bootstrap: { initdb: { database: string; owner: string; postInitApplicationSQLRefs: { configMapRefs: { name: string; key: string }[] } } };
  managed: { roles: { name: string; login: boolean; superuser: boolean; createdb: boolean; createrole: boolean; passwordSecret: { name: string } }[] };
  enableSuperuserAccess: boolean;
}

let s: Synthesized;
let cluster: ClusterSpec;
let migrations: Record<string, string>;
beforeAll(() => {
  s = synthesize();
  cluster = (s.all.find((o) => o.kind === 'Cluster') as unknown as { spec: ClusterSpec }).spec;
  migrations = (s.all.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'pg-migrations') as unknown as { data: Record<string, string> }).data;
});

describe('the PostgreSQL cluster', () => {
  it('runs every migration file, byte for byte, in the order the local platform applies them', () => {
    const files = readdirSync(MIGRATIONS_DIR)
      .filter((f) => f.endsWith('.sql'))
      .sort();
    expect(files.length).toBeGreaterThan(0);
    expect(Object.keys(migrations)).toEqual(files);
    for (const f of files) expect(migrations[f]).toBe(readFileSync(join(MIGRATIONS_DIR, f), 'utf8'));
    expect(cluster.bootstrap.initdb.postInitApplicationSQLRefs.configMapRefs).toEqual(files.map((key) => ({ name: 'pg-migrations', key })));
  });

  it('has what the migrations require: commit timestamps (AS OF) and lz4', () => {
    expect(cluster.postgresql.parameters['track_commit_timestamp']).toBe('on');
    expect(Object.values(migrations).join('\n')).toMatch(/COMPRESSION lz4/);
    expect(cluster.postgresql.parameters['default_toast_compression']).toBe('lz4');
  });

  it('manages the passwords of exactly the login roles the migrations create, none with DDL or superuser rights', () => {
    const created = Object.values(migrations)
      .flatMap((sql) => [...sql.matchAll(/CREATE ROLE (\w+) LOGIN/g)].map((m) => m[1]))
      .sort();
    expect(cluster.managed.roles.map((r) => r.name).sort()).toEqual(created);
    expect(Object.values(DATABASE_ROLES).sort()).toEqual(created);
    for (const r of cluster.managed.roles) expect([r.login, r.superuser, r.createdb, r.createrole]).toEqual([true, false, false, false]);
    expect(cluster.enableSuperuserAccess).toBe(false);
  });

  it('puts the application database where the local platform has it', () => {
    expect(cluster.bootstrap.initdb.database).toBe('clinical');
    expect(cluster.bootstrap.initdb.owner).not.toBe(DATABASE_ROLES.app);
  });
});
