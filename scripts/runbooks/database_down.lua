-- Scenario 1 of the playbook: Database Down (P0).  The scenario itself is
-- scripts/lib/scenarios/database_down.lua (health_check runs the same code).
local s = require("scenarios.database_down")
return {
  name = s.name, title = s.title, severity = s.severity, description = s.description,
  scenario = s.name, params = s.params,
  run = function(ctx) return s.run(ctx) end,
}
