#!/usr/bin/env bash
# bench/http_sweep.sh — HTTP client throughput as concurrency grows: 64, 256,
# 1,000 and 5,000 concurrent tasks (bench/http_get.lua, plain http.get, no
# JSON decode) against one nginx, beside the raw libcurl client
# (bench/curl_raw.c, both of its loops, the same GETs with the same number of
# transfers in flight).  For each: req/s, connections nginx accepted for the
# run (warm-up included), failed requests; then Tocsin's ratio to its own
# C=64 figure (target at 1,000: >= 0.60) and to the best raw loop.
# Env: TOCSIN (default build/tocsin), N (requests per run, default 50000),
#      CS (default "64 256 1000 5000"), ROUNDS (default 2: all runs
#      interleaved, each one's best counts, because the machine is shared),
#      RAW (default 1; 0 skips the raw client).
set -u
cd "$(dirname "$0")/.." || exit 1
TOCSIN=${TOCSIN:-build/tocsin}
N=${N:-50000}
CS=${CS:-64 256 1000 5000}
ROUNDS=${ROUNDS:-2}
RAW=${RAW:-1}
[ -x "$TOCSIN" ] || { echo "no tocsin binary at $TOCSIN (set TOCSIN=)"; exit 2; }
TOCSIN=$(readlink -f "$TOCSIN")
. bench/http_lib.bash
start_nginx
build_curl_raw

# run_tocsin C -> "req/s connects failed"
run_tocsin() {
  local a0 a1 out rate failed
  a0=$(nginx_accepts)
  out=$(BENCH_URL=$url BENCH_N=$N BENCH_C=$1 BENCH_JSON=0 "$TOCSIN" run bench/http_get.lua 2>&1)
  a1=$(nginx_accepts)
  rate=$(echo "$out" | sed -n 's/^tocsin: .*= \([0-9]*\) req\/s.*/\1/p' | head -1)
  failed=$(echo "$out" | sed -n 's/^tocsin: .*(\([0-9]*\) failed).*/\1/p' | head -1)
  if [ -z "$rate" ]; then
    echo "tocsin run failed at C=$1: $(echo "$out" | tail -3)" >&2
    rate=0 failed=$N
  elif [ "$failed" != 0 ]; then
    echo "tocsin at C=$1: $(echo "$out" | grep -m1 '^error')" >&2
  fi
  echo "$rate $((a1 - a0)) $failed"
}

# run_raw MODE C -> "req/s connects failed"
run_raw() {
  local a0 a1 out
  a0=$(nginx_accepts)
  out=$("$curl_raw" "$1" "$url" "$N" "$2" 2>&1)
  a1=$(nginx_accepts)
  echo "$out" | awk -v c=$((a1 - a0)) '/^curl_raw/ {
    for (i = 1; i <= NF; i++) { if ($i == "req/s,") r = $(i-1); if ($i == "failed,") f = $(i-1) }
    printf "%d %d %d", r, c, f; found = 1 }
    END { if (!found) print "0 " c " -1" }'
}

echo "== load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores; ulimit -n $(ulimit -n)"
echo "== HTTP GET sweep against nginx (1 worker), N=$N per run, best of $ROUNDS interleaved rounds"
declare -A best conns fails
for round in $(seq "$ROUNDS"); do
  for c in $CS; do
    clients="tocsin"
    [ "$RAW" = 1 ] && clients="tocsin poll uv"
    for who in $clients; do
      if [ "$who" = tocsin ]; then r=$(run_tocsin "$c"); else r=$(run_raw "$who" "$c"); fi
      read -r rate conn failed <<<"$r"
      printf '  round %d C=%-5d %-7s %7s req/s %7s connects %5s failed\n' "$round" "$c" "$who" "$rate" "$conn" "$failed"
      k="$who/$c"
      if [ "$rate" -ge "${best[$k]:-0}" ]; then best[$k]=$rate conns[$k]=$conn; fi
      fails[$k]=$((${fails[$k]:-0} + failed))
    done
  done
done

echo "best of $ROUNDS rounds (connects: of the best run; failed: all rounds):"
printf '  %-6s %10s %9s %7s %11s %11s %12s\n' C "tocsin/s" connects failed "raw best/s" "vs C=64" "vs raw"
base=${best[tocsin/64]:-0}
for c in $CS; do
  raw=$(max "${best[poll/$c]:-0}" "${best[uv/$c]:-0}")
  printf '  %-6s %10s %9s %7s %11s %11s %12s\n' "$c" "${best[tocsin/$c]}" "${conns[tocsin/$c]}" \
    "${fails[tocsin/$c]}" "$raw" "$(ratio "${best[tocsin/$c]}" "$base")" "$(ratio "${best[tocsin/$c]}" "$raw")"
done
echo "  targets: C=1000 >= 0.60 x C=64; C=5000 with 0 failed; vs raw >= 0.90 (bench/http.sh, C=64)"
if [ "$RAW" = 1 ]; then
  echo "  raw libcurl per loop (req/s, connects):"
  for c in $CS; do
    printf '    C=%-5s poll %7s %6s   uv %7s %6s\n' "$c" "${best[poll/$c]}" "${conns[poll/$c]}" \
      "${best[uv/$c]}" "${conns[uv/$c]}"
  done
fi
