-- etp_express/serve.lua — starts the simulated ETP Express inside the
-- calling run, for target.lua and for anything that wants the target
-- in-process (a demo, a test runbook):
--
--   local etp = require("etp_express.serve").start { port = 0, log_dir = "" }
--   -- etp.backend, etp.frontend, etp.openai, etp.control (URLs), etp.state (model.lua's)
--   etp.inject("database_down", { cause = "crashed" })   -- as POST /_fault
--   ...
--   etp.stop()                 -- or POST /_shutdown; etp.wait() returns once stopped
--
-- The servers belong to the task that called start(): they close when it
-- ends (http.serve's rule), so call it from a task that outlives their use.
-- Options: the params of target.lua (missing ones take its defaults).
local model = require("etp_express.model")
local routes = require("etp_express.routes")
local M = {}

M.DEFAULTS = {
  host = "127.0.0.1",
  port = 0,            -- backend; frontend +1, openai +2, control +3; 0: ephemeral ports
  dsn = "",            -- PostgreSQL connection string; empty: data in memory
  log_dir = ".tocsin/etp-express",   -- one log file per service; "" for none
  version = "v1.4.2",  -- the backend's current version (the previous one is v1.4.1)
  memory_limit = 512,  -- MB, the container's limit
  crash_seconds = 1.0, -- how long a crashed backend stays down before its automatic restart
  restart_seconds = 0.3,
  jwt_secret = "",     -- empty: generated
  openai_key = "sk-etp-initial",
}

function M.start(opts)
  local p = {}
  for k, v in pairs(M.DEFAULTS) do p[k] = v end
  for k, v in pairs(opts or {}) do p[k] = v end
  local st = model.new(p)
  local servers = {}
  local function listen(name, offset, r)
    local port = p.port == 0 and 0 or p.port + offset
    local srv, err = http.serve { listen = p.host .. ":" .. port, routes = r }
    if not srv then error(("etp-express: %s cannot listen on %s:%d: %s"):format(name, p.host, port, err), 3) end
    servers[name] = srv
    return srv
  end
  local h = { state = st }
  local stopped = false
  function h.stop()
    if stopped then return end
    stopped = true
    model.stop(st)
    for _, srv in pairs(servers) do srv:close() end
  end
  st.openai_url = listen("openai", 2, routes.openai(st)).url
  st.backend_url = listen("backend", 0, routes.backend(st)).url
  listen("frontend", 1, routes.frontend(st))
  listen("control", 3, routes.control(st, h.stop))
  model.start(st)
  h.backend, h.frontend, h.openai, h.control = servers.backend.url, servers.frontend.url, servers.openai.url,
    servers.control.url
  h.log_dir = p.log_dir
  function h.inject(mode, o) return model.inject(st, mode, o) end
  function h.wait() return servers.control:wait() end
  return h
end

return M
