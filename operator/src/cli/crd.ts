#!/usr/bin/env node
// Prints the IngestPipeline CRD as JSON (kubectl apply -f - reads it).
import { ingestPipelineCrd } from '../api/crd.js';

process.stdout.write(JSON.stringify(ingestPipelineCrd(), null, 2) + '\n');
