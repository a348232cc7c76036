-- Scenario 4 of the playbook: Memory Leak (OOM), P0.  The scenario
-- is scripts/lib/scenarios/memory_leak.lua (health_check runs the same code).
local s = require("scenarios.memory_leak")
return {
  name = s.name, title = s.title, severity = s.severity, description = s.description,
  scenario = s.name, params = s.params,
  run = function(ctx) return s.run(ctx) end,
}
