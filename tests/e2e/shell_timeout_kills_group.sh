#!/usr/bin/env bash
# shell timeouts reach the whole process group: a command whose grandchildren
# write their pids to a file times out after 0.5 s; afterwards none of them
# (nor anything else in the group) is alive, tocsin reported kind "timeout"
# in about 0.5 s (+ the grace period when something ignores SIGTERM), and
# err.stdout kept the partial output.
set -u
: "${TOCSIN:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; echo "--- output:"; cat "$tmp/out" 2>/dev/null; exit 1; }

# A pid counts as alive unless /proc has no entry or shows a zombie (orphans
# are reparented to a PID 1 that may never reap them).
alive() {
  local st
  st=$(awk '{ sub(/^[0-9]+ \(.*\) /, ""); print $1 }' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ]
}
# Members of process group $1 that are not zombies.
group_members() { ps -eo pid=,pgid=,stat= | awk -v g="$1" '$2 == g && $3 !~ /^Z/ { print $1 }'; }

check_case() { # name, ignore SIGTERM? (0/1), min and max elapsed seconds
  local name=$1 ignore=$2 min=$3 max=$4
  local pids="$tmp/$name.pids"
  : >"$pids"
  local extra=""
  if [ "$ignore" = 1 ]; then
    extra="(trap '' TERM; sleep 100 & echo \$! >> $pids; wait) & echo \$! >> $pids"
  fi
  cat >"$tmp/$name.lua" <<EOF
local t0 = time.monotonic()
local res, err = shell.sh([[
echo \$\$ >> $pids
sleep 100 & echo \$! >> $pids
sleep 100 & echo \$! >> $pids
$extra
sh -c 'sleep 100 & echo \$! >> $pids; wait' &
echo partial-output
sleep 0.2
wait
]], {timeout = 0.5, grace = 1})
local dt = time.monotonic() - t0
assert(res == nil, "expected a timeout, got a result")
print("KIND=" .. err.kind)
print(string.format("ELAPSED=%.3f", dt))
print("STDOUT=" .. err.stdout:gsub("\n", "|"))
print("SIGNAL=" .. tostring(err.signal))
EOF
  "$TOCSIN" run "$tmp/$name.lua" --yes >"$tmp/out" 2>&1
  local rc=$?
  [ $rc = 0 ] || fail "$name: tocsin exited $rc"
  grep -q "KIND=timeout" "$tmp/out" || fail "$name: no timeout reported"
  grep -q "STDOUT=partial-output|" "$tmp/out" || fail "$name: partial stdout lost"
  local el
  el=$(sed -n 's/.*ELAPSED=\([0-9.]*\).*/\1/p' "$tmp/out")
  [ -n "$el" ] || fail "$name: no ELAPSED"
  awk -v e="$el" -v lo="$min" -v hi="$max" 'BEGIN { exit !(e >= lo && e < hi) }' ||
    fail "$name: elapsed $el not in [$min, $max)"
  local n
  n=$(wc -l <"$pids")
  [ "$n" -ge 4 ] || fail "$name: only $n pids recorded"
  local pgid
  pgid=$(head -n1 "$pids")
  # SIGKILL is asynchronous: give the kernel a moment.
  local left=""
  for _ in $(seq 50); do
    left=""
    while read -r p; do alive "$p" && left="$left $p"; done <"$pids"
    [ -z "$left" ] && [ -z "$(group_members "$pgid")" ] && break
    sleep 0.1
  done
  [ -z "$left" ] || fail "$name: still alive:$left"
  [ -z "$(group_members "$pgid")" ] || fail "$name: group $pgid still has members: $(group_members "$pgid")"
  echo "ok $name: elapsed ${el}s, $n pids dead ($(grep SIGNAL= "$tmp/out"))"
}

# Everyone dies of SIGTERM: reported right after the timeout, no grace wait.
check_case term 0 0.45 1.4
# A subtree ignores SIGTERM: it gets SIGKILL once the 1 s grace has passed.
check_case ignore_term 1 1.4 4
echo PASS
