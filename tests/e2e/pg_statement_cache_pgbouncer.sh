#!/usr/bin/env bash
# Through PgBouncer in transaction mode (1.18 here: it cannot keep named
# prepared statements; each transaction may get another server connection):
# with statement_cache = false every statement works, in transactions too;
# with the default cache, statements outside transactions still succeed (a
# statement found gone is retried unnamed) and the pool soon turns its cache
# off by itself, after which transactions work too.
set -u
: "${TOCSIN:?}" "${BUILD:?}"
[ -f "$BUILD/pg.env" ] || { echo "no $BUILD/pg.env: run tests/pg/start.sh"; exit 1; }
. "$BUILD/pg.env"
PGBOUNCER=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
[ -x "$PGBOUNCER" ] || { echo "FAIL: pgbouncer is not installed (scripts/setup.sh installs it)"; exit 1; }
tmp=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- output:"; cat "$tmp/out" 2>/dev/null; echo "--- pgbouncer:"; tail -20 "$tmp/pgbouncer.log"; exit 1; }

port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$tmp/pgbouncer.ini" <<INI
[databases]
tocsin = host=127.0.0.1 port=$PGTEST_PORT dbname=tocsin user=tocsin password=$PGTEST_PASSWORD
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = any
pool_mode = transaction
default_pool_size = 2
max_client_conn = 50
logfile = $tmp/pgbouncer.log
pidfile =
INI
# PgBouncer refuses to run as root.
if [ "$(id -u)" = 0 ]; then
  chmod 755 "$tmp"
  chown postgres "$tmp" "$tmp/pgbouncer.ini"
  runuser -u postgres -- "$PGBOUNCER" "$tmp/pgbouncer.ini" >/dev/null 2>&1 &
else
  "$PGBOUNCER" "$tmp/pgbouncer.ini" >/dev/null 2>&1 &
fi
pid=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.05
done

cat >"$tmp/rb.lua" <<'LUA'
local dsn = env("BOUNCER_DSN")
local Q = "SELECT $1::int * 2 AS v, current_setting('application_name') AS app"

-- 8 tasks over 8 client connections sharing 2 server connections.
local function hammer(db, n)
  local ts = {}
  for i = 1, 8 do
    ts[i] = task.spawn(function()
      for j = 1, n do
        local r, err = db:one(Q, j)
        if not r then error("task " .. i .. " query " .. j .. ": " .. tostring(err)) end
        assert(r.v == 2 * j)
      end
    end)
  end
  for i = 1, 8 do assert(ts[i]:wait()) end
end
local function in_tx(db, n)
  for j = 1, n do
    local r, err = db:tx(function(tx)
      assert(tx:one(Q, j))
      return tx:one(Q, j + 1)
    end)
    if not r then error("transaction " .. j .. ": " .. tostring(err)) end
    assert(r.v == 2 * (j + 1))
  end
end

local off = sql.open(dsn .. "?application_name=off", { max = 8, statement_cache = false })
hammer(off, 100)
local ts = {}
for i = 1, 4 do ts[i] = task.spawn(function() in_tx(off, 25) end) end
for i = 1, 4 do assert(ts[i]:wait()) end
assert(off:stats().statement_cache == 0)

local on = sql.open(dsn .. "?application_name=on", { max = 8 })
assert(on:stats().statement_cache == 64)
hammer(on, 100)
assert(on:stats().statement_cache == 0, "still caching behind the pooler: " .. json.encode(on:stats()))
ts = {}
for i = 1, 4 do ts[i] = task.spawn(function() in_tx(on, 25) end) end
for i = 1, 4 do assert(ts[i]:wait()) end
print("ok")
LUA
BOUNCER_DSN="postgres://tocsin:x@127.0.0.1:$port/tocsin" "$TOCSIN" run "$tmp/rb.lua" --yes >"$tmp/out" 2>&1 ||
  fail "the runbook failed through PgBouncer"
grep -q '^ok$' "$tmp/out" || fail "no ok"
echo "ok"
