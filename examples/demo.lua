-- The demo (`tocsin demo` runs it; or tocsin run examples/demo.lua with a
-- config whose lib_paths has scripts/lib and examples/lib): starts the
-- simulated ETP Express in this run, crashes its PostgreSQL, and lets the
-- playbook's health check find it and run Scenario 1 (Database Down):
-- detection, incident, diagnosis steps, restart, verification, notifications,
-- resolution and the post-mortem draft.
local common = require("scenarios.common")
local health_check = require("scenarios.health_check")

return {
  name = "demo",
  title = "Tocsin demo: Database Down on the simulated ETP Express",
  severity = "P0",
  params = common.params { settle = 2, etp_log_dir = "" },
  run = function(ctx)
    local etp = require("etp_express.serve").start { port = 0, log_dir = ctx.params.etp_log_dir,
      crash_seconds = 0.5 }
    local p = ctx.params
    p.platform, p.backend, p.frontend, p.target_control = "local", etp.backend, etp.frontend, etp.control
    p.log_dir = ctx.params.etp_log_dir
    print(("1. simulated ETP Express: backend %s, frontend %s"):format(etp.backend, etp.frontend))

    step("Health check antes da falha", function()
      local ok, why = common.health(p)
      if not ok then return nil, why end
      print("   /api/health: {\"status\":\"ok\",\"database\":\"healthy\"}")
      return true
    end)

    print("2. injecting the fault: PostgreSQL crashes (playbook Scenario 1, Database Down)")
    etp.inject("database_down", { cause = "crashed" })

    print("3. the scheduled health check runs and follows the playbook:")
    local ok, err = health_check.run(ctx)
    local inc = ctx.incident
    etp.stop()
    if not ok then return nil, "the demo's runbook failed: " .. tostring(err) end
    if not inc or inc.status ~= "resolved" then return nil, "the incident was not resolved" end
    print(("4. %s %s: %s"):format(inc.id, inc.title, inc.status))
    return true
  end,
}
