-- bench/empty.lua — a runbook that does nothing: measures start-up cost.
return { run = function() end }
