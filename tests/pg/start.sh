#!/usr/bin/env bash
# Test fixture: starts a throw-away PostgreSQL 15 (initdb into a mktemp dir under
# /tmp, loopback on a free port, scram-sha-256 for TCP, role and database
# "tocsin") and writes $BUILD/pg.env with what the pg_* tests need.
# Postgres refuses to run as root, so as root everything runs as user postgres.
set -eu
: "${BUILD:?BUILD must name the build directory}"
here=$(cd "$(dirname "$0")" && pwd)

# A server left over from an interrupted run is stopped first.
[ -f "$BUILD/pg.env" ] && bash "$here/stop.sh" || true

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
if [ ! -x "$PGBIN/initdb" ]; then
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
fi
[ -x "$PGBIN/initdb" ] || { echo "start.sh: PostgreSQL server binaries not found (apt-get install postgresql-15)" >&2; exit 1; }

if [ "$(id -u)" = 0 ]; then
  pguser=postgres
  as_pg() { runuser -u "$pguser" -- "$@"; }
  as_pg_prefix="runuser -u $pguser --"
else
  pguser=$(id -un)
  as_pg() { "$@"; }
  as_pg_prefix=""
fi

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null ||
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

dir=$(mktemp -d /tmp/tocsin-pg.XXXXXX)
chmod 700 "$dir"
[ "$(id -u)" = 0 ] && chown "$pguser" "$dir"
cd "$dir"   # the postgres user must be able to stay in its working directory

pass=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
as_pg "$PGBIN/initdb" -D "$dir/data" -U postgres -E UTF8 --no-locale \
  --auth-local=trust --auth-host=scram-sha-256 >"$dir/initdb.log" 2>&1 ||
  { cat "$dir/initdb.log" >&2; rm -rf "$dir"; exit 1; }

ctl="$as_pg_prefix $PGBIN/pg_ctl -D $dir/data -l $dir/server.log -w -t 60"
started=
for _ in 1 2 3 4 5; do
  port=$(free_port)
  # Settings go into the data directory so `pg_ctl restart` keeps them.
  cat >"$dir/data/postgresql.auto.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 100
fsync = off
synchronous_commit = off
full_page_writes = off
password_encryption = 'scram-sha-256'
CONF
  [ "$(id -u)" = 0 ] && chown "$pguser" "$dir/data/postgresql.auto.conf"
  if $ctl start >/dev/null 2>&1; then started=1; break; fi
done
[ -n "$started" ] || { echo "start.sh: postgres did not start" >&2; cat "$dir/server.log" >&2; rm -rf "$dir"; exit 1; }

for _ in $(seq 100); do
  "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$port" && break
  sleep 0.1
done

psql_su="$PGBIN/psql -X -q -v ON_ERROR_STOP=1 -h $dir -p $port -U postgres"
as_pg $psql_su -d postgres <<SQL
CREATE ROLE tocsin LOGIN PASSWORD '$pass';
GRANT pg_read_all_stats, pg_signal_backend TO tocsin;
CREATE DATABASE tocsin OWNER tocsin;
SQL

dead_port=$(free_port)
cat >"$BUILD/pg.env" <<ENV
# Written by tests/pg/start.sh; removed by tests/pg/stop.sh.
export PGTEST_DSN='postgres://tocsin:$pass@127.0.0.1:$port/tocsin'
export PGTEST_BAD_DSN='postgres://tocsin:wrong-$pass@127.0.0.1:$port/tocsin'
export PGTEST_DEAD_DSN='postgres://tocsin:$pass@127.0.0.1:$dead_port/tocsin'
export PGTEST_PASSWORD='$pass'
export PGTEST_PORT=$port
export PGTEST_DIR='$dir'
export PGTEST_BIN='$PGBIN'
# Append "restart -m fast", "stop -m fast" or "start".
export PGTEST_CTL='$ctl'
# Superuser psql over the unix socket (append -d DB -c SQL ...).
export PGTEST_PSQL_SU='$as_pg_prefix $psql_su'
ENV
echo "postgres ready on 127.0.0.1:$port (data $dir)"
