-- scenarios/security_breach.lua — Scenario 10 of the playbook: Security
-- Breach Suspected (P0).  scripts/runbooks/security_breach.lua wraps it.
-- Rules kept in code:
--   * never a rollback ("Rollback pode destruir evidências"): the platform's
--     rollback is replaced by a function that raises, for this run;
--   * the database is backed up before any other action ("Safety net antes
--     de qualquer ação");
--   * the secrets it rotates it generates itself (32 random bytes, base64:
--     `openssl rand -base64 32`), marked with secret(name, value), so they are
--     *** in every output, the timeline and the post-mortem;
--   * when personal data may have leaked (an export by, or a login from, a
--     suspect IP) the Incident Commander is told that notifying the ANPD is
--     mandatory (LGPD).
-- The incident is left mitigated, not resolved: the root cause investigation
-- and the hotfix are the team's (the clock keeps the P0 escalations going).
local common = require("scenarios.common")
local M = {
  name = "security_breach", title = "Security Breach Suspected", severity = "P0",
  description = "Playbook Scenario 10: unauthorized access, brute force, suspected data exfiltration",
}

M.params = common.params {
  brute_force = 10,     -- failed logins from one IP that make it suspect
  log_lines = 2000,
}

local LOG_PATTERNS = { "login", "auth", "unauthorized" }

-- The auth log, read as the playbook says: failed logins per IP, logins that
-- succeeded from those IPs, audit lines and exports per IP.
local function analyse(plat, p)
  local counts, hits = common.grep_logs(plat, "backend", LOG_PATTERNS, { lines = p.log_lines })
  if not counts then return nil, hits end
  local a = { counts = counts, failed = {}, succeeded = {}, audit = {}, exported = {}, suspects = {} }
  for _, l in ipairs(hits) do
    local ip = l:match("Failed login attempt for %S+ from (%S+)")
    if ip then a.failed[ip] = (a.failed[ip] or 0) + 1 end
    local who, from = l:match("Login succeeded for (%S+) from (%S+)")
    if from then a.succeeded[from] = who end
  end
  -- audit and export lines do not match the auth grep: a second pass
  local text = plat.logs { service = "backend", lines = p.log_lines } or ""
  for l in text:gmatch("[^\n]+") do
    local audit = l:match("%[AuditLog%]%s*(.*)$")
    if audit then a.audit[#a.audit + 1] = audit end
    local eip, rows = l:match("GET /api/etps/export 200 .-ip=(%S+) rows=(%d+)")
    if eip then a.exported[eip] = (a.exported[eip] or 0) + tonumber(rows) end
  end
  for ip, n in pairs(a.failed) do
    if n >= p.brute_force then a.suspects[#a.suspects + 1] = ip end
  end
  table.sort(a.suspects)
  return a
end

function M.run(ctx, opts)
  local p = ctx.params
  local plat = require("platform").get(ctx)
  -- "NÃO FAZER ROLLBACK sem investigação completa": not even by mistake.
  plat.rollback = function()
    error("Security breach: NÃO FAZER ROLLBACK sem investigação completa (rollback pode destruir evidências)", 2)
  end

  -- Diagnosis 1: railway logs --service backend | grep -i "login\|auth\|unauthorized"
  local a, aerr = step("Verificar logs de auth", analyse, plat, p)
  if not a then return nil, "could not read the logs: " .. tostring(aerr) end
  local leaked = false
  for _, ip in ipairs(a.suspects) do
    leaked = leaked or a.exported[ip] ~= nil or a.succeeded[ip] ~= nil
  end
  if #a.suspects == 0 and #a.audit == 0 and not (opts and opts.incident) then
    print("nenhuma atividade anômala nos logs de auth — nothing to do")
    return true
  end
  local desc = {}
  for _, ip in ipairs(a.suspects) do
    desc[#desc + 1] = ("%s: %d logins falhos%s%s"):format(ip, a.failed[ip],
      a.succeeded[ip] and (", login OK como " .. a.succeeded[ip]) or "",
      a.exported[ip] and (", export de " .. a.exported[ip] .. " registros") or "")
  end
  local inc = common.open(opts, { title = M.title, severity = M.severity, scenario = M.name,
    summary = "Logs mostram atividade anômala: " .. (#desc > 0 and table.concat(desc, "; ") or "audit log") })
  inc:ack()
  -- Escalation: "IMMEDIATE → Incident Commander + Security specialist"
  inc:escalate(3, "IMMEDIATE: security breach suspeito → Incident Commander + Security specialist")
  inc:note("logs de auth: " .. common.describe(a.counts, LOG_PATTERNS) .. "; brute force: "
    .. (#desc > 0 and table.concat(desc, "; ") or "nenhum IP acima de " .. p.brute_force))
  for _, l in ipairs(a.audit) do inc:note("audit: " .. l) end

  -- Diagnosis 2: "Verificar database access logs" (pg_stat_activity)
  step("Verificar database access logs", function()
    local res, err = plat.psql("backend", "SELECT pid, usename, client_addr, query FROM pg_stat_activity "
      .. "WHERE state = 'active';", { readonly = true })
    if not res then return nil, err end
    if not res.ok then
      inc:note("pg_stat_activity indisponível: " .. res.stderr:gsub("%s+$", ""):sub(1, 200))
      return nil, "psql failed"
    end
    inc:note("pg_stat_activity (active): " .. res.stdout:gsub("%s+", " "):sub(1, 500))
    return true
  end)
  -- Diagnosis 3: "Verificar Railway access logs" — the dashboard's Audit Log
  inc:note("Verificar Railway Dashboard > Project Settings > Audit Log: mudanças não autorizadas "
    .. "em env vars, deployments")

  -- IMMEDIATE ACTION 2 first: "Backup database AGORA — Safety net antes de qualquer ação"
  local path, berr = step("Backup database AGORA (./scripts/backup-db.sh)", function() return plat.backup() end)
  if path then
    inc:note("backup (evidência e safety net): " .. tostring(path))
  else
    inc:note("backup falhou: " .. tostring(berr))
    if not confirm("O backup falhou. Rotacionar secrets mesmo assim?", { timeout = 300 }) then
      inc:escalate(3, "backup falhou; nenhuma ação tomada")
      return nil, "backup failed: nothing else done"
    end
  end

  -- IMMEDIATE ACTION 1: "Rotate all secrets IMMEDIATELY"
  local old = plat.vars("backend") or {}
  local rotated = {}
  local ok_rot, rot_err = step("Rotate all secrets IMMEDIATELY", function()
    local new = {}
    local err
    new.JWT_SECRET, err = common.new_secret("JWT_SECRET_ROTATED")
    if not new.JWT_SECRET then return nil, err end
    new.DATABASE_PASSWORD, err = common.new_secret("DATABASE_PASSWORD_ROTATED")
    if not new.DATABASE_PASSWORD then return nil, err end
    local key = secret("OPENAI_API_KEY_NEW")
    if key and key ~= "" then new.OPENAI_API_KEY = key end
    for _, name in ipairs { "JWT_SECRET", "DATABASE_PASSWORD", "OPENAI_API_KEY" } do
      if new[name] then
        local r, serr = plat.set_var("backend", name, new[name])
        if not r then return nil, name .. ": " .. tostring(serr) end
        rotated[#rotated + 1] = name
      end
    end
    if not new.OPENAI_API_KEY then
      inc:note("OPENAI_API_KEY: regenerar no OpenAI Dashboard e configurar o secret OPENAI_API_KEY_NEW (pendente)")
    end
    inc:note("DATABASE_PASSWORD novo: aplicar também no PostgreSQL (ALTER ROLE ... PASSWORD)")
    -- "Force logout de TODOS os usuários (JWT_SECRET mudou = todos os tokens invalidam)"
    local r, rerr = plat.restart("backend")
    if not r then return nil, "restart: " .. tostring(rerr) end
    return true
  end)
  inc:note("secrets rotacionados: " .. (#rotated > 0 and table.concat(rotated, ", ") or "nenhum")
    .. (ok_rot and "; backend reiniciado, todos os tokens invalidados" or ("; falhou: " .. tostring(rot_err))))

  -- IMMEDIATE ACTION 3: "Bloquear acesso suspeito"
  local blocked = {}
  if #a.suspects > 0 then
    step("Bloquear acesso suspeito", function()
      for _, ip in ipairs(a.suspects) do
        local r, err = plat.block_ip(ip)
        if r then
          blocked[#blocked + 1] = ip
        elseif err and err.kind == "unsupported" then
          inc:note("bloquear " .. ip .. ": adicionar firewall rule no Railway (se disponível) "
            .. "ou implementar IP blocking no NestJS")
        else
          return nil, ip .. ": " .. tostring(err)
        end
      end
      inc:note("IPs bloqueados: " .. (#blocked > 0 and table.concat(blocked, ", ") or "nenhum"))
      return true
    end)
  end
  local block_t = time.now()

  -- Root Cause Investigation and Assess damage, on the timeline for the team.
  inc:note("Identificar vetor de ataque: " .. (#a.suspects > 0 and "brute force em /api/auth/login" or "desconhecido")
    .. (#a.audit > 0 and "; credenciais possivelmente expostas (audit log)" or "")
    .. " — verificar SQL injection (query errors), JWT vazado (secrets no código), commits recentes")
  local exported = 0
  for _, n in pairs(a.exported) do exported = exported + n end
  inc:note(("Assess damage: dados acessados/exportados: %d registros; modificados/deletados: investigar"):format(
    exported))
  inc:note("Rollback Plan: NÃO FAZER ROLLBACK sem investigação completa — rollback pode destruir evidências")

  -- Post-Incident Actions 1: "Comunicar stakeholders"; LGPD
  step("Comunicar stakeholders (incident-notification.md)", common.communicate, inc,
    { title = "Incidente de segurança", impact = "Possível acesso não autorizado; todos os usuários precisarão "
      .. "fazer login novamente", status = "Acesso suspeito bloqueado; investigação em andamento",
      eta = "a definir" }, { "first_responder", "incident_commander" })
  if leaked then
    step("Se dados pessoais vazaram → OBRIGATÓRIO notificar ANPD (LGPD)", function()
      local text = ("Dados pessoais podem ter vazado (%d registros exportados%s): OBRIGATÓRIO notificar a ANPD "
        .. "(LGPD) e o legal team se o breach for confirmado"):format(exported,
        next(a.succeeded) and ", login bem-sucedido de IP suspeito" or "")
      inc:note(text)
      notify("incident_commander", { event = "note", incident = inc, text = text })
      return true
    end)
  end
  if ctx.dry_run then
    print("dry run: nothing was changed, so there is nothing to verify")
    return true
  end

  -- Verification: 1. Secrets rotacionados  2. Acesso bloqueado  3. Sistema funcional
  local verified, verr = step("Verification", function()
    local ok, why = step("1. Secrets rotacionados", function()
      local now, err = plat.vars("backend")
      if not now then return nil, err end
      for _, name in ipairs(rotated) do
        if now[name] == nil or now[name] == old[name] then return nil, name .. " não mudou" end
      end
      if #rotated == 0 then return nil, "nenhum secret rotacionado" end
      return true
    end)
    if not ok then return nil, why end
    ok, why = step("2. Acesso bloqueado", function()
      time.sleep(1.5)
      local text, err = plat.logs { service = "backend", lines = 500, since = math.max(1, time.now() - block_t - 0.5) }
      if not text then return nil, err end
      for _, ip in ipairs(a.suspects) do
        if text:find("Failed login attempt for %S+ from " .. ip:gsub("%p", "%%%0")) then
          return nil, "logs ainda mostram atividade suspeita de " .. ip
        end
      end
      return true
    end)
    if not ok then return nil, why end
    return step("3. Sistema funcional", function() return common.wait_for(ctx, common.health) end)
  end)
  if not verified then
    inc:escalate(3, "verificação falhou: " .. tostring(verr))
    return nil, "verification failed"
  end
  inc:mitigate("secrets rotacionados (" .. table.concat(rotated, ", ") .. "), IPs bloqueados ("
    .. (#blocked > 0 and table.concat(blocked, ", ") or "nenhum") .. "), backup " .. tostring(path))
  inc:note("Mandatory post-mortem: documentar vetor de ataque, ações tomadas, action items; "
    .. "patch vulnerability, deploy hotfix, security audit completo (#85, #86, #87)")
  return true
end

return M
