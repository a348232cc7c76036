-- The playbook's monitoring as a scheduled detector (schedule it every minute
-- in the daemon): the code is scripts/lib/scenarios/health_check.lua.
local s = require("scenarios.health_check")
return {
  name = s.name, title = s.title, severity = s.severity, description = s.description,
  params = s.params,
  run = function(ctx) return s.run(ctx) end,
}
