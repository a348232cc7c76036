#!/usr/bin/env bash
# docs/lua-api.md names every global a runbook sees and every field of every
# module table: the binary lists them (a runbook walking its own _ENV, one
# level into tables), and each must appear in the page's code (inline code or
# a code block) as a whole name.  The check is run once more on copies of the
# page with a name's mentions deleted, and must fail there: it can fail.
. "$SRC/tests/e2e/lib.bash"
DOC="$SRC/docs/lua-api.md"
[ -f "$DOC" ] || fail "no $DOC"

cat >"$WORK/walk.lua" <<'LUA'
local names = {}
for k, v in pairs(_ENV) do
  if type(k) == "string" then
    names[#names + 1] = k
    if type(v) == "table" and k ~= "_G" then
      for k2 in pairs(v) do
        if type(k2) == "string" then names[#names + 1] = k .. "." .. k2 end
      end
    end
  end
end
table.sort(names)
for _, n in ipairs(names) do print("G " .. n) end
LUA
expect_exit 0 "$TOCSIN" run "$WORK/walk.lua" --yes
sed -n 's/^G //p' "$WORK/out" >"$WORK/names"
# The walk must have seen the sandbox, not an empty table.
for must in step http.get http.serve sql.open shell.run task.spawn notify template.render; do
  grep -qx "$must" "$WORK/names" || fail "the walk did not list $must"
done

# check DOC: prints each listed name the page's code does not mention.
check() {
  python3 - "$1" "$WORK/names" <<'PY'
import re, sys
doc = open(sys.argv[1], encoding="utf-8").read()
# code = fenced blocks + inline code spans (a name in prose does not count)
code = "\n".join(re.findall(r"^```[^\n]*\n(.*?)^```", doc, re.S | re.M))
prose = re.sub(r"^```[^\n]*\n.*?^```", "", doc, flags=re.S | re.M)
code += "\n" + "\n".join(re.findall(r"`([^`\n]+)`", prose))
missing = [n for n in open(sys.argv[2]).read().split()
           if not re.search(r"(?<![A-Za-z0-9_.])" + re.escape(n) + r"(?![A-Za-z0-9_])", code)]
print("\n".join(missing))
sys.exit(1 if missing else 0)
PY
}

if ! check "$DOC" >"$WORK/missing"; then
  fail "docs/lua-api.md does not mention: $(tr '\n' ' ' <"$WORK/missing")"
fi
echo "$(wc -l <"$WORK/names") names, all documented"

# The check fails when a name's mentions are gone (a global, a module
# function, a standard library field).
for name in confirm http.head math.ult; do
  re=$(printf '%s' "$name" | sed 's/\./\\./g')
  sed -E "s/(^|[^A-Za-z0-9_.])$re([^A-Za-z0-9_]|$)/\1\2/g" "$DOC" >"$WORK/cut.md"
  grep -qE "(^|[^A-Za-z0-9_.])$re([^A-Za-z0-9_]|$)" "$WORK/cut.md" && fail "could not delete $name from the copy"
  if check "$WORK/cut.md" >"$WORK/missing"; then
    fail "the check passed with $name deleted from the page"
  fi
  grep -qx "$name" "$WORK/missing" || fail "the check did not name $name as missing"
done
echo "the check fails when a name is deleted"
