#!/usr/bin/env bash
# bench/daemon.sh — `tocsin daemon` idle and under alerts, against references
# in the same run:
#   idle: RSS and CPU over IDLE seconds (default 60) of a daemon with the
#         playbook's runbooks loaded (scripts/runbooks) and its API and clock
#         running, next to an idle nginx (master + 1 worker) and an idle
#         Node.js HTTP server;
#   intake: wrk posting Alertmanager v4 bodies, each a new alert (unique
#         instance label, no cooldown): alerts/s accepted, against wrk on
#         GET /healthz of the same daemon; then a Node.js client sending
#         RATE alerts/s for 5 s, each stamped with its send time, and the
#         runbook's first step logging now - sent: p50/p99 from request to
#         the runbook's first step.
# Env: TOCSIN (default build/tocsin), IDLE (60), RATE (200).
set -eu
cd "$(dirname "$0")/.."
ROOT=$PWD
TOCSIN=$(readlink -f "${TOCSIN:-build/tocsin}")
IDLE=${IDLE:-60}
RATE=${RATE:-200}
work=$(mktemp -d)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$work"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)

port=$(free_port)
mkdir -p "$work/runbooks"
books="$ROOT/scripts/runbooks"
[ -d "$books" ] && [ -n "$(ls "$books"/*.lua 2>/dev/null)" ] || books="$work/runbooks"
cat >"$work/runbooks/bench_alert.lua" <<'LUA'
return { name = "bench_alert", run = function(ctx)
  step("first", function()
    local sent = tonumber(ctx.alert.annotations.sent)
    if sent then log.info("latency", { ms = (time.now() - sent) * 1000 }) end
  end)
end }
LUA
cat >"$work/runbooks/bench_http.lua" <<'LUA'
return { name = "bench_http", run = function(ctx)
  local r = http.get(ctx.params.url)
  log.info("bench_http " .. tostring(r and r.status))
end }
LUA
cat >"$work/tocsin.lua" <<LUA
return {
  state = "sqlite:$work/state.db",
  runbooks = { "$books", "$work/runbooks" },
  listen = "127.0.0.1:$port",
  api_token = "bench",
  alerts = { { match = { alertname = "BenchAlert" }, runbook = "bench_alert", cooldown = false } },
}
LUA
"$TOCSIN" daemon --config "$work/tocsin.lua" 2>"$work/daemon.log" &
dpid=$!
pids+=($dpid)
for _ in $(seq 100); do curl -s "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.05; done
nbooks=$(curl -s "http://127.0.0.1:$port/healthz" | sed 's/.*"runbooks":\([0-9]*\).*/\1/')

# References: nginx (master + worker) and Node.js, idle.
nport=$(free_port)
mkdir -p "$work/nginx/logs"
cat >"$work/nginx/nginx.conf" <<NGX
worker_processes 1; daemon off; pid $work/nginx/nginx.pid; error_log $work/nginx/logs/error.log;
events { worker_connections 64; }
http { access_log off; server { listen 127.0.0.1:$nport; location / { return 200 "ok"; } } }
NGX
nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" &
npid=$!
pids+=($npid)
node -e 'require("http").createServer((q, r) => r.end("ok")).listen(0, "127.0.0.1")' &
jpid=$!
pids+=($jpid)
sleep 1
nworker=$(pgrep -P "$npid" | head -1)
c0=$(cpu_ticks $dpid); n0=$(cpu_ticks $jpid)
sleep "$IDLE"
c1=$(cpu_ticks $dpid); n1=$(cpu_ticks $jpid)
echo "idle for ${IDLE}s, $nbooks runbooks loaded:"
printf '  tocsin daemon        RSS %6d kB  CPU %5.2f s (%.3f%%)\n' "$(rss_kb $dpid)" \
  "$(echo "($c1 - $c0) / $hz" | bc -l)" "$(echo "($c1 - $c0) / $hz / $IDLE * 100" | bc -l)"
printf '  tocsin daemon        PSS %6d kB  (its share of the shared libraries)\n' \
  "$(awk '/^Pss:/ {print $2}' "/proc/$dpid/smaps_rollup")"
# libcurl (and GnuTLS, Kerberos... under it) is loaded by the first HTTP call.
curl -s -X POST -H "Authorization: Bearer bench" -d "{\"runbook\":\"bench_http\",\"params\":{\"url\":\"http://127.0.0.1:$nport/\"}}" \
  "http://127.0.0.1:$port/runs" >/dev/null
for _ in $(seq 100); do grep -q '"bench_http 200"' "$work/daemon.log" && break; sleep 0.05; done
printf '  after one HTTP run   RSS %6d kB  (libcurl and its libraries loaded)\n' "$(rss_kb $dpid)"
printf '  nginx master+worker  RSS %6d kB\n' "$(( $(rss_kb $npid) + $(rss_kb "$nworker") ))"
printf '  node http server     RSS %6d kB  CPU %5.2f s\n' "$(rss_kb $jpid)" "$(echo "($n1 - $n0) / $hz" | bc -l)"

# Intake throughput: wrk, every body a new alert.
cat >"$work/alerts.lua" <<'LUA'
local n = 0
wrk.method = "POST"
wrk.headers["Authorization"] = "Bearer bench"
wrk.headers["Content-Type"] = "application/json"
request = function()
  n = n + 1
  local body = '{"version":"4","status":"firing","receiver":"t","alerts":[{"status":"firing",' ..
    '"labels":{"alertname":"BenchAlert","instance":"' .. tostring(math.random(1, 1e9)) .. '-' .. n ..
    '"},"annotations":{},"startsAt":"2026-01-01T00:00:00Z"}]}'
  return wrk.format(nil, "/hooks/alertmanager", nil, body)
end
LUA
echo "alert intake (wrk, 4 connections, 5 s):"
wrk -t1 -c4 -d5s "http://127.0.0.1:$port/healthz" | awk '/Requests\/sec/ {printf "  GET /healthz           %8.0f req/s\n", $2}'
wrk -t1 -c4 -d5s -s "$work/alerts.lua" "http://127.0.0.1:$port" | awk '/Requests\/sec/ {printf "  POST /hooks (1 alert) %8.0f alerts/s\n", $2}'
sleep 2

# Latency from request to the runbook's first step, at RATE alerts/s.
: >"$work/daemon.log.mark"
before=$(grep -c '"msg":"latency"' "$work/daemon.log" || true)
node - "$port" "$RATE" <<'JS'
const http = require("http");
const [port, rate] = [Number(process.argv[2]), Number(process.argv[3])];
const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
let i = 0;
const t = setInterval(() => {
  const body = JSON.stringify({ version: "4", status: "firing", receiver: "t", alerts: [{
    status: "firing", labels: { alertname: "BenchAlert", instance: "lat-" + (i++) },
    annotations: { sent: String(Date.now() / 1000) } }] });
  const req = http.request({ port, host: "127.0.0.1", method: "POST", path: "/hooks/alertmanager", agent,
    headers: { "Authorization": "Bearer bench", "Content-Type": "application/json",
               "Content-Length": Buffer.byteLength(body) } }, (res) => res.resume());
  req.end(body);
}, 1000 / rate);
setTimeout(() => { clearInterval(t); setTimeout(() => process.exit(0), 1000); }, 5000);
JS
sleep 1
grep '"msg":"latency"' "$work/daemon.log" | tail -n +"$((before + 1))" |
  sed 's/.*"ms":\([0-9.e+-]*\).*/\1/' | sort -g >"$work/lat.txt"
n=$(wc -l <"$work/lat.txt")
p50=$(awk -v n="$n" 'NR == int(n * 0.50) + 1' "$work/lat.txt")
p99=$(awk -v n="$n" 'NR == int(n * 0.99) + 1' "$work/lat.txt")
max=$(tail -1 "$work/lat.txt")
printf '  request -> first step at %s alerts/s: %d alerts, p50 %.2f ms, p99 %.2f ms, max %.2f ms\n' \
  "$RATE" "$n" "$p50" "$p99" "$max"
printf '  daemon RSS after intake: %d kB\n' "$(rss_kb $dpid)"
