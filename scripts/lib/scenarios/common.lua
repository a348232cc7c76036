-- scenarios/common.lua — what the playbook's ten scenarios share: the probes
-- (health, frontend, login, /api/etps, section generation), the log grep the
-- playbook does (`railway logs | grep -i ...`, counted), opening the incident
-- with the severity of the playbook's table, the communication templates, and
-- generated secrets (the playbook's `openssl rand -base64 32`).
local platform = require("platform")
local M = {}

-- The params every scenario reads (over the platform adapters' own).  One set
-- for all: health_check runs any scenario with its own ctx.params.
function M.params(own)
  local t = {
    backend = "https://backend.railway.app",
    frontend = "https://frontend.railway.app",
    settle = 5,          -- seconds to wait for recovery after an action
    api_token = "",      -- a Bearer token for /api/etps ("" logs in with the test user)
    test_email = "test@example.com",  -- the playbook's login check
    test_password = "senha123",
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

local function body_of(res)
  local ok, b = pcall(res.json, res)
  if ok and type(b) == "table" then return b end
end

-- ---- probes -------------------------------------------------------------------

-- GET /api/health -> true | nil, why  (the playbook: {"status":"ok","database":"healthy"})
function M.health(p)
  local res, err = http.get(p.backend .. "/api/health", { timeout = 5 })
  if not res then return nil, tostring(err) end
  local b = body_of(res)
  if res.status == 200 and b and b.database == "healthy" then return true end
  local why = b and tostring(b.database or b.error or b.message) or res.body:sub(1, 200)
  return nil, ("HTTP %d: %s"):format(res.status, why)
end

-- curl -I frontend/ -> true | nil, why
function M.frontend(p)
  local res, err = http.get(p.frontend .. "/", { timeout = 5 })
  if not res then return nil, tostring(err) end
  if res.status ~= 200 then return nil, ("HTTP %d"):format(res.status) end
  return true
end

-- The playbook's login curl -> token | nil, why (the token is marked secret)
function M.login(p)
  local res, err = http.post(p.backend .. "/api/auth/login",
    { email = p.test_email, password = p.test_password }, { timeout = 10 })
  if not res then return nil, tostring(err) end
  -- a dry run sends no POST: the login is unknown, not failed (use api_token)
  if res.dry_run then return nil, "dry run: POST /api/auth/login não enviado" end
  local b = body_of(res)
  if res.status < 300 and b and b.access_token then return secret("ETP_TOKEN", b.access_token) end
  return nil, ("HTTP %d: %s"):format(res.status, b and tostring(b.message) or res.body:sub(1, 200))
end

-- A token for the playbook's "-H 'Authorization: Bearer <token>'" ("" when none).
function M.token(p)
  if p.api_token ~= "" then return p.api_token end
  return M.login(p) or ""
end

-- GET /api/etps with a token (default M.token(p)) -> rows, ms | nil, why, ms
function M.etps(p, token)
  local t0 = time.now()
  local res, err = http.get(p.backend .. "/api/etps",
    { timeout = 30, headers = { Authorization = "Bearer " .. (token or M.token(p)) } })
  local ms = math.floor((time.now() - t0) * 1000)
  if not res then return nil, tostring(err), ms end
  if res.status ~= 200 then return nil, ("HTTP %d"):format(res.status), ms end
  return body_of(res) or {}, ms
end

-- POST /api/sections/:id/generate (OpenAI through the backend; id 1 unless
-- given) -> true | nil, why, status.  status is the HTTP status, 0 when the
-- request failed, nil in a dry run (no POST is sent: nothing is known).
function M.generate(p, token, id)
  local res, err = http.post(p.backend .. "/api/sections/" .. (id or 1) .. "/generate", {},
    { timeout = 30, headers = { Authorization = "Bearer " .. (token or M.token(p)) } })
  if not res then return nil, tostring(err), 0 end
  if res.dry_run then return nil, "dry run: POST não enviado" end
  if res.status == 201 then return true end
  local b = body_of(res)
  local msg = b and b.message and (" " .. tostring(b.message)) or ""
  return nil, ("HTTP %d%s"):format(res.status, msg), res.status
end

-- ---- logs -----------------------------------------------------------------------

-- The playbook's `railway logs --service S | grep -i "a\|b"`, each pattern
-- counted (Lua patterns, lower case); o.lines (500), o.since as plat.logs.
-- -> counts, matching lines | nil, err
function M.grep_logs(plat, service, patterns, o)
  o = o or {}
  local text, err = plat.logs { service = service, lines = o.lines or 500, since = o.since }
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

-- How many of `lines` contain each plain (lower-case) phrase of `look`;
-- c.last is the phrase of the newest matching line (logs hold older
-- incidents too: the newest error is the current one).
function M.look_for(lines, look)
  local c = {}
  for _, phrase in ipairs(look) do c[phrase] = 0 end
  for _, l in ipairs(lines or {}) do
    local low = l:lower()
    for _, phrase in ipairs(look) do
      if low:find(phrase, 1, true) then
        c[phrase] = c[phrase] + 1
        c.last = phrase
      end
    end
  end
  return c
end

-- counts of grep_logs / look_for -> '3 "timeout", 0 "exceeded"'
function M.describe(counts, patterns)
  local out = {}
  for _, pat in ipairs(patterns) do out[#out + 1] = ("%d %q"):format(counts[pat] or 0, pat) end
  return table.concat(out, ", ")
end

-- Unix seconds of an ISO 8601 UTC time (a deployment's, a backup's, a log
-- line's), with its fraction: events a few ms apart stay ordered.
function M.iso_time(s)
  local t = require("platform.local").iso_time(s or "")
  if not t then return nil end
  local frac = s:match("^%d+%-%d+%-%d+T%d+:%d+:%d+(%.%d+)")
  return t + (frac and tonumber(frac) or 0)
end

-- ---- the incident and its communication -----------------------------------------

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

-- The playbook's templates, rendered and sent to the roles (the clock pages by
-- severity; this is the users' text): incident-notification.md as a
-- status_update, incident-resolved.md as resolved.
local function announce(name, event)
  return function(inc, vars, target)
    local text = assert(template.render(name, vars))
    notify(target or "first_responder", { event = event, incident = inc, text = text })
    return text
  end
end
M.communicate = announce("incident-notification", "status_update")
M.resolved = announce("incident-resolved", "resolved")

-- Waits for check(p) to pass: attempts over `settle` seconds.
function M.wait_for(ctx, check)
  local p = ctx.params
  if ctx.dry_run then return true end
  return task.retry({ attempts = 10, delay = math.max(p.settle, 0.5) / 10, backoff = 1 },
    function() return check(p) end)
end

-- ---- generated secrets ----------------------------------------------------------

local B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

function M.base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = (a << 16) | ((b or 0) << 8) | (c or 0)
    local q = {}
    for k = 1, 4 do
      local idx = (n >> (6 * (4 - k))) & 63
      q[k] = B64:sub(idx + 1, idx + 1)
    end
    if not b then q[3] = "=" end
    if not c then q[4] = "=" end
    out[#out + 1] = table.concat(q)
  end
  return table.concat(out)
end

-- `openssl rand -base64 32`: 32 bytes of /dev/urandom, base64 (44 chars),
-- marked with secret(name, value) before anything else sees it, so it is
-- written as *** in every log, transcript, notification and post-mortem.
-- Reading /dev/urandom changes nothing: it runs in a dry run too.
function M.new_secret(name)
  local res, err = shell.run { "head", "-c", "32", "/dev/urandom", readonly = true, timeout = 5 }
  if not res then return nil, err end
  if not res.ok or #res.stdout ~= 32 then
    return nil, platform.err("platform", "head -c 32 /dev/urandom gave " .. #res.stdout .. " bytes")
  end
  return secret(name, M.base64(res.stdout))
end

return M
