-- Scenario 8 of the playbook: Rate Limit Hit (OpenAI).  The scenario itself is
-- scripts/lib/scenarios/openai_rate_limit.lua (health_check runs the same code).
local s = require("scenarios.openai_rate_limit")
return {
  name = s.name, title = s.title, severity = s.severity, description = s.description,
  scenario = s.name, params = s.params,
  run = function(ctx) return s.run(ctx) end,
}
