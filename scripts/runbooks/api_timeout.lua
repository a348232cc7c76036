-- Scenario 2 of the playbook: API Timeout (High Latency), P1.  The scenario
-- is scripts/lib/scenarios/api_timeout.lua (health_check runs the same code).
local s = require("scenarios.api_timeout")
return {
  name = s.name, title = s.title, severity = s.severity, description = s.description,
  scenario = s.name, params = s.params,
  run = function(ctx) return s.run(ctx) end,
}
