-- scenarios/api_timeout.lua — Scenario 2 of the playbook: API Timeout (High
-- Latency), P1.  scripts/runbooks/api_timeout.lua wraps it; health_check and
-- database_down ("max connections → Ver Scenario 2") call run(ctx, {incident=}).
local common = require("scenarios.common")
local M = {
  name = "api_timeout", title = "API Timeout (High Latency)", severity = "P1",
  description = "Playbook Scenario 2: requests > 5s, 504s, connection pool exhausted",
}

M.params = common.params()

local IDLE_SQL = "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
  .. "WHERE state = 'idle' AND state_change < NOW() - INTERVAL '5 minutes';"

function M.run(ctx, opts)
  local p = ctx.params
  local plat = require("platform").get(ctx)

  -- Diagnosis 1: time curl /api/etps
  local function latency()
    local ok, ms_or_err, ms = common.etps(p)
    local t = ok and ms_or_err or ms
    if ok and t <= p.slow_ms then return true, t end
    return nil, ok and ("%d ms (> %d ms)"):format(t, p.slow_ms) or ("%s after %d ms"):format(ms_or_err, t)
  end
  local fast, why = step("Verificar latency de endpoints (time curl /api/etps)", latency)
  if fast and not (opts and opts.incident) then
    print(("/api/etps answered in %d ms: nothing to do"):format(why))
    return true
  end
  local inc = common.open(opts, { title = M.title, severity = M.severity, scenario = M.name,
    summary = "Requests lentos: /api/etps " .. tostring(why) })
  inc:ack()

  -- Diagnosis 2: railway logs --service backend | grep "Slow query\|Timeout\|exceeded"
  local pats = { "slow query", "timeout", "exceeded" }
  local counts = step("Verificar logs de performance", function()
    return common.grep_logs(plat, "backend", pats)
  end) or {}
  inc:note("logs de performance: " .. common.describe(counts, pats))

  -- Diagnosis 3: SELECT count(*) FROM pg_stat_activity (> 80% of max → pool esgotado)
  local conns = step("Verificar database connections", function()
    local res, err = plat.psql("postgres", "SELECT count(*) FROM pg_stat_activity;", { readonly = true })
    if not res then return nil, err end
    if not res.ok then return nil, "psql: " .. (res.stderr ~= "" and res.stderr or ("exit " .. tostring(res.code))) end
    return tonumber(res.stdout:match("%d+"))
  end)
  inc:note(conns and ("pg_stat_activity: %d connections (%s)"):format(conns,
      conns > 0.8 * p.max_connections and "connection pool esgotado" or "abaixo de 80% do max")
    or "pg_stat_activity: sem leitura")

  step("Comunicar usuários (incident-notification.md)", common.communicate, inc,
    { title = "Lentidão no ETP Express", impact = "Requests lentos e alguns timeouts (504)", eta = "2 horas" })

  local function normal()
    local ok, ms_or_err, ms = common.etps(p)
    local t = ok and ms_or_err or ms
    if ok and t < p.normal_ms then return true, t end
    return nil, ok and ("%d ms"):format(t) or ms_or_err
  end

  -- Immediate Action 1: Liberar connections idle.
  local freed = step("Liberar connections idle", function()
    local res, err = plat.psql("postgres", IDLE_SQL)
    if not res then return nil, err end
    if not res.ok then return nil, "psql: " .. (res.stderr ~= "" and res.stderr or ("exit " .. tostring(res.code))) end
    return ctx.dry_run or normal()
  end)

  -- Immediate Action 2: Se não resolver → Restart backend.
  local restarted = false
  if not freed then
    restarted = step("Se não resolver → Restart backend", function()
      local r, err = plat.restart("backend")
      if not r then return nil, err end
      return true
    end)
    if not restarted then
      inc:escalate(2, "restart do backend falhou")
      return nil, "backend restart failed: escalated"
    end
  end
  inc:mitigate(freed and "connections idle liberadas" or "backend reiniciado")
  if ctx.dry_run then
    print("dry run: nothing was changed, so there is nothing to verify")
    return true
  end

  -- Verification: latency normalizada (< 500ms).
  local ok, ms = step("Verification: latency normalizada", function()
    if ctx.dry_run then return true end
    return task.retry({ attempts = 5, delay = math.max(p.settle, 0.5) / 5, backoff = 1 }, normal)
  end)
  if not ok then
    -- Rollback Plan: se restart causou instabilidade → ./scripts/rollback.sh
    local rolled = restarted and step("Rollback Plan: ./scripts/rollback.sh", function()
      local r, err = plat.rollback("backend")
      if not r then return nil, err end
      return task.retry({ attempts = 5, delay = math.max(p.settle, 0.5) / 5, backoff = 1 }, normal)
    end)
    if not rolled then
      inc:escalate(2, "latência continua alta: diagnóstico de queries (N+1, índices, traffic spike)")
      return nil, "latency still high: escalated"
    end
  end
  inc:note("Root cause: identificar queries lentas (N+1 → eager loading; falta de índices → EXPLAIN ANALYZE; "
    .. "traffic spike → upgrade Railway plan / rate limiting #38)")
  local what = freed and "connections idle liberadas" or "backend reiniciado"
  -- inc:resolve sends the playbook's incident-resolved.md to those notified
  inc:resolve(("%s; /api/etps em %s ms"):format(what, tostring(ms)))
  return true
end

return M
