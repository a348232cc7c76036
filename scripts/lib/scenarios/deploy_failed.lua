-- scenarios/deploy_failed.lua — Scenario 9 of the playbook: Deploy Failed
-- (Rollback Needed) (P1).  scripts/runbooks/deploy_failed.lua wraps it.
-- The immediate action is the rollback (./scripts/rollback.sh: rollback_cmd,
-- else the platform's); "If rollback falhou → IMMEDIATE Escalation Engineer".
local common = require("scenarios.common")
local M = {
  name = "deploy_failed", title = "Deploy Failed (Rollback Needed)", severity = "P1",
  description = "Playbook Scenario 9: build error, Railway deploy status Failed, backend new + frontend old",
}

M.params = common.params()

-- "Look for: Build errors, npm install errors, TypeScript errors" — and which
-- Root Cause Fix case each points to.
local LOOK = {
  { "error ts", "Caso 1: Build error (TypeScript) → npm run build, npm test localmente; redeploy após fix" },
  { "npm err", "Caso 2: Dependency install error → fix dependency conflicts em package.json, "
    .. "commit package-lock.json" },
  { "migration", "Caso 3: Migration failure → ver Scenario 7 (Data Corruption), reverter migration problemática" },
  { "build failed", nil },
}

function M.run(ctx, opts)
  local plat = require("platform").get(ctx)

  -- Symptoms: "Railway deploy status Failed"
  local st = step("Railway deploy status", function() return plat.status("backend") end) or {}
  local failed = st.state == "failed" or st.status == "FAILED"
  -- Diagnosis 2: "railway deployments" — identify the failed deployment
  local deps = step("Verificar último deploy", function() return plat.deployments("backend") end) or {}
  local bad
  for _, d in ipairs(deps) do
    if d.status == "FAILED" or d.status == "CRASHED" then
      bad = d
      break
    end
    if d.status == "SUCCESS" then break end -- a newer good deployment: the failure is over
  end
  if not failed and not bad and not (opts and opts.incident) then
    print(("backend %s (%s) — nothing to do"):format(tostring(st.state), tostring(st.version)))
    return true
  end
  local inc = common.open(opts, { title = M.title, severity = M.severity, scenario = M.name,
    summary = ("Deploy falhou: %s %s status %s"):format(bad and bad.id or tostring(st.deployment),
      bad and tostring(bad.version) or tostring(st.version), bad and bad.status or tostring(st.status)) })
  inc:ack()
  if bad then inc:note(("deployment falhado: %s (%s, %s)"):format(bad.id, tostring(bad.version), bad.status)) end

  -- Diagnosis 1: railway logs --service backend | head -100
  local found = step("Verificar Railway deploy logs", function()
    local text, err = plat.logs { service = "backend", lines = 100 }
    if not text then return nil, err end
    local c = {}
    for line in text:gmatch("[^\n]+") do
      local low = line:lower()
      for _, l in ipairs(LOOK) do
        if low:find(l[1], 1, true) then c[l[1]] = (c[l[1]] or 0) + 1 end
      end
    end
    return c
  end) or {}
  local names = {}
  for i, l in ipairs(LOOK) do names[i] = l[1] end
  inc:note("deploy logs: " .. common.describe(found, names))

  -- Also a symptom: "backend novo + frontend antigo"
  local fe = plat.status("frontend")
  if fe then inc:note(("estado: backend %s, frontend %s"):format(tostring(st.version), tostring(fe.version))) end

  step("Comunicar usuários (incident-notification.md)", common.communicate, inc,
    { title = "Falha na atualização do sistema", impact = "Sistema em estado inconsistente após deploy",
      eta = "30 minutos" })

  -- Immediate Action: "Executar rollback automatizado" (./scripts/rollback.sh, ~30s)
  local rolled, detail = step("Executar rollback automatizado (./scripts/rollback.sh)", function()
    local r, version = plat.rollback("backend")
    if not r then return nil, version end
    inc:note("rollback para " .. tostring(version or "o deployment anterior"))
    return true, version
  end)
  if not rolled then
    -- Escalation: "If rollback falhou → IMMEDIATE Escalation Engineer"
    inc:escalate(2, "rollback falhou: " .. tostring(detail))
    return nil, "rollback failed: escalated"
  end
  if ctx.dry_run then
    print("dry run: nothing was changed, so there is nothing to verify")
    return true
  end
  inc:mitigate("rollback para " .. tostring(detail or "o deployment anterior"))

  -- Verification: 1. Health check OK  2. Deployment status "Running"
  local verified, verr = step("Verification", function()
    local ok, why = step("1. Health check OK", function() return common.wait_for(ctx, common.health) end)
    if not ok then return nil, "health: " .. tostring(why) end
    return step("2. Deployment status \"Running\"", function()
      local now, err = plat.status("backend")
      if not now then return nil, err end
      if now.state ~= "running" then return nil, "backend " .. tostring(now.state) end
      return true
    end)
  end)
  if not verified then
    inc:escalate(2, "rollback feito mas verificação falhou: " .. tostring(verr))
    return nil, "verification failed"
  end
  local cause
  for _, l in ipairs(LOOK) do
    if l[2] and (found[l[1]] or 0) > 0 then
      inc:note("Root Cause Fix: " .. l[2])
      cause = cause or l[2]:match("^(Caso %d: [^→]-)%s*→")
    end
  end
  local what = "rollback para " .. tostring(detail or "o deployment anterior")
  step("Comunicar resolução (incident-resolved.md)", common.resolved, inc,
    { title = "Falha na atualização do sistema", cause = cause or "deploy falhou",
      actions = { what, "health check OK, deployment Running" }, post_mortem = true })
  inc:resolve(what .. "; health check OK, deployment Running")
  return true
end

return M
