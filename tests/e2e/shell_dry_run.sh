#!/usr/bin/env bash
# --dry-run prints shell.run/shell.sh commands instead of running them, unless
# readonly=true; suppressed calls return a success-shaped result.
set -u
: "${TOCSIN:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; echo "--- output:"; cat "$tmp/out" 2>/dev/null; exit 1; }
mark="$tmp/marker file"
cat >"$tmp/rb.lua" <<'EOF'
local mark = env("MARK")
local dry = env("DRY") == "1"
local res = assert(shell.run{"touch", mark})
assert(res.ok and res.code == 0 and res.stdout == "" and res.stderr == "", "success shape")
assert((res.dry_run == true) == dry, "dry_run flag")
local ro = assert(shell.run{"sh", "-c", 'echo ro > "$1"; echo read-only-ran', "x", mark .. ".ro", readonly = true})
assert(ro.dry_run == nil, "readonly ran")
assert(ro.stdout == "read-only-ran\n", "readonly stdout")
local sh = assert(shell.sh("echo it\\'s > '" .. mark .. ".sh'"))
assert((sh.dry_run == true) == dry)
print("SCRIPT-DONE")
EOF

MARK="$mark" DRY=1 "$TOCSIN" run "$tmp/rb.lua" --dry-run --yes >"$tmp/out" 2>&1
rc=$?
[ $rc = 0 ] || fail "dry run exited $rc"
grep -q SCRIPT-DONE "$tmp/out" || fail "script did not finish"
[ ! -e "$mark" ] || fail "dry run executed touch"
[ ! -e "$mark.sh" ] || fail "dry run executed shell.sh"
[ -e "$mark.ro" ] || fail "readonly command did not run in the dry run"
# the would-be actions, quoted so they could be pasted into a shell
grep -qF "touch '$mark'" "$tmp/out" || fail "touch action not listed"
grep -qF "/bin/sh -c 'echo it" "$tmp/out" || fail "sh action not listed"
grep -qF "read-only-ran" "$tmp/out" && fail "readonly stdout should not be printed"
grep -qF "ro >" "$tmp/out" && fail "readonly command listed as an action"

# Without --dry-run everything runs (so the assertions above can fail).
rm -f "$mark.ro"
MARK="$mark" DRY=0 "$TOCSIN" run "$tmp/rb.lua" --yes >"$tmp/out" 2>&1 || fail "real run exited $?"
[ -e "$mark" ] && [ -e "$mark.sh" ] && [ -e "$mark.ro" ] || fail "real run did not create the files"
echo PASS
