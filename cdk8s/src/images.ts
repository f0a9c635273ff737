/**
 * Every container image the platform runs, in one place. `make kind-up` builds and loads the
 * project's own images from this list (`node cdk8s/dist/images.js`), and the charts reference the
 * same names, so the two never disagree.
 *
 * The project's images are tagged `${IMAGE_REGISTRY}/<name>:${IMAGE_TAG}` (defaults
 * `clinical-ingest` and `dev`); set the variables at `make synth` / `make kind-up` time to deploy a
 * release or another registry.
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The project's own images: the Dockerfile (from the repository root; the build context is the
 * root) and its stage each is built from, `docker build -f <dockerfile> --target <target> .`. The
 * Node.js components share the root Dockerfile and its one build stage.
 */
export const PROJECT_IMAGES = {
  consumer: { name: 'consumer', dockerfile: 'Dockerfile', target: 'consumer' },
  operator: { name: 'ingest-operator', dockerfile: 'Dockerfile', target: 'operator' },
  loadgen: { name: 'loadgen', dockerfile: 'Dockerfile', target: 'loadgen' },
  publicStore: { name: 'dynalite', dockerfile: 'platform/dynalite/Dockerfile', target: 'dynalite' },
  snapshotExport: { name: 'snapshot-export', dockerfile: 'spark/Dockerfile', target: 'snapshot-export' },
} as const;

export type ProjectImage = keyof typeof PROJECT_IMAGES;

export interface ImageOptions {
  /** @default 'clinical-ingest' (IMAGE_REGISTRY at `make synth` and `make kind-up`) */
  readonly registry?: string | undefined;
  /** @default 'dev' (IMAGE_TAG) */
  readonly tag?: string | undefined;
}

export function projectImage(image: ProjectImage, opts: ImageOptions = {}): string {
  const registry = opts.registry ?? 'clinical-ingest';
  const tag = opts.tag ?? 'dev';
  return `${registry}/${PROJECT_IMAGES[image].name}:${tag}`;
}

/** Upstream images the charts run directly (the operators bring their own). */
export const UPSTREAM_IMAGES = {
  /** CloudNativePG 1.30.0's default PostgreSQL 18 image (lz4 and commit timestamps built in). */
  postgres: 'ghcr.io/cloudnative-pg/postgresql:18.4-system-trixie',
  /** Redis 7.2: the last BSD-licensed line, what the local platform runs (Debian's redis-server 7). */
  redis: 'redis:7.2-alpine',
} as const;

/**
 * The snapshot export job (docs/architecture.md §7; spark/snapshot_export.py, built by spark/Dockerfile):
 * its image and files, in one place. The SparkApplications (the template, and those the operator
 * creates for Snapshot resources) reference these names.
 */
export const SPARK_EXPORT = {
  /** spark/Dockerfile (PROJECT_IMAGES.snapshotExport): apache/spark (Spark 4, Python 3), user 185. */
  image: 'clinical-ingest/snapshot-export:dev',
  sparkVersion: '4.0.1',
  /** Inside the image. */
  mainApplicationFile: 'local:///opt/clinical-ingest/spark/snapshot_export.py',
  /** The PostgreSQL JDBC driver, inside the image. */
  jdbcJar: 'local:///opt/clinical-ingest/spark/jars/postgresql.jar',
  /** The uid of apache/spark images. */
  uid: 185,
} as const;

/**
 * What `make kind-up` builds (cdk8s/scripts/kind-up.sh reads `node cdk8s/dist/images.js`): one
 * `<dockerfile> <target> <image>` line per project image.
 */
export function buildList(opts: ImageOptions = {}): string[] {
  return (Object.keys(PROJECT_IMAGES) as ProjectImage[]).map((key) => {
    const { dockerfile, target } = PROJECT_IMAGES[key];
    return `${dockerfile} ${target} ${projectImage(key, opts)}`;
  });
}

function main(): void {
  // The edge: the environment is read here, and nowhere in the library above.
  for (const line of buildList({ registry: process.env['IMAGE_REGISTRY'] || undefined, tag: process.env['IMAGE_TAG'] || undefined }))
    process.stdout.write(`${line}\n`);
}

const script = process.argv[1];
if (script !== undefined && realpathSync(script) === realpathSync(fileURLToPath(import.meta.url))) main();
