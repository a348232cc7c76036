#!/usr/bin/env bash
# `tocsin cron`: ISO 8601 output with the zone's offset, the --from forms,
# defaults, batch mode, and exit 2 with a message naming what was wrong.
source "$SRC/tests/e2e/lib.bash"

expect_exit 0 "$TOCSIN" cron '30 2 * * *' --tz America/New_York --from 2026-03-07T00:00 -n 3
# The 8th's 02:30 is skipped by the DST jump: it runs at the jump, 03:00 EDT.
printf '%s\n' 2026-03-07T02:30:00-05:00 2026-03-08T03:00:00-04:00 2026-03-09T02:30:00-04:00 |
  diff - "$WORK/out" || fail "New York spring-forward times"

# UTC prints +00:00, not Z; fields given unquoted are joined; default -n 5.
expect_exit 0 "$TOCSIN" cron 0 2 '*' '*' mon-fri --tz UTC --from 2026-12-04T12:00:00Z
printf '%s\n' 2026-12-07T02:00:00+00:00 2026-12-08T02:00:00+00:00 2026-12-09T02:00:00+00:00 \
  2026-12-10T02:00:00+00:00 2026-12-11T02:00:00+00:00 | diff - "$WORK/out" || fail "weekdays in UTC"

# --from forms: an offset, @seconds, a date alone (midnight in --tz), and a
# repeated wall time (its first occurrence: 01:30 EDT, then 01:45 EDT).
expect_exit 0 "$TOCSIN" cron '@hourly' --tz America/Sao_Paulo --from 2026-03-08T01:30:00-03:00 -n 1
[ "$(cat "$WORK/out")" = 2026-03-08T02:00:00-03:00 ] || fail "offset --from: $(cat "$WORK/out")"
expect_exit 0 "$TOCSIN" cron '*/5 * * * *' --tz UTC --from 2026-03-08T01:34:59.999999Z -n 1
[ "$(cat "$WORK/out")" = 2026-03-08T01:35:00+00:00 ] || fail "fractional --from: $(cat "$WORK/out")"
expect_exit 0 "$TOCSIN" cron '0 0 * * *' --tz Asia/Kolkata --from @1780000000 -n 1
[ "$(cat "$WORK/out")" = 2026-05-30T00:00:00+05:30 ] || fail "@seconds --from: $(cat "$WORK/out")"
expect_exit 0 "$TOCSIN" cron '0 * * * *' --tz Europe/Berlin --from 2026-10-25 -n 4
printf '%s\n' 2026-10-25T01:00:00+02:00 2026-10-25T02:00:00+02:00 2026-10-25T02:00:00+01:00 \
  2026-10-25T03:00:00+01:00 | diff - "$WORK/out" || fail "date --from, Berlin fall-back hourly"
expect_exit 0 "$TOCSIN" cron '*/15 * * * *' --tz America/New_York --from 2026-11-01T01:30 -n 1
[ "$(cat "$WORK/out")" = 2026-11-01T01:45:00-04:00 ] || fail "repeated wall time: $(cat "$WORK/out")"

# Default --from is now: the next whole minute.
before=$(date +%s)
expect_exit 0 "$TOCSIN" cron '* * * * *' --tz UTC -n 1
after=$(date +%s)
got=$(date -d "$(cat "$WORK/out")" +%s) || fail "unparseable: $(cat "$WORK/out")"
[ "$got" -gt "$before" ] && [ "$got" -le $((after + 60)) ] && [ $((got % 60)) = 0 ] ||
  fail "default --from: got $(cat "$WORK/out") at $before..$after"

# Batch: one line per expression, errors in place, exit 2 if any.
printf '0 12 * * *\nnope\n@daily\n' |
  "$TOCSIN" cron - --tz UTC --from 2026-01-01T00:00:00Z -n 2 >"$WORK/out" 2>"$WORK/err"
[ $? = 2 ] || fail "batch with a bad line should exit 2"
printf '%s\n' '2026-01-01T12:00:00+00:00 2026-01-02T12:00:00+00:00' \
  "error: expected 5 fields (minute hour day-of-month month day-of-week), got 1 in 'nope'" \
  '2026-01-02T00:00:00+00:00 2026-01-03T00:00:00+00:00' | diff - "$WORK/out" || fail "batch output"

# Errors: exit 2, and the message names the culprit.
check_error() { # PATTERN ARGS...
  local pat=$1; shift
  expect_exit 2 "$TOCSIN" cron "$@"
  grep -q -- "$pat" "$WORK/err" || { cat "$WORK/err"; fail "cron $*: no '$pat' in the error"; }
  [ -s "$WORK/out" ] && fail "cron $*: printed times on error"
  return 0
}
check_error "hour field '24': out of range 0-23" '0 24 * * *'
check_error "day-of-week field 'mon-fry': unknown day name" '0 0 * * mon-fry'
check_error "unknown macro '@fortnightly'" '@fortnightly'
check_error "never fires" '0 0 31 2 *'
check_error "invalid time zone name '../../etc/passwd'" '* * * * *' --tz ../../etc/passwd
check_error "unknown time zone 'Mars/Olympus_Mons'" '* * * * *' --tz Mars/Olympus_Mons
check_error "--from 'yesterday': not a time" '* * * * *' --from yesterday
check_error "--from '2026-02-30': no such date" '* * * * *' --from 2026-02-30
check_error "does not exist in America/New_York" '* * * * *' --tz America/New_York --from 2026-03-08T02:30
check_error "-n takes a number from 1" '* * * * *' -n 0
check_error "unknown option or missing value: --tz" '* * * * *' --tz
check_error "no expression given" --tz UTC
check_error "@reboot runs once when the daemon starts" '@reboot'

expect_exit 0 "$TOCSIN" cron --help
grep -q 'usage: tocsin cron EXPR' "$WORK/out" || fail "cron --help"
expect_exit 0 "$TOCSIN" --help
grep -q 'cron EXPR' "$WORK/out" || fail "tocsin --help lists cron"
echo ok
