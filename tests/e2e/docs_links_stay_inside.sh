#!/usr/bin/env bash
# Users never see anything outside the repository: every link in README.md
# and docs/*.md is relative, names a file of the repository, and its #anchor
# is a heading of that file; no text names /work, ../shared or the seed.
. "$SRC/tests/e2e/lib.bash"
check() {
  python3 - "$@" <<'PY'
import os, re, sys
root, files = sys.argv[1], sys.argv[2:]
bad = []
def anchors(path):
    out = set()
    for line in open(path, encoding="utf-8"):
        m = re.match(r"#+ (.*)", line)
        if m:
            a = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-")
            out.add(a)
    return out
for f in files:
    text = open(f, encoding="utf-8").read()
    for word in ("/work/", "../shared", "seed/", "SPEC.md", "STYLE.md"):
        if word in text:
            bad.append(f"{f}: names {word}")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            bad.append(f"{f}: link outside the repository: {target}")
            continue
        path, _, anchor = target.partition("#")
        dest = os.path.normpath(os.path.join(os.path.dirname(f), path)) if path else f
        if not os.path.abspath(dest).startswith(os.path.abspath(root) + os.sep):
            bad.append(f"{f}: link leaves the repository: {target}")
        elif not os.path.exists(dest):
            bad.append(f"{f}: no such file: {target}")
        elif anchor and anchor not in anchors(dest):
            bad.append(f"{f}: no heading #{anchor} in {path or f}")
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
}
cd "$SRC" || fail "no $SRC"
ls docs/*.md >/dev/null || fail "no docs"
check "$SRC" README.md docs/*.md >"$WORK/bad" || fail "$(cat "$WORK/bad")"
# It can fail: a link to a missing heading, one outside the repository.
mkdir -p "$WORK/r/docs"
printf '# A\n[x](../../elsewhere.md) [y](#nope) [z](https://example.com)\n' >"$WORK/r/docs/a.md"
check "$WORK/r" "$WORK/r/docs/a.md" >"$WORK/bad2" && fail "the check passed bad links"
[ "$(wc -l <"$WORK/bad2")" = 3 ] || fail "expected 3 bad links, got: $(cat "$WORK/bad2")"
echo "links stay inside the repository"
