-- Scenario 10 of the playbook: Security Breach Suspected.  The scenario itself is
-- scripts/lib/scenarios/security_breach.lua (health_check runs the same code).
local s = require("scenarios.security_breach")
return {
  name = s.name, title = s.title, severity = s.severity, description = s.description,
  scenario = s.name, params = s.params,
  run = function(ctx) return s.run(ctx) end,
}
