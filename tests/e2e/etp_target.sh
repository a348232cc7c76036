#!/bin/bash
# The simulated ETP Express shows each playbook fault's symptoms ("Symptoms"
# and "Diagnosis" of the scenario) over HTTP and in its logs, and the
# playbook's action clears it: restart, rollback, a new variable, a backup
# restore, an IP block, or waiting for the reset.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/etp_target_lib.bash"
start_etp_target
B=$ETP_BACKEND

logs() { curl -s "$ETP_CONTROL/_logs?service=${1:-backend}&lines=${2:-200}"; }
healthy() { curl -s "$B/api/health" | grep -q '"status":"ok"' && curl -s "$B/api/health" | grep -q '"database":"healthy"'; }
wait_for() { for _ in $(seq 100); do eval "$1" && return 0; sleep 0.1; done; fail "timed out: $1"; }

# baseline: the playbook's expected answers
healthy || fail "health: $(curl -s "$B/api/health")"
TOK=$(etp_login); [ -n "$TOK" ] || fail "login gives no access_token"
[ "$(http_status "$B/api/etps" -H "Authorization: Bearer $TOK")" = 200 ] || fail "GET /api/etps"
[ "$(http_status "$B/api/etps")" = 401 ] || fail "GET /api/etps without a token is not 401"
curl -s "$B/api/etps" -H "Authorization: Bearer $TOK" | grep -q 'Aquisição de notebooks' || fail "seed data"
[ "$(http_status "$B/api/sections/1/generate" -X POST -H "Authorization: Bearer $TOK")" = 201 ] || fail "generate"
[ "$(http_status "$ETP_FRONTEND/" -I)" = 200 ] || fail "frontend HEAD /"
[ "$(http_status "$ETP_OPENAI/v1/models" -H "Authorization: Bearer sk-etp-initial")" = 200 ] || fail "openai models"
[ -s "$ETP_LOGS/backend.log" ] || fail "no backend.log"
grep -q 'INFO \[HTTP\] GET /api/etps 200' "$ETP_LOGS/backend.log" || fail "access log line missing in the file"

# 1 database down (crashed): health errors, every endpoint 500, logs; restart postgres fixes
etp_fault '{"mode":"database_down"}'
curl -s "$B/api/health" | grep -q '"database":"unhealthy"' || fail "health while the database is down"
[ "$(http_status "$B/api/health")" = 503 ] || fail "health status while down"
[ "$(http_status "$B/api/etps" -H "Authorization: Bearer $TOK")" = 500 ] || fail "etps while db down"
logs | grep -iE 'database|postgres|connection' | grep -q 'ECONNREFUSED' || fail "no connection refused in the log"
[ "$(etp_state 'd["services"]["postgres"]["state"]')" = crashed ] || fail "postgres not crashed in /_state"
etp_ctl /_restart '{"service":"postgres"}' | grep -q '"ok":true' || fail "restart postgres"
healthy || fail "restart of postgres did not fix a crash"

# 1b database down by a migration: restarting postgres is not enough, rollback of backend is
etp_fault '{"mode":"database_down","cause":"migration"}'
etp_ctl /_restart '{"service":"postgres"}' >/dev/null
healthy && fail "a restart cured a migration crash"
etp_ctl /_rollback '{"service":"backend"}' | grep -q '"version":"v1.4.2"' || fail "rollback to v1.4.2"
healthy || fail "rollback did not fix the migration crash"

# 2 API timeout: slow (> delay), some 504s, slow-query logs, pool figure; restart fixes
etp_fault '{"mode":"api_timeout","delay":1.2}'
t=$(curl -s -o /dev/null -w '%{time_total}' "$B/api/etps" -H "Authorization: Bearer $TOK")
awk -v t="$t" 'BEGIN{exit !(t >= 1.2)}' || fail "latency under the fault: $t"
codes="$(http_status "$B/api/etps" -H "Authorization: Bearer $TOK") $(http_status "$B/api/etps" -H "Authorization: Bearer $TOK")"
grep -q 504 <<<"$codes" || fail "no 504 among the slow requests: $codes"
logs | grep -E 'Slow query|Timeout|exceeded' | grep -q 'took 1200ms' || fail "no slow-query log"
[ "$(etp_state 'd["database"]["connections"]')" = 95 ] || fail "pool figure"
etp_ctl /_restart '{"service":"backend"}' >/dev/null
t=$(curl -s -o /dev/null -w '%{time_total}' "$B/api/etps" -H "Authorization: Bearer $TOK")
awk -v t="$t" 'BEGIN{exit !(t < 0.5)}' || fail "latency after restart: $t"

gen() { http_status "$B/api/sections/1/generate" -X POST -H "Authorization: Bearer $TOK"; }
# 3 OpenAI: 429 (resets by itself), 401 (new key + restart), 503
etp_fault '{"mode":"openai_rate_limit","reset":1}'
[ "$(gen)" = 500 ] || fail "generate under 429"
logs | grep -i openai | grep -q 'Rate limit' || fail "no rate-limit log"
sleep 1.3; [ "$(gen)" = 201 ] || fail "429 did not reset"
etp_fault '{"mode":"openai_key_invalid"}'
[ "$(gen)" = 500 ] || fail "generate with a revoked key"
logs | grep -i openai | grep -q 'Incorrect API key' || fail "no invalid-key log"
[ "$(http_status "$ETP_OPENAI/v1/models" -H "Authorization: Bearer sk-etp-initial")" = 401 ] || fail "models 401"
etp_ctl /_vars '{"service":"backend","name":"OPENAI_API_KEY","value":"sk-etp-rotated-0001"}' | grep -q ok
[ "$(gen)" = 500 ] || fail "a new key applied before the restart"
etp_ctl /_restart '{"service":"backend"}' >/dev/null
[ "$(gen)" = 201 ] || fail "new key + restart did not fix 401"
grep -q 'sk-etp-rotated' "$ETP_LOGS/backend.log" && fail "a variable's value reached the log"
etp_fault '{"mode":"openai_down"}'
[ "$(gen)" = 500 ] || fail "generate while OpenAI is down"
logs | grep -q 'OpenAI API error (gpt-4): 503' || fail "no 503 log"
curl -s -X DELETE "$ETP_CONTROL/_fault?mode=openai_down" >/dev/null
[ "$(gen)" = 201 ] || fail "after OpenAI came back"

# 4 memory leak after a deploy: memory climbs, OOM crash, automatic restart (crash loop); rollback fixes
etp_fault '{"mode":"memory_leak","pattern":"deploy","rate":800}'
wait_for "[ \"\$(etp_state 'd[\"memory\"][\"crashes\"]')\" -ge 1 ]"
logs | grep -iE 'heap|memory|oom' | grep -q 'CALL_AND_RETRY_LAST Allocation failed' || fail "no OOM log"
wait_for "[ \"\$(etp_state 'd[\"services\"][\"backend\"][\"restarts\"]')\" -ge 1 ]"
[ "$(etp_state 'd["services"]["backend"]["version"]')" = v1.4.3 ] || fail "the leaking deployment is not current"
etp_ctl /_rollback '{"service":"backend"}' | grep -q '"version":"v1.4.2"' || fail "rollback from the leak"
c1=$(etp_state 'd["memory"]["crashes"]'); sleep 1
[ "$(etp_state 'd["memory"]["crashes"]')" = "$c1" ] || fail "still crashing after rollback"
[ "$(etp_state 'd["memory"]["percent"] < 40')" = True ] || fail "memory not back to normal"

# 5 frontend down: 502, crashed, build errors; rollback fixes.  env case: set VITE_API_URL + restart
etp_fault '{"mode":"frontend_down"}'
[ "$(http_status "$ETP_FRONTEND/" -I)" = 502 ] || fail "frontend while down"
logs frontend | grep -q 'error TS2322' || fail "no build error in the frontend log"
etp_ctl /_rollback '{"service":"frontend"}' >/dev/null
[ "$(http_status "$ETP_FRONTEND/")" = 200 ] || fail "frontend after rollback"
etp_fault '{"mode":"frontend_down","cause":"env"}'
curl -s "$ETP_CONTROL/_vars?service=frontend" | grep -q VITE_API_URL && fail "VITE_API_URL still set"
etp_ctl /_restart '{"service":"frontend"}' >/dev/null
[ "$(http_status "$ETP_FRONTEND/")" = 502 ] || fail "a bare restart fixed a missing variable"
etp_ctl /_vars '{"service":"frontend","name":"VITE_API_URL","value":"http://backend"}' >/dev/null
etp_ctl /_restart '{"service":"frontend"}' >/dev/null
[ "$(http_status "$ETP_FRONTEND/")" = 200 ] || fail "frontend after VITE_API_URL + restart"

# 6 auth broken (JWT_SECRET missing): login 500, old tokens refused; set + restart fixes
etp_fault '{"mode":"auth_broken"}'
[ "$(http_status "$B/api/auth/login" -X POST -H 'Content-Type: application/json' \
  -d '{"email":"test@example.com","password":"senha123"}')" = 500 ] || fail "login with the secret missing"
logs | grep -iE 'auth|jwt|token' | grep -q 'secretOrPrivateKey' || fail "no jwt log"
[ "$(http_status "$B/api/etps" -H "Authorization: Bearer $TOK")" = 401 ] || fail "an old token still works"
etp_ctl /_vars '{"service":"backend","name":"JWT_SECRET","value":"a-new-secret-0123456789"}' >/dev/null
etp_ctl /_restart '{"service":"backend"}' >/dev/null
TOK=$(etp_login); [ -n "$TOK" ] || fail "login after the fix"
[ "$(http_status "$B/api/etps" -H "Authorization: Bearer $TOK")" = 200 ] || fail "new token"
etp_fault '{"mode":"auth_broken","cause":"strategy"}'
[ -z "$(etp_login)" ] || fail "login with the strategy bug"
etp_ctl /_rollback '{"service":"backend"}' >/dev/null
TOK=$(etp_login); [ -n "$TOK" ] || fail "login after rolling back the strategy bug"

# 7 data corruption (partial): 3 titles garbled; backup then restore fixes; total comes with a migration
BK=$(etp_ctl /_backup | sed -n 's/.*"path":"\([^"]*\)".*/\1/p'); [ -n "$BK" ] || fail "backup"
etp_fault '{"mode":"data_corruption"}'
curl -s "$B/api/etps" -H "Authorization: Bearer $TOK" | grep -q '"title":""' || fail "no empty title"
curl -s "$B/api/etps" -H "Authorization: Bearer $TOK" | grep -q '�' || fail "no U+FFFD in titles"
curl -s "$B/api/etps" -H "Authorization: Bearer $TOK" | grep -q 'Aquisição de notebooks' || fail "partial hit all"
etp_ctl /_restore "{\"path\":\"$BK\"}" | grep -q ok || fail "restore"
curl -s "$B/api/etps" -H "Authorization: Bearer $TOK" | grep -q '�' && fail "still corrupt after restore"
etp_fault '{"mode":"data_corruption","scope":"total"}'
curl -s "$B/api/etps" -H "Authorization: Bearer $TOK" | grep -q 'Aquisição' && fail "total left a title intact"
logs | grep -iE 'migration|foreign key|constraint' | grep -q 'violates foreign key' || fail "no FK log"
etp_ctl /_rollback '{"service":"backend"}' >/dev/null
etp_ctl /_restore "{\"path\":\"$BK\"}" >/dev/null
curl -s "$B/api/etps" -H "Authorization: Bearer $TOK" | grep -q 'Aquisição de notebooks' || fail "after restore"

# 8 rate limit: intermittent (every other call) until the reset
etp_fault '{"mode":"rate_limit","reset":1.5}'
r="$(gen) $(gen) $(gen) $(gen)"
grep -q 500 <<<"$r" && grep -q 201 <<<"$r" || fail "not intermittent: $r"
logs | grep -iE 'rate limit|429|too many requests' | grep -q 'Rate limit exceeded for organization' || fail "log"
sleep 1.6; r="$(gen) $(gen) $(gen)"; [ "$r" = "201 201 201" ] || fail "after reset: $r"

# 9 deploy failed: FAILED deployment, backend 502, build errors; rollback fixes; rollback_fails fails it
etp_fault '{"mode":"deploy_failed"}'
[ "$(http_status "$B/api/health")" = 502 ] || fail "health after a failed deploy"
[ "$(etp_state 'd["services"]["backend"]["deployments"][0]["status"]')" = FAILED ] || fail "no FAILED deployment"
logs backend 20 | grep -q "npm ERR!" || fail "no build error"
etp_ctl /_rollback '{"service":"backend"}' >/dev/null
healthy || fail "rollback after a failed deploy"
etp_fault '{"mode":"deploy_failed","rollback_fails":true}'
etp_ctl /_rollback '{"service":"backend"}' | grep -q 'rollback failed' || fail "rollback_fails"
healthy && fail "healthy although the rollback failed"
etp_fault '{"mode":"none"}'
healthy || fail "mode none"

# 10 security breach: many failed logins from one IP, an export; continues until blocked
etp_fault '{"mode":"security_breach","ip":"203.0.113.50","attempts":25}'
n=$(logs backend 2000 | grep -i 'login' | grep -c 'Failed login attempt for admin@etp.gov.br from 203.0.113.50')
[ "$n" -ge 25 ] || fail "failed logins from the attacker: $n"
sleep 1.2
m=$(logs backend 2000 | grep -c 'Failed login attempt for admin@etp.gov.br from 203.0.113.50')
[ "$m" -gt "$n" ] || fail "the attack stopped by itself"
etp_ctl /_block '{"ip":"203.0.113.50"}' >/dev/null
sleep 0.7; a=$(logs backend 2000 | grep -c 'Failed login attempt.*203.0.113.50'); sleep 1.2
[ "$(logs backend 2000 | grep -c 'Failed login attempt.*203.0.113.50')" = "$a" ] || fail "attack goes on after the block"
[ "$(http_status "$B/api/health" -H 'X-Forwarded-For: 203.0.113.50')" = 403 ] || fail "blocked IP not refused"
healthy || fail "health after the breach"

# the files hold what the API shows, in railway-logs form
sleep 0.3
grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z (INFO|WARN|ERROR) \[' "$ETP_LOGS/backend.log" || fail "log format"
grep -q 'Failed login attempt' "$ETP_LOGS/backend.log" || fail "breach not in backend.log"
grep -q 'error TS2322' "$ETP_LOGS/frontend.log" || fail "frontend.log"
etp_ctl /_shutdown >/dev/null
for _ in $(seq 50); do kill -0 "$ETP_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$ETP_PID" 2>/dev/null && fail "target still running after /_shutdown"
wait "$ETP_PID"; rc=$?
[ "$rc" = 0 ] || fail "target exit $rc: $(cat "$WORK/etp-target.out")"
echo ok
