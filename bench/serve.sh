#!/usr/bin/env bash
# bench/serve.sh — the HTTP server (http.serve), not the client: wrk -t1
# -c64 against a one-route runbook (GET /api/health -> {"ok":true}); reports
# req/s and the server's CPU time per request (utime+stime of the tocsin
# process over the wrk run, steadier than req/s on a shared machine).
# Env: TOCSIN (binary, default build/tocsin), BASE (a second binary to
#      compare, run interleaved with it), DURATION (wrk seconds, default 5),
#      ROUNDS (default 3).
set -u
cd "$(dirname "$0")/.." || exit 1
TOCSIN=${TOCSIN:-build/tocsin}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-3}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install -y wrk)"; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat >"$work/serve.lua" <<'LUA'
local srv = assert(http.serve { listen = "127.0.0.1:0", routes = {
  ["GET /api/health"] = function() return { json = { ok = true } } end,
} })
print("PORT " .. srv.port)
srv:wait()
LUA

one() {
  local bin=$1 pid port t0 t1 out reqs rps
  "$bin" run "$work/serve.lua" >"$work/out" 2>&1 &
  pid=$!
  port=
  for _ in $(seq 100); do
    port=$(sed -n 's/^PORT //p' "$work/out")
    [ -n "$port" ] && break
    sleep 0.05
  done
  [ -n "$port" ] || { cat "$work/out"; kill "$pid"; return 1; }
  t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  out=$(wrk -t1 -c64 -d"${DURATION}s" "http://127.0.0.1:$port/api/health")
  t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  kill "$pid"
  wait "$pid" 2>/dev/null
  reqs=$(echo "$out" | sed -n 's/^ *\([0-9]*\) requests in.*/\1/p')
  rps=$(echo "$out" | sed -n 's/Requests\/sec: *//p')
  awk -v r="$reqs" -v a="$t0" -v b="$t1" -v t="$(getconf CLK_TCK)" -v rps="$rps" \
    'BEGIN { printf "%8.0f req/s  %5.1f us CPU/req\n", rps, (b - a) / t / r * 1e6 }'
}

for round in $(seq "$ROUNDS"); do
  if [ -n "${BASE:-}" ]; then
    printf 'round %d base: ' "$round"
    one "$BASE"
  fi
  printf 'round %d tocsin: ' "$round"
  one "$TOCSIN"
done
