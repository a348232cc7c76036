-- scenarios/database_down.lua — Scenario 1 of the playbook: Database Down (P0).
-- The one source of truth for the scenario: scripts/runbooks/database_down.lua
-- wraps it, and health_check calls run(ctx, {incident = inc}) when it has
-- already opened the incident.
local common = require("scenarios.common")
local M = {
  name = "database_down", title = "Database Down", severity = "P0",
  description = "Playbook Scenario 1: backend 500 everywhere, /api/health failing, PostgreSQL crashed",
}

M.params = common.params()

local LOG_PATTERNS = { "database", "postgres", "connection" }
local LOOK_FOR = { "connection refused", "timeout", "max connections" }

function M.run(ctx, opts)
  local p = ctx.params
  local plat = require("platform").get(ctx)

  -- Symptoms / Diagnosis 1: the health endpoint.
  local ok, why = step("Verificar health check", common.health, p)
  if ok and not (opts and opts.incident) then
    print("/api/health: {\"status\":\"ok\",\"database\":\"healthy\"} — nothing to do")
    return true
  end
  local inc = common.open(opts, { title = M.title, severity = M.severity, scenario = M.name,
    summary = "Health check endpoint /api/health retorna erro: " .. tostring(why) })
  inc:ack()

  -- Diagnosis 2: railway logs --service backend | grep -i "database\|postgres\|connection"
  local counts = step("Verificar logs backend", function()
    local c, hits = common.grep_logs(plat, "backend", LOG_PATTERNS)
    if not c then return nil, hits end
    return common.look_for(hits, LOOK_FOR)
  end) or {}
  inc:note("logs backend: " .. common.describe(counts, LOOK_FOR))

  -- Diagnosis 3: Railway PostgreSQL status ("Running" or "Crashed").
  local pg = step("Verificar Railway PostgreSQL status", function() return plat.status("postgres") end) or {}
  inc:note("PostgreSQL status: " .. tostring(pg.state))

  -- Communication: users are told (incident-notification.md).
  step("Comunicar usuários (incident-notification.md)", common.communicate, inc,
    { title = "Sistema Temporariamente Indisponível", impact = "Sistema completamente indisponível",
      eta = "1 hora" })

  -- Immediate Action 1: "Se 'max connections' → Ver Scenario 2 (High Latency)".
  if (counts["max connections"] or 0) > 0 and pg.state ~= "crashed" then
    inc:note("Se \"max connections\" → Ver Scenario 2 (High Latency)")
    local api_timeout = require("scenarios.api_timeout")
    return api_timeout.run(ctx, { incident = inc, from = "database_down" })
  end

  -- Immediate Action 1: "Se crashed → Restart service".
  local function recovered() return common.wait_for(ctx, common.health) end
  local restarted = false
  if confirm("Restart do serviço PostgreSQL?", { timeout = 300 }) then
    restarted = step("Verificar Railway Database Status: restart service", function()
      local r, err = plat.restart("postgres")
      if not r then return nil, err end
      return recovered()
    end) and true or false
  else
    inc:note("restart não aprovado")
  end

  -- Immediate Action 2: "Se restart falhou → Rollback para deploy anterior".
  if not restarted then
    local rolled = step("Se restart falhou: rollback para deploy anterior (./scripts/rollback.sh)", function()
      local r, err = plat.rollback("backend")
      if not r then return nil, err end
      return step("Verificar se restaurou", recovered)
    end)
    if not rolled then
      -- Rollback Plan: "Se rollback falhar → Restore backup via DISASTER_RECOVERY.md (~1h)"
      inc:escalate(2, "restart e rollback falharam: restore backup via DISASTER_RECOVERY.md (~1h)")
      inc:note("Rollback Plan: se rollback falhar → restore backup (DISASTER_RECOVERY.md, ~1h)")
      return nil, "database still down after restart and rollback: escalated"
    end
  end
  inc:mitigate(restarted and "PostgreSQL reiniciado" or "rollback para o deploy anterior")

  -- Root Cause Fix: what the responder does next, on the timeline.
  local migration = false
  for _, l in ipairs(select(2, common.grep_logs(plat, "backend", { "migration" })) or {}) do
    migration = migration or l:lower():find("failed", 1, true) ~= nil
  end
  inc:note(migration
    and "Root cause: crash por migration malformada → railway run npm run migration:revert; git revert <commit>"
    or "Root cause: se falta de recursos → upgrade Railway plan; ver DISASTER_RECOVERY.md")

  if ctx.dry_run then
    print("dry run: nothing was changed, so there is nothing to verify")
    return true
  end

  -- Verification: the playbook's three checks.
  local verified = step("Verification", function()
    local h, herr = common.health(p)
    if not h then return nil, "health: " .. herr end
    local e, eerr = common.etps(p)
    if not e then return nil, "/api/etps: " .. eerr end
    local f, ferr = common.frontend(p)
    if not f then return nil, "frontend: " .. ferr end
    return true
  end)
  if not verified then
    inc:escalate(2, "verificação falhou após a ação imediata")
    return nil, "verification failed"
  end

  local what = restarted and "PostgreSQL reiniciado" or "rollback para o deploy anterior"
  -- inc:resolve sends the playbook's incident-resolved.md to those notified
  inc:resolve(what .. "; health, /api/etps e frontend OK")
  return true
end

return M
