# The shell library every script of the project sources (scripts/*.sh, cdk8s/scripts/*.sh):
# messages prefixed with the script's name, and the small checks they all need. Set SCRIPT_NAME
# first:  SCRIPT_NAME=platform; source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

say() { printf '%s: %s\n' "${SCRIPT_NAME:-clinical-ingest}" "$*"; }
warn() { printf '%s: WARNING: %s\n' "${SCRIPT_NAME:-clinical-ingest}" "$*" >&2; }
die() { printf '%s: ERROR: %s\n' "${SCRIPT_NAME:-clinical-ingest}" "$*" >&2; exit 1; }

# alive PIDFILE: the process the file names runs.
alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
