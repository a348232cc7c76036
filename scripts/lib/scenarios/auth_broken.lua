-- scenarios/auth_broken.lua — Scenario 6 of the playbook: Authentication
-- Broken (P1).  scripts/runbooks/auth_broken.lua wraps it; health_check may
-- call run(ctx, {incident = inc}).
-- The playbook's three cases, told apart by what the diagnosis found:
--   Caso 1 JWT_SECRET mudou/sumiu  (variables; "secretOrPrivateKey", "invalid signature")
--          → JWT_SECRET back (the previous value when configured as the
--            secret JWT_SECRET_PREVIOUS, else a new `openssl rand -base64 32`), restart
--   Caso 2 tabela users corrompida ('relation "users" does not exist'; the psql count fails)
--          → restore the newest backup (DISASTER_RECOVERY.md), after confirm
--   Caso 3 Passport strategy bug (anything else, e.g. 'Unknown authentication strategy')
--          → ./scripts/rollback.sh
local common = require("scenarios.common")
local M = {
  name = "auth_broken", title = "Authentication Broken", severity = "P1",
  description = "Playbook Scenario 6: users cannot log in, sessions expire at once, 'Invalid token'",
}

M.params = common.params()

local LOG_PATTERNS = { "auth", "jwt", "token", "unauthorized" }
local LOOK_FOR = { "jwt malformed", "invalid signature", "token expired", "jwt expired",
                   "secretorprivatekey", "unknown authentication strategy", 'relation "users"' }

-- Verification: "Login funciona" and "Token válido" -> true | nil, why
local function verify(p)
  local token, why = common.login(p)
  if not token then return nil, "login: " .. why end
  local rows, err = common.etps(p, token)
  if not rows then return nil, "GET /api/etps com o token: " .. err end
  return true
end

function M.run(ctx, opts)
  local p = ctx.params
  local plat = require("platform").get(ctx)

  -- Diagnosis 1: "Testar login" (and the token it gives: "Sessões expiram imediatamente").
  local ok, why = step("Testar login", verify, p)
  if ok and not (opts and opts.incident) then
    print("login e token OK — nothing to do")
    return true
  end
  local inc = common.open(opts, { title = M.title, severity = M.severity, scenario = M.name,
    summary = "Login falhou → confirma problema de auth: " .. tostring(why) })
  inc:ack()

  -- Diagnosis 2: railway logs --service backend | grep -i "auth\|jwt\|token\|unauthorized"
  local look = step("Verificar logs de auth", function()
    local c, hits = common.grep_logs(plat, "backend", LOG_PATTERNS)
    if not c then return nil, hits end
    return common.look_for(hits, LOOK_FOR)
  end) or {}
  inc:note("logs de auth: " .. common.describe(look, LOOK_FOR))

  -- Diagnosis 3: railway variables --service backend | grep JWT_SECRET (the value is never shown)
  local jwt_missing = step("Verificar JWT_SECRET", function()
    local vars, err = plat.vars("backend")
    if not vars then return nil, err end
    return vars.JWT_SECRET == nil or vars.JWT_SECRET == ""
  end)
  inc:note("JWT_SECRET: " .. (jwt_missing == true and "ausente (mudou → todos os tokens antigos invalidaram)"
    or jwt_missing == false and "presente" or "não verificado"))

  -- Case analysis, in the playbook's order.
  -- The variable decides first; else the newest telling log line.
  local CASE_OF = { ["secretorprivatekey"] = 1, ["invalid signature"] = 1, ['relation "users"'] = 2,
                    ["unknown authentication strategy"] = 3 }
  local case = jwt_missing == true and 1 or CASE_OF[look.last] or 3
  inc:note(({ "Caso 1: JWT_SECRET mudou acidentalmente", "Caso 2: Database auth table corrompida",
              "Caso 3: Passport strategy bug" })[case])

  step("Comunicar usuários (incident-notification.md)", common.communicate, inc,
    { title = "Falha no login", impact = "Usuários não conseguem fazer login", eta = "2 horas" })

  local acted, what
  if case == 1 then
    acted = step("Caso 1: Reverter JWT_SECRET para valor anterior", function()
      local value, source = secret("JWT_SECRET_PREVIOUS"), "valor anterior"
      if not value or value == "" then
        -- no previous value known: Root Cause Fix "Regenerar: openssl rand -base64 32"
        local err
        value, err = common.new_secret("JWT_SECRET_NEW")
        if not value then return nil, err end
        source = "novo valor (openssl rand -base64 32)"
      end
      local r, err = plat.set_var("backend", "JWT_SECRET", value)
      if not r then return nil, err end
      inc:note("JWT_SECRET definido: " .. source .. "; ⚠ Isso invalida todos os tokens atuais, "
        .. "usuários precisarão fazer login novamente")
      r, err = plat.restart("backend")
      if not r then return nil, err end
      return common.wait_for(ctx, verify)
    end)
    what = "JWT_SECRET restaurado e backend reiniciado"
  elseif case == 2 then
    local count = step("Caso 2: Verificar tabela users", function()
      local res, err = plat.psql("backend", "SELECT count(*) FROM users;", { readonly = true })
      if not res then return nil, err end
      if not res.ok then return nil, (res.stderr:gsub("%s+$", "")) end
      return res.stdout
    end)
    if count then inc:note("tabela users: " .. count:gsub("%s+", " ")) end
    if not count or ctx.dry_run then
      acted = step("Se erro → restaurar backup (DISASTER_RECOVERY.md)", function()
        local list, err = plat.backups()
        if not list then return nil, err end
        if #list == 0 then return nil, "nenhum backup disponível" end
        if not confirm("Restaurar o backup " .. list[1].path .. "?", { timeout = 300 }) then
          return nil, "restore não aprovado"
        end
        local r, rerr = plat.restore(list[1].path)
        if not r then return nil, rerr end
        inc:note("backup restaurado: " .. list[1].path)
        return common.wait_for(ctx, verify)
      end)
    end
    what = "tabela users restaurada do backup"
  end
  if case == 3 or not acted then
    -- Caso 3, and the Rollback Plan: "./scripts/rollback.sh (restore auth service anterior)"
    local title = case == 3 and "Caso 3: Rollback para versão estável (./scripts/rollback.sh)"
      or "Rollback Plan: ./scripts/rollback.sh (restore auth service anterior)"
    local rolled, rerr = step(title, function()
      local r, version = plat.rollback("backend")
      if not r then return nil, version end
      inc:note("rollback para " .. tostring(version or "a versão anterior"))
      return common.wait_for(ctx, verify)
    end)
    if not rolled and rerr and not ctx.dry_run then
      inc:escalate(2, "rollback falhou: " .. tostring(rerr))
      return nil, "rollback failed: escalated"
    end
    what = "rollback do auth service para a versão estável"
  end
  if ctx.dry_run then
    print("dry run: nothing was changed, so there is nothing to verify")
    return true
  end
  inc:mitigate(what)

  -- Verification: 1. Login funciona  2. Token válido
  local verified, verr = step("Verification", function()
    local token, lerr = step("1. Login funciona", common.login, p)
    if not token then return nil, "login: " .. lerr end
    local rows, err = step("2. Token válido", common.etps, p, token)
    if not rows then return nil, "token: " .. err end
    return true
  end)
  if not verified then
    -- Escalation: "If unresolved after 2h → Escalation Engineer" (the clock's P1
    -- deadline); a verification that fails after the action cannot wait for it.
    inc:escalate(2, "auth ainda quebrado após a ação imediata: " .. tostring(verr))
    return nil, "verification failed"
  end
  if case == 3 then
    inc:note("Root Cause Fix: identificar commit que quebrou; reverter e criar issue para fix")
  elseif case == 1 then
    inc:note("Root Cause Fix: se JWT_SECRET vazou → regenerar, atualizar Railway + redeploy, forçar logout")
  end
  step("Comunicar resolução (incident-resolved.md)", common.resolved, inc,
    { title = "Falha no login", cause = ({ "JWT_SECRET alterado", "tabela users corrompida",
      "bug na estratégia de autenticação" })[case], actions = what, post_mortem = true })
  inc:resolve(what .. "; login e token OK")
  return true
end

return M
