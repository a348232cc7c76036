#!/usr/bin/env bash
# A pending deadline whose incident is not in the store (its row deleted by
# hand, a store restored from a backup) never fires (nothing to say it
# about) and must not make the clock look again at once, forever: a run of
# 3 s with such a row costs about the CPU of one without it.
. "$SRC/tests/e2e/lib.bash"
cd "$WORK" || exit 1
cat >sleep.lua <<'LUA'
return { name = "sleep", run = function() time.sleep(3) end }
LUA
expect_exit 0 "$TOCSIN" run sleep.lua
/usr/bin/python3 - <<'PY'
import sqlite3, time
db = sqlite3.connect(".tocsin/state.db")
db.execute("INSERT INTO deadlines(incident_id, kind, role, due, created)"
           " VALUES (999, 'reminder', 'first_responder', ?1, ?1)", (time.time() - 5,))
db.commit()
PY
cpu=$(/usr/bin/python3 - "$TOCSIN" <<'PY'
import resource, subprocess, sys
subprocess.run([sys.argv[1], "run", "sleep.lua"], stdout=subprocess.DEVNULL,
               stderr=subprocess.DEVNULL, check=True)
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print("%.2f" % (u.ru_utime + u.ru_stime))
PY
) || fail "the run failed"
/usr/bin/python3 -c "import sys; sys.exit(0 if $cpu < 0.6 else 1)" ||
  fail "a 3 s run with an orphan deadline used $cpu s of CPU (the clock spins)"
expect_exit 0 "$TOCSIN" incidents --all
echo "orphan deadline ok ($cpu s CPU)"
