#!/usr/bin/env bash
# bench/http.sh — HTTP client throughput against the anchors, in one go:
# starts its own nginx (1 worker, keep-alive, a small static JSON file on a
# loopback port), then the same URL, the same N requests, 64 connections:
#   wrk (-t1 -c64), curl --parallel --parallel-max 64, Node.js
#   (bench/http_client.js: keep-alive agent, maxSockets 64, JSON.parse of each
#   body), Tocsin (bench/http_get.lua: 64 tasks, http.get + res:json()).
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

work=$(mktemp -d)
nginx_pid=
cleanup() {
  [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && wait "$nginx_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$work/www" "$work/tmp"
chmod 755 "$work" "$work/www" # nginx workers run as nobody when started by root
printf '{"status":"ok","service":"etp-express-backend","database":"up","uptime":12345,"checks":[{"name":"db","ok":true},{"name":"openai","ok":true}]}\n' >"$work/www/health.json"
cat >"$work/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  default_type application/json;
  keepalive_requests 10000000;
  keepalive_timeout 60s;
  client_body_temp_path $work/tmp/body;
  proxy_temp_path $work/tmp/proxy;
  fastcgi_temp_path $work/tmp/fastcgi;
  uwsgi_temp_path $work/tmp/uwsgi;
  scgi_temp_path $work/tmp/scgi;
  server {
    listen 127.0.0.1:$port;
    root $work/www;
    location / { }
  }
}
EOF
/usr/sbin/nginx -c "$work/nginx.conf" -p "$work" 2>"$work/nginx.stderr" &
nginx_pid=$!
url="http://127.0.0.1:$port/health.json"
for _ in $(seq 100); do curl -sf -o /dev/null "$url" && break; sleep 0.05; done
curl -sf -o /dev/null "$url" || { echo "nginx did not start"; tail -5 "$work/nginx.stderr" "$work/error.log"; exit 1; }

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
run_tocsin() {
  local out
  out=$(BENCH_URL=$url BENCH_N=$N BENCH_C=$C "$TOCSIN" run bench/http_get.lua 2>&1)
  if ! echo "$out" | grep -q "(0 failed)"; then
    echo "tocsin run failed: $out" >&2
    echo 0
    return
  fi
  echo "$out" | sed -n 's/.*tocsin: .*= \([0-9]*\) req\/s.*/\1/p' | head -1
}
max() { if [ "${1:-0}" -gt "${2:-0}" ]; then echo "$1"; else echo "${2:-0}"; fi; }
ratio() { printf '%.2f' "$(echo "$1 / $2" | bc -l)"; }

echo "== load average $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo "== HTTP GET of a $(wc -c <"$work/www/health.json")-byte JSON file from nginx (1 worker), $C connections, N=$N"
best_wrk=0 best_curl=0 best_node=0 best_toc=0
for round in $(seq "$ROUNDS"); do
  w=$(run_wrk)
  c=$(run_curl)
  n=$(run_node)
  t=$(run_tocsin)
  printf '  round %d: wrk %s, curl %s, node %s, tocsin %s req/s\n' "$round" "$w" "$c" "$n" "$t"
  best_wrk=$(max "$best_wrk" "$w")
  best_curl=$(max "$best_curl" "$c")
  best_node=$(max "$best_node" "$n")
  best_toc=$(max "$best_toc" "$t")
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
