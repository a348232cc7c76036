-- scenarios/memory_leak.lua — Scenario 4 of the playbook: Memory Leak (OOM -
-- Out of Memory), P0.  Case analysis: the first OOM soon after the current
-- deployment ("crash após deploy" → bug introduced recently) or long after it
-- ("crash gradual" → accumulative leak).  Either way the immediate action is
-- the rollback to the previous stable deploy; a failed rollback escalates at
-- once.  scripts/runbooks/memory_leak.lua wraps it; health_check calls run().
local common = require("scenarios.common")
local M = {
  name = "memory_leak", title = "Memory Leak (OOM - Out of Memory)", severity = "P0",
  description = "Playbook Scenario 4: JavaScript heap out of memory, crash loop, memory at 100%",
}
M.params = common.params()

function M.run(ctx, opts)
  local p = ctx.params
  local plat = require("platform").get(ctx)

  -- Diagnosis 1: railway logs --service backend | grep -i "heap\|memory\|oom"
  local pats = { "heap", "memory", "oom" }
  local counts, hits = step("Verificar crashes recentes", common.grep_logs, plat, "backend", pats)
  counts, hits = counts or {}, hits or {}
  local fatal, ooms = 0, {}
  for _, l in ipairs(hits) do
    if l:find("CALL_AND_RETRY_LAST Allocation failed", 1, true) then
      fatal = fatal + 1
      ooms[#ooms + 1] = common.iso_time(l) -- with the ms: a crash and its rollback often share a second
    end
  end
  -- Diagnosis 2: railway ps → Memory column > 90%
  local st = step("Verificar memory usage (railway ps)", function() return plat.status("backend") end) or {}
  local pct = st.memory_percent
  if fatal == 0 and (pct or 0) <= 90 and not (opts and opts.incident) then
    print("no heap crash and memory at " .. tostring(pct) .. "%: nothing to do")
    return true
  end
  local inc = common.open(opts, { title = M.title, severity = M.severity, scenario = M.name,
    summary = ("Backend crashes com \"JavaScript heap out of memory\" (%d FATAL ERROR), memory %s%%"):format(
      fatal, tostring(pct)) })
  inc:ack()
  inc:note(("logs: %s; %d \"FATAL ERROR: CALL_AND_RETRY_LAST Allocation failed\"; railway ps: memory %s%% "
    .. "(%s/%s MB), restarts %s"):format(common.describe(counts, pats), fatal, tostring(pct),
    tostring(st.memory_mb), tostring(st.memory_limit_mb), tostring(st.restarts)))

  -- Diagnosis 3: Identificar leak pattern
  -- the first OOM of the current deployment: how long after the deploy did it crash?
  local deployed = st.deployed_at and common.iso_time(st.deployed_at)
  local first_oom
  for _, t in ipairs(ooms) do
    if deployed and t and t >= deployed then
      first_oom = t
      break
    end
  end
  local after_deploy = deployed and first_oom and first_oom - deployed <= p.deploy_window
  inc:note(after_deploy
    and ("Se crash após deploy → bug introduzido recentemente (deploy %s, versão %s)"):format(
      st.deployed_at, tostring(st.version))
    or "Se crash gradual (horas/dias) → memory leak acumulativo")

  step("Comunicar usuários (incident-notification.md)", common.communicate, inc,
    { title = "Sistema Temporariamente Indisponível", impact = "Backend reiniciando repetidamente", eta = "1 hora" })

  -- Immediate Action 1: rollback para deploy anterior estável
  local rolled, version = step("Rollback para deploy anterior estável (./scripts/rollback.sh)", function()
    return plat.rollback("backend")
  end)
  if not rolled then
    inc:escalate(2, "rollback falhou: heap profiling (Escalation Engineer) e aumentar memória temporariamente")
    return nil, "rollback failed: escalated"
  end
  -- Immediate Action 2 is the Railway Dashboard's: a human decision
  inc:note("Aumentar memória temporariamente (Railway Dashboard > Backend > Settings) se o rollback não bastar")
  inc:mitigate("rollback para " .. tostring(version or "o deploy anterior"))
  if ctx.dry_run then
    print("dry run: nothing was changed, so there is nothing to verify")
    return true
  end

  -- Verification: monitorar memory usage; deve estabilizar < 70%
  local stable, peak = step("Verification: monitorar memory usage (< 70%)", function()
    local top, crashes0 = 0, nil
    local t_end = time.now() + p.memory_watch
    repeat
      local s, err = plat.status("backend")
      if not s then return nil, err end
      crashes0 = crashes0 or s.restarts
      top = math.max(top, s.memory_percent or 0)
      if s.state ~= "running" or (s.memory_percent or 0) >= 70 then
        return nil, ("memory %s%%, state %s"):format(tostring(s.memory_percent), s.state)
      end
      time.sleep(math.min(1, p.memory_watch / 5))
    until time.now() >= t_end
    local h = common.health(p)
    if not h then return nil, "/api/health failing" end
    return true, top
  end)
  if not stable then
    inc:escalate(2, "memória não estabilizou após rollback: heap profiling")
    return nil, "memory did not stabilise: escalated"
  end
  inc:note("Root cause: identificar leak (heap snapshots; EventEmitters, connections, cache sem TTL, file "
    .. "descriptors). If leak não identificado em 1h → Escalation Engineer (heap profiling)")
  inc:resolve(("rollback para %s; memória estável (pico %d%%)"):format(tostring(version or "o deploy anterior"),
    peak or 0))
  return true
end

return M
