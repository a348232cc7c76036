-- Scenario 6 of the playbook: Authentication Broken.  The scenario itself is
-- scripts/lib/scenarios/auth_broken.lua (health_check runs the same code).
local s = require("scenarios.auth_broken")
return {
  name = s.name, title = s.title, severity = s.severity, description = s.description,
  scenario = s.name, params = s.params,
  run = function(ctx) return s.run(ctx) end,
}
