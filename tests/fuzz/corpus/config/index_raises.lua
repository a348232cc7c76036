return setmetatable({}, { __index = function(_, k) error("no " .. k) end })
