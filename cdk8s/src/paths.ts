import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is cdk8s/src/paths.ts, or cdk8s/dist/paths.js once built). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The schema migrations the local platform applies; the CNPG Cluster runs the same files. */
export const MIGRATIONS_DIR = resolve(REPO_ROOT, 'db', 'migrations');

/**
 * The upstream CRDs (Strimzi, CloudNativePG, spark-operator) the tests validate against: the
 * workspace's `shared/crds`, beside the repository (`../shared/crds`), or the folder given.
 */
export function crdsDir(dir = resolve(REPO_ROOT, '..', 'shared', 'crds')): string {
  if (!existsSync(dir)) {
    throw new Error(
      `upstream CRDs not found at ${dir}: the schema tests need ../shared/crds (Strimzi 1.2.0, CloudNativePG 1.30.0, ` +
        'spark-operator 2.5.2) beside the repository; they never pass without them',
    );
  }
  return dir;
}
