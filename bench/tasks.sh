#!/usr/bin/env bash
# Scheduler scaling: spawn + wait of 1k/10k/100k tasks, time per task.
# usage: bench/tasks.sh [TOCSIN [OTHER_TOCSIN]] — a second binary (e.g. the
# previous commit's) runs the same script in the same run, for a side by side.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
for bin in "${1:-$here/../build/tocsin}" ${2:+"$2"}; do
  echo "== $bin"
  "$bin" run "$here/tasks.lua"
done
