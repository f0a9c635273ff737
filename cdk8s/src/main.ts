/**
 * `make synth`: every manifest of the platform, one file per chart, into dist-manifests/ (or
 * $CDK8S_OUTDIR), emptied first so that no file of an earlier synthesis is applied, and the
 * Kustomize bases in dist-manifests/kustomize/ (kustomize.ts). Settings come from the environment
 * (see settings.ts).
 */
import { rmSync } from 'node:fs';
import { App } from 'cdk8s';
import { buildPlatform } from './charts.js';
import { writeKustomizeTree } from './kustomize.js';
import { settingsFromEnvironment } from './settings.js';

const outdir = process.env['CDK8S_OUTDIR'] ?? 'dist-manifests';
rmSync(outdir, { recursive: true, force: true });
const settings = settingsFromEnvironment(process.env);
const app = new App({ outdir });
buildPlatform(app, settings);
app.synth();
// The Kustomize bases the overlays of cdk8s/kustomize/overlays/ build on.
writeKustomizeTree(outdir, settings);
