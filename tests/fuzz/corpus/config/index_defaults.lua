local defaults = { params = { a = { b = { c = "d" } } }, limits = { cpu = 1 } }
return setmetatable({ runbooks = { "x" } }, { __index = defaults })
