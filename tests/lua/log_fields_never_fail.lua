-- log.* never fails the run over a field JSON cannot say (NaN, a function, a
-- cycle), and a key whose tostring raises raises the runbook's own error
-- without leaking the line being built (checked by LeakSanitizer in the
-- sanitizer build).
local cyc = {}
cyc.self = cyc
log.info("odd values", { nan = 0 / 0, inf = -math.huge, fn = print, cyc = cyc, co = coroutine.create(print) })
local bad_key = setmetatable({}, { __tostring = function() error("no text for this key") end })
for _ = 1, 100 do
  local ok, err = pcall(log.warn, "bad key", { [bad_key] = 1, other = string.rep("x", 4096) })
  assert(not ok and tostring(err):find("no text for this key"), tostring(err))
end
print("log fields ok")
