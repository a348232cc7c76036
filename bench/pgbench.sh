#!/usr/bin/env bash
# bench/pgbench.sh — SQL throughput against the anchor, in one go: starts its
# own PostgreSQL 15 (tests/pg/start.sh), `pgbench -i`, then the same
# primary-key SELECT for the same duration at the same concurrency from
#   pgbench -S -c C -j 2 -T DURATION               (select-only, simple protocol)
#   pgbench -S -c C -j 2 -T DURATION -M prepared   (named prepared statement)
#   tocsin run bench/pg_select.lua                 (C tasks, pool of C, $1 parameter)
#   [BASE run bench/pg_select.lua]                 (another tocsin binary, to compare)
# in ROUNDS interleaved rounds (the machine may be shared: each client keeps
# its best round), and prints the throughputs and Tocsin's ratio to both
# pgbench modes (target >= 1.0 x simple), with the load average seen.
# Env: TOCSIN (binary, default build/tocsin), BASE (optional second binary),
#      C (16), DURATION (10), SCALE (1), ROUNDS (3), STATEMENT_CACHE (sql.open's
#      statement_cache for tocsin: a number, or "false").
set -u
cd "$(dirname "$0")/.." || exit 1
TOCSIN=${TOCSIN:-build/tocsin}
BASE=${BASE:-}
C=${C:-16}
DURATION=${DURATION:-10}
SCALE=${SCALE:-1}
ROUNDS=${ROUNDS:-3}
[ -x "$TOCSIN" ] || { echo "no tocsin binary at $TOCSIN (set TOCSIN=)"; exit 2; }
TOCSIN=$(readlink -f "$TOCSIN")
if [ -n "$BASE" ]; then
  [ -x "$BASE" ] || { echo "no tocsin binary at $BASE (BASE=)"; exit 2; }
  BASE=$(readlink -f "$BASE")
fi
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

# run_pgbench MODE -> tps on stdout
run_pgbench() {
  pgb -S -c "$C" -j 2 -T "$DURATION" -M "$1" >"$work/pgbench.out" 2>&1 || { cat "$work/pgbench.out" >&2; return 1; }
  sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$work/pgbench.out"
}
# run_tocsin BINARY -> tps on stdout
run_tocsin() {
  # From $work: the run's state store (.tocsin/state.db, every call is
  # recorded) starts empty there and stays out of the source tree.
  (cd "$work" && PGBENCH_DSN="$PGTEST_DSN" C=$C DURATION=$DURATION ACCOUNTS=$((100000 * SCALE)) \
    STATEMENT_CACHE="${STATEMENT_CACHE:-}" "$1" run "$SRC/bench/pg_select.lua" --yes) >"$work/tocsin.out" 2>&1 ||
    { cat "$work/tocsin.out" >&2; return 1; }
  sed -n 's/^tocsin_tps \([0-9.]*\).*/\1/p' "$work/tocsin.out"
}
best() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 > b + 0 ? a : b) }'; }

simple=0 prepared=0 tn=0 base=0
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
  s=$(run_pgbench simple) && [ -n "$s" ] || exit 1
  t=$(run_tocsin "$TOCSIN") && [ -n "$t" ] || exit 1
  p=$(run_pgbench prepared) && [ -n "$p" ] || exit 1
  line="round $r: pgbench simple $s, tocsin $t, pgbench prepared $p"
  if [ -n "$BASE" ]; then
    b=$(run_tocsin "$BASE") && [ -n "$b" ] || exit 1
    line="$line, base $b"
    base=$(best "$base" "$b")
  fi
  echo "$line (load $(cut -d' ' -f1 /proc/loadavg))"
  simple=$(best "$simple" "$s") prepared=$(best "$prepared" "$p") tn=$(best "$tn" "$t")
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo
echo "best of $ROUNDS rounds, ${DURATION}s each:"
printf '%-40s %10.0f tps\n' "pgbench -S -c $C -j 2 (simple)" "$simple"
printf '%-40s %10.0f tps\n' "pgbench -S -c $C -j 2 -M prepared" "$prepared"
printf '%-40s %10.0f tps\n' "tocsin ($C tasks, pool $C)" "$tn"
[ -n "$BASE" ] && printf '%-40s %10.0f tps\n' "base tocsin ($BASE)" "$base"
awk -v a="$tn" -v b="$simple" 'BEGIN { r = a / b; printf "ratio tocsin/pgbench -S: %.2f (target >= 1.00) %s\n", r, (r >= 1.0 ? "OK" : "BELOW TARGET") }'
awk -v a="$tn" -v b="$prepared" 'BEGIN { printf "ratio tocsin/pgbench -S -M prepared: %.2f\n", a / b }'
[ -n "$BASE" ] && awk -v a="$tn" -v b="$base" 'BEGIN { printf "ratio tocsin/base: %.2f\n", a / b }'
exit 0
