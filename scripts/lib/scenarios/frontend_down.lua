-- scenarios/frontend_down.lua — Scenario 5 of the playbook: Frontend Down
-- (White Screen), P0.  Immediate action: roll the frontend back; when that
-- does not bring it up, the root-cause cases: a build error (the logs say
-- so: a fix and redeploy, escalated), VITE_API_URL missing (set it, restart).
-- A failed rollback escalates at once.  scripts/runbooks/frontend_down.lua
-- wraps it; health_check calls run().
local common = require("scenarios.common")
local M = {
  name = "frontend_down", title = "Frontend Down (White Screen)", severity = "P0",
  description = "Playbook Scenario 5: white screen or Cannot GET /, frontend service Crashed",
}
M.params = common.params()

function M.run(ctx, opts)
  local p = ctx.params
  local plat = require("platform").get(ctx)

  -- Diagnosis 1: railway service frontend; railway ps → "Crashed"?
  local st = step("Verificar Railway frontend status (railway ps)", function()
    return plat.status("frontend")
  end) or {}
  -- Diagnosis 3 (first for the decision): curl -I frontend → 502/503?
  local up, why = step("Testar acesso direto (curl -I frontend)", common.frontend, p)
  if up and st.state ~= "crashed" and not (opts and opts.incident) then
    print("frontend answers 200: nothing to do")
    return true
  end
  local inc = common.open(opts, { title = M.title, severity = M.severity, scenario = M.name,
    summary = ("Frontend: %s; Railway status %s"):format(tostring(why or "200"), tostring(st.state)) })
  inc:ack()
  -- Diagnosis 2: railway logs --service frontend | tail -50 (build errors, runtime errors)
  local pats = { "error ts%d+", "build failed", "is not defined", "uncaught", "vite" }
  local counts, hits = step("Verificar logs frontend (tail -50)", common.grep_logs, plat, "frontend", pats,
    { lines = 50 })
  counts, hits = counts or {}, hits or {}
  local build_error = (counts["error ts%d+"] or 0) + (counts["build failed"] or 0) > 0
  local env_missing = false
  for _, l in ipairs(hits) do env_missing = env_missing or l:find("VITE_API_URL", 1, true) ~= nil end
  inc:note(("frontend status %s; curl -I: %s; logs: %s"):format(tostring(st.state), tostring(why or "200"),
    build_error and "Build errors (TypeScript/Vite)" or env_missing and "VITE_API_URL is not defined"
    or "sem erro de build"))

  step("Comunicar usuários (incident-notification.md)", common.communicate, inc,
    { title = "Sistema Temporariamente Indisponível", impact = "Frontend exibe tela branca", eta = "30 minutos" })

  local function recovered() return common.wait_for(ctx, common.frontend) end

  -- Immediate Action 1: railway service frontend; railway rollback
  local rolled, rerr = step("Rollback frontend deploy (railway rollback)", function()
    local ok, err = plat.rollback("frontend")
    if not ok then return nil, err end
    return recovered()
  end)
  local action = "rollback do frontend"
  if not rolled then
    local rollback_failed = tostring(rerr):lower():find("rollback failed", 1, true) ~= nil
    if rollback_failed then
      -- Immediate Action 2 (git checkout <commit-hash-estável>; git push -f) is a human's
      inc:escalate(2, "rollback falhou → redeploy versão estável (git checkout <commit-hash-estável>; git push -f)")
      return nil, "frontend rollback failed: escalated"
    end
    -- Root Cause Fix, Caso 2: Environment variable missing
    local vars = step("Verificar VITE_API_URL (railway variables --service frontend)", function()
      return plat.vars("frontend")
    end) or {}
    if (vars.VITE_API_URL or "") == "" then
      local url = p.vite_api_url ~= "" and p.vite_api_url or p.backend
      rolled = step("Caso 2: railway variables set VITE_API_URL; railway restart", function()
        local ok, err = plat.set_var("frontend", "VITE_API_URL", url)
        if not ok then return nil, err end
        ok, err = plat.restart("frontend")
        if not ok then return nil, err end
        return recovered()
      end)
      action = "VITE_API_URL configurada e frontend reiniciado"
    elseif build_error then
      inc:note("Caso 1: Build error (TypeScript/Vite): corrigir localmente (npm run build) e redeploy")
    else
      inc:note("Caso 3: Vite config error: reverter mudanças em vite.config.ts")
    end
    if not rolled then
      inc:escalate(2, "frontend continua fora do ar após rollback")
      return nil, "frontend still down: escalated"
    end
  end
  inc:mitigate(action)
  if ctx.dry_run then
    print("dry run: nothing was changed, so there is nothing to verify")
    return true
  end
  -- Verification: curl -I → 200 OK; login deve funcionar
  local v, verr = step("Verification: frontend carrega e login funciona", function()
    local ok, err = common.frontend(p)
    if not ok then return nil, err end
    if common.token(p) == "" then return nil, "login falhou" end
    return true
  end)
  if not v then
    inc:escalate(2, "verificação falhou: " .. tostring(verr))
    return nil, "verification failed"
  end
  if build_error then inc:note("Root cause: Caso 1: Build error (TypeScript/Vite) — corrigir e redeploy") end
  inc:resolve(action .. "; frontend 200 OK e login funciona")
  return true
end

return M
