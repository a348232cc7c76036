-- scenarios/openai_rate_limit.lua — Scenario 8 of the playbook: Rate Limit
-- Hit (OpenAI) (P2).  scripts/runbooks/openai_rate_limit.lua wraps it.
-- No technical action: tell the users, wait for the reset (1-2 minutes),
-- verify generation.  "If rate limit constante (>3x/dia) → Escalation
-- Engineer": the hits are the incidents with this scenario's dedup_key opened
-- in the last 24 hours, counted by the state store (incident.count).
local common = require("scenarios.common")
local M = {
  name = "openai_rate_limit", title = "Rate Limit Hit (OpenAI)", severity = "P2",
  description = "Playbook Scenario 8: section generation failing intermittently, 'Rate limit exceeded' in the logs",
}

M.params = common.params {
  probes = 4,           -- POST /api/sections/1/generate calls measuring the error rate
  reset_wait = 120,     -- "Aguardar reset (1-2 minutos)": seconds at most
  poll = 5,             -- seconds between checks while waiting
  max_per_day = 3,      -- ">3x/dia"
  openai_usage = "https://platform.openai.com/usage",
}

local LOG_PATTERNS = { "rate limit", "429", "too many requests" }
local LOOK_FOR = { "rate limit exceeded for organization" }

function M.run(ctx, opts)
  local p = ctx.params
  local plat = require("platform").get(ctx)
  local token = common.token(p)

  -- Symptoms: "Endpoint /api/sections/generate com 50% error rate"
  local failed = step("Geração de seções falha intermitentemente?", function()
    local bad = 0
    for _ = 1, p.probes do
      local ok, _, status = common.generate(p, token)
      if not ok and status then bad = bad + 1 end
    end
    return bad -- a dry run sends no POST: 0, detection rests on the logs
  end) or 0
  time.sleep(0.5) -- the probes' own log lines reach the platform's logs a moment later

  -- Diagnosis 1: railway logs --service backend | grep -i "rate limit\|429\|too many requests"
  local counts, hits = step("Verificar logs de rate limit", common.grep_logs, plat, "backend", LOG_PATTERNS,
    { since = "5m" })
  counts = counts or {}
  local look = common.look_for(type(hits) == "table" and hits or {}, LOOK_FOR)
  local limited = (look[LOOK_FOR[1]] or 0) > 0 or (counts["429"] or 0) > 0
  if failed == 0 and not limited and not (opts and opts.incident) then
    print("geração de seções OK, nenhum rate limit nos logs — nothing to do")
    return true
  end
  if not limited and not (opts and opts.incident) then
    print(("geração falhou %d/%d sem rate limit nos logs: not this scenario (see Scenario 3)"):format(
      failed, p.probes))
    return nil, "generation failing without a rate limit"
  end
  local inc = common.open(opts, { title = M.title, severity = M.severity, scenario = M.name,
    dedup_key = M.name,
    summary = ("Geração de seções falhou %d/%d (%d%% error rate); logs: %s"):format(failed, p.probes,
      failed * 100 // p.probes, common.describe(counts, LOG_PATTERNS)) })
  inc:ack()
  inc:note("logs de rate limit: " .. common.describe(counts, LOG_PATTERNS) .. ", "
    .. common.describe(look, LOOK_FOR))

  -- Diagnosis 2: "Verificar OpenAI usage" (RPM and TPM) is the dashboard's.
  inc:note("Verificar OpenAI usage: " .. p.openai_usage .. " — RPM (requests per minute) e TPM (tokens per minute)")

  -- Escalation: "If rate limit constante (>3x/dia) → Escalation Engineer (implementar queue)"
  local today = step("Rate limit constante (>3x/dia)?", function()
    return incident.count { dedup_key = M.name, since = time.now() - 86400 }
  end)
  if today then
    inc:note(("rate limit hoje: %d vez(es) nas últimas 24 h"):format(today))
    if today > p.max_per_day then
      inc:escalate(2, ("rate limit constante: %d vezes em 24 h (>%dx/dia) → implementar queue"):format(
        today, p.max_per_day))
    end
  end

  -- Immediate Action 1: "Comunicar usuários"
  step("Comunicar usuários (incident-notification.md)", common.communicate, inc,
    { title = "Geração de seções lenta",
      summary = "Geração de seções temporariamente lenta devido a volume de uso",
      impact = "Geração de seções falha intermitentemente", eta = "2 minutos", update_interval = "5 minutos" })

  -- Immediate Action 2: "Aguardar reset (1-2 minutos)" — no technical action.
  inc:note("Rollback Plan: não aplicável (problema de quota)")
  if ctx.dry_run then
    print("dry run: would wait up to " .. p.reset_wait .. " s for the rate limit reset")
    return true
  end
  local t0 = time.now()
  local ok, why = step("Aguardar reset (1-2 minutos)", function()
    local ok, why
    repeat
      ok, why = common.generate(p, token)
      if ok then return true end
      time.sleep(p.poll)
    until time.now() - t0 >= p.reset_wait
    return nil, ("ainda falhando após %d s: %s"):format(p.reset_wait, why)
  end)
  if not ok then
    inc:escalate(2, "rate limit não resetou: " .. tostring(why))
    return nil, "rate limit did not reset"
  end
  inc:mitigate(("rate limit resetou após %d s"):format(math.floor(time.now() - t0)))

  -- Verification: POST /api/sections/1/generate → 201 Created
  local verified, verr = step("Verification", common.generate, p, token)
  if not verified then
    inc:escalate(2, "verificação falhou: " .. tostring(verr))
    return nil, "verification failed"
  end
  inc:note("Root Cause Fix: Opção 1 queueing (BullMQ); Opção 2 upgrade OpenAI plan; "
    .. "Opção 3 rate limiting no backend (#38, max 5 gerações/min)")
  step("Comunicar resolução (incident-resolved.md)", common.resolved, inc,
    { title = "Geração de seções lenta", cause = "rate limit da OpenAI (requests per minute)",
      actions = { "aguardado o reset do rate limit", "geração de seções verificada (201 Created)" } })
  inc:resolve("rate limit resetou; geração de seções 201 Created")
  return true
end

return M
