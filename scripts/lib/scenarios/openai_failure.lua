-- scenarios/openai_failure.lua — Scenario 3 of the playbook: OpenAI API
-- Failure (P1).  The case analysis is the playbook's: 429 (rate limit: wait
-- for the reset), 401 (invalid key: set the new key, restart), 503 (outage:
-- no action, tell the users, monitor; > 2h → Incident Commander).
-- scripts/runbooks/openai_failure.lua wraps it; health_check calls run().
local common = require("scenarios.common")
local M = {
  name = "openai_failure", title = "OpenAI API Failure", severity = "P1",
  description = "Playbook Scenario 3: section generation fails (OpenAI 429, 401 or 503)",
}
M.params = common.params()

local LOOK_FOR = { "rate limit", "invalid api key", "incorrect api key", "service unavailable" }

function M.run(ctx, opts)
  local p = ctx.params
  local plat = require("platform").get(ctx)

  local ok, why = step("Testar geração de seção (POST /api/sections/1/generate)", common.generate, p)
  if ok and not (opts and opts.incident) then
    print("section generation works: nothing to do")
    return true
  end
  local inc = common.open(opts, { title = M.title, severity = M.severity, scenario = M.name,
    summary = "Geração de seções falha com \"Erro ao gerar conteúdo\": " .. tostring(why) })
  inc:ack()

  -- Diagnosis 1: railway logs --service backend | grep -i "openai\|gpt-4"
  local counts = step("Verificar logs de erro OpenAI", function()
    local c, hits = common.grep_logs(plat, "backend", { "openai", "gpt%-4" })
    if not c then return nil, hits end
    return common.look_for(hits, LOOK_FOR)
  end) or {}
  inc:note("logs OpenAI: " .. common.describe(counts, LOOK_FOR))

  -- Diagnosis 2: curl https://api.openai.com/v1/models -H "Authorization: Bearer $OPENAI_API_KEY"
  local function direct()
    local vars, err = plat.vars("backend")
    if not vars then return nil, tostring(err) end
    local key = secret("OPENAI_API_KEY", vars.OPENAI_API_KEY or "")
    local res, herr = http.get(p.openai_url .. "/v1/models",
      { timeout = 10, headers = { Authorization = "Bearer " .. key } })
    if not res then return nil, tostring(herr) end
    if res.status ~= 200 then return nil, res.status end
    return 200
  end
  local _, status = step("Testar OpenAI API diretamente", direct)
  status = tonumber(status)
  -- Diagnosis 3: status.openai.com is for a human; the 503 says "Major outage"
  local case = status == 429 and "rate_limit" or status == 401 and "api_key"
    or status == 503 and "downtime" or nil
  inc:note(("OpenAI /v1/models: %s → %s"):format(tostring(status or "ok"), case and ({
    rate_limit = "Caso 1: Rate Limit (429 Too Many Requests)",
    api_key = "Caso 2: API Key Inválida",
    downtime = "Caso 3: OpenAI Downtime (503 Service Unavailable)" })[case]
    or "a API responde: o problema está no backend"))

  local function wait_generate(seconds)
    if ctx.dry_run then return true end
    local attempts = math.max(2, math.floor(seconds))
    return task.retry({ attempts = attempts, delay = seconds / attempts, backoff = 1 },
      function() return common.generate(p) end)
  end

  local fixed
  if case == "rate_limit" then
    step("Comunicar usuários (incident-notification.md)", common.communicate, inc,
      { title = "Geração de seções temporariamente lenta", impact = "Geração de seções indisponível",
        summary = "Geração de seções temporariamente lenta devido a volume de uso.", eta = "alguns minutos" })
    fixed = step("Caso 1: aguardar rate limit reset (~60s)", wait_generate, p.openai_wait)
  elseif case == "api_key" then
    local new_key = secret("NEW_OPENAI_API_KEY")
    if not new_key or new_key == "" then
      inc:escalate(2, "Regenerar API key no OpenAI Dashboard: NEW_OPENAI_API_KEY não fornecida")
      return nil, "invalid OpenAI key and no NEW_OPENAI_API_KEY to set: escalated"
    end
    fixed = step("Caso 2: railway variables set OPENAI_API_KEY=<nova-key>; railway restart", function()
      local r, err = plat.set_var("backend", "OPENAI_API_KEY", new_key)
      if not r then return nil, err end
      r, err = plat.restart("backend")
      if not r then return nil, err end
      return wait_generate(p.settle)
    end)
  elseif case == "downtime" then
    step("Comunicar usuários (incident-notification.md)", common.communicate, inc,
      { title = "Serviço de IA temporariamente indisponível", impact = "Geração de seções indisponível",
        summary = "Serviço de IA temporariamente indisponível.", status = "Monitorando https://status.openai.com/" })
    inc:note("Caso 3: sem ação imediata possível; monitorar https://status.openai.com/")
    fixed = step("Caso 3: monitorar até a resolução", wait_generate, p.openai_wait)
    if not fixed then
      inc:note("OpenAI downtime continua: se > 2h → Incident Commander (comunicação oficial aos usuários)")
      return nil, "OpenAI still down: the incident stays open"
    end
  else
    inc:escalate(2, "OpenAI responde, mas a geração falha: diagnóstico no backend")
    return nil, "OpenAI answers but generation fails: escalated"
  end
  if not fixed then
    inc:escalate(2, "a geração de seções continua falhando após o " .. case)
    return nil, "section generation still failing: escalated"
  end
  inc:mitigate("geração de seções restabelecida")
  if ctx.dry_run then
    print("dry run: nothing was changed, so there is nothing to verify")
    return true
  end
  local v = step("Verification: POST /api/sections/1/generate → 201", common.generate, p)
  if not v then
    inc:escalate(2, "verificação falhou")
    return nil, "verification failed"
  end
  inc:note(({ rate_limit = "Root cause: rate limit frequente → exponential backoff, queueing (BullMQ), upgrade plan",
    api_key = "Root cause: API key expirou → monitoring de expiração, rotação preventiva",
    downtime = "Root cause: problema externo (OpenAI); Rollback Plan: não aplicável" })[case])
  inc:resolve(({ rate_limit = "rate limit resetou", api_key = "OPENAI_API_KEY atualizada e backend reiniciado",
    downtime = "OpenAI voltou" })[case] .. "; geração de seção retorna 201")
  return true
end

return M
