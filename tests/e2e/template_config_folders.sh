#!/usr/bin/env bash
# The config's `templates` list decides where template.render reads names:
# folders relative to the config, searched in order (the first one holding
# the name wins), and nothing outside them; oversized files and folders named
# like templates are refused with clear errors.
. "$SRC/tests/e2e/lib.bash"
mkdir -p "$WORK/cfg/tpl/dir.md" "$WORK/elsewhere"
cat >"$WORK/cfg/tocsin.lua" <<LUA
return { templates = { "tpl", "$SRC/scripts/templates" } }
LUA
printf 'override for {{title}}\n' >"$WORK/cfg/tpl/post-mortem.md"
printf 'secret {{x}}\n' >"$WORK/elsewhere/outside.md"
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' 'a' >"$WORK/cfg/tpl/huge.txt"
head -c $((1024 * 1024)) /dev/zero | tr '\0' 'b' >"$WORK/cfg/tpl/max.txt"
cat >"$WORK/rb.lua" <<'LUA'
-- The shipped template, reached through the second folder.
local s = assert(template.render("incident-notification", { impact = "API fora do ar", eta = "2 horas" }))
assert(s:find("^Assunto: %[ETP Express%] Sistema Temporariamente Indisponível\n"), s)
assert(s:find("**Impacto:** API fora do ar", 1, true), s)
assert(s:find("**Previsão:** Estimamos normalização em até 2 horas", 1, true), s)
-- The first folder wins.
assert(template.render("post-mortem", { title = "X" }) == "override for X\n")
-- A file outside the folders is not reachable by name.
local out, err = template.render("outside", { x = 1 })
assert(out == nil and err.kind == "template")
print("MISSING=" .. tostring(err))
-- A folder named like a template is not a template.
out, err = template.render("dir", {})
assert(out == nil and err.message:find("no template 'dir'", 1, true), tostring(err))
-- The size limit: 1 MiB reads, one byte more does not.
assert(#template.render("max", {}) == 1024 * 1024)
out, err = template.render("huge", {})
assert(out == nil, "a template over 1 MiB must be refused")
print("HUGE=" .. tostring(err))
LUA
expect_exit 0 "$TOCSIN" run "$WORK/rb.lua" --yes --config "$WORK/cfg/tocsin.lua"
grep -qF "MISSING=template: no template 'outside' (looked in: $WORK/cfg/tpl, $SRC/scripts/templates)" "$WORK/out" ||
  { cat "$WORK/out" "$WORK/err"; fail "missing-template error does not list the folders"; }
grep -qF "HUGE=template: $WORK/cfg/tpl/huge.txt is larger than 1024 KiB" "$WORK/out" ||
  { cat "$WORK/out" "$WORK/err"; fail "oversized template not refused clearly"; }

# Without `templates`, the default is scripts/templates next to the config.
mkdir -p "$WORK/cfg2/scripts/templates"
echo 'return {}' >"$WORK/cfg2/tocsin.lua"
printf 'default folder {{x}}\n' >"$WORK/cfg2/scripts/templates/hello.txt"
cat >"$WORK/rb2.lua" <<'LUA'
assert(template.render("hello", { x = 7 }) == "default folder 7\n")
LUA
expect_exit 0 "$TOCSIN" run "$WORK/rb2.lua" --yes --config "$WORK/cfg2/tocsin.lua"

# A `templates` value that is not a folder list is a config error.
echo 'return { templates = 42 }' >"$WORK/cfg2/tocsin.lua"
expect_exit 2 "$TOCSIN" run "$WORK/rb2.lua" --yes --config "$WORK/cfg2/tocsin.lua"
grep -q "'templates' must be a folder or a list of folders" "$WORK/err" || { cat "$WORK/err"; fail "bad templates accepted"; }
exit 0
