#!/usr/bin/env bash
# bench/http.sh — HTTP client throughput against the anchors, in one go:
# starts its own nginx (bench/http_lib.bash: 1 worker, keep-alive, a small
# static JSON file on a loopback port), then the same URL, the same N
# requests, 64 connections:
#   wrk (-t1 -c64), curl --parallel --parallel-max 64, Node.js
#   (bench/http_client.js: keep-alive agent, maxSockets 64, JSON.parse of each
#   body), Tocsin (bench/http_get.lua: 64 tasks, http.get + res:json()),
#   and the ceiling of the dependency: the raw libcurl client
#   (bench/curl_raw.c, its multi_poll and its libuv loop) beside Tocsin doing
#   the same plain GETs (no JSON decode), with the CPU each spends per request.
# Then cold start (hyperfine: `tocsin run bench/empty.lua` vs `curl -V`) and
# the RSS cost of 10,000 sleeping tasks (bench/tasks_rss.lua).
# Env: TOCSIN (binary, default build/tocsin), N (requests, default 50000),
#      C (concurrency, default 64), DURATION (wrk seconds, default 3),
#      ROUNDS (default 3: the clients run interleaved, each one's best counts,
#      because the machine may be shared).
set -u
cd "$(dirname "$0")/.." || exit 1
TOCSIN=${TOCSIN:-build/tocsin}
N=${N:-50000}
C=${C:-64}
DURATION=${DURATION:-3}
ROUNDS=${ROUNDS:-3}
[ -x "$TOCSIN" ] || { echo "no tocsin binary at $TOCSIN (set TOCSIN=)"; exit 2; }
TOCSIN=$(readlink -f "$TOCSIN")

. bench/http_lib.bash
start_nginx
build_curl_raw
for _ in $(seq "$N"); do printf 'url = "%s"\noutput = "/dev/null"\n' "$url"; done >"$work/curl.cfg"

# One measurement of each client; each prints whole req/s (0 on failure).
run_wrk() { wrk -t1 -c"$C" -d"${DURATION}s" "$url" | awk '/Requests\/sec/ {printf "%.0f", $2}'; }
run_curl() {
  local t0 t1
  t0=$(date +%s.%N)
  # stderr dropped: with many URLs curl 7.88 shows its parallel progress meter despite -s
  curl -s --parallel --parallel-max "$C" -K "$work/curl.cfg" 2>/dev/null || { echo 0; return; }
  t1=$(date +%s.%N)
  printf '%.0f' "$(echo "$N / ($t1 - $t0)" | bc -l)"
}
run_node() { node bench/http_client.js "$url" "$N" "$C" | sed -n 's/.*= \([0-9]*\) req\/s.*/\1/p'; }
# run_tocsin [JSON]: JSON=0 for plain GETs.  Its CPU us/request goes to $work/cpu.
run_tocsin() {
  local out cpu
  cpu=$(cpu_of env BENCH_URL="$url" BENCH_N="$N" BENCH_C="$C" BENCH_JSON="${1:-1}" "$TOCSIN" run bench/http_get.lua)
  out=$(cat "$work/out" "$work/err")
  echo "$cpu" | awk -v n="$N" -v c="$C" '{printf "%.1f", $1 * 1e6 / (n + c)}' >"$work/cpu"
  if ! echo "$out" | grep -q "(0 failed)"; then
    echo "tocsin run failed: $out" >&2
    echo 0
    return
  fi
  echo "$out" | sed -n 's/.*tocsin: .*= \([0-9]*\) req\/s.*/\1/p' | head -1
}
# run_raw MODE: req/s of bench/curl_raw.c; its CPU us/request goes to $work/cpu.
run_raw() {
  local cpu
  cpu=$(cpu_of "$curl_raw" "$1" "$url" "$N" "$C") || { echo 0; return; }
  echo "$cpu" | awk -v n="$N" -v c="$C" '{printf "%.1f", $1 * 1e6 / (n + c)}' >"$work/cpu"
  sed -n 's/.*= \([0-9]*\) req\/s.*/\1/p' "$work/out"
}
# min of two decimals (CPU per request: the least counts), "" = none yet
min_f() { if [ -z "$1" ] || awk -v a="$2" -v b="$1" 'BEGIN {exit !(a < b)}'; then echo "$2"; else echo "$1"; fi; }

echo "== load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo "== HTTP GET of a $(wc -c <"$work/www/health.json")-byte JSON file from nginx (1 worker), $C connections, N=$N"
best_wrk=0 best_curl=0 best_node=0 best_toc=0 best_plain=0 best_poll=0 best_uv=0
cpu_plain= cpu_poll= cpu_uv=
for round in $(seq "$ROUNDS"); do
  w=$(run_wrk)
  c=$(run_curl)
  n=$(run_node)
  t=$(run_tocsin)
  rp=$(run_raw poll) && cp=$(cat "$work/cpu")
  p=$(run_tocsin 0) && ct=$(cat "$work/cpu")
  ru=$(run_raw uv) && cu=$(cat "$work/cpu")
  printf '  round %d: wrk %s, curl %s, node %s, tocsin %s req/s; plain GETs: raw poll %s (%s us CPU), tocsin %s (%s us), raw uv %s (%s us)\n' \
    "$round" "$w" "$c" "$n" "$t" "$rp" "$cp" "$p" "$ct" "$ru" "$cu"
  best_wrk=$(max "$best_wrk" "$w")
  best_curl=$(max "$best_curl" "$c")
  best_node=$(max "$best_node" "$n")
  best_toc=$(max "$best_toc" "$t")
  best_plain=$(max "$best_plain" "$p")
  best_poll=$(max "$best_poll" "$rp")
  best_uv=$(max "$best_uv" "$ru")
  cpu_plain=$(min_f "$cpu_plain" "$ct")
  cpu_poll=$(min_f "$cpu_poll" "$cp")
  cpu_uv=$(min_f "$cpu_uv" "$cu")
done
echo "best of $ROUNDS rounds:"
printf '  %-40s %8d req/s\n' "wrk -t1 -c$C -d${DURATION}s" "$best_wrk"
printf '  %-40s %8d req/s\n' "curl --parallel --parallel-max $C" "$best_curl"
printf '  %-40s %8d req/s\n' "node, keep-alive agent, maxSockets $C" "$best_node"
printf '  %-40s %8d req/s\n' "tocsin, $C tasks, http.get + res:json()" "$best_toc"
[ "$best_toc" -gt 0 ] || exit 1
printf '  %-40s %8s   (target >= 0.40)\n' "tocsin / wrk" "$(ratio "$best_toc" "$best_wrk")"
printf '  %-40s %8s\n' "tocsin / node" "$(ratio "$best_toc" "$best_node")"
printf '  %-40s %8s\n' "tocsin / curl --parallel" "$(ratio "$best_toc" "$best_curl")"
echo "plain GETs (no JSON decode), the ceiling of libcurl (best req/s; least CPU us per request, warm-up included):"
printf '  %-40s %8d req/s %6s us\n' "raw libcurl, multi_poll (bench/curl_raw.c)" "$best_poll" "$cpu_poll"
printf '  %-40s %8d req/s %6s us\n' "raw libcurl, multi socket on libuv" "$best_uv" "$cpu_uv"
printf '  %-40s %8d req/s %6s us\n' "tocsin, $C tasks, http.get" "$best_plain" "$cpu_plain"
best_raw=$(max "$best_poll" "$best_uv")
printf '  %-40s %8s   (target >= 0.90)\n' "tocsin / best raw libcurl loop" "$(ratio "$best_plain" "$best_raw")"

echo
echo "== cold start"
hyperfine -N --warmup 5 --runs 50 "$TOCSIN run bench/empty.lua" "curl -V" 2>&1 |
  grep -E 'Benchmark|Time \(mean|faster|±' | sed 's/^/  /'

echo
echo "== memory: 10,000 sleeping tasks"
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null; }
BENCH_TASKS=10000 "$TOCSIN" run bench/tasks_rss.lua >"$work/rss.out" 2>&1 &
tpid=$!
sleep 0.8
before=$(rss $tpid)
sleep 2.2
after=$(rss $tpid)
wait $tpid
rc=$?
if [ -n "$before" ] && [ -n "$after" ] && [ $rc -eq 0 ]; then
  printf '  VmRSS before %d KiB, with 10,000 tasks %d KiB: %.0f bytes per task\n' \
    "$before" "$after" "$(echo "($after - $before) * 1024 / 10000" | bc -l)"
else
  echo "  tasks_rss run failed (rc=$rc):"
  cat "$work/rss.out"
fi
