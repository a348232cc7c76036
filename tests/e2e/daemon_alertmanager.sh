#!/usr/bin/env bash
# The real Prometheus Alertmanager sends its webhook to the daemon: an alert
# pushed with amtool starts the routed runbook once, with the alert's labels
# in ctx.alert; the same alert sent again while that run is alive starts no
# second run; its resolution is noted on the incident the run opened with
# dedup_key = ctx.alert.dedup_key; /metrics counts it and promtool accepts
# the exposition.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
command -v prometheus-alertmanager >/dev/null || fail "prometheus-alertmanager is not installed (scripts/setup.sh)"
free() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free)
amport=$(free)
mkdir -p runbooks am
cat >tocsin.lua <<LUA
return { listen = "127.0.0.1:$port", api_token = "am-t0ken", runbooks = { "runbooks" },
  alerts = { { match = { alertname = "DatabaseDown" }, runbook = "database_down" } } }
LUA
cat >runbooks/database_down.lua <<'LUA'
return { name = "database_down", severity = "P1", run = function(ctx)
  step("Alert received", function()
    log.info(("alert %s instance=%s status=%s"):format(ctx.alert.labels.alertname,
      ctx.alert.labels.instance, ctx.alert.status))
  end)
  assert(incident.open { title = "Database Down" })  -- dedup_key: the alert's, by default
  time.sleep(4)
end }
LUA
cat >am/am.yml <<YML
route:
  receiver: tocsin
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: tocsin
    webhook_configs:
      - url: http://127.0.0.1:$port/hooks/alertmanager
        send_resolved: true
        http_config:
          authorization:
            credentials: am-t0ken
YML
"$TOCSIN" daemon 2>daemon.log &
_started+=($!)
dpid=$!
for _ in $(seq 100); do curl -s "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.05; done
prometheus-alertmanager --config.file=am/am.yml --storage.path=am/data \
  --web.listen-address="127.0.0.1:$amport" --cluster.listen-address= >am.log 2>&1 &
_started+=($!)
for _ in $(seq 100); do curl -s "http://127.0.0.1:$amport/-/ready" >/dev/null && break; sleep 0.1; done
curl -s "http://127.0.0.1:$amport/-/ready" >/dev/null || fail "alertmanager did not start: $(cat am.log)"
amtool alert add alertname=DatabaseDown instance=db1 severity=critical \
  --annotation=summary="Postgres is down" --alertmanager.url="http://127.0.0.1:$amport" ||
  fail "amtool alert add failed"
for _ in $(seq 100); do grep -q '"msg":"alert DatabaseDown' daemon.log && break; sleep 0.1; done
grep -q '"msg":"alert DatabaseDown instance=db1 status=firing"' daemon.log ||
  fail "the routed runbook did not run with the alert: $(tail -5 daemon.log) $(tail -5 am.log)"
# The same alert again while the run is alive (Alertmanager's own body shape).
cat >again.json <<'JSON'
{"version":"4","groupKey":"{}:{alertname=\"DatabaseDown\"}","status":"firing","receiver":"tocsin",
 "groupLabels":{"alertname":"DatabaseDown"},"commonLabels":{},"commonAnnotations":{},"externalURL":"",
 "alerts":[{"status":"firing","labels":{"alertname":"DatabaseDown","instance":"db1","severity":"critical"},
 "annotations":{"summary":"Postgres is down"},"startsAt":"2026-12-01T00:00:00Z","endsAt":"0001-01-01T00:00:00Z",
 "generatorURL":""}]}
JSON
curl -s -H "Authorization: Bearer am-t0ken" -d @again.json "http://127.0.0.1:$port/hooks/alertmanager" >again.out
grep -q '"started":0' again.out && grep -q '"deduplicated":1' again.out || fail "re-sent alert: $(cat again.out)"
[ "$(grep -c '"msg":"run started".*"trigger":"alert"' daemon.log)" = 1 ] || fail "more than one run: $(grep 'run started' daemon.log)"
# Resolved: noted on the incident the run opened.
curl -s -H "Authorization: Bearer am-t0ken" -d "$(sed 's/"firing"/"resolved"/g' again.json)" \
  "http://127.0.0.1:$port/hooks/alertmanager" >resolved.out
grep -q '"resolved":1' resolved.out || fail "resolved: $(cat resolved.out)"
for _ in $(seq 50); do curl -s "http://127.0.0.1:$port/incidents/INC-1" >inc.json; grep -q alert_resolved inc.json && break; sleep 0.1; done
grep -q '"kind":"alert_resolved","text":"alert resolved: DatabaseDown' inc.json || fail "not noted: $(cat inc.json)"
# Metrics: Prometheus's own checker accepts them, and they count what happened.
curl -s "http://127.0.0.1:$port/metrics" >metrics.txt
promtool check metrics <metrics.txt || fail "promtool: $(promtool check metrics <metrics.txt 2>&1 | head)"
grep -q '^tocsin_alerts_received_total{source="alertmanager"} 3' metrics.txt || fail "alerts counted: $(grep alerts metrics.txt)"
grep -q '^tocsin_alerts_deduplicated_total{source="alertmanager",reason="running"} 1' metrics.txt || fail "dedup counted: $(grep alerts metrics.txt)"
grep -q '^tocsin_open_incidents{severity="P1"} 1' metrics.txt || fail "open incidents: $(grep incidents metrics.txt)"
kill -TERM $dpid
wait $dpid || fail "daemon exit $?"
echo "alertmanager ok"
