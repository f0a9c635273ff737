#!/usr/bin/env bash
# Prints "name utime+stime(ticks)" for the platform's processes and the whole machine's busy ticks.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
for f in "$ROOT"/.local/run/*.pid; do
  n=$(basename "$f" .pid); p=$(cat "$f")
  # include children (postgres backends) for postgres: sum over the process tree
  pids=$(ps -o pid= --ppid "$p" 2>/dev/null; echo "$p")
  t=0; for q in $pids; do s=$(awk '{print $14+$15+$16+$17}' /proc/$q/stat 2>/dev/null || echo 0); t=$((t+s)); done
  echo "$n $t"
done
awk '/^cpu /{print "machine_busy", $2+$3+$4+$7+$8; print "machine_total", $2+$3+$4+$5+$6+$7+$8}' /proc/stat
