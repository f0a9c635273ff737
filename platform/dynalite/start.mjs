#!/usr/bin/env node
// Start command of the DynamoDB-API image (platform/dynalite/Dockerfile): runs dynalite with the same
// CLI the local platform runs (scripts/platform.sh), then scripts/bootstrap.mjs, unchanged, to create
// the public table, and answers GET /ready with 200 on READY_PORT once the table exists (the pod's
// readiness probe). It exits when dynalite exits, with its code; SIGTERM/SIGINT are passed on.
//
// Environment: PORT [8000], READY_PORT [8001], DATA_DIR (LevelDB directory; in memory when unset),
// PUBLIC_TABLE [public_patients] (read by bootstrap.mjs), BOOTSTRAP_TIMEOUT_S [90].
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const port = process.env.PORT || '8000';
const readyPort = process.env.READY_PORT || '8001';
const dataDir = process.env.DATA_DIR;
const say = (line) => console.log(`dynalite-start: ${line}`);

const args = ['node_modules/dynalite/cli.js', '--host', '0.0.0.0', '--port', port, ...(dataDir ? ['--path', dataDir] : [])];
say(`node ${args.join(' ')}`);
const server = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
let stopping = false;
server.on('exit', (code, signal) => {
  say(`dynalite exited (${signal ?? code})`);
  process.exit(stopping ? 0 : (code ?? 1));
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    stopping = true;
    server.kill(sig);
  });
}

let ready = false;
createServer((req, res) => {
  const ok = ready && req.url === '/ready';
  res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ready\n' : 'not ready\n');
}).listen(Number(readyPort), '0.0.0.0');

// The table, with the local platform's own bootstrap (it waits for the endpoint to answer).
const boot = spawn(process.execPath, ['scripts/bootstrap.mjs'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, BOOTSTRAP_SKIP: 'kafka', DYNAMODB_ENDPOINT: `http://127.0.0.1:${port}` },
});
boot.on('exit', (code) => {
  if (code === 0) {
    ready = true;
    say(`ready on :${port} (readiness on :${readyPort}/ready)`);
  } else {
    say(`bootstrap failed (${code}); stopping`);
    server.kill('SIGTERM');
  }
});
