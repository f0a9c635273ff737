/**
 * The in-cluster load test: one Job that runs the seed's validation (`intake-loadgen validate`:
 * produce N fresh records, wait for the public store, check both stores). Its report is the pod's
 * log and its verdict the exit code (0 PASS, 1 FAIL); it never retries.
 */
import { DATABASE_CA_DIR } from '@clinical-ingest/operator';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { appLabels, selector } from './labels.js';
import { quantities, restrictedPodSpec, TMP_MOUNT, TMP_VOLUME } from './workload.js';

/** The loadgen CLI, as the image runs it (`node loadgen/dist/cli.js`). */
export const LOADGEN_COMMAND = ['node', 'loadgen/dist/cli.js'] as const;

export interface LoadTestJobProps {
  /** @default 'intake-loadtest' */
  readonly name?: string;
  readonly image: string;
  /** Records to produce and check. */
  readonly count: number;
  /** Seconds to wait for the public store. */
  readonly waitSeconds: number;
  /** The validation's environment (loadgen/src/validate/command.ts), secrets as references. */
  readonly env: readonly k8s.EnvVar[];
  /** The database server's CA (a key of a Secret), mounted where the URL's sslrootcert names it. */
  readonly databaseCa: { readonly name: string; readonly key: string };
}

export class LoadTestJob extends Construct {
  readonly name: string;
  readonly podLabels: Record<string, string>;
  /** Where the JSON report is written inside the pod (the log carries the readable one). */
  static readonly REPORT_FILE = '/tmp/validate-report.json';

  constructor(scope: Construct, id: string, props: LoadTestJobProps) {
    super(scope, id);
    this.name = props.name ?? 'intake-loadtest';
    this.podLabels = selector(this.name);
    const labels = appLabels(this.name, 'loadtest');

    new k8s.KubeServiceAccount(this, 'sa', { metadata: { name: this.name, labels }, automountServiceAccountToken: false });
    new k8s.KubeJob(this, 'job', {
      metadata: { name: this.name, labels },
      spec: {
        backoffLimit: 0,
        // Produce, wait, check, with margin; then the Job fails rather than hang.
        activeDeadlineSeconds: props.waitSeconds + 900,
        ttlSecondsAfterFinished: 86_400,
        template: {
          metadata: { labels },
          spec: restrictedPodSpec({
            serviceAccountName: this.name,
            restartPolicy: 'Never',
            containers: [
              {
                name: 'validate',
                image: props.image,
                command: [...LOADGEN_COMMAND],
                args: ['validate', '--count', String(props.count), '--wait-seconds', String(props.waitSeconds), '--report', LoadTestJob.REPORT_FILE],
                env: [...props.env],
                resources: quantities({ requests: { cpu: '1', memory: '1Gi' }, limits: { memory: '2Gi' } }),
                volumeMounts: [TMP_MOUNT, { name: 'database-ca', mountPath: DATABASE_CA_DIR, readOnly: true }],
              },
            ],
            volumes: [
              TMP_VOLUME,
              {
                name: 'database-ca',
                secret: { secretName: props.databaseCa.name, items: [{ key: props.databaseCa.key, path: 'ca.crt' }], defaultMode: 0o444 },
              },
            ],
          }),
        },
      },
    });
  }
}
