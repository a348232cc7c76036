-- scenarios/common.lua — what the playbook's scenarios share: the probes
-- (health, /api/etps, frontend), the log grep the playbook does
-- (`railway logs | grep -i ...`, counted), opening the incident with the
-- severity of the playbook's table, and the communication templates.
local platform = require("platform")
local M = {}

-- The params every scenario reads (over the platform adapters' own).
function M.params(own)
  local t = {
    backend = "https://backend.railway.app",
    frontend = "https://frontend.railway.app",
    settle = 5,          -- seconds to wait for recovery after an action
    api_token = "",      -- a Bearer token for /api/etps ("" logs in with the test user)
    slow_ms = 5000,      -- Scenario 2: "Se > 5s → confirma latência alta"
    normal_ms = 500,     -- Scenario 2: "Esperado: < 500ms"
    max_connections = 100,
    openai_url = "https://api.openai.com",  -- Scenario 3: "Testar OpenAI API diretamente"
    openai_wait = 120,   -- Scenario 3: seconds to wait for a rate limit reset / an outage to end
    memory_watch = 10,   -- Scenario 4: seconds memory is watched after the rollback
    vite_api_url = "",   -- Scenario 5: VITE_API_URL to set when missing ("" → the backend param)
    deploy_window = 3600, -- Scenario 4: an OOM this soon after the deploy is "crash após deploy"
  }
  for k, v in pairs(own or {}) do t[k] = v end
  return platform.params(t)
end

-- GET /api/health -> true | nil, why  (the playbook: {"status":"ok","database":"healthy"})
function M.health(p)
  local res, err = http.get(p.backend .. "/api/health", { timeout = 5 })
  if not res then return nil, tostring(err) end
  local ok, body = pcall(res.json, res)
  if res.status == 200 and ok and type(body) == "table" and body.database == "healthy" then return true end
  return nil, ("HTTP %d: %s"):format(res.status, ok and type(body) == "table" and tostring(body.database or body.error)
    or res.body:sub(1, 200))
end

-- curl -I frontend/ -> true | nil, why
function M.frontend(p)
  local res, err = http.get(p.frontend .. "/", { timeout = 5 })
  if not res then return nil, tostring(err) end
  if res.status ~= 200 then return nil, ("HTTP %d"):format(res.status) end
  return true
end

-- A token for the playbook's "-H 'Authorization: Bearer <token>'".
function M.token(p)
  if p.api_token ~= "" then return p.api_token end
  local res = http.post(p.backend .. "/api/auth/login",
    { email = "test@example.com", password = "senha123" }, { timeout = 5 })
  if res and res.status < 300 then
    local ok, b = pcall(res.json, res)
    if ok and type(b) == "table" and b.access_token then return secret("ETP_TOKEN", b.access_token) end
  end
  return ""
end

-- GET /api/etps with a token -> true, ms | nil, why
function M.etps(p)
  local t0 = time.now()
  local res, err = http.get(p.backend .. "/api/etps",
    { timeout = 30, headers = { Authorization = "Bearer " .. M.token(p) } })
  local ms = math.floor((time.now() - t0) * 1000)
  if not res then return nil, tostring(err), ms end
  if res.status ~= 200 then return nil, ("HTTP %d"):format(res.status), ms end
  return true, ms
end

-- POST /api/sections/1/generate -> true | nil, why, status  (OpenAI through the backend)
function M.generate(p)
  local res, err = http.post(p.backend .. "/api/sections/1/generate", {},
    { timeout = 30, headers = { Authorization = "Bearer " .. M.token(p) } })
  if not res then return nil, tostring(err) end
  if res.status ~= 201 then return nil, ("HTTP %d"):format(res.status), res.status end
  return true
end

-- The playbook's `railway logs --service S | grep -i "a\|b"`, each pattern
-- counted (Lua patterns, lower case).  -> counts, matching lines | nil, err
function M.grep_logs(p, service, patterns, lines)
  local text, err = p.logs { service = service, lines = lines or 500 }
  if not text then return nil, err end
  local counts, hits = {}, {}
  for line in text:gmatch("[^\n]+") do
    local low, hit = line:lower(), false
    for _, pat in ipairs(patterns) do
      if low:find(pat) then
        counts[pat] = (counts[pat] or 0) + 1
        hit = true
      end
    end
    if hit then hits[#hits + 1] = line end
  end
  for _, pat in ipairs(patterns) do counts[pat] = counts[pat] or 0 end
  return counts, hits
end

function M.describe(counts, patterns)
  local out = {}
  for _, pat in ipairs(patterns) do out[#out + 1] = ("%d %q"):format(counts[pat] or 0, pat) end
  return table.concat(out, ", ")
end

-- The incident: health_check may have opened it already (opts.incident).
function M.open(opts, fields)
  if opts and opts.incident then
    local inc = opts.incident
    if fields.summary then inc:note(fields.summary) end
    return inc
  end
  fields.dedup_key = fields.dedup_key or fields.scenario
  return assert(incident.open(fields))
end

-- Communication: the playbook's incident-notification template, rendered and
-- sent to the roles (the clock pages by severity; this is the users' text).
function M.communicate(inc, vars, target)
  local text = assert(template.render("incident-notification", vars))
  notify(target or "first_responder", { event = "status_update", incident = inc, text = text })
  return text
end

-- Waits for check(p) to pass: attempts over `settle` seconds.
function M.wait_for(ctx, check)
  local p = ctx.params
  if ctx.dry_run then return true end
  return task.retry({ attempts = 10, delay = math.max(p.settle, 0.5) / 10, backoff = 1 },
    function() return check(p) end)
end

return M
