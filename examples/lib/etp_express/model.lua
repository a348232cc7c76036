-- etp_express/model.lua — the simulated ETP Express's state: services and
-- their deployments, variables, faults and what fixes them, the backend's
-- memory, the data (in memory or in PostgreSQL) and the logs (a ring per
-- service, appended to <log_dir>/<service>.log).  routes.lua puts HTTP on it.
local M = {}

local SERVICES = { backend = true, frontend = true, postgres = true }
M.SERVICES = SERVICES
local RING = 5000 -- log lines kept per service

local function iso(t)
  local s = math.floor(t)
  return os.date("!%Y-%m-%dT%H:%M:%S", s) .. ("%.3fZ"):format(t - s):sub(2)
end

-- A non-cryptographic signature (FNV-1a 32), enough for a fake JWT whose
-- tokens die when JWT_SECRET changes.
function M.sign(secret, payload)
  local h = 2166136261
  local s = secret .. "|" .. payload
  for i = 1, #s do
    h = ((h ~ s:byte(i)) * 16777619) & 0xffffffff
  end
  return ("%08x"):format(h)
end

local function gen_secret()
  local t = {}
  for i = 1, 32 do t[i] = string.char(math.random(0, 255)) end
  local b = {}
  for i = 1, #t do b[i] = ("%02x"):format(t[i]:byte()) end
  return table.concat(b)
end

-- ---- logs ---------------------------------------------------------------

function M.log(st, service, level, context, msg)
  local ring = st.logs[service]
  local line = ("%s %s [%s] %s"):format(iso(time.now()), level, context, msg)
  ring.n = ring.n + 1
  ring[ring.n] = { t = time.now(), line = line }
  ring[ring.n - RING] = nil
  if st.log_dir ~= "" then
    local q = st.pending[service]
    q[#q + 1] = line
  end
end

-- The last `lines` lines (since `since` seconds ago, when given) as text.
function M.tail(st, service, lines, since)
  local ring = st.logs[service]
  local out = {}
  local from = since and time.now() - since
  for i = ring.n, math.max(1, ring.n - RING + 1), -1 do
    local e = ring[i]
    if not e or #out >= lines or (from and e.t < from) then break end
    out[#out + 1] = e.line
  end
  local text = {}
  for i = #out, 1, -1 do text[#text + 1] = out[i] end
  return table.concat(text, "\n") .. (#text > 0 and "\n" or "")
end

-- One writer: each pass appends all queued lines of a service with one
-- process (the sandbox has no io; dd appends without a shell).
local function flush(st)
  for service, q in pairs(st.pending) do
    if #q > 0 then
      st.pending[service] = {}
      local path = st.log_dir .. "/" .. service .. ".log"
      shell.run { "dd", "of=" .. path, "oflag=append", "conv=notrunc", "status=none",
                  stdin = table.concat(q, "\n") .. "\n", timeout = 10 }
    end
  end
end

-- ---- data -----------------------------------------------------------------

local SEED = {
  { "ETP 001/2025 - Aquisição de notebooks", "Estudo técnico preliminar para aquisição de 120 notebooks." },
  { "ETP 002/2025 - Serviços de limpeza", "Contratação de serviços continuados de limpeza predial." },
  { "ETP 003/2025 - Licenças de software", "Renovação de licenças de software de escritório." },
  { "ETP 004/2025 - Manutenção predial", "Manutenção preventiva e corretiva das instalações." },
  { "ETP 005/2025 - Link de internet", "Contratação de link dedicado de 1 Gbps." },
  { "ETP 006/2025 - Mobiliário", "Aquisição de mobiliário para a nova sede." },
}
M.USERS = { { "test@example.com", "senha123" }, { "admin@etp.gov.br", "Adm!n2025" } }

local function seed_memory(st)
  local now = time.now()
  st.mem = { etps = {}, sections = {}, users = {} }
  for i, e in ipairs(SEED) do
    st.mem.etps[i] = { id = i, title = e[1], content = e[2], created_at = iso(now - (#SEED - i) * 3600) }
  end
  for i, u in ipairs(M.USERS) do st.mem.users[i] = { id = i, email = u[1], password = u[2] } end
end

local SCHEMA = {
  "CREATE TABLE IF NOT EXISTS users (id serial PRIMARY KEY, email text UNIQUE NOT NULL, password text NOT NULL)",
  [[CREATE TABLE IF NOT EXISTS etps (id serial PRIMARY KEY, title text NOT NULL, content text NOT NULL DEFAULT '',
      created_at timestamptz NOT NULL DEFAULT now())]],
  [[CREATE TABLE IF NOT EXISTS sections (id serial PRIMARY KEY, etp_id int NOT NULL REFERENCES etps(id),
      content text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())]],
}

local function seed_pg(st)
  local db = st.db
  for _, s in ipairs(SCHEMA) do assert(db:exec(s)) end
  local n = assert(db:one("SELECT count(*) AS n FROM etps")).n
  if n == 0 then
    for i, e in ipairs(SEED) do
      assert(db:exec("INSERT INTO etps (title, content, created_at) VALUES ($1, $2, now() - $3 * interval '1 hour')",
        e[1], e[2], #SEED - i))
    end
  end
  for _, u in ipairs(M.USERS) do
    assert(db:exec("INSERT INTO users (email, password) VALUES ($1, $2) ON CONFLICT (email) DO NOTHING", u[1], u[2]))
  end
end

-- The database gate: nil, reason while the fault says the database cannot be reached.
function M.db_down(st)
  local f = st.faults.database_down
  if f or st.services.postgres.state ~= "running" then
    if f and f.cause == "max_connections" then return "FATAL: sorry, too many clients already" end
    return "connect ECONNREFUSED 10.0.0.5:5432"
  end
  if st.faults.auth_broken and st.faults.auth_broken.cause == "users_table" then return nil, "users" end
end

-- Queries of the backend; each returns rows | nil, message.
function M.list_etps(st)
  if st.db then
    local rows, err = st.db:query("SELECT id, title, created_at::text AS created_at FROM etps ORDER BY id")
    if not rows then return nil, tostring(err) end
    return rows
  end
  local out = {}
  for i, e in ipairs(st.mem.etps) do out[i] = { id = e.id, title = e.title, created_at = e.created_at } end
  return out
end

function M.get_etp(st, id)
  if st.db then
    local row, err = st.db:one("SELECT id, title, content, created_at::text AS created_at FROM etps WHERE id = $1", id)
    if err then return nil, tostring(err) end
    return row or false
  end
  return st.mem.etps[id] or false
end

function M.find_user(st, email)
  local _, gone = M.db_down(st)
  if gone == "users" then return nil, 'QueryFailedError: relation "users" does not exist' end
  if st.db then
    local row, err = st.db:one("SELECT id, email, password FROM users WHERE email = $1", email)
    if err then return nil, tostring(err) end
    return row or false
  end
  for _, u in ipairs(st.mem.users) do
    if u.email == email then return u end
  end
  return false
end

function M.add_section(st, etp_id, content)
  if st.db then
    local row, err = st.db:one("INSERT INTO sections (etp_id, content) VALUES ($1, $2) RETURNING id", etp_id, content)
    if not row then return nil, tostring(err) end
    return row.id
  end
  local s = st.mem.sections
  s[#s + 1] = { id = #s + 1, etp_id = etp_id, content = content }
  return #s
end

local GARBLE = { "", "ETP \u{FFFD}\u{FFFD}\u{FFFD} 00\u{FFFD}", "\u{FFFD}\u{FFFD}\u{FFFD}\u{FFFD}" }

local function corrupt(st, scope)
  local ids = {}
  if st.db then
    local rows = assert(st.db:query("SELECT id FROM etps ORDER BY id"))
    for _, r in ipairs(rows) do ids[#ids + 1] = r.id end
  else
    for _, e in ipairs(st.mem.etps) do ids[#ids + 1] = e.id end
  end
  local n = scope == "total" and #ids or math.min(3, #ids)
  local hit = {}
  for i = 1, n do
    -- partial: the newest rows, as a buggy endpoint would have written them
    local id = scope == "total" and ids[i] or ids[#ids - i + 1]
    local title = GARBLE[(i - 1) % #GARBLE + 1]
    if st.db then
      assert(st.db:exec("UPDATE etps SET title = $1 WHERE id = $2", title, id))
    else
      st.mem.etps[id].title = title
    end
    hit[#hit + 1] = id
  end
  return hit
end

-- Backups: a copy of the three tables (in PostgreSQL, tables etp_backup_N_*).
function M.backup(st)
  local path, err = M.backup_tables(st)
  if path then table.insert(st.backups, 1, { path = path, created_at = iso(time.now()) }) end
  return path, err
end

function M.backup_tables(st)
  st.nbackups = st.nbackups + 1
  local name = "etp_backup_" .. st.nbackups
  if st.db then
    local ok, err = st.db:tx(function(tx)
      for _, t in ipairs { "users", "etps", "sections" } do
        assert(tx:exec(("CREATE TABLE %s_%s AS TABLE %s"):format(name, t, t)))
      end
    end)
    if not ok and err then return nil, tostring(err) end
    return "postgres:" .. name
  end
  st.mem_backups[name] = M.backup_copy(st.mem)
  return "memory:" .. name
end

function M.restore(st, path)
  local kind, name = tostring(path):match("^(%a+):(etp_backup_%d+)$")
  if st.db and kind == "postgres" then
    -- rows back into the tables as they are (keys, serials), a renamed
    -- users table back under its name
    local ok, err = st.db:tx(function(tx)
      if tx:one("SELECT to_regclass('users') IS NULL AS gone").gone then
        if tx:one("SELECT to_regclass('users_broken') IS NULL AS gone").gone then
          assert(tx:exec(SCHEMA[1]))
        else
          assert(tx:exec("ALTER TABLE users_broken RENAME TO users"))
        end
      end
      assert(tx:exec("TRUNCATE sections, etps, users"))
      for _, t in ipairs { "users", "etps", "sections" } do
        assert(tx:exec(("INSERT INTO %s SELECT * FROM %s_%s"):format(t, name, t)))
        assert(tx:one(("SELECT setval(pg_get_serial_sequence('%s', 'id'), COALESCE(max(id), 0) + 1, false) FROM %s")
          :format(t, t)))
      end
      return true
    end)
    if not ok and err then return nil, tostring(err) end
  elseif kind == "memory" and st.mem_backups[name] then
    st.mem = M.backup_copy(st.mem_backups[name])
  else
    return nil, "no such backup: " .. tostring(path)
  end
  if st.faults.auth_broken and st.faults.auth_broken.cause == "users_table" then st.faults.auth_broken = nil end
  st.faults.data_corruption = nil
  M.log(st, "postgres", "LOG", "restore", "database restored from " .. path)
  return true
end

function M.backup_copy(b)
  local copy = {}
  for t, rows in pairs(b) do
    copy[t] = {}
    for i, r in ipairs(rows) do
      local c = {}
      for k, v in pairs(r) do c[k] = v end
      copy[t][i] = c
    end
  end
  return copy
end

-- ---- deployments ---------------------------------------------------------

local function bump(v)
  local a, b, c = v:match("^v(%d+)%.(%d+)%.(%d+)$")
  if not a then return v .. ".1" end
  return ("v%s.%s.%d"):format(a, b, tonumber(c) + 1)
end

local function deployment(st, service, version, status, fault)
  st.ndeploy = st.ndeploy + 1
  local d = { id = ("dep-%s-%03d"):format(service, st.ndeploy), version = version, status = status,
              created_at = iso(time.now()), fault = fault }
  table.insert(st.deployments[service], 1, d) -- newest first, like `railway deployment list`
  return d
end

function M.current(st, service)
  for _, d in ipairs(st.deployments[service]) do
    if d.status == "SUCCESS" or d.status == "FAILED" or d.status == "CRASHED" then return d end
  end
end

function M.deploy(st, service, version, status, fault)
  local cur = M.current(st, service)
  if cur and cur.status ~= "FAILED" then cur.status = "REMOVED" end
  local d = deployment(st, service, version or bump(cur and cur.version or "v1.0.0"), status or "SUCCESS", fault)
  local svc = st.services[service]
  svc.state = d.status == "FAILED" and "failed" or "running"
  svc.version = d.version
  svc.deployment = d.id
  svc.started = time.now()
  M.log(st, service, "INFO", "Railway", ("Deployment %s (%s) %s"):format(d.id, d.version,
    d.status == "FAILED" and "failed" or "started"))
  return d
end

-- ---- state ------------------------------------------------------------------

function M.new(p)
  local st = {
    params = p, log_dir = p.log_dir, logs = {}, pending = {}, faults = {}, blocked = {},
    deployments = {}, services = {}, vars = {}, pending_vars = {}, revoked = {},
    ndeploy = 0, nbackups = 0, mem_backups = {}, backups = {}, requests = 0, openai_calls = 0,
    memory = { used = 180, base = 180, limit = p.memory_limit, crashes = 0 },
  }
  math.randomseed(math.floor(time.now() * 1000) % 2147483647)
  for s in pairs(SERVICES) do
    st.logs[s] = { n = 0 }
    st.pending[s] = {}
    st.deployments[s] = {}
    st.pending_vars[s] = {}
    st.services[s] = { state = "running", restarts = 0 }
  end
  st.vars.backend = {
    NODE_ENV = "production", PORT = "3000", JWT_SECRET = p.jwt_secret ~= "" and p.jwt_secret or gen_secret(),
    OPENAI_API_KEY = p.openai_key, DATABASE_URL = p.dsn ~= "" and p.dsn or "memory://etp-express",
    DATABASE_PASSWORD = gen_secret():sub(1, 24),
  }
  st.vars.frontend = { VITE_API_URL = "http://backend.railway.internal:3000" }
  st.vars.postgres = { PGDATA = "/var/lib/postgresql/data" }
  local prev = p.version:match("^v%d+%.%d+%.(%d+)$") and tonumber(p.version:match("(%d+)$")) > 0
    and p.version:gsub("(%d+)$", function(n) return tostring(tonumber(n) - 1) end) or p.version .. "-prev"
  for s in pairs(SERVICES) do
    local ver = s == "backend" and p.version or s == "frontend" and "v2.3.0" or "15.4"
    local old = s == "backend" and prev or s == "frontend" and "v2.2.9" or "15.3"
    deployment(st, s, old, "REMOVED")
    M.deploy(st, s, ver, "SUCCESS")
  end
  if p.dsn ~= "" then
    st.db = assert(sql.open(p.dsn, { max = 4, timeout = 10 }))
    seed_pg(st)
  else
    seed_memory(st)
  end
  st.baseline_backup = M.backup(st)
  M.log(st, "backend", "INFO", "NestApplication", "Nest application successfully started")
  M.log(st, "postgres", "LOG", "postmaster", "database system is ready to accept connections")
  M.log(st, "frontend", "INFO", "vite", "serving dist/ on port 8080")
  return st
end

-- The memory model and the writer run as background tasks of the target's run.
local TICK = 0.25

local function crash_backend(st, why)
  local svc = st.services.backend
  svc.state = "crashed"
  st.memory.crashes = st.memory.crashes + 1
  M.log(st, "backend", "ERROR", "node", "<--- Last few GCs --->")
  M.log(st, "backend", "ERROR", "node", "FATAL ERROR: CALL_AND_RETRY_LAST Allocation failed - " .. why)
  M.log(st, "backend", "WARN", "Railway", "Container exited with code 134 (OOMKilled); restarting")
  svc.down_until = time.now() + st.params.crash_seconds
end

local function tick(st)
  local now = time.now()
  local svc = st.services.backend
  if svc.state == "crashed" and svc.down_until and now >= svc.down_until and not st.faults.deploy_failed then
    svc.down_until = nil
    svc.state = "running"
    svc.restarts = svc.restarts + 1
    svc.started = now
    st.memory.used = st.memory.base
    M.log(st, "backend", "INFO", "NestApplication", "Nest application successfully started (automatic restart)")
  end
  local leak = st.faults.memory_leak
  if leak and svc.state == "running" then
    st.memory.used = st.memory.used + leak.rate * TICK
    if st.memory.used >= st.memory.limit * 0.9 and not leak.warned then
      leak.warned = true
      M.log(st, "backend", "WARN", "MemoryMonitor", ("heap usage high: %d MB of %d MB"):format(
        math.floor(st.memory.used), st.memory.limit))
    end
    if st.memory.used >= st.memory.limit then
      leak.warned = nil
      st.memory.used = st.memory.limit
      crash_backend(st, "JavaScript heap out of memory")
    end
  elseif svc.state == "running" then
    st.memory.used = st.memory.base + math.random() * 4
  end
  for name, f in pairs(st.faults) do
    if f.until_t and now >= f.until_t then
      st.faults[name] = nil
      M.log(st, "backend", "INFO", "OpenAIService", "OpenAI requests succeeding again")
    end
  end
  local b = st.faults.security_breach
  if b and now >= (b.next_t or 0) then
    b.next_t = now + 0.5
    task.spawn(function()
      http.post(st.backend_url .. "/api/auth/login", { email = "admin@etp.gov.br", password = "guess" .. b.n },
        { headers = { ["X-Forwarded-For"] = b.ip }, timeout = 5 })
    end)
    b.n = b.n + 1
  end
end

function M.start(st)
  st.ticker = task.spawn(function()
    while true do
      tick(st)
      time.sleep(TICK)
    end
  end)
  if st.log_dir ~= "" then
    shell.run { "mkdir", "-p", st.log_dir }
    st.writer = task.spawn(function()
      while true do
        flush(st)
        time.sleep(0.05)
      end
    end)
  end
end

function M.stop(st)
  if st.ticker then st.ticker:cancel() end
  if st.writer then
    st.writer:cancel()
    flush(st)
  end
end

-- ---- faults -----------------------------------------------------------------

-- mode -> function(st, opts) that applies it (opts is kept as the fault record).
local APPLY = {}

function APPLY.database_down(st, f)
  f.cause = f.cause or "crashed"
  if f.cause == "migration" then
    local d = M.deploy(st, "backend", nil, "SUCCESS", "database_down")
    f.deployment = d.id
    M.log(st, "backend", "ERROR", "TypeOrmModule", "Migration AddSectionIndexes1731600000000 failed: " ..
      'syntax error at or near "INDEXX"')
  end
  if f.cause == "max_connections" then
    M.log(st, "postgres", "FATAL", "postmaster", "sorry, too many clients already (max connections 100)")
    M.log(st, "backend", "ERROR", "TypeOrmModule", "Unable to connect to the database: max connections reached")
  else
    st.services.postgres.state = "crashed"
    M.log(st, "postgres", "PANIC", "postmaster", "could not write to file \"pg_wal/xlogtemp\": terminating")
    M.log(st, "backend", "ERROR", "TypeOrmModule",
      "Unable to connect to the database. Retrying (1)... Error: connect ECONNREFUSED 10.0.0.5:5432")
    M.log(st, "backend", "ERROR", "TypeOrmModule", "Database connection failed: Connection refused")
  end
end

function APPLY.api_timeout(st, f)
  f.delay = tonumber(f.delay) or 6
  M.log(st, "backend", "WARN", "DatabasePool", ("connection pool exhausted: 95 of 100 connections in use"))
end

function APPLY.openai_rate_limit(_, f)
  f.until_t = time.now() + (tonumber(f.reset) or 60)
end

function APPLY.rate_limit(_, f)
  f.until_t = time.now() + (tonumber(f.reset) or 90)
  f.n = 0
end

function APPLY.openai_down(_, f)
  if f.duration then f.until_t = time.now() + tonumber(f.duration) end
end

function APPLY.openai_key_invalid(st, f)
  local key = st.vars.backend.OPENAI_API_KEY
  st.revoked[key] = true
  f.key = key
end

function APPLY.memory_leak(st, f)
  f.pattern = f.pattern or "deploy"
  f.rate = tonumber(f.rate) or (f.pattern == "deploy" and 40 or 5)
  if f.pattern == "deploy" then f.deployment = M.deploy(st, "backend", nil, "SUCCESS", "memory_leak").id end
  f.deployment = f.deployment or M.current(st, "backend").id
end

function APPLY.frontend_down(st, f)
  f.cause = f.cause or "build"
  if f.cause == "build" then
    f.deployment = M.deploy(st, "frontend", nil, "SUCCESS", "frontend_down").id
    M.log(st, "frontend", "ERROR", "vite", "src/pages/EtpEditor.tsx(42,7): error TS2322: "
      .. "Type 'string' is not assignable to type 'number'.")
    M.log(st, "frontend", "ERROR", "vite", "Build failed: dist/index.html not found")
  else
    st.vars.frontend.VITE_API_URL = nil
    st.pending_vars.frontend.VITE_API_URL = nil
    M.log(st, "frontend", "ERROR", "vite", "Uncaught Error: VITE_API_URL is not defined")
  end
  st.services.frontend.state = "crashed"
  M.log(st, "frontend", "ERROR", "Railway", "Deployment crashed: process exited with code 1")
end

function APPLY.auth_broken(st, f)
  f.cause = f.cause or "jwt_secret"
  if f.cause == "jwt_secret" then
    st.vars.backend.JWT_SECRET = nil
    st.pending_vars.backend.JWT_SECRET = nil
    M.log(st, "backend", "WARN", "ConfigService", "JWT_SECRET is not set")
  elseif f.cause == "strategy" then
    f.deployment = M.deploy(st, "backend", nil, "SUCCESS", "auth_broken").id
  elseif st.db then
    assert(st.db:exec("ALTER TABLE IF EXISTS users RENAME TO users_broken"))
  end
end

function APPLY.data_corruption(st, f)
  f.scope = f.scope or "partial"
  if f.scope == "total" then
    f.deployment = M.deploy(st, "backend", nil, "SUCCESS", "data_corruption").id
    M.log(st, "backend", "INFO", "TypeOrmModule", "Running migration NormalizeEtpTitles1731700000000")
    M.log(st, "backend", "ERROR", "TypeOrmModule", 'QueryFailedError: insert or update on table "sections" '
      .. 'violates foreign key constraint "FK_sections_etp_id"')
  end
  f.ids = corrupt(st, f.scope)
  M.log(st, "backend", "WARN", "EtpsService", ("ETP titles failed validation: ids %s"):format(table.concat(f.ids, ",")))
end

function APPLY.deploy_failed(st, f)
  f.deployment = M.deploy(st, "backend", nil, "FAILED", "deploy_failed").id
  for _, l in ipairs {
    "npm ERR! code ERESOLVE", "npm ERR! ERESOLVE unable to resolve dependency tree",
    "src/etps/etps.service.ts(88,15): error TS2339: Property 'sectionz' does not exist on type 'Etp'.",
    "Build failed with exit code 1",
  } do
    M.log(st, "backend", "ERROR", "build", l)
  end
  st.services.backend.state = "failed"
end

function APPLY.security_breach(st, f)
  f.ip = f.ip or "203.0.113.50"
  f.attempts = tonumber(f.attempts) or 40
  f.n = 0
  -- the burst is made of real requests, logged by the backend's own handler
  local url = st.backend_url
  for i = 1, f.attempts do
    http.post(url .. "/api/auth/login", { email = "admin@etp.gov.br", password = "guess" .. i },
      { headers = { ["X-Forwarded-For"] = f.ip }, timeout = 5 })
  end
  http.post(url .. "/api/auth/login", { email = "admin@etp.gov.br", password = "Adm!n2025" },
    { headers = { ["X-Forwarded-For"] = f.ip }, timeout = 5 })
  M.log(st, "backend", "WARN", "AuditLog", "Variable OPENAI_API_KEY read by an unknown session from " .. f.ip)
  M.log(st, "backend", "INFO", "HTTP", "GET /api/etps/export 200 1840ms ip=" .. f.ip .. " rows=5231")
  f.next_t = time.now() + 0.5
end

M.MODES = {}
for k in pairs(APPLY) do M.MODES[k] = true end

function M.inject(st, mode, opts)
  if mode == "none" then
    for k in pairs(st.faults) do M.clear(st, k) end
    return true
  end
  if not APPLY[mode] then return nil, "unknown mode " .. tostring(mode) end
  local f = {}
  for k, v in pairs(opts or {}) do f[k] = v end
  f.mode, f.since = mode, time.now()
  st.faults[mode] = f
  APPLY[mode](st, f)
  -- no "fault injected" line in the service logs: runbooks must find the
  -- symptoms, as they would in production
  return f
end

-- Clears a fault and undoes what it did to the services.
function M.clear(st, mode)
  local f = st.faults[mode]
  if not f then return end
  st.faults[mode] = nil
  if mode == "database_down" then st.services.postgres.state = "running" end
  if mode == "frontend_down" then
    st.services.frontend.state = "running"
    st.vars.frontend.VITE_API_URL = st.vars.frontend.VITE_API_URL or "http://backend.railway.internal:3000"
  end
  if mode == "deploy_failed" then st.services.backend.state = "running" end
  if mode == "auth_broken" and f.cause == "jwt_secret" then
    st.vars.backend.JWT_SECRET = st.vars.backend.JWT_SECRET or gen_secret()
  end
  if mode == "auth_broken" and f.cause == "users_table" and st.db then
    st.db:exec("ALTER TABLE IF EXISTS users_broken RENAME TO users")
  end
  if mode == "openai_key_invalid" then st.revoked[f.key] = nil end
end

-- ---- platform actions -------------------------------------------------------

local function fails(st, what)
  for _, f in pairs(st.faults) do
    if f[what] then return f end
  end
end

-- restart(service) -> true | nil, message.  Applies pending variables, then
-- clears what a restart clears.
function M.restart(st, service)
  local svc = st.services[service]
  if not svc then return nil, "unknown service " .. tostring(service) end
  if fails(st, "restart_fails") then
    M.log(st, service, "ERROR", "Railway", "Restart failed: container did not become healthy")
    return nil, "restart failed"
  end
  M.log(st, service, "INFO", "Railway", "Restarting deployment " .. tostring(svc.deployment))
  svc.state = "deploying"
  time.sleep(st.params.restart_seconds)
  for k, v in pairs(st.pending_vars[service]) do
    st.vars[service][k] = v ~= false and v or nil
  end
  st.pending_vars[service] = {}
  svc.restarts = svc.restarts + 1
  svc.started = time.now()
  local F = st.faults
  local cur = M.current(st, service)
  svc.state = cur and cur.status == "FAILED" and "failed" or "running"
  if service == "postgres" and F.database_down then
    if F.database_down.cause == "crashed" then
      M.clear(st, "database_down")
    else
      svc.state = "crashed"
      M.log(st, "postgres", "PANIC", "postmaster", "startup failed: relation \"section_indexes\" is corrupt")
    end
  elseif service == "backend" then
    st.memory.used = st.memory.base
    if F.database_down and F.database_down.cause == "max_connections" then M.clear(st, "database_down") end
    if F.api_timeout then M.clear(st, "api_timeout") end
    if F.openai_key_invalid and not st.revoked[st.vars.backend.OPENAI_API_KEY or ""]
      and (st.vars.backend.OPENAI_API_KEY or ""):match("^sk%-.") then
      M.clear(st, "openai_key_invalid")
    end
    if F.auth_broken and F.auth_broken.cause == "jwt_secret" and (st.vars.backend.JWT_SECRET or "") ~= "" then
      M.clear(st, "auth_broken")
    end
    if F.security_breach and F.security_breach.rotated then M.clear(st, "security_breach") end
  elseif service == "frontend" and F.frontend_down then
    if F.frontend_down.cause == "env" and st.vars.frontend.VITE_API_URL then
      M.clear(st, "frontend_down")
    else
      svc.state = "crashed"
    end
  end
  M.log(st, service, "INFO", "Railway", "Restarted (" .. svc.state .. ")")
  return true
end

-- rollback(service) -> version | nil, message.  Back to the newest deployment
-- before the current one; faults that came with the current one go with it.
function M.rollback(st, service)
  local list = st.deployments[service]
  if not list then return nil, "unknown service " .. tostring(service) end
  if fails(st, "rollback_fails") then
    M.log(st, service, "ERROR", "Railway", "Rollback failed: previous deployment image is no longer available")
    return nil, "rollback failed: previous deployment image is no longer available"
  end
  local cur = M.current(st, service)
  -- the newest earlier deployment that is neither faulty nor rolled back from
  local prev, seen = nil, not cur
  for _, d in ipairs(list) do
    if seen and d ~= cur and d.status == "REMOVED" and not d.fault and not d.rolled_back then
      prev = d
      break
    end
    seen = seen or d == cur
  end
  if not prev then return nil, "no previous deployment to roll back to" end
  if cur then
    cur.status = cur.status == "FAILED" and "FAILED" or "REMOVED"
    cur.rolled_back = true
  end
  local d = deployment(st, service, prev.version, "SUCCESS")
  d.rollback_of = cur and cur.id
  local svc = st.services[service]
  svc.version, svc.deployment, svc.started, svc.state = d.version, d.id, time.now(), "running"
  svc.down_until = nil
  for mode, f in pairs(st.faults) do
    if cur and f.deployment == cur.id then M.clear(st, mode) end
  end
  if st.faults.memory_leak then M.clear(st, "memory_leak") end -- the previous version is leak-free
  if service == "backend" then st.memory.used = st.memory.base end
  if service == "frontend" and st.faults.frontend_down then svc.state = "crashed" end
  if service == "postgres" and st.faults.database_down then svc.state = "crashed" end
  M.log(st, service, "INFO", "Railway", ("Rolled back to %s (deployment %s)"):format(d.version, d.id))
  return d.version
end

function M.set_var(st, service, name, value)
  if not st.vars[service] then return nil, "unknown service " .. tostring(service) end
  if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then return nil, "bad variable name" end
  st.pending_vars[service][name] = value == nil and false or tostring(value)
  if service == "backend" and (name == "JWT_SECRET" or name == "DATABASE_PASSWORD") and st.faults.security_breach then
    st.faults.security_breach.rotated = true
  end
  -- the value is never logged: only that it changed
  M.log(st, service, "INFO", "Railway", ("Variable %s updated (applies at the next restart)"):format(name))
  return true
end

function M.block(st, ip)
  st.blocked[ip] = true
  M.log(st, "backend", "INFO", "Firewall", "blocked " .. ip)
  if st.faults.security_breach and st.faults.security_breach.ip == ip then M.clear(st, "security_breach") end
  return true
end

function M.snapshot(st)
  local s = { services = {}, faults = {}, memory = {}, database = {}, openai_calls = st.openai_calls,
              requests = st.requests, blocked = {}, baseline_backup = st.baseline_backup,
              backups = st.backups }
  for name, svc in pairs(st.services) do
    local deps = {}
    for i, d in ipairs(st.deployments[name]) do
      deps[i] = { id = d.id, version = d.version, status = d.status, created_at = d.created_at }
    end
    local prev
    for _, d in ipairs(deps) do
      if d.status == "REMOVED" then
        prev = d.version
        break
      end
    end
    s.services[name] = { state = svc.state, version = svc.version, previous_version = prev,
                         deployment = svc.deployment, restarts = svc.restarts,
                         uptime = math.floor(time.now() - (svc.started or time.now())), deployments = deps }
  end
  for mode, f in pairs(st.faults) do
    local c = {}
    for k, v in pairs(f) do
      if type(v) ~= "table" and k ~= "key" then c[k] = v end
    end
    s.faults[mode] = c
  end
  s.memory = { used_mb = math.floor(st.memory.used), limit_mb = st.memory.limit,
               percent = math.floor(st.memory.used * 100 / st.memory.limit), crashes = st.memory.crashes }
  s.database = { kind = st.db and "postgres" or "memory", max_connections = 100,
                 connections = (st.faults.api_timeout or (st.faults.database_down
                   and st.faults.database_down.cause == "max_connections")) and 95 or 7 }
  for ip in pairs(st.blocked) do s.blocked[#s.blocked + 1] = ip end
  return s
end

return M
