-- The playbook's monitoring, as a scheduled detector: probes the backend's
-- /api/health, the frontend's /, the latency of /api/etps and OpenAI through
-- the backend (POST /api/sections/1/generate).  On a failure it opens the
-- incident with the severity of the playbook's table (dedup_key = the
-- scenario, so a schedule every minute does not open one per minute) and runs
-- the matching scenario (scripts/lib/scenarios/<name>.lua, the same code the
-- scenario's own runbook runs).  scripts/runbooks/health_check.lua wraps this
-- module; examples/demo.lua runs it against the in-process target.
local common = require("scenarios.common")

-- Severity per scenario, from the playbook.
local SEVERITY = {
  database_down = "P0", api_timeout = "P1", openai_failure = "P1", memory_leak = "P0",
  frontend_down = "P0", auth_broken = "P1", data_corruption = "P1", openai_rate_limit = "P2",
  deploy_failed = "P1", security_breach = "P0",
}

local TITLES = {
  database_down = "Database Down", api_timeout = "API Timeout (High Latency)",
  openai_failure = "OpenAI API Failure", memory_leak = "Memory Leak (OOM - Out of Memory)",
  frontend_down = "Frontend Down (White Screen)", deploy_failed = "Deploy Failed (Rollback Needed)",
}

-- Which scenario a failed /api/health points at: the backend down (502,
-- connection refused) is a memory crash when its logs say heap/OOM, a failed
-- deploy when the deployment failed; otherwise the database.
local function classify_backend(plat, why)
  local st = plat.status("backend") or {}
  if st.state == "failed" or st.status == "FAILED" then return "deploy_failed", "backend deploy FAILED" end
  local counts = common.grep_logs(plat, "backend", { "heap", "out of memory", "oom" }, { lines = 200 }) or {}
  if (counts.heap or 0) + (counts["out of memory"] or 0) > 0 or (st.memory_percent or 0) > 90 then
    return "memory_leak", ("heap out of memory in the logs; memory %s%%"):format(tostring(st.memory_percent))
  end
  return "database_down", why
end

local M = {
  name = "health_check",
  title = "Health check",
  severity = "P1",
  description = "Scheduled detector: /api/health, frontend /, /api/etps latency, OpenAI via the backend",
  params = common.params(),
  SEVERITY = SEVERITY,
}

-- -> the scenario's run results (true when healthy), plus the scenario name
function M.run(ctx)
  local p = ctx.params
  local plat = require("platform").get(ctx)

  local probes = task.all {
    function() return step("Verificar health check (/api/health)", common.health, p) end,
    function() return step("Verificar frontend (curl -I /)", common.frontend, p) end,
  }
  local health_ok, health_why = probes[1][2], probes[1][3]
  local front_ok, front_why = probes[2][2], probes[2][3]

  local scenario, why
  if not health_ok then
    scenario, why = classify_backend(plat, health_why)
  elseif not front_ok then
    scenario, why = "frontend_down", "frontend: " .. tostring(front_why)
  else
    local ok, ms_or_err, ms = step("Verificar latency (/api/etps)", common.etps, p)
    local t = ok and ms_or_err or ms
    if not ok or t > p.slow_ms then
      scenario, why = "api_timeout", ("/api/etps: %s in %d ms"):format(ok and "200" or tostring(ms_or_err), t)
    else
      local gen, gwhy = step("Testar geração de seção (OpenAI via backend)", common.generate, p)
      if not gen then scenario, why = "openai_failure", "/api/sections/1/generate: " .. tostring(gwhy) end
    end
  end
  if not scenario then
    print("ETP Express healthy: backend, frontend, latency and OpenAI OK")
    return true
  end

  print(("detected: %s (%s)"):format(scenario, why))
  local inc = assert(incident.open {
    title = TITLES[scenario] or scenario, severity = SEVERITY[scenario] or "P1",
    scenario = scenario, dedup_key = scenario, summary = "health_check: " .. why,
  })
  if inc.reused then
    -- the scenario is already being handled by an earlier run
    inc:note("health_check: still failing: " .. why)
    return true
  end
  inc:note("health_check detectou: " .. why .. " → scenario " .. scenario)
  local ok, mod = pcall(require, "scenarios." .. scenario)
  if not ok then
    inc:escalate(2, "no runbook for scenario " .. scenario)
    return nil, "no scenario module for " .. scenario
  end
  return mod.run(ctx, { incident = inc, detected = why })
end

return M
