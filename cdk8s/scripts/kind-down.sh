#!/usr/bin/env bash
# make kind-down: deletes the kind cluster (and with it every volume). Idempotent.
SCRIPT_NAME=kind-down
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
need_kind
if "$KIND" get clusters 2>/dev/null | grep -qx "$KIND_CLUSTER"; then
  "$KIND" delete cluster --name "$KIND_CLUSTER"
else
  say "no cluster $KIND_CLUSTER"
fi
