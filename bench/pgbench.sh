#!/usr/bin/env bash
# bench/pgbench.sh — SQL throughput against the anchor, in one go: starts its
# own PostgreSQL 15 (tests/pg/start.sh), `pgbench -i`, then the same
# primary-key SELECT for the same duration at the same concurrency from
#   pgbench -S -c C -j 2 -T DURATION   (select-only, simple protocol)
#   tocsin run bench/pg_select.lua     (C tasks, pool of C, $1 parameter)
# and prints both throughputs and Tocsin's ratio (target >= 0.70).
# Env: TOCSIN (binary, default build/tocsin), C (16), DURATION (10), SCALE (1).
set -u
cd "$(dirname "$0")/.." || exit 1
TOCSIN=${TOCSIN:-build/tocsin}
C=${C:-16}
DURATION=${DURATION:-10}
SCALE=${SCALE:-1}
[ -x "$TOCSIN" ] || { echo "no tocsin binary at $TOCSIN (set TOCSIN=)"; exit 2; }
TOCSIN=$(readlink -f "$TOCSIN")
SRC=$(pwd)

work=$(mktemp -d)
export BUILD="$work"
cleanup() { bash "$SRC/tests/pg/stop.sh" >/dev/null 2>&1; rm -rf "$work"; }
trap cleanup EXIT
bash tests/pg/start.sh >"$work/start.log" 2>&1 || { cat "$work/start.log"; exit 1; }
. "$work/pg.env"

export PGPASSWORD="$PGTEST_PASSWORD"
pgb() { "$PGTEST_BIN/pgbench" -h 127.0.0.1 -p "$PGTEST_PORT" -U tocsin "$@" tocsin; }
echo "pgbench -i -s $SCALE ..."
pgb -i -q -s "$SCALE" >"$work/init.log" 2>&1 || { cat "$work/init.log"; exit 1; }

echo "pgbench -S -c $C -j 2 -T $DURATION (simple protocol) ..."
pgb -S -c "$C" -j 2 -T "$DURATION" -M simple >"$work/pgbench.out" 2>&1 || { cat "$work/pgbench.out"; exit 1; }
pg_tps=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$work/pgbench.out")
[ -n "$pg_tps" ] || { cat "$work/pgbench.out"; exit 1; }

echo "tocsin run bench/pg_select.lua ($C tasks, pool of $C, ${DURATION}s) ..."
PGBENCH_DSN="$PGTEST_DSN" C=$C DURATION=$DURATION ACCOUNTS=$((100000 * SCALE)) \
  "$TOCSIN" run bench/pg_select.lua --yes >"$work/tocsin.out" 2>&1 || { cat "$work/tocsin.out"; exit 1; }
tn_tps=$(sed -n 's/^tocsin_tps \([0-9.]*\).*/\1/p' "$work/tocsin.out")
[ -n "$tn_tps" ] || { cat "$work/tocsin.out"; exit 1; }

echo
printf '%-34s %10.0f tps\n' "pgbench -S -c $C -j 2 (simple)" "$pg_tps"
printf '%-34s %10.0f tps\n' "tocsin ($C tasks, pool $C)" "$tn_tps"
awk -v a="$tn_tps" -v b="$pg_tps" 'BEGIN { r = a / b; printf "ratio tocsin/pgbench: %.2f (target >= 0.70) %s\n", r, (r >= 0.70 ? "OK" : "BELOW TARGET") }'
