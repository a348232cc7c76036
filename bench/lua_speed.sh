#!/usr/bin/env bash
# bench/lua_speed.sh — pure Lua speed: bench/cpu.lua (gmatch over a log,
# counting words in a table, a sieve, a matrix product) under `lua5.4` and
# under `tocsin run`, in interleaved rounds. Keeps each one's best time per
# part and in total and prints Tocsin's ratio: lua5.4's time / Tocsin's, so
# 1.00 is the interpreter's own speed (target: total >= 0.90). The times are
# the CPU seconds of the work itself (os.clock around it: start-up and
# building the input left out); the process's wall time is printed too.
# Env: TOCSIN (binary, default build/tocsin), BASE (a second binary, e.g. an
#      older build, run in the same rounds), ROUNDS (default 9), WORK (the
#      script's repetitions of each part, default 20).
set -u
cd "$(dirname "$0")/.." || exit 1
TOCSIN=${TOCSIN:-build/tocsin}
ROUNDS=${ROUNDS:-9}
WORK=${WORK:-20}
command -v lua5.4 >/dev/null || { echo "lua5.4 is not installed (apt-get install -y lua5.4)"; exit 2; }

names=(lua5.4 tocsin)
cmds=("lua5.4 bench/cpu.lua $WORK" "$TOCSIN run bench/cpu.lua --set rounds=$WORK")
if [ -n "${BASE:-}" ]; then
  names+=(base)
  cmds+=("$BASE run bench/cpu.lua --set rounds=$WORK")
fi
declare -A best # best[name/part] seconds; parts: those cpu.lua prints, "total", "process"
declare -A totals # totals[name]: each round's total, in order
parts=()

keep() { # NAME PART SECONDS
  local k="$1/$2"
  if [ -z "${best[$k]:-}" ] || awk -v a="$3" -v b="${best[$k]}" 'BEGIN { exit !(a < b) }'; then
    best[$k]=$3
  fi
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
  line="round $r:"
  for i in "${!names[@]}"; do
    n=${names[$i]}
    t0=$(date +%s%N)
    # shellcheck disable=SC2086
    out=$(${cmds[$i]} 2>&1) || { echo "$n failed: $out"; exit 1; }
    t1=$(date +%s%N)
    total=$(sed -n 's/^cpu.lua: [0-9]* rounds in \([0-9.]*\) s.*/\1/p' <<<"$out")
    [ -n "$total" ] || { echo "$n printed no figure: $out"; exit 1; }
    while read -r _ part secs _; do
      keep "$n" "$part" "$secs"
      [ "$r" = 1 ] && [ "$i" = 0 ] && parts+=("$part")
    done < <(grep '^part ' <<<"$out")
    keep "$n" total "$total"
    totals[$n]+="$total "
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
    keep "$n" process "$wall"
    line+=$(printf '  %s %.4f s' "$n" "$total")
  done
  echo "$line"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "best of $ROUNDS, seconds (ratio: lua5.4's time / this one's):"
header=$(printf '  %-14s' "")
for n in "${names[@]}"; do header+=$(printf ' %16s' "$n"); done
echo "$header"
for p in "${parts[@]}" total process; do
  row=$(printf '  %-14s' "$p")
  for n in "${names[@]}"; do
    row+=$(awk -v t="${best[$n/$p]}" -v l="${best[lua5.4/$p]}" 'BEGIN { printf " %8.4f (%4.2f)", t, l / t }')
  done
  echo "$row"
done
echo "(process: the whole command, start-up included: wall time, so the machine's load shows)"
# Rounds pair the binaries within seconds of each other: the median of the
# per-round ratios is steadier than bests taken in different rounds when the
# machine's load moves.
for n in "${names[@]}"; do
  [ "$n" = lua5.4 ] && continue
  paste <(tr ' ' '\n' <<<"${totals[lua5.4]}") <(tr ' ' '\n' <<<"${totals[$n]}") |
    awk -v n="$n" 'NF == 2 { r[++k] = $1 / $2 } END {
      for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (r[j] < r[i]) { t = r[i]; r[i] = r[j]; r[j] = t }
      m = k % 2 ? r[(k + 1) / 2] : (r[k / 2] + r[k / 2 + 1]) / 2
      printf "  %s: median of the %d per-round total ratios %.2f (min %.2f, max %.2f)\n", n, k, m, r[1], r[k] }'
done
