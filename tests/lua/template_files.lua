-- template.render with template names: the three shipped templates (found in
-- ./scripts/templates, the default folder: tests/lua/scripts/templates links
-- them), suffix resolution, escaping by file type, names that are not read.
local render = template.render

local function eq(name, got, want)
  if got ~= want then error(string.format("%s:\nwant %q\ngot  %q", name, want, tostring(got)), 0) end
end

-- ---- incident-notification.md: the playbook's example, word for word ---------
eq("notification (playbook example)", render("incident-notification", {
  impact = "Sistema completamente indisponível",
  eta = "1 hora",
}), [[
Assunto: [ETP Express] Sistema Temporariamente Indisponível

Prezados usuários,

Identificamos um problema técnico que está impedindo o acesso ao sistema ETP Express.

**Impacto:** Sistema completamente indisponível
**Status:** Nossa equipe está trabalhando na resolução
**Previsão:** Estimamos normalização em até 1 hora

Atualizações serão enviadas a cada 30 minutos.

Pedimos desculpas pelo transtorno.

Equipe ETP Express
]])

eq("notification (every variable, no eta, no escaping)", render("incident-notification.md", {
  title = "Lentidão & erros",
  summary = "As respostas da API estão lentas (p95 > 5s).",
  impact = "Geração de ETP <lenta>",
  status = "Investigando",
  update_interval = "15 minutos",
}), [[
Assunto: [ETP Express] Lentidão & erros

Prezados usuários,

As respostas da API estão lentas (p95 > 5s).

**Impacto:** Geração de ETP <lenta>
**Status:** Investigando

Atualizações serão enviadas a cada 15 minutos.

Pedimos desculpas pelo transtorno.

Equipe ETP Express
]])

-- ---- incident-resolved.md -------------------------------------------------------
eq("resolved", render("incident-resolved", {
  title = "Sistema Temporariamente Indisponível",
  resolved_at = "14:32",
  duration = "47 minutos",
  cause = "pool de conexões do PostgreSQL esgotado",
  actions = { "Conexões ociosas encerradas", "Backend reiniciado" },
  post_mortem = true,
}), [[
Assunto: [ETP Express] Resolvido: Sistema Temporariamente Indisponível

Prezados usuários,

O problema técnico que afetava o sistema ETP Express foi resolvido às 14:32. O sistema está operando normalmente.

**Duração:** 47 minutos
**Causa:** pool de conexões do PostgreSQL esgotado
**O que foi feito:**
- Conexões ociosas encerradas
- Backend reiniciado

Um post-mortem será conduzido e as medidas preventivas serão acompanhadas pela equipe.

Pedimos desculpas pelo transtorno.

Equipe ETP Express
]])

-- ---- post-mortem.md -----------------------------------------------------------------
eq("post-mortem", render("post-mortem", {
  title = "Banco de dados indisponível",
  date = "2026-12-01",
  duration = 2,
  severity = "P0",
  commander = "Ana",
  timeline = {
    { time = "10:02", event = "Incident detected" },
    { time = "10:05", event = "First responder acknowledged" },
    { time = "11:40", event = "Incident resolved" },
  },
  users_affected = "100%",
  downtime = "98 minutes",
  data_loss = "No",
  root_cause = "Disco cheio no volume do PostgreSQL.",
  resolution = "Volume ampliado; WAL antigo removido.",
  went_well = { "Alerta disparou em 2 minutos" },
  went_wrong = { "Sem alerta de disco", "Runbook desatualizado" },
  action_items = {
    { action = "Alerta de disco a 80%", owner = "Bruno", due = "2026-12-08", priority = "P0" },
    { action = "Atualizar runbook", owner = "Ana", due = "2026-12-15", priority = "P1", done = true },
  },
}), [[
# Post-Mortem: Banco de dados indisponível

**Data:** 2026-12-01
**Duração:** 2
**Severity:** P0
**Incident Commander:** Ana

## Timeline

- [10:02] Incident detected
- [10:05] First responder acknowledged
- [11:40] Incident resolved

## Impact

- Users affected: 100%
- Downtime: 98 minutes
- Data loss: No

## Root Cause

Disco cheio no volume do PostgreSQL.

## Resolution

Volume ampliado; WAL antigo removido.

## What Went Well

- Alerta disparou em 2 minutos

## What Went Wrong

- Sem alerta de disco
- Runbook desatualizado

## Action Items

- [ ] Alerta de disco a 80% - Owner: Bruno - Due: 2026-12-08 - Priority: P0
- [x] Atualizar runbook - Owner: Ana - Due: 2026-12-15 - Priority: P1
]])

-- ---- name resolution -----------------------------------------------------------------
eq("exact file name without suffix", render("greeting", { who = "SRE" }), "Hello SRE\n")
eq(".md is tried before .txt", render("same", { x = 1 }), "from md 1\n")
eq("an explicit suffix", render("same.txt", { x = 1 }), "from txt 1\n")
-- .html output escapes {{x}}, not {{{x}}}; its partial (footer.txt) escapes too.
eq("html escapes", render("status-page", { service = "DB <primary>", raw = "<b>ok</b>", team = "R&D" }),
  "<p>DB &lt;primary&gt; &mdash; <b>ok</b></p>\n-- R&amp;D & co\n")
eq("a .txt template does not escape", render("footer", { team = "<SRE>" }), "-- <SRE> & co\n")
eq("a partial file from inline text", render("[{{> greeting}}]", { who = "x" }), "[Hello x\n]")
eq("opts.html overrides the file type", render("status-page", { service = "<a>", raw = "", team = "&" },
  { html = false }), "<p><a> &mdash; </p>\n-- & & co\n")

-- A name with a slash or ".." is text, never a path: nothing is read.
eq("traversal is text", render("../../../etc/hostname", {}), "../../../etc/hostname")
eq("absolute path is text", render("/etc/hostname", {}), "/etc/hostname")
eq("two dots is text", render("..", {}), "..")
eq("dots inside a name are text", render("scripts..templates", {}), "scripts..templates")
-- ... and a partial with such a name is refused, with an error.
local out, err = render("{{> ../greeting}}", { who = "x" })
assert(out == nil and err.kind == "template", "a partial name with a slash must be refused")
assert(err.message:find("'../greeting' is not a template name", 1, true), err.message)
out, err = render("{{> .hidden}}", {})
assert(out == nil and err.message:find("not a template name", 1, true), tostring(err))

-- A missing template: nil, err naming it and the folders searched.
out, err = render("no-such-template", {})
assert(out == nil, "a missing template must not render")
eq("missing template error", tostring(err),
  "template: no template 'no-such-template' (looked in: scripts/templates)")
-- A missing partial renders empty, as the Mustache spec says.
eq("missing partial", render("[{{> no-such-partial}}]", {}), "[]")

-- Arguments are checked.
assert(not pcall(render, nil, {}), "name_or_text must be a string")
assert(not pcall(render, "x", "vars"), "vars must be a table")
eq("vars may be omitted", render("a{{b}}c"), "ac")
