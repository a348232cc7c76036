#!/usr/bin/env bash
# docs/writing-runbooks.md's files (the blocks after "<!-- file: PATH -->")
# do what the tutorial says: they pass tocsin check and luacheck; the fake
# backend serves the crash; the dry run lists the restart and changes
# nothing; the real run restarts, verifies, resolves a P0 with its
# post-mortem draft; "max connections" stops at Scenario 2; without an
# approval nothing is restarted.
. "$SRC/tests/e2e/lib.bash"
DOC="$SRC/docs/writing-runbooks.md"
T="$WORK/tut"
mkdir -p "$T/scripts"
cp -r "$SRC/scripts/templates" "$T/scripts/"
python3 - "$DOC" "$T" <<'PY'
import os, re, sys
doc, out = open(sys.argv[1], encoding="utf-8").read(), sys.argv[2]
files = re.findall(r"<!-- file: (\S+) -->\n```lua\n(.*?)^```", doc, re.S | re.M)
assert len(files) == 3, [f for f, _ in files]
for path, text in files:
    os.makedirs(os.path.join(out, os.path.dirname(path)), exist_ok=True)
    open(os.path.join(out, path), "w", encoding="utf-8").write(text)
PY
[ -f "$T/runbooks/database_down.lua" ] && [ -f "$T/fakes/etp.lua" ] && [ -f "$T/rehearsal.lua" ] ||
  fail "the tutorial's files were not all found"
cd "$T" || fail "no $T"
if command -v luacheck >/dev/null; then
  luacheck --no-color -q --config "$SRC/.luacheckrc" runbooks fakes rehearsal.lua >"$WORK/lc" ||
    { cat "$WORK/lc"; fail "luacheck"; }
fi

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -i "s/8080/$PORT/" rehearsal.lua
grep -q "127.0.0.1:$PORT" rehearsal.lua || fail "could not set the fake's port"
expect_exit 0 "$TOCSIN" check --config rehearsal.lua
grep -q '1 file checked.*0 problems' "$WORK/out" || { cat "$WORK/out"; fail "check"; }

"$TOCSIN" run fakes/etp.lua --config rehearsal.lua --set fault=database --set port="$PORT" \
  >"$WORK/fake.log" 2>&1 &
_started+=($!)
for _ in $(seq 100); do grep -q 'fake ETP Express on' "$WORK/fake.log" && break; sleep 0.05; done
grep -q "fake ETP Express on http://127.0.0.1:$PORT (fault: database)" "$WORK/fake.log" ||
  { cat "$WORK/fake.log"; fail "the fake did not start"; }
health() { curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$PORT/api/health"; }
[ "$(health)" = 500 ] || fail "the fake does not serve the crash"

export ETP_API_TOKEN=test-token
# Dry run: the restart is listed, not done; the backend stays down.
expect_exit 0 "$TOCSIN" run database_down --config rehearsal.lua --dry-run --yes
grep -q "shell: /bin/sh -c 'curl -fsS -X POST http://127.0.0.1:$PORT/_restart'" "$WORK/out" ||
  { cat "$WORK/out" "$WORK/err"; fail "the dry run did not list the restart"; }
grep -q 'incident: open P0 incident: Database Down' "$WORK/out" || fail "the dry run did not list the incident"
grep -q 'nothing to verify' "$WORK/out" || fail "the dry run did not stop before the verification"
[ "$(health)" = 500 ] || fail "the dry run restarted the fake"
"$TOCSIN" incidents --all --config rehearsal.lua 2>&1 | grep -q INC- && fail "the dry run opened an incident"

# No approval (no terminal, no --yes): nothing restarted, the run fails.
expect_exit 1 "$TOCSIN" run database_down --config rehearsal.lua </dev/null
grep -q 'the restart was not approved' "$WORK/out" "$WORK/err" || fail "an unapproved run did not stop"
[ "$(health)" = 500 ] || fail "an unapproved run restarted the fake"

# The real run: restart, verification, resolution, post-mortem draft.
expect_exit 0 "$TOCSIN" run database_down --config rehearsal.lua --yes
for s in 'Verificar logs backend' 'Restart service' 'Verificar se restaurou' 'Verification'; do
  grep -q "✓ $s" "$WORK/out" || { cat "$WORK/out" "$WORK/err"; fail "step '$s' did not pass"; }
done
[ "$(health)" = 200 ] || fail "the fake was not restarted"
expect_exit 0 "$TOCSIN" incidents --all --config rehearsal.lua
grep -q 'INC-1 *P0 *resolved *.*Database Down' "$WORK/out" || { cat "$WORK/out"; fail "no resolved P0"; }
[ -s .tocsin/postmortems/INC-1.md ] || fail "no post-mortem draft"
expect_exit 0 "$TOCSIN" incident INC-1 --config rehearsal.lua
grep -q 'logs: [1-9][0-9]* connection refused' "$WORK/out" || { cat "$WORK/out"; fail "the log diagnosis is not on the timeline"; }

# Healthy: nothing to do.
expect_exit 0 "$TOCSIN" run database_down --config rehearsal.lua
grep -q 'backend healthy: nothing to do' "$WORK/out" || fail "a healthy backend was not recognised"

# "max connections": escalated as Scenario 2, nothing restarted.
curl -s -X POST -d max_connections "127.0.0.1:$PORT/_fault" >/dev/null
expect_exit 1 "$TOCSIN" run database_down --config rehearsal.lua --yes
grep -q 'Scenario 2' "$WORK/out" "$WORK/err" || fail "max connections did not stop at Scenario 2"
grep -q 'Restart service' "$WORK/out" && fail "max connections restarted the database"
echo "the tutorial's runbook and fake behave as the tutorial says"
