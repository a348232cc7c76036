-- platform/local.lua — the platform interface (see platform.lua) on a local
-- deployment: the simulated ETP Express (examples/etp-express/target.lua)
-- through its control API (param target_control), its log files (param
-- log_dir: <log_dir>/<service>.log, read with tail), and the playbook's
-- scripts as configurable commands (rollback_cmd for ./scripts/rollback.sh,
-- backup_cmd for ./scripts/backup-db.sh, restore_cmd).
-- Reads are GETs and readonly shell calls, so --dry-run runs them; actions
-- are POSTs and commands, listed instead in a dry run.
local platform = require("platform")
local M = {}

function M.new(params, opts)
  return platform.bind({ name = "local", params = params, dry_run = opts.dry_run,
                         url = (params.target_control:gsub("/+$", "")) }, M)
end

local function answer(res, err, what)
  if not res then return nil, err end
  if res.dry_run then return { ok = true, dry_run = true } end
  local ok, body = pcall(res.json, res)
  if res.status >= 300 then
    local why = ok and type(body) == "table" and body.error or res.body:sub(1, 200)
    return nil, platform.err("platform", ("%s: %d %s"):format(what, res.status, tostring(why)))
  end
  if not ok then return nil, platform.err("platform", what .. ": not JSON") end
  return body
end

function M:get(path, query)
  local res, err = http.get(self.url .. path, { query = query, timeout = 10 })
  return answer(res, err, "GET " .. path)
end

function M:post(path, body)
  local res, err = http.post(self.url .. path, body or {}, { timeout = 30 })
  return answer(res, err, "POST " .. path)
end

-- ISO 8601 UTC "2026-01-01T12:00:00.000Z" -> Unix seconds (days from the
-- civil date, H. Hinnant's algorithm: no time zone involved)
local function iso_time(s)
  local y, m, d, h, mi, sec = s:match("^(%d%d%d%d)-(%d%d)-(%d%d)T(%d%d):(%d%d):(%d%d)")
  if not y then return nil end
  y, m, d = tonumber(y), tonumber(m), tonumber(d)
  if m <= 2 then y = y - 1 end
  local era = y // 400
  local yoe = y - era * 400
  local doy = (153 * (m + (m > 2 and -3 or 9)) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  local days = era * 146097 + doe - 719468
  return days * 86400 + tonumber(h) * 3600 + tonumber(mi) * 60 + tonumber(sec)
end
M.iso_time = iso_time

local function seconds(since)
  if type(since) == "number" then return since end
  local n, u = tostring(since):match("^(%d+)([smhdw]?)$")
  if not n then return nil end
  return tonumber(n) * ({ s = 1, m = 60, h = 3600, d = 86400, w = 604800, [""] = 1 })[u]
end

function M:logs(o)
  o = o or {}
  local service, lines = o.service or "backend", o.lines or 500
  local since = o.since and seconds(o.since)
  if self.params.log_dir == "" then
    local res, err = http.get(self.url .. "/_logs", { query = { service = service, lines = lines, since = since },
                                                      timeout = 10 })
    if not res then return nil, err end
    if res.status ~= 200 then return nil, platform.err("platform", "GET /_logs: " .. res.status) end
    return res.body
  end
  local res, err = shell.run { "tail", "-n", tostring(lines), self.params.log_dir .. "/" .. service .. ".log",
                               readonly = true, timeout = 10 }
  if not res then return nil, err end
  if not res.ok then return nil, platform.err("platform", "tail: " .. res.stderr:gsub("%s+$", "")) end
  if not since then return res.stdout end
  local from, out = time.now() - since, {}
  for line in res.stdout:gmatch("[^\n]+") do
    local t = iso_time(line)
    if not t or t >= from then out[#out + 1] = line end
  end
  return table.concat(out, "\n") .. (#out > 0 and "\n" or "")
end

-- GET /_state -> the target's state, the service's part of it | nil, err
local function service_state(self, service)
  local s, err = self:get("/_state")
  if not s then return nil, err end
  local svc = s.services and s.services[service]
  if not svc then return nil, platform.err("platform", "unknown service " .. tostring(service)) end
  return s, svc
end

function M:status(service)
  local s, svc = service_state(self, service)
  if not s then return nil, svc end
  local cur = svc.deployments[1] or {}
  local st = { state = svc.state, version = svc.version, previous_version = svc.previous_version,
               deployment = svc.deployment, restarts = svc.restarts, status = cur.status,
               deployed_at = cur.created_at, uptime = svc.uptime }
  if service == "backend" then
    st.memory_mb, st.memory_limit_mb, st.memory_percent = s.memory.used_mb, s.memory.limit_mb, s.memory.percent
  end
  return st
end

function M:deployments(service)
  local s, svc = service_state(self, service)
  if not s then return nil, svc end
  return svc.deployments
end

function M:restart(service)
  local r, err = self:post("/_restart", { service = service })
  if not r then return nil, err end
  return true
end

function M:rollback(service)
  return platform.rollback_or(self, service, function()
    local r, err = self:post("/_rollback", { service = service })
    if not r then return nil, err end
    return true, r.version
  end)
end

function M:set_var(service, name, value)
  -- the value travels in the body: a dry run lists "POST <url>/_vars" only
  local r, err = self:post("/_vars", { service = service, name = name, value = value })
  if not r then return nil, err end
  return true
end

function M:vars(service)
  return self:get("/_vars", { service = service })
end

-- The service's variables go into the child's environment, as `railway run` does.
function M:run(service, argv, o)
  o = o or {}
  local vars, err = self:vars(service)
  if not vars then return nil, err end
  local spec = { readonly = o.readonly, timeout = o.timeout or 120, env = {} }
  for k, v in pairs(vars) do spec.env[k] = tostring(v) end
  for i, a in ipairs(argv) do spec[i] = a end
  return shell.run(spec)
end

M.psql = platform.psql

-- without backup_cmd: the target's own backup
function M:backup()
  return platform.backup_or(self, function()
    local r, err = self:post("/_backup")
    if not r then return nil, err end
    return r.path or "(dry run)"
  end)
end

-- Backups the target knows, newest first: { {path=, created_at=}, ... }
-- (the first one, at start, is the state before any fault).
function M:backups()
  local s, err = self:get("/_state")
  if not s then return nil, err end
  return s.backups or {}
end

function M:restore(path)
  return platform.restore_or(self, path, function()
    local r, err = self:post("/_restore", { path = path })
    if not r then return nil, err end
    return true
  end)
end

function M:block_ip(ip)
  local r, err = self:post("/_block", { ip = ip })
  if not r then return nil, err end
  return true
end

return M
