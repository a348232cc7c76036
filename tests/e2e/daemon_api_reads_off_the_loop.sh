#!/usr/bin/env bash
# GET /incidents reads the state store on the libuv pool, not on the loop: a
# listing of 60,000 resolved incidents takes a while, and /healthz (standing
# for every run, alert and request of the daemon) is answered meanwhile,
# before the listing's response begins. The store was read on the loop, so
# the loop stood still until the whole listing was built. /metrics and
# /incidents/ID go the same way; their answers are checked too.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
mkdir -p runbooks
port=$(free_port)
cat >tocsin.lua <<LUA
return { listen = "127.0.0.1:$port", runbooks = { "runbooks" } }
LUA
# The schema comes from the daemon (started once), the rows from sqlite3.
"$TOCSIN" daemon >daemon.out 2>daemon.log &
pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 200); do curl -s "$base/healthz" >/dev/null && break; sleep 0.05; done
kill -TERM $pid
wait $pid
/usr/bin/python3 - <<'PY' || fail "seeding"
import sqlite3
db = sqlite3.connect(".tocsin/state.db")
db.executemany("INSERT INTO incidents (title, severity, status, opened, resolved, summary)"
               " VALUES (?, 'P3', 'resolved', 1e9, 1e9 + 60, ?)",
               (("incident %d" % i, "x" * 100) for i in range(60000)))
db.execute("INSERT INTO incidents (title, severity, status, opened) VALUES ('still open', 'P1', 'triggered', 1e9)")
db.commit()
PY
start_daemon
/usr/bin/python3 - "$port" <<'PY' || fail "$(tail -5 daemon.log)"
import http.client, json, sys, threading, time
port = int(sys.argv[1])
got = {}
def listing():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    c.request("GET", "/incidents?all=1")
    r = c.getresponse()  # returns once the status line and headers arrived
    got["listing_began"] = time.monotonic()
    got["listing"] = (r.status, json.loads(r.read()))
t = threading.Thread(target=listing)
t.start()
time.sleep(0.05)
c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
c.request("GET", "/healthz")
r = c.getresponse()
r.read()
healthz_done = time.monotonic()
t.join()
status, body = got["listing"]
assert status == 200 and len(body["incidents"]) == 60001, (status, len(body["incidents"]))
assert body["incidents"][0]["title"] == "still open", body["incidents"][0]
assert healthz_done < got["listing_began"], \
    "/healthz waited %.3f s for the listing" % (healthz_done - got["listing_began"])
c.request("GET", "/incidents")
r = c.getresponse()
open_ = json.loads(r.read())["incidents"]
assert [i["id"] for i in open_] == ["INC-60001"], open_
c.request("GET", "/incidents/INC-60001")
r = c.getresponse()
one = json.loads(r.read())
assert r.status == 200 and one["incident"]["title"] == "still open", one
assert isinstance(one["timeline"], list) and isinstance(one["deadlines"], list), one
c.request("GET", "/incidents/INC-70000")
r = c.getresponse()
assert r.status == 404 and "no incident" in json.loads(r.read())["error"], r.status
c.request("GET", "/metrics")
r = c.getresponse()
m = r.read().decode()
assert 'tocsin_open_incidents{severity="P1"} 1' in m, m
assert 'tocsin_open_incidents{severity="P3"} 0' in m, m
PY
kill -TERM $pid
wait $pid || fail "daemon exit $?"
