-- scenarios/data_corruption.lua — Scenario 7 of the playbook: Data
-- Corruption (P1).  scripts/runbooks/data_corruption.lua wraps it.
-- Rules kept in code: a backup is taken before anything is changed (the
-- playbook's "Backup PRÉ-restore (safety net)", moved ahead of the rollback so
-- that no change precedes it), and every write — rollback, restore, the
-- manual UPDATE — waits for confirm (no terminal, no --yes: nothing written).
-- The data is read with the playbook's psql queries; a target without psql
-- (the in-memory simulated ETP Express) is read through GET /api/etps.
local common = require("scenarios.common")
local M = {
  name = "data_corruption", title = "Data Corruption", severity = "P1",
  description = "Playbook Scenario 7: garbled ETP titles, strange characters, foreign key violations",
}

M.params = common.params {
  few_records = 10, -- "Fix manual via SQL (se poucos registros)"
  placeholder = "ETP Corrompido - Aguardando Recuperação",
}

local LOG_PATTERNS = { "migration", "foreign key", "constraint" }
-- Signs of corruption whose time bounds the backup to restore: the oldest in
-- the logs (a backup taken after it may hold corrupt rows, even the
-- safety-net backup of an earlier run).
local SIGNS = { "foreign key", "constraint", "failed validation", "migration" }
local BAD = "\u{FFFD}"

local function corrupt(title)
  return title == nil or title == "" or title:find(BAD, 1, true) ~= nil
end

-- psql's aligned output -> rows of trimmed fields
local function parse_psql(out)
  local rows, seen_sep = {}, false
  for line in out:gmatch("[^\n]*") do
    if line:match("^%-[%-+]+$") then
      seen_sep = true
    elseif seen_sep and line:match("^%(%d+ rows?%)$") then
      break
    elseif seen_sep and line ~= "" then
      local f = {}
      for cell in (line .. "|"):gmatch("([^|]*)|") do f[#f + 1] = cell:match("^%s*(.-)%s*$") end
      rows[#rows + 1] = f
    end
  end
  return rows
end

local function psql_rows(plat, query, readonly)
  local res, err = plat.psql("backend", query, { readonly = readonly })
  if not res then return nil, err end
  if res.dry_run then return {} end
  if not res.ok then return nil, (res.stderr:gsub("%s+$", "")) end
  return parse_psql(res.stdout)
end

-- Diagnosis 1's data: { {id=, title=} ... }, how, all rows count
local function read_etps(p, plat)
  local rows = psql_rows(plat, "SELECT id, title, created_at FROM etps ORDER BY created_at DESC;", true)
  if rows then
    local out = {}
    for i, r in ipairs(rows) do out[i] = { id = tonumber(r[1]), title = r[2] } end
    return out, "psql"
  end
  local list, err = common.etps(p)
  if not list then return nil, err end
  return list, "GET /api/etps"
end

local function find_corrupt(list)
  local ids = {}
  for _, e in ipairs(list) do
    if corrupt(e.title) then ids[#ids + 1] = math.tointeger(e.id) or e.id end
  end
  table.sort(ids)
  return ids
end

-- The newest backup older than `before` (Unix seconds) -> {path=, created_at=} | nil, why
-- (skipping the safety-net backup just taken)
local function backup_before(plat, before, skip)
  local list, err = plat.backups()
  if not list then return nil, err end
  for _, b in ipairs(list) do
    local t = common.iso_time(b.created_at or "")
    if t and t < before and b.path ~= skip then return b end
  end
  return nil, "nenhum backup anterior"
end

function M.run(ctx, opts)
  local p = ctx.params
  local plat = require("platform").get(ctx)

  -- Diagnosis 1: "Verificar dados corrompidos" (SELECT id, title, created_at FROM etps ...)
  local list, how = step("Verificar dados corrompidos", read_etps, p, plat)
  if not list then
    return nil, "could not read the ETPs: " .. tostring(how)
  end
  local ids = find_corrupt(list)
  if #ids == 0 and not (opts and opts.incident) then
    print(("%d ETPs, nenhum título corrompido (%s) — nothing to do"):format(#list, how))
    return true
  end
  local inc = common.open(opts, { title = M.title, severity = M.severity, scenario = M.name,
    summary = ("%d de %d ETPs com título corrompido (%s): ids %s"):format(#ids, #list, how,
      table.concat(ids, ",")) })
  inc:ack()

  -- Diagnosis 2: railway logs --service backend | grep -i "migration\|foreign key\|constraint"
  local counts, hits = step("Verificar logs de migration", common.grep_logs, plat, "backend", LOG_PATTERNS)
  counts = counts or {}
  local first_sign = time.now()
  local _, signs = common.grep_logs(plat, "backend", SIGNS)
  for _, l in ipairs(type(signs) == "table" and signs or {}) do
    local t = common.iso_time(l)
    if t and t < first_sign then first_sign = t end
  end
  inc:note("logs de migration: " .. common.describe(counts, LOG_PATTERNS))
  local migration_failed = false
  for _, l in ipairs(type(hits) == "table" and hits or {}) do
    local low = l:lower()
    migration_failed = migration_failed or (low:find("migration", 1, true) and true)
      or low:find("foreign key constraint", 1, true) ~= nil
  end

  -- Diagnosis 3: "Identificar escopo"
  local total = #ids == #list and #list > 0
  step("Identificar escopo", function()
    inc:note(total and "Corrupção total (todos os registros) → provável migration malformada"
      or ("Corrupção parcial (registros %s) → provável bug em endpoint"):format(table.concat(ids, ",")))
    return true
  end)

  step("Comunicar usuários (incident-notification.md)", common.communicate, inc,
    { title = "Dados de ETPs inconsistentes", impact = "ETPs exibem conteúdo embaralhado ou inválido",
      status = "Nossa equipe está recuperando os dados", eta = "1 hora" })

  -- Immediate Action 2 first: "Criar backup imediato" — before any change.
  local st = plat.status("backend") or {}
  local pre_t = math.min(time.now(), first_sign)
  local pre, berr = step("Criar backup imediato (./scripts/backup-db.sh)", function() return plat.backup() end)
  if not pre then
    inc:escalate(2, "backup falhou, nenhuma alteração feita: " .. tostring(berr))
    return nil, "backup failed: nothing changed"
  end
  inc:note("Backup PRÉ-restore (safety net): " .. tostring(pre))

  -- Immediate Action 1: "Stop the bleeding: rollback deploy que causou corrupção"
  if confirm("Rollback do deploy " .. tostring(st.version) .. " que causou a corrupção?", { timeout = 300 }) then
    local ok, rerr = step("Stop the bleeding: rollback deploy que causou corrupção (./scripts/rollback.sh)",
      function()
        local r, version = plat.rollback("backend")
        if not r then return nil, version end
        inc:note("rollback para " .. tostring(version or "a versão anterior"))
        return true
      end)
    if not ok then inc:escalate(2, "rollback falhou: " .. tostring(rerr)) end
  else
    inc:note("rollback não aprovado")
  end

  -- Root Cause Fix
  local fixed, what, loss_age
  -- Restores the newest backup older than `before` (never the safety net just
  -- taken), once confirmed -> true, path | nil, why; loss_age is its age.
  local function restore_before(before)
    local b, err = backup_before(plat, before, pre)
    if not b then return nil, err end
    if not confirm("Restaurar o backup " .. b.path .. " (" .. tostring(b.created_at) .. ")?", { timeout = 300 }) then
      return nil, "restore não aprovado"
    end
    local r, rerr = plat.restore(b.path)
    if not r then return nil, rerr end
    loss_age = pre_t - (common.iso_time(b.created_at) or pre_t)
    inc:note("backup restaurado: " .. b.path .. " de " .. tostring(b.created_at))
    return true, b.path
  end
  if total or (migration_failed and #ids > p.few_records) then
    -- Caso 1: "Restore backup anterior à migration"
    fixed, what = step("Caso 1: Restore backup anterior à migration", function()
      local since = st.deployed_at and common.iso_time(st.deployed_at) or pre_t
      local ok, path = restore_before(math.min(since, pre_t))
      if not ok then return nil, path end
      return true, "restore do backup anterior à migration (" .. path .. ")"
    end)
    inc:note("Após restore: 1. Reverter migration (railway run npm run migration:revert) "
      .. "2. Fix migration localmente 3. Test migration em staging 4. Redeploy")
  else
    -- Caso 2: "Bug em endpoint corrompeu registros específicos"
    local can_sql = how == "psql" and #ids <= p.few_records
    if can_sql then
      fixed, what = step("Caso 2: Fix manual via SQL (se poucos registros)", function()
        local sql = ("UPDATE etps SET title = '%s' WHERE id IN (%s);"):format(
          p.placeholder:gsub("'", "''"), table.concat(ids, ","))
        if not confirm(("Marcar %d registros (%s) como corrompidos?"):format(#ids, table.concat(ids, ",")),
          { timeout = 300 }) then
          return nil, "fix manual não aprovado"
        end
        local rows, err = psql_rows(plat, sql, false)
        if not rows then return nil, err end
        inc:note(("registros %s marcados: %q"):format(table.concat(ids, ","), p.placeholder))
        return true, "fix manual via SQL dos registros " .. table.concat(ids, ",")
      end)
    else
      -- no SQL access or too many rows: the Rollback Plan, restore the backup
      fixed, what = step("Rollback Plan: Restore backup via DISASTER_RECOVERY.md", function()
        local ok, path = restore_before(pre_t)
        if not ok then return nil, path end
        return true, "restore do backup " .. path
      end)
    end
  end
  if ctx.dry_run then
    print("dry run: nothing was changed, so there is nothing to verify")
    return true
  end
  if not fixed then
    -- Escalation: data loss is the Incident Commander's call (communicate users)
    inc:escalate(3, "dados corrompidos não recuperados: " .. tostring(what))
    return nil, "data not recovered: escalated"
  end
  inc:mitigate(what)
  if loss_age and loss_age > 3600 then
    inc:escalate(3, ("data loss significativo: o backup restaurado tem %d min"):format(loss_age // 60))
  end

  -- Verification: 1. Dados restaurados corretamente  2. Frontend exibe dados corretos
  local verified, verr = step("Verification", function()
    local now = step("1. Dados restaurados corretamente", read_etps, p, plat)
    if not now then return nil, "ETPs ilegíveis" end
    local still = find_corrupt(now)
    if #still > 0 then return nil, "ainda corrompidos: " .. table.concat(still, ",") end
    return step("2. Frontend exibe dados corretos", function()
      for _, id in ipairs(ids) do
        local res, err = http.get(p.backend .. "/api/etps/" .. id, { timeout = 10 })
        if not res then return nil, tostring(err) end
        local ok, b = pcall(res.json, res)
        if res.status ~= 200 or not ok or corrupt(type(b) == "table" and b.title or nil) then
          return nil, ("/api/etps/%s: HTTP %d"):format(id, res.status)
        end
      end
      return true
    end)
  end)
  if not verified then
    inc:escalate(3, "verificação falhou: " .. tostring(verr))
    return nil, "verification failed"
  end
  step("Comunicar resolução (incident-resolved.md)", common.resolved, inc,
    { title = "Dados de ETPs inconsistentes", cause = total and "migration malformada" or "bug em endpoint",
      actions = { "backup de segurança " .. tostring(pre), what }, post_mortem = true })
  inc:resolve(what .. "; títulos verificados")
  return true
end

return M
