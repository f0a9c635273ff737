# The shell library every script of the project sources (scripts/*.sh, cdk8s/scripts/*.sh):
# messages prefixed with the script's name, and the small checks they all need. Set SCRIPT_NAME
# first:  SCRIPT_NAME=platform; source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

say() { printf '%s: %s\n' "${SCRIPT_NAME:-clinical-ingest}" "$*"; }
warn() { printf '%s: WARNING: %s\n' "${SCRIPT_NAME:-clinical-ingest}" "$*" >&2; }
die() { printf '%s: ERROR: %s\n' "${SCRIPT_NAME:-clinical-ingest}" "$*" >&2; exit 1; }

# alive PIDFILE: the process the file names runs.
alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

# load_ports: the local ports (platform/ports.env), each one the environment does not set already;
# exported, so that what a script starts sees the same.
load_ports() {
  local file line key value
  file="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)/platform/ports.env"
  while IFS= read -r line; do
    [[ $line =~ ^([A-Z0-9_]+)=([0-9]+)$ ]] || continue
    key="${BASH_REMATCH[1]}" value="${BASH_REMATCH[2]}"
    [[ -n ${!key:-} ]] || printf -v "$key" '%s' "$value"
    [[ ${!key} =~ ^[0-9]+$ ]] && ((${!key} > 0 && ${!key} < 65536)) || die "$key=${!key} is not a port"
    export "${key?}"
  done <"$file"
}
