import { App } from 'cdk8s';
import { PlatformNamespace } from './namespace.js';

const app = new App({ outdir: process.env['CDK8S_OUTDIR'] ?? 'dist-manifests' });
new PlatformNamespace(app, 'namespace');
app.synth();
