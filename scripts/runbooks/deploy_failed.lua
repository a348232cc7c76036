-- Scenario 9 of the playbook: Deploy Failed (Rollback Needed).  The scenario itself is
-- scripts/lib/scenarios/deploy_failed.lua (health_check runs the same code).
local s = require("scenarios.deploy_failed")
return {
  name = s.name, title = s.title, severity = s.severity, description = s.description,
  scenario = s.name, params = s.params,
  run = function(ctx) return s.run(ctx) end,
}
