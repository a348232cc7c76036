-- etp_express/routes.lua — the HTTP faces of the simulated ETP Express:
-- backend, frontend, fake OpenAI and the control API (see target.lua's
-- header for the routes), each a table for http.serve over model.lua's state.
local model = require("etp_express.model")
local M = {}

local RAILWAY_502 = { status = 502, headers = { ["Content-Type"] = "text/html", ["X-Railway-Fallback"] = "true" },
                      body = "<h1>Application failed to respond</h1>\n" }

local function client_ip(req)
  local fwd = req.headers["x-forwarded-for"]
  return fwd and fwd:match("^%s*([^,%s]+)") or req.remote
end

local function nest_error(status, message)
  return { status = status, json = { statusCode = status, message = message } }
end

local function bearer(st, req)
  local tok = (req.headers.authorization or ""):match("^Bearer%s+(%S+)$")
  if not tok then return nil, "No auth token" end
  local payload, sig = tok:match("^(%x+%.%d+)%.(%x+)$")
  local secret = st.vars.backend.JWT_SECRET
  if not payload or not secret or model.sign(secret, payload) ~= sig then return nil, "invalid signature" end
  local hex, exp = payload:match("^(%x+)%.(%d+)$")
  local email = hex:gsub("%x%x", function(h) return string.char(tonumber(h, 16)) end)
  if tonumber(exp) < time.now() then return nil, "jwt expired" end
  return email
end

-- Every backend route goes through here: blocked clients, a backend that is
-- down, the slow database, the access log.
local function backend_route(st, fn)
  return function(req)
    st.requests = st.requests + 1
    local t0 = time.monotonic()
    local ip = client_ip(req)
    local res
    if st.blocked[ip] then
      res = nest_error(403, "Forbidden")
    elseif st.services.backend.state ~= "running" then
      res = RAILWAY_502
    else
      local slow = st.faults.api_timeout
      if slow and req.path ~= "/api/health" then
        slow.n = (slow.n or 0) + 1
        time.sleep(slow.delay)
        model.log(st, "backend", "WARN", "QueryRunner", ("Slow query: SELECT * FROM etps took %dms"):format(
          math.floor(slow.delay * 1000)))
        if slow.n % 3 == 0 then
          model.log(st, "backend", "ERROR", "QueryRunner", "Connection timeout: exceeded 5000ms acquiring a connection")
          res = { status = 504, json = { statusCode = 504, message = "Gateway Timeout" } }
        end
      end
      res = res or fn(req, ip)
    end
    model.log(st, "backend", res.status >= 500 and "ERROR" or res.status >= 400 and "WARN" or "INFO", "HTTP",
      ("%s %s %d %dms ip=%s"):format(req.method, req.path, res.status,
        math.floor((time.monotonic() - t0) * 1000), ip))
    return res
  end
end

local function db_gate(st)
  local down = model.db_down(st)
  if down then
    model.log(st, "backend", "ERROR", "ExceptionsHandler", "QueryFailedError: " ..
      (down:find("ECONNREFUSED", 1, true) and "Connection terminated: " .. down or down))
    return nest_error(500, "Internal server error")
  end
end

function M.backend(st)
  local r = {}
  r["GET /api/health"] = backend_route(st, function()
    local down = model.db_down(st)
    local memory = { used_mb = math.floor(st.memory.used), limit_mb = st.memory.limit }
    if not down and st.db then
      local ok, err = st.db:one("SELECT 1 AS ok")
      if not ok then down = tostring(err) end
    end
    if down then
      model.log(st, "backend", "ERROR", "HealthController", "Database connection failed: " .. down)
      return { status = 503, json = { status = "error", database = "unhealthy", error = "Database connection failed",
                                      memory = memory } }
    end
    return { status = 200, json = { status = "ok", database = "healthy", version = st.services.backend.version,
                                    memory = memory } }
  end)

  r["GET /api/etps"] = backend_route(st, function(req)
    local who, why = bearer(st, req)
    if not who then
      model.log(st, "backend", "WARN", "JwtAuthGuard", "Unauthorized: " .. why)
      return nest_error(401, "Unauthorized")
    end
    local gate = db_gate(st)
    if gate then return gate end
    local rows, err = model.list_etps(st)
    if not rows then
      model.log(st, "backend", "ERROR", "ExceptionsHandler", err)
      return nest_error(500, "Internal server error")
    end
    return { status = 200, json = rows }
  end)

  r["GET /api/etps/*"] = backend_route(st, function(req)
    local id = tonumber(req.path:match("^/api/etps/(%d+)$"))
    if not id then return nest_error(404, "Not Found") end
    local gate = db_gate(st)
    if gate then return gate end
    local row, err = model.get_etp(st, id)
    if row == nil then return nest_error(500, err) end
    if not row then return nest_error(404, "ETP not found") end
    return { status = 200, json = row }
  end)

  r["POST /api/auth/login"] = backend_route(st, function(req, ip)
    local ok, body = pcall(req.json, req)
    if not ok or type(body) ~= "table" or type(body.email) ~= "string" then
      return nest_error(400, "email and password are required")
    end
    local gate = db_gate(st)
    if gate then return gate end
    local auth = st.faults.auth_broken
    if auth and auth.cause == "strategy" then
      model.log(st, "backend", "ERROR", "AuthService", 'Error: Unknown authentication strategy "jwt"')
      return nest_error(500, "Internal server error")
    end
    local user, err = model.find_user(st, body.email)
    if user == nil then
      model.log(st, "backend", "ERROR", "AuthService", err)
      return nest_error(500, "Internal server error")
    end
    if not user or user.password ~= body.password then
      model.log(st, "backend", "WARN", "AuthService", ("Failed login attempt for %s from %s"):format(body.email, ip))
      return nest_error(401, "Invalid credentials")
    end
    local secret = st.vars.backend.JWT_SECRET
    if not secret or secret == "" then
      model.log(st, "backend", "ERROR", "AuthService",
        "Error: secretOrPrivateKey must have a value (JWT_SECRET missing)")
      return nest_error(500, "Internal server error")
    end
    -- header-less "JWT": hex(email).expiry.signature
    local payload = ("%s.%d"):format(user.email:gsub(".", function(c) return ("%02x"):format(c:byte()) end),
      math.floor(time.now()) + 3600)
    model.log(st, "backend", "INFO", "AuthService", ("Login succeeded for %s from %s"):format(user.email, ip))
    return { status = 201, json = { access_token = payload .. "." .. model.sign(secret, payload) } }
  end)

  r["POST /api/sections/*"] = backend_route(st, function(req)
    local etp_id = tonumber(req.path:match("^/api/sections/(%d+)/generate$"))
    if not etp_id then return nest_error(404, "Not Found") end
    local who, why = bearer(st, req)
    if not who then
      model.log(st, "backend", "WARN", "JwtAuthGuard", "Unauthorized: " .. why)
      return nest_error(401, "Unauthorized")
    end
    local gate = db_gate(st)
    if gate then return gate end
    local res, err = http.post(st.openai_url .. "/v1/chat/completions", {
      model = "gpt-4", messages = { { role = "user", content = "Gerar seção do ETP " .. etp_id } },
    }, { headers = { Authorization = "Bearer " .. (st.vars.backend.OPENAI_API_KEY or "") }, timeout = 30 })
    if not res or res.status ~= 200 then
      local detail = res and ("%d %s"):format(res.status, (res.body:match('"message"%s*:%s*"([^"]*)"') or ""))
        or tostring(err)
      model.log(st, "backend", "ERROR", "OpenAIService", "OpenAI API error (gpt-4): " .. detail)
      return nest_error(500, "Erro ao gerar conteúdo")
    end
    local content = res:json().choices[1].message.content
    local id, ierr = model.add_section(st, etp_id, content)
    if not id then
      model.log(st, "backend", "ERROR", "SectionsService", ierr)
      return nest_error(500, "Internal server error")
    end
    return { status = 201, json = { id = id, etp_id = etp_id, content = content } }
  end)
  return r
end

function M.frontend(st)
  return {
    ["GET /*"] = function(req)
      if st.services.frontend.state ~= "running" then
        model.log(st, "frontend", "ERROR", "Railway", "GET " .. req.path .. " 502 (application not responding)")
        return RAILWAY_502
      end
      return { status = 200, headers = { ["Content-Type"] = "text/html; charset=utf-8" }, body = [[
<!doctype html>
<html lang="pt-BR"><head><meta charset="utf-8"><title>ETP Express</title>
<script type="module" src="/assets/index.js"></script></head>
<body><div id="root">ETP Express</div></body></html>
]] }
    end,
  }
end

local function openai_error(status, message, typ)
  return { status = status, json = { error = { message = message, type = typ, code = json.null } } }
end

-- The fake OpenAI: the faults decide; a key must be "sk-..." and not revoked.
local function openai_check(st, req)
  st.openai_calls = st.openai_calls + 1
  local F = st.faults
  local key = (req.headers.authorization or ""):match("^Bearer%s+(%S+)$")
  if F.openai_down then return openai_error(503, "Service Unavailable", "server_error") end
  if not key or not key:match("^sk%-.") or st.revoked[key] then
    return openai_error(401, "Incorrect API key provided", "invalid_request_error")
  end
  local limited = F.openai_rate_limit
  if not limited and F.rate_limit then
    F.rate_limit.n = F.rate_limit.n + 1
    limited = F.rate_limit.n % 2 == 1
  end
  if limited then
    return openai_error(429, "Rate limit exceeded for organization org-etpexpress on requests per min (RPM)",
      "requests")
  end
end

function M.openai(st)
  return {
    ["POST /v1/chat/completions"] = function(req)
      local bad = openai_check(st, req)
      if bad then return bad end
      return { status = 200, json = {
        id = "chatcmpl-" .. st.openai_calls, object = "chat.completion", model = "gpt-4",
        choices = { { index = 0, finish_reason = "stop", message = { role = "assistant",
          content = "1. Descrição da necessidade: a contratação visa atender à demanda identificada." } } },
      } }
    end,
    ["GET /v1/models"] = function(req)
      local bad = openai_check(st, req)
      if bad then return bad end
      return { status = 200, json = { object = "list", data = { { id = "gpt-4", object = "model" } } } }
    end,
  }
end

local function body_of(req)
  if not req.body or req.body == "" then return {} end
  local ok, b = pcall(req.json, req)
  return ok and type(b) == "table" and b or nil
end

local function service_of(b, req)
  local s = (b and b.service) or req.query.service or "backend"
  if not model.SERVICES[s] then return nil end
  return s
end

function M.control(st, shutdown)
  local r = {}
  r["GET /_state"] = function() return { json = model.snapshot(st) } end
  r["POST /_fault"] = function(req)
    local b = body_of(req)
    if not b or type(b.mode) ~= "string" then return { status = 400, json = { error = "want {\"mode\": ...}" } } end
    local f, err = model.inject(st, b.mode, b)
    if not f then return { status = 400, json = { error = err } } end
    return { status = 200, json = { ok = true, mode = b.mode, state = model.snapshot(st) } }
  end
  r["DELETE /_fault"] = function(req)
    model.clear(st, req.query.mode)
    return { json = { ok = true } }
  end
  r["GET /_logs"] = function(req)
    local s = service_of(nil, req)
    if not s then return { status = 404, json = { error = "unknown service" } } end
    return { headers = { ["Content-Type"] = "text/plain; charset=utf-8" },
             body = model.tail(st, s, tonumber(req.query.lines) or 500, tonumber(req.query.since)) }
  end
  r["POST /_restart"] = function(req)
    local s = service_of(body_of(req), req)
    local ok, err = model.restart(st, s)
    if not ok then return { status = 500, json = { error = err } } end
    return { json = { ok = true, service = s, state = st.services[s].state } }
  end
  r["POST /_rollback"] = function(req)
    local s = service_of(body_of(req), req)
    local v, err = model.rollback(st, s)
    if not v then return { status = 500, json = { error = err } } end
    return { json = { ok = true, service = s, version = v } }
  end
  r["POST /_deploy"] = function(req)
    local b = body_of(req) or {}
    local s = service_of(b, req)
    if not s then return { status = 404, json = { error = "unknown service" } } end
    local d = model.deploy(st, s, b.version, b.status == "FAILED" and "FAILED" or "SUCCESS")
    return { json = { ok = true, id = d.id, version = d.version, status = d.status } }
  end
  r["GET /_vars"] = function(req)
    local s = service_of(nil, req)
    if not s then return { status = 404, json = { error = "unknown service" } } end
    return { json = st.vars[s] }
  end
  r["POST /_vars"] = function(req)
    local b = body_of(req) or {}
    local ok, err = model.set_var(st, service_of(b, req) or "?", b.name, b.value)
    if not ok then return { status = 400, json = { error = err } } end
    return { json = { ok = true } }
  end
  r["POST /_backup"] = function()
    local path, err = model.backup(st)
    if not path then return { status = 500, json = { error = err } } end
    model.log(st, "postgres", "LOG", "backup", "backup written: " .. path)
    return { json = { ok = true, path = path } }
  end
  r["POST /_restore"] = function(req)
    local ok, err = model.restore(st, (body_of(req) or {}).path)
    if not ok then return { status = 400, json = { error = err } } end
    return { json = { ok = true } }
  end
  r["POST /_block"] = function(req)
    local ip = (body_of(req) or {}).ip
    if type(ip) ~= "string" then return { status = 400, json = { error = "want {\"ip\": ...}" } } end
    return { json = { ok = model.block(st, ip) } }
  end
  r["POST /_shutdown"] = function()
    task.spawn(function()
      time.sleep(0.05)
      shutdown()
    end)
    return { json = { ok = true } }
  end
  return r
end

return M
