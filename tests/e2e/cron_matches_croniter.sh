#!/usr/bin/env bash
# `tocsin cron` against python3-croniter (Debian's package; scripts/setup.sh
# installs it) on 3000 seeded random expressions in UTC, 5 start instants,
# the next 5 fire times each.  How croniter's two differences from
# crontab(5) are adjusted for, and its one bug settled, is written at the
# top of cron_croniter.py.  CRON_SEED=N tries other expressions.
source "$SRC/tests/e2e/lib.bash"
py=/usr/bin/python3
"$py" -c 'import croniter' 2>/dev/null ||
  fail "python3-croniter is not installed (run scripts/setup.sh)"
"$py" "$SRC/tests/e2e/cron_croniter.py" --tocsin "$TOCSIN" --count 3000 --seed "${CRON_SEED:-9}" ||
  fail "tocsin cron disagrees with croniter (above)"
