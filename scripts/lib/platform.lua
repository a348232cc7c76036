-- platform.lua — one face for the platform ETP Express runs on, so a runbook
-- says "restart the backend" and not how.  Two adapters:
--   platform/railway.lua  the `railway` CLI, as the playbook calls it
--   platform/local.lua    the simulated target (examples/etp-express) or any
--                         local deployment with a control API and log files
--
--   local platform = require("platform")
--   local p = platform.get(ctx)          -- by ctx.params.platform: "railway" | "local"
--
-- Every adapter has these functions (service: "backend" | "frontend" | "postgres");
-- call them p.logs{...} or p:logs{...}, both work:
--   p.name                                   "railway" | "local"
--   p.logs{service=, lines=500, since=}   -> text | nil, err     read-only (runs in --dry-run)
--        since: seconds (number) or a Railway duration string ("30m", "2h")
--   p.status(service)                     -> st | nil, err       read-only
--        st.state     "running" | "crashed" | "failed" | "deploying" | "unknown"
--        st.status    the current deployment's status as the platform says it (SUCCESS, FAILED, ...)
--        st.version, st.previous_version, st.deployment (id), st.deployed_at (ISO 8601: a
--        deployment younger than the trouble points at the deploy), st.restarts, st.uptime (local),
--        st.memory_mb, st.memory_limit_mb, st.memory_percent (backend, local only)
--   p.deployments(service)                -> { {id=, status=, version=, created_at=}, ... } newest first
--   p.restart(service)                    -> true | nil, err
--   p.rollback(service)                   -> true, version | nil, err   (rollback_cmd when configured)
--   p.set_var(service, name, value)       -> true | nil, err     the value never appears in argv or logs
--   p.vars(service)                       -> { NAME = value } | nil, err   read-only; values are secrets
--   p.run(service, argv [, opts])         -> shell result | nil, err   argv with the service's variables
--        in the environment (railway run); opts.readonly = true for a read (runs in --dry-run);
--        a non-zero exit is a result (res.ok false, res.code), as with shell.run
--   p.psql(service, sql [, opts])         -> shell result | nil, err   `psql "$DATABASE_URL" -c sql`
--        inside the service's environment (the playbook's `railway run psql $DATABASE_URL -c ...`)
--   p.backup()                            -> path | nil, err     backup_cmd (./scripts/backup-db.sh); local
--        without one: the target's own backup (POST /_backup); a dry run returns "(dry run)"
--   p.restore(path)                       -> true | nil, err     restore_cmd; local: the target's restore
--   p.backups()                           -> { {path=, created_at=}, ... } newest first | nil, err
--        local only (the oldest is the target's state at start); railway: err.kind "unsupported"
--   p.block_ip(ip)                        -> true | nil, err     local only (err.kind "unsupported" on railway)
-- Failures are nil, err with err.kind "platform" (the platform said no), "config"
-- (a command is not configured), "unsupported", or a primitive's own kind
-- (connect, timeout, spawn...).  In a dry run, reads happen and actions are
-- listed: they return a success-shaped answer (true) without acting.
--
-- Params the adapters read from ctx.params (declare them in the runbook,
-- e.g. `params = platform.params{ backend = ... }` adds the defaults below):
local M = {}

M.DEFAULTS = {
  platform = "local",                       -- "railway" | "local"
  railway_bin = "railway",                  -- the CLI (tests put a stand-in first on PATH)
  target_control = "http://127.0.0.1:8083", -- local: the simulated target's control API
  log_dir = "",                             -- local: <log_dir>/<service>.log; "" reads the control API
  rollback_cmd = "",                        -- the playbook's ./scripts/rollback.sh; "" the platform's own
  backup_cmd = "",                          -- ./scripts/backup-db.sh; prints the backup's path last
  restore_cmd = "",                         -- a restore command, given the path as its last argument
}

-- params{...}: the runbook's own defaults plus the adapters' (its own win).
function M.params(own)
  local out = {}
  for k, v in pairs(M.DEFAULTS) do out[k] = v end
  for k, v in pairs(own or {}) do out[k] = v end
  return out
end

local ERR = { __tostring = function(e) return e.kind .. ": " .. e.message end }
function M.err(kind, message)
  return setmetatable({ kind = kind, message = message }, ERR)
end

-- A configured command line: words split on blanks (no shell, no quoting),
-- "{service}" and "{path}" replaced; nil when not configured.
function M.command(line, vars)
  if type(line) ~= "string" or line:match("^%s*$") then return nil end
  local argv = {}
  for w in line:gmatch("%S+") do
    argv[#argv + 1] = (w:gsub("{(%a+)}", function(k) return vars[k] and tostring(vars[k]) end))
  end
  return argv
end

-- Runs a configured command; its last non-empty stdout line is the answer.
function M.run_command(argv, opts)
  local spec = { timeout = opts.timeout or 300, env = opts.env, readonly = opts.readonly }
  for i, a in ipairs(argv) do spec[i] = a end
  local res, err = shell.run(spec)
  if not res then return nil, err end
  if res.dry_run then return res, "" end
  if not res.ok then
    local why = (res.stderr ~= "" and res.stderr or res.stdout):gsub("%s+$", ""):sub(-300)
    return nil, M.err("platform", ("%s exited %s: %s"):format(argv[1], tostring(res.code), why))
  end
  local last = ""
  for l in res.stdout:gmatch("[^\n]+") do
    if l:match("%S") then last = l end
  end
  return res, (last:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- The playbook's scripts stand in for an adapter's own rollback, backup and
-- restore when configured (rollback_cmd, backup_cmd, restore_cmd); `own` is
-- the adapter's action, called with no arguments when the script is not.
-- rollback_cmd's last stdout line is the version it rolled back to.
function M.rollback_or(self, service, own)
  local argv = M.command(self.params.rollback_cmd, { service = service })
  if not argv then return own() end
  local res, last = M.run_command(argv, { env = { TOCSIN_SERVICE = service } })
  if not res then return nil, last end
  return true, last ~= "" and last or nil
end

-- backup_cmd prints the backup's path last; a dry run's is "(dry run)".
function M.backup_or(self, own)
  local argv = M.command(self.params.backup_cmd, {})
  if not argv then return own() end
  local res, last = M.run_command(argv, { timeout = 3600 })
  if not res then return nil, last end
  if res.dry_run then return "(dry run)" end
  return last
end

-- restore_cmd gets the path as {path}, else as its last argument.
function M.restore_or(self, path, own)
  local argv = M.command(self.params.restore_cmd, { path = path })
  if not argv then return own() end
  if not self.params.restore_cmd:find("{path}", 1, true) then argv[#argv + 1] = path end
  local res, err = M.run_command(argv, { timeout = 3600 })
  if not res then return nil, err end
  return true
end

-- The playbook's `railway run psql $DATABASE_URL -c ...`, on either adapter's
-- run: the SQL goes as an argument of a fixed script, so the shell expands
-- only $DATABASE_URL, inside the service's environment, never the SQL.
function M.psql(self, service, query, o)
  return self:run(service, { "sh", "-c", 'exec psql "$DATABASE_URL" -X -v ON_ERROR_STOP=1 -c "$1"', "psql", query }, o)
end

-- Binds an adapter's methods so both p.logs{...} and p:logs{...} work.
function M.bind(obj, class)
  for k, f in pairs(class) do
    if type(f) == "function" and k ~= "new" then
      obj[k] = function(a, ...)
        if a == obj then return f(obj, ...) end
        return f(obj, a, ...)
      end
    end
  end
  return obj
end

function M.get(ctx)
  local name = ctx.params and ctx.params.platform or "local"
  if name ~= "railway" and name ~= "local" then
    error(("platform: unknown platform %q (want \"railway\" or \"local\")"):format(tostring(name)), 2)
  end
  local params = {}
  for k, v in pairs(M.DEFAULTS) do params[k] = v end
  for k, v in pairs(ctx.params or {}) do params[k] = v end
  return require("platform." .. name).new(params, { dry_run = ctx.dry_run })
end

return M
