#!/usr/bin/env node
// Build step of the DynamoDB-API image: after `npm ci` (the install CI runs), copies into OUT_DIR
// what the image runs and nothing else: dynalite, the packages its files import (bootstrap.mjs, the
// authorizer), their production dependencies (at the versions package-lock.json pins), and those
// files. `--list` prints the package directories instead of copying.
//
//   node platform/dynalite/bundle.mjs OUT_DIR | --list
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const FILES = ['scripts/bootstrap.mjs', 'platform/dynalite/start.mjs', 'platform/dynalite/authorizer.mjs'];

/** Bare module specifiers a file imports (`import … from 'x'`), without node: built-ins. */
export function bareImports(source) {
  const specs = [...source.matchAll(/^\s*import\s[^'"]*?from\s*['"]([^'"]+)['"]/gm)].map((m) => m[1]);
  return [...new Set(specs.filter((s) => !s.startsWith('.') && !s.startsWith('/') && !s.startsWith('node:')))];
}

/** The packages the image needs: dynalite and what its files import, with their dependency closures. */
export function closure() {
  const roots = [...new Set(['dynalite', ...FILES.flatMap((f) => bareImports(readFileSync(join(root, f), 'utf8')))])];
  const selector = roots.flatMap((r) => [`#${r}`, `#${r} *`]).join(', ');
  const found = JSON.parse(execFileSync('npm', ['query', selector], { cwd: root, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }));
  const missing = roots.filter((r) => !found.some((p) => p.name === r));
  if (missing.length > 0) throw new Error(`not installed (run npm ci first): ${missing.join(', ')}`);
  return { roots, locations: [...new Set(found.map((p) => p.location))].sort() };
}

function main() {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: bundle.mjs OUT_DIR | --list');
    process.exit(2);
  }
  const { roots, locations } = closure();
  if (out === '--list') {
    for (const l of locations) console.log(l);
    return;
  }
  for (const l of [...locations, ...FILES]) {
    mkdirSync(dirname(join(out, l)), { recursive: true });
    cpSync(join(root, l), join(out, l), { recursive: true, verbatimSymlinks: true });
  }
  console.log(`bundle: ${roots.join(', ')}: ${locations.length} packages and ${FILES.length} files in ${out}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
