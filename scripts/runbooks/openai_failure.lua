-- Scenario 3 of the playbook: OpenAI API Failure, P1.  The scenario
-- is scripts/lib/scenarios/openai_failure.lua (health_check runs the same code).
local s = require("scenarios.openai_failure")
return {
  name = s.name, title = s.title, severity = s.severity, description = s.description,
  scenario = s.name, params = s.params,
  run = function(ctx) return s.run(ctx) end,
}
