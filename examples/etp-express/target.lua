-- examples/etp-express/target.lua — a simulated ETP Express (the playbook's
-- production system) written with Tocsin itself, for the tests and the demo:
--
--   tocsin run examples/etp-express/target.lua --set port=8080 [--set dsn=postgres://...]
--
-- Four HTTP servers on consecutive ports (port = 0: four ephemeral ones):
--   backend   port     GET /api/health, GET /api/etps, GET /api/etps/:id,
--                      POST /api/auth/login, POST /api/sections/:id/generate
--   frontend  port+1   GET / (HTML; HEAD too)
--   openai    port+2   POST /v1/chat/completions, GET /v1/models (a fake OpenAI)
--   control   port+3   the knobs tests and the local platform adapter turn:
--     GET  /_state                    services, deployments, memory, faults, db figures (JSON)
--     POST /_fault {mode=, ...}       inject a fault (modes below); {"mode":"none"} clears all
--     DELETE /_fault?mode=NAME        clear one fault
--     GET  /_logs?service=&lines=&since=   the service's log, like `railway logs` (text)
--     POST /_restart {service=}       restart (applies pending variables; see FAULTS)
--     POST /_rollback {service=}      back to the previous deployment -> {ok, version} | 500 {error}
--     POST /_deploy {service=, version=, status="SUCCESS"|"FAILED"}
--     GET  /_vars?service=            the service's variables (values included: a Railway does too)
--     POST /_vars {service=, name=, value=}   set one; applied at the next restart
--     POST /_backup                   -> {path=}; POST /_restore {path=}
--     POST /_block {ip=}              refuse that client address (403) from now on
--     POST /_shutdown                 stop the target (the run ends, exit 0)
-- It prints one line "etp-express ready backend=URL frontend=URL openai=URL
-- control=URL log_dir=DIR database=memory|postgres" once everything listens, and keeps one log file per service
-- (<log_dir>/backend.log, frontend.log, postgres.log) in the format of
-- `railway logs`: "2026-01-01T12:00:00.000Z ERROR [Context] message".
--
-- Data: in memory, or in a real PostgreSQL when `dsn` is given (tables
-- users, etps, sections; created and seeded when missing).
-- In-process use (a demo): require("etp_express.serve").start{...} (from
-- examples/lib; see serve.lua).  The model is etp_express/model.lua, the
-- HTTP faces etp_express/routes.lua.
--
-- FAULTS (POST /_fault {"mode": ...}; options in the same object):
--   database_down      cause="crashed"|"migration"|"max_connections".  Health 503
--                      {"status":"error","database":"unhealthy"}, DB endpoints 500.
--                      crashed: restart postgres fixes.  migration: a new backend
--                      deployment; restarting postgres does not help, rollback backend does.
--                      max_connections: restart backend fixes.
--   api_timeout        delay=6 (s).  /api/* answer after `delay`; every third one 504.
--                      Logs "Slow query ... took 6000ms".  Restart backend fixes.
--   openai_rate_limit  fake OpenAI answers 429 to every call for `reset` s (default 60).
--   openai_key_invalid the backend's OPENAI_API_KEY is revoked: 401.  Fixed by a new key
--                      (set_var OPENAI_API_KEY, any "sk-..." not revoked) + restart backend.
--   openai_down        fake OpenAI answers 503 for `duration` s (default: until cleared).
--   rate_limit         scenario 8: every other OpenAI call 429 for `reset` s (default 90).
--   memory_leak        pattern="deploy"|"gradual", rate= MB/s (deploy 40, gradual 5).
--                      Memory grows to the 512 MB limit, then a crash ("JavaScript heap
--                      out of memory"), an automatic restart, again (crash loop).
--                      "deploy" comes with a new deployment.  Rollback backend fixes.
--   frontend_down      cause="build"|"env".  GET / -> 502, frontend state "crashed".
--                      build: a new frontend deployment, rollback fixes.  env: VITE_API_URL
--                      removed; set_var it + restart frontend fixes.
--   auth_broken        cause="jwt_secret"|"strategy"|"users_table".  Login 500.
--                      jwt_secret: JWT_SECRET removed; set_var + restart backend fixes.
--                      strategy: a new backend deployment; rollback fixes.
--                      users_table: the users table is gone; only /_restore of a backup fixes.
--   data_corruption    scope="partial"|"total".  partial: 3 ETP titles garbled ('' or U+FFFD).
--                      total: every title, with a new backend deployment (a migration) and
--                      foreign key errors in the logs; rollback stops it, data stays corrupt.
--   deploy_failed      a new backend deployment with status FAILED (build errors in the
--                      log); backend 502 until rollback.
--   security_breach    ip=, attempts=40: that many failed logins from `ip`, one success,
--                      then an export; the attacker keeps trying every 0.5 s until blocked.
-- Any fault also takes rollback_fails=true or restart_fails=true: that action then fails.
local serve = require("etp_express.serve")

return {
  name = "etp_express_target",
  title = "Simulated ETP Express (backend, frontend, fake OpenAI, control API)",
  severity = "P3",
  params = serve.DEFAULTS,   -- port, host, dsn, log_dir, version, memory_limit, ... (see serve.lua)
  run = function(ctx)
    local p = ctx.params
    local etp = serve.start(p)
    -- one line, key=value, for people and for scripts (tests grep control=)
    print(("etp-express ready backend=%s frontend=%s openai=%s control=%s log_dir=%s database=%s"):format(
      etp.backend, etp.frontend, etp.openai, etp.control,
      p.log_dir ~= "" and p.log_dir or "-", p.dsn ~= "" and "postgres" or "memory"))
    etp.wait()   -- until POST /_shutdown (or Ctrl-C)
    etp.stop()
    return true
  end,
}
