#!/usr/bin/env bash
# bench/store.sh — the state store's write path against the sqlite3 CLI, in
# the same run, on the same disk, both WAL with synchronous=FULL:
#   sqlite3: N rows, one transaction each (what a naive recorder does);
#   tocsin:  N transcript rows from one run (bench/store_write.lua), through
#            the writer thread's group commits, timed to the end of the
#            process (the flush included); then 1,000 rows/s for 3 s while a
#            1 ms ticker measures the event loop's longest stall; then
#            timeline entries (inc:note from 64 tasks), each durable before
#            its call returns.
# Env: TOCSIN (default build/tocsin), N (default 20000).
set -eu
cd "$(dirname "$0")/.."
TOCSIN=$(readlink -f "${TOCSIN:-build/tocsin}")
N=${N:-20000}
command -v sqlite3 >/dev/null || { echo "needs the sqlite3 CLI (apt-get install sqlite3)"; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

{
  echo "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
  echo "CREATE TABLE entries(id INTEGER PRIMARY KEY, run_id TEXT, kind TEXT, text TEXT, ts REAL);"
  for i in $(seq "$N"); do
    echo "BEGIN; INSERT INTO entries(run_id, kind, text, ts) VALUES ('run-1', 'log', 'debug entry i=$i', 1.0); COMMIT;"
  done
} >"$work/ins.sql"
s0=$(date +%s.%N)
sqlite3 "$work/cli.db" <"$work/ins.sql" >/dev/null
s1=$(date +%s.%N)
cli=$(echo "$N / ($s1 - $s0)" | bc -l)

printf 'return { state = "sqlite:%s/t.db" }\n' "$work" >"$work/tocsin.lua"
t0=$(date +%s.%N)
"$TOCSIN" run bench/store_write.lua --config "$work/tocsin.lua" --set n="$N" --set secs=3 >"$work/out" 2>&1
t1=$(date +%s.%N)
cat "$work/out" | grep -v '^✓'
rows=$(sqlite3 "$work/t.db" "SELECT count(*) FROM entries")
# Phase 1 alone: N rows; the process also spent ~3 s in phase 2 (paced).
tocsin_total=$(echo "$t1 - $t0" | bc -l)
printf '  sqlite3 CLI, one transaction per row      %8.0f rows/s\n' "$cli"
printf '  tocsin, %d rows stored in %.2f s (both phases, flush included)\n' "$rows" "$tocsin_total"
dn3=$(sed -n 's/.*committed in \([0-9.]*\) s.*/\1/p' "$work/out")
printf '  tocsin phase 1 throughput (N rows / (total - 3 s paced - phase 3))  %8.0f rows/s\n' \
  "$(echo "$N / ($tocsin_total - 3 - ${dn3:-0})" | bc -l)"
tl=$(sed -n 's/.*s (\([0-9]*\) entries\/s.*/\1/p' "$work/out")
[ -n "$tl" ] && printf '  tocsin timeline entries, durable per call    %8.0f entries/s (%.0fx the sqlite3 CLI)\n' \
  "$tl" "$(echo "$tl / $cli" | bc -l)"
