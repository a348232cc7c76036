-- Scenario 7 of the playbook: Data Corruption.  The scenario itself is
-- scripts/lib/scenarios/data_corruption.lua (health_check runs the same code).
local s = require("scenarios.data_corruption")
return {
  name = s.name, title = s.title, severity = s.severity, description = s.description,
  scenario = s.name, params = s.params,
  run = function(ctx) return s.run(ctx) end,
}
