#!/usr/bin/env bash
# bench/http.sh — HTTP client throughput against the anchors, in one go:
# starts its own nginx (1 worker, keep-alive, a small static JSON file on a
# loopback port), then the same URL, the same N requests, 64 connections:
#   wrk (-t1 -c64), curl --parallel --parallel-max 64, Node.js (keep-alive
#   agent, maxSockets 64, JSON.parse of each body), Tocsin (bench/http_get.lua:
#   64 tasks, http.get + res:json()).
# Then cold start (hyperfine: `tocsin run bench/empty.lua` vs `curl -V`) and
# the RSS cost of 10,000 sleeping tasks (bench/tasks_rss.lua).
# Env: TOCSIN (binary, default build/tocsin), N (requests, default 100000),
#      C (concurrency, default 64), DURATION (wrk seconds, default 5).
set -u
cd "$(dirname "$0")/.." || exit 1
TOCSIN=${TOCSIN:-build/tocsin}
N=${N:-100000}
C=${C:-64}
DURATION=${DURATION:-5}
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
chmod 755 "$work" "$work/www"   # nginx workers run as nobody when started by root
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

echo "== HTTP GET of a $(wc -c <"$work/www/health.json")-byte JSON file from nginx (1 worker), $C connections, N=$N"

# wrk: the ceiling (no parsing, C, one thread)
wrk_rps=$(wrk -t1 -c"$C" -d"${DURATION}s" "$url" | awk '/Requests\/sec/ {print $2}')
printf '%-34s %10.0f req/s\n' "wrk -t1 -c$C" "$wrk_rps"

# curl --parallel over N URLs (one process, shared connection cache)
{
  for _ in $(seq "$N"); do printf 'url = "%s"\noutput = "/dev/null"\n' "$url"; done
} >"$work/curl.cfg"
t0=$(date +%s.%N)
curl -s --parallel --parallel-max "$C" -K "$work/curl.cfg"
t1=$(date +%s.%N)
curl_rps=$(echo "$N / ($t1 - $t0)" | bc -l)
printf '%-34s %10.0f req/s\n' "curl --parallel --parallel-max $C" "$curl_rps"

# Node.js: keep-alive agent, JSON.parse of every body
cat >"$work/client.js" <<'EOF'
const http = require('http');
const [url, n, c] = [process.argv[2], +process.argv[3], +process.argv[4]];
const agent = new http.Agent({ keepAlive: true, maxSockets: c });
function get() {
  return new Promise((resolve, reject) => {
    http.get(url, { agent }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => { JSON.parse(Buffer.concat(chunks).toString()); resolve(res.statusCode); });
    }).on('error', reject);
  });
}
async function worker(k) { for (let i = 0; i < k; i++) await get(); }
(async () => {
  await Promise.all(Array.from({ length: c }, () => get()));  // warm up the connections
  const per = Math.floor(n / c);
  const t0 = process.hrtime.bigint();
  await Promise.all(Array.from({ length: c }, () => worker(per)));
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  console.log(`node: ${per * c} requests in ${s.toFixed(3)} s = ${(per * c / s).toFixed(0)} req/s`);
  agent.destroy();
})();
EOF
node_out=$(node "$work/client.js" "$url" "$N" "$C")
node_rps=$(echo "$node_out" | sed -n 's/.*= \([0-9]*\) req\/s.*/\1/p')
printf '%-34s %10.0f req/s\n' "node http keepAlive (maxSockets $C)" "$node_rps"

# Tocsin: 64 tasks, http.get + res:json()
toc_out=$(BENCH_URL=$url BENCH_N=$N BENCH_C=$C "$TOCSIN" run bench/http_get.lua 2>&1)
toc_rps=$(echo "$toc_out" | sed -n 's/.*tocsin: .*= \([0-9]*\) req\/s.*/\1/p' | head -1)
if [ -z "$toc_rps" ]; then echo "tocsin run failed:"; echo "$toc_out"; exit 1; fi
printf '%-34s %10.0f req/s\n' "tocsin ($C tasks, get + json)" "$toc_rps"
echo "$toc_out" | grep -q "(0 failed)" || echo "  warning: $(echo "$toc_out" | grep -o '([0-9]* failed)')"
printf '%-34s %10.2f   (target >= 0.40)\n' "tocsin / wrk" "$(echo "$toc_rps / $wrk_rps" | bc -l)"
printf '%-34s %10.2f\n' "tocsin / node" "$(echo "$toc_rps / $node_rps" | bc -l)"
printf '%-34s %10.2f\n' "tocsin / curl --parallel" "$(echo "$toc_rps / $curl_rps" | bc -l)"

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
  echo "  tasks_rss run failed (rc=$rc):"; cat "$work/rss.out"
fi
