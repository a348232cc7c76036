-- platform/railway.lua — the platform interface (see platform.lua) on the
-- `railway` CLI, the calls the playbook makes:
--   logs         railway logs --service S --lines N [--since 30m]      (read-only)
--   status       railway deployment list --service S --limit 10 --json (read-only;
--                the playbook's `railway ps` / `railway deployments`)
--   restart      railway restart --service S --yes
--   rollback     rollback_cmd (./scripts/rollback.sh) when configured, else
--                railway rollback --service S --yes (the playbook's spelling)
--   set_var      railway variables --service S --set-from-stdin NAME   (value on stdin:
--                never in argv, so never in a dry run's action list or `ps`)
--   vars         railway variables --service S --json                  (read-only)
--   run, psql    railway run --service S -- ...
--   backup       backup_cmd (./scripts/backup-db.sh); restore: restore_cmd
-- Every call is shell.run with an argument vector (no shell parses user
-- data); reads are readonly = true, so --dry-run runs them and lists the rest.
-- The CLI authenticates with RAILWAY_TOKEN / RAILWAY_API_TOKEN (passed
-- through when set) or the login in $HOME.
local platform = require("platform")
local M = {}

local PASS_ENV = { RAILWAY_TOKEN = true, RAILWAY_API_TOKEN = true, RAILWAY_LOG = true }

function M.new(params, opts)
  return platform.bind({ name = "railway", params = params, dry_run = opts.dry_run }, M)
end

-- railway(self, {args...}, {readonly=, stdin=, timeout=}) -> res | nil, err
local function railway(self, args, o)
  o = o or {}
  local spec = { self.params.railway_bin, readonly = o.readonly, stdin = o.stdin, timeout = o.timeout or 60,
                 env = PASS_ENV }
  for _, a in ipairs(args) do spec[#spec + 1] = a end
  local res, err = shell.run(spec)
  if not res then return nil, err end
  if not res.ok and not res.dry_run and not o.result then
    local why = (res.stderr ~= "" and res.stderr or res.stdout):gsub("%s+$", ""):sub(-300)
    return nil, platform.err("platform", ("railway %s exited %s: %s"):format(args[1], tostring(res.code), why))
  end
  return res
end

local function since_arg(since)
  if type(since) == "number" then return math.max(1, math.floor(since)) .. "s" end
  return since
end

function M:logs(o)
  o = o or {}
  local args = { "logs", "--service", o.service or "backend", "--lines", tostring(o.lines or 500) }
  if o.since then
    args[#args + 1] = "--since"
    args[#args + 1] = since_arg(o.since)
  end
  local res, err = railway(self, args, { readonly = true })
  if not res then return nil, err end
  return res.stdout
end

local STATE = { SUCCESS = "running", FAILED = "failed", CRASHED = "crashed", BUILDING = "deploying",
                DEPLOYING = "deploying", INITIALIZING = "deploying", QUEUED = "deploying", WAITING = "deploying" }

function M:deployments(service)
  local res, err = railway(self, { "deployment", "list", "--service", service or "backend", "--limit", "10",
                                   "--json" }, { readonly = true })
  if not res then return nil, err end
  local ok, list = pcall(json.decode, res.stdout)
  if not ok or type(list) ~= "table" then
    return nil, platform.err("platform", "railway deployment list: not JSON: " .. res.stdout:sub(1, 200))
  end
  local out = {}
  for i, d in ipairs(list) do
    local meta = type(d.meta) == "table" and d.meta or {}
    out[i] = { id = d.id, status = d.status, created_at = d.createdAt,
               version = meta.version or (type(meta.commitHash) == "string" and meta.commitHash:sub(1, 7)) or d.id }
  end
  return out
end

function M:status(service)
  local list, err = self:deployments(service)
  if not list then return nil, err end
  local cur, prev
  for _, d in ipairs(list) do
    if not cur and STATE[d.status] then
      cur = d
    elseif cur and not prev and (d.status == "SUCCESS" or d.status == "REMOVED") then
      prev = d
    end
  end
  if not cur then return { state = "unknown" } end
  return { state = STATE[cur.status], version = cur.version, deployment = cur.id,
           previous_version = prev and prev.version, status = cur.status, deployed_at = cur.created_at }
end

function M:restart(service)
  local res, err = railway(self, { "restart", "--service", service, "--yes" })
  if not res then return nil, err end
  return true
end

function M:rollback(service)
  return platform.rollback_or(self, service, function()
    local res, err = railway(self, { "rollback", "--service", service, "--yes" })
    if not res then return nil, err end
    return true
  end)
end

function M:set_var(service, name, value)
  if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
    return nil, platform.err("platform", "bad variable name " .. tostring(name))
  end
  local res, err = railway(self, { "variables", "--service", service, "--set-from-stdin", name },
    { stdin = tostring(value) })
  if not res then return nil, err end
  return true
end

function M:vars(service)
  local res, err = railway(self, { "variables", "--service", service, "--json" }, { readonly = true })
  if not res then return nil, err end
  if res.dry_run then return {} end
  local ok, t = pcall(json.decode, res.stdout)
  if not ok or type(t) ~= "table" then return nil, platform.err("platform", "railway variables: not JSON") end
  return t
end

function M:run(service, argv, o)
  o = o or {}
  local args = { "run", "--service", service, "--" }
  for _, a in ipairs(argv) do args[#args + 1] = a end
  -- its exit status is the command's result, not the platform failing
  return railway(self, args, { readonly = o.readonly, timeout = o.timeout or 120, result = true })
end

M.psql = platform.psql

-- Railway has no backup of its own: backup_cmd and restore_cmd are required.
function M:backup()
  return platform.backup_or(self, function()
    return nil, platform.err("config", "no backup_cmd configured (the playbook's ./scripts/backup-db.sh)")
  end)
end

function M:restore(path)
  return platform.restore_or(self, path, function()
    return nil, platform.err("config", "no restore_cmd configured (see DISASTER_RECOVERY.md)")
  end)
end

function M.backups()
  return nil, platform.err("unsupported", "backups are listed by the backup tooling (DISASTER_RECOVERY.md)")
end

function M.block_ip(_, ip)
  return nil, platform.err("unsupported", "Railway has no firewall rule in its CLI: block " .. tostring(ip)
    .. " in the application (IP blocking in NestJS)")
end

return M
