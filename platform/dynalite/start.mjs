#!/usr/bin/env node
// Start command of the DynamoDB-API image (platform/dynalite/Dockerfile): runs dynalite with the same
// CLI the local platform runs (scripts/platform.sh), on 127.0.0.1 only, and in front of it, on PORT,
// the authorizer (authorizer.mjs: SigV4-verified keys, the consumers write, the validation reads);
// then scripts/bootstrap.mjs, unchanged, to create the public table (directly on dynalite), and
// answers GET /ready with 200 on READY_PORT once the table exists (the pod's readiness probe). It
// exits when dynalite or the authorizer exits, with its code; SIGTERM/SIGINT are passed on.
//
// Environment: PORT [8000], DYNALITE_PORT [8002] (localhost only), READY_PORT [8001], DATA_DIR
// (LevelDB directory; in memory when unset), PUBLIC_TABLE [public_patients] (read by
// bootstrap.mjs), BOOTSTRAP_TIMEOUT_S [90], and the authorizer's PUBLIC_STORE_WRITER_KEY_ID,
// PUBLIC_STORE_WRITER_SECRET, PUBLIC_STORE_READER_KEY_ID, PUBLIC_STORE_READER_SECRET (required).
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const port = process.env.PORT || '8000';
const dynalitePort = process.env.DYNALITE_PORT || '8002';
const readyPort = process.env.READY_PORT || '8001';
const dataDir = process.env.DATA_DIR;
const say = (line) => console.log(`dynalite-start: ${line}`);

for (const role of ['WRITER', 'READER']) {
  if (!process.env[`PUBLIC_STORE_${role}_KEY_ID`] || !process.env[`PUBLIC_STORE_${role}_SECRET`]) {
    say(`PUBLIC_STORE_${role}_KEY_ID and PUBLIC_STORE_${role}_SECRET are required: without them anyone could write the store`);
    process.exit(2);
  }
}
const args = ['node_modules/dynalite/cli.js', '--host', '127.0.0.1', '--port', dynalitePort, ...(dataDir ? ['--path', dataDir] : [])];
say(`node ${args.join(' ')}`);
const server = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
const front = spawn(process.execPath, ['platform/dynalite/authorizer.mjs'], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, PORT: port, HOST: '0.0.0.0', UPSTREAM_PORT: dynalitePort },
});
let stopping = false;
for (const [name, child] of [
  ['dynalite', server],
  ['the authorizer', front],
]) {
  child.on('exit', (code, signal) => {
    say(`${name} exited (${signal ?? code})`);
    for (const other of [server, front]) if (other !== child) other.kill('SIGTERM');
    process.exit(stopping ? 0 : (code ?? 1));
  });
}
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => {
    stopping = true;
    server.kill(sig);
    front.kill(sig);
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
  env: { ...process.env, BOOTSTRAP_SKIP: 'kafka', DYNAMODB_ENDPOINT: `http://127.0.0.1:${dynalitePort}` },
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
