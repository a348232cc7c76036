#!/usr/bin/python3
"""Compares `tocsin cron` with python3-croniter (Debian's package) on seeded
random cron expressions in UTC: the next N fire times from a few start
instants.  Used by cron_matches_croniter.sh.

croniter differs from crontab(5) in one place, which the comparison adjusts
for rather than avoids: croniter calls a day field restricted whenever it
is not exactly "*", so with "*/2" in day-of-month and a day-of-week it ORs
the two; crontab(5) (and vixie cron's DOM_STAR/DOW_STAR flags) treat a field
starting with '*' as unrestricted, so both must match.  croniter's
day_or=False gives that AND; we pass day_or=False exactly when either day
field starts with '*', and day_or=True (the OR rule) when neither does.
"""
import argparse
import random
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

from croniter import CroniterBadDateError, croniter

MONTHS = "jan feb mar apr may jun jul aug sep oct nov dec".split()
DAYS = "sun mon tue wed thu fri sat".split()
# name, lo, hi, names, value of names[0], chance of a plain '*'
FIELDS = [
    ("minute", 0, 59, None, 0, 0.25),
    ("hour", 0, 23, None, 0, 0.35),
    ("dom", 1, 31, None, 1, 0.55),
    ("month", 1, 12, MONTHS, 1, 0.6),
    ("dow", 0, 7, DAYS, 0, 0.6),
]
MDAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def value(rng, lo, hi, names, names_lo, vlo=None):
    v = rng.randint(lo if vlo is None else vlo, hi)
    if names and v - names_lo < len(names) and rng.random() < 0.35:
        n = names[v - names_lo]
        return v, rng.choice([n, n.upper(), n.capitalize()])
    return v, str(v)


def element(rng, lo, hi, names, names_lo):
    k = rng.random()
    if k < 0.12:
        return "*/%d" % rng.randint(1, min(hi - lo, 25))
    if k < 0.55:
        return value(rng, lo, hi, names, names_lo)[1]
    a, at = value(rng, lo, hi - 1, names, names_lo)
    b, bt = value(rng, lo, hi, names, names_lo, vlo=a + 1)
    if k < 0.8:
        return "%s-%s" % (at, bt)
    return "%s-%s/%d" % (at, bt, rng.randint(1, max(1, b - a)))


def field(rng, spec):
    _, lo, hi, names, names_lo, star = spec
    if rng.random() < star:
        return "*"
    n = 1 if rng.random() < 0.6 else rng.randint(2, 4)
    return ",".join(element(rng, lo, hi, names, names_lo) for _ in range(n))


def expand(text, lo, hi, names, names_lo):
    """The values a field allows (to skip never-firing expressions)."""
    out = set()
    for item in text.split(","):
        base, _, step = item.partition("/")
        if base == "*":
            a, b = lo, hi
        else:
            ends = [int(x) if x.isdigit() else names.index(x.lower()) + names_lo
                    for x in base.split("-")]
            a, b = ends[0], ends[-1]
        out.update(range(a, b + 1, int(step) if step else 1))
    return out


def fires(fields):
    """False when day-of-month and month never meet and the weekday cannot
    help (tocsin refuses those at parse time; croniter would search forever)."""
    dom = expand(fields[2], 1, 31, None, 1)
    months = expand(fields[3], 1, 12, MONTHS, 1)
    if fields[2].startswith("*") or not fields[4].startswith("*"):
        return True
    return any(d <= MDAYS[m - 1] for m in months for d in dom)


def generate(rng, count):
    exprs = []
    while len(exprs) < count:
        if rng.random() < 0.03:
            exprs.append(rng.choice(["@hourly", "@daily", "@midnight", "@weekly",
                                     "@monthly", "@yearly", "@annually"]))
            continue
        f = [field(rng, spec) for spec in FIELDS]
        if fires(f):
            exprs.append(" ".join(f))
    return exprs


MACROS = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
          "@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *",
          "@annually": "0 0 1 1 *"}


def croniter_times(expr, start, n):
    fields = MACROS.get(expr, expr).split()
    day_or = not (fields[2].startswith("*") or fields[4].startswith("*"))
    if day_or:
        dow = {d % 7 for d in expand(fields[4], 0, 7, DAYS, 0)}
        if len(dow) == 7 or len(expand(fields[2], 1, 31, None, 1)) == 31:
            fields[2] = fields[4] = "*"  # OR with a full field: every day
    it = croniter(" ".join(fields), start, day_or=day_or)
    out, prev = [], start
    for _ in range(n):
        try:
            t = it.get_next(datetime)
        except CroniterBadDateError:  # croniter gave up searching
            print("croniter found no next date for '%s' after %s" % (expr, prev))
            break
        if t - prev > timedelta(days=3660):  # tocsin searches ten years on
            break
        out.append(t.isoformat())
        prev = t
    return out


def brute_force(expr, start, n):
    """The next n times by walking minutes (whole days when the day cannot
    match): slow, and too simple to be wrong in the same way as either."""
    f = MACROS.get(expr, expr).split()
    minute, hour = expand(f[0], 0, 59, None, 0), expand(f[1], 0, 23, None, 0)
    dom, month = expand(f[2], 1, 31, None, 1), expand(f[3], 1, 12, MONTHS, 1)
    dow = {d % 7 for d in expand(f[4], 0, 7, DAYS, 0)}
    either = not (f[2].startswith("*") or f[4].startswith("*"))
    t = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    out = []
    while len(out) < n:
        wd = (t.weekday() + 1) % 7  # Python's Monday=0 -> cron's Sunday=0
        d_ok = (t.day in dom) or (wd in dow) if either else (t.day in dom) and (wd in dow)
        if t.month not in month or not d_ok:
            t = t.replace(hour=0, minute=0) + timedelta(days=1)
            continue
        if t.hour in hour and t.minute in minute:
            out.append(t.isoformat())
        t += timedelta(minutes=1)
    return out


def croniter_february_bug(expr, start, want):
    """The disagreement may be croniter's: days 30/31 listed, February crossed."""
    f = MACROS.get(expr, expr).split()
    end = datetime.fromisoformat(want[-1]) if want else start + timedelta(days=3660)
    crossed = any(start < datetime(y, 3, 1, tzinfo=timezone.utc) <= end
                  for y in range(start.year, end.year + 1))
    return crossed and expand(f[2], 1, 31, None, 1) & {30, 31}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tocsin", required=True)
    ap.add_argument("--count", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("-n", type=int, default=5)
    args = ap.parse_args()
    rng = random.Random(args.seed)
    exprs = generate(rng, args.count)
    starts = ["2026-12-01T16:14:45Z", "2027-12-31T23:59:00Z", "2028-02-28T23:30:00Z",
              "2099-12-31T12:00:00Z"]
    # and one from the seed, anywhere in 2000-2099, seconds included
    random_start = datetime(2000, 1, 1, tzinfo=timezone.utc) + timedelta(
        seconds=rng.randrange(100 * 365 * 86400))
    starts.append(random_start.strftime("%Y-%m-%dT%H:%M:%SZ"))
    t0 = time.time()
    mismatches = compared = croniter_bugs = 0
    for start in starts:
        run = subprocess.run([args.tocsin, "cron", "-", "--tz", "UTC", "--from", start,
                              "-n", str(args.n)],
                             input="\n".join(exprs) + "\n", capture_output=True, text=True)
        lines = run.stdout.split("\n")[:-1]
        if len(lines) != len(exprs):
            print("tocsin printed %d lines for %d expressions (exit %d): %s"
                  % (len(lines), len(exprs), run.returncode, run.stderr[:500]))
            return 1
        sdt = datetime.fromisoformat(start.replace("Z", "+00:00"))
        for expr, line in zip(exprs, lines):
            want = croniter_times(expr, sdt, args.n)
            compared += 1
            if line.startswith("error: "):
                # Agreement only if croniter too finds a ten-year gap.
                if "within ten years" in line and len(want) < args.n:
                    continue
            elif line.split(" ") == want:
                continue
            elif croniter_february_bug(expr, sdt, want) and \
                    line.split(" ") == brute_force(expr, sdt, args.n):
                croniter_bugs += 1
                if croniter_bugs <= 3:
                    print("croniter bug with days 30/31 across February, brute force agrees with tocsin: '%s' from %s"
                          "\n  tocsin:   %s\n  croniter: %s" % (expr, start, line, " ".join(want)))
                continue
            mismatches += 1
            if mismatches <= 15:
                print("MISMATCH '%s' from %s\n  tocsin:   %s\n  croniter: %s"
                      % (expr, start, line, " ".join(want)))
    print("compared %d expressions x %d start instants (%d runs, up to %d fire times each) "
          "in %.1fs: %d mismatches, %d croniter day-30/31 February bugs settled by brute force (seed %d)"
          % (len(exprs), len(starts), compared, args.n, time.time() - t0, mismatches,
             croniter_bugs, args.seed))
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
