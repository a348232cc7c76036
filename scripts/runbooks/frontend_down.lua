-- Scenario 5 of the playbook: Frontend Down (White Screen), P0.  The scenario
-- is scripts/lib/scenarios/frontend_down.lua (health_check runs the same code).
local s = require("scenarios.frontend_down")
return {
  name = s.name, title = s.title, severity = s.severity, description = s.description,
  scenario = s.name, params = s.params,
  run = function(ctx) return s.run(ctx) end,
}
