#!/usr/bin/env bash
# bench/lua_speed.sh — pure Lua speed: bench/cpu.lua (table work, gmatch,
# a sieve, a matrix product) under `lua5.4` and under `tocsin run`, in
# interleaved rounds; keeps each one's best and prints Tocsin's ratio
# (lua5.4's time / Tocsin's: 1.00 is the interpreter's own speed; target
# ≥ 0.90). Two figures: the CPU seconds of the work itself (os.clock around
# it, start-up left out), and the wall time of the whole process.
# Env: TOCSIN (binary, default build/tocsin), BASE (a second binary, e.g. an
#      older build, run in the same rounds), ROUNDS (default 7), WORK (the
#      script's rounds of work, default 20).
set -u
cd "$(dirname "$0")/.." || exit 1
TOCSIN=${TOCSIN:-build/tocsin}
ROUNDS=${ROUNDS:-7}
WORK=${WORK:-20}
command -v lua5.4 >/dev/null || { echo "lua5.4 is not installed (apt-get install -y lua5.4)"; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

names=(lua5.4 tocsin)
cmds=("lua5.4 bench/cpu.lua $WORK" "$TOCSIN run bench/cpu.lua --set rounds=$WORK")
if [ -n "${BASE:-}" ]; then
  names+=(base)
  cmds+=("$BASE run bench/cpu.lua --set rounds=$WORK")
fi
declare -A best_cpu best_wall

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for r in $(seq "$ROUNDS"); do
  line="round $r:"
  for i in "${!names[@]}"; do
    n=${names[$i]}
    t0=$(date +%s%N)
    # shellcheck disable=SC2086
    out=$(${cmds[$i]} 2>&1) || { echo "$n failed: $out"; exit 1; }
    t1=$(date +%s%N)
    cpu=$(sed -n 's/^cpu.lua: [0-9]* rounds in \([0-9.]*\) s.*/\1/p' <<<"$out")
    [ -n "$cpu" ] || { echo "$n printed no figure: $out"; exit 1; }
    wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }')
    line+=$(printf '  %s %.4f s (process %.4f s)' "$n" "$cpu" "$wall")
    if [ -z "${best_cpu[$n]:-}" ] || awk -v a="$cpu" -v b="${best_cpu[$n]}" 'BEGIN { exit !(a < b) }'; then
      best_cpu[$n]=$cpu
    fi
    if [ -z "${best_wall[$n]:-}" ] || awk -v a="$wall" -v b="${best_wall[$n]}" 'BEGIN { exit !(a < b) }'; then
      best_wall[$n]=$wall
    fi
  done
  echo "$line"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

echo "best of $ROUNDS ($WORK rounds of work each):"
for n in "${names[@]}"; do
  awk -v n="$n" -v c="${best_cpu[$n]}" -v w="${best_wall[$n]}" -v lc="${best_cpu[lua5.4]}" \
    -v lw="${best_wall[lua5.4]}" 'BEGIN {
      printf "  %-7s work %.4f s  ratio %.2f    process %.4f s  ratio %.2f\n", n, c, lc / c, w, lw / w }'
done
echo "(ratio: lua5.4's time / this one's; target for tocsin's work ratio: >= 0.90)"
