-- Every sandbox escape named in SPEC.md section 3 fails.
local absent = { "io", "package", "debug", "dofile", "loadfile", "module", "loadstring" }
for _, name in ipairs(absent) do
  assert(_G[name] == nil, name .. " must not be reachable")
  assert(rawget(_G, name) == nil, name .. " must not be reachable with rawget")
end
for _, name in ipairs({ "execute", "exit", "remove", "rename", "tmpname", "setlocale" }) do
  assert(os[name] == nil, "os." .. name .. " must not be reachable")
end
assert(type(os.time) == "function" and type(os.date) == "function" and type(os.clock) == "function")
assert(type(os.getenv) == "function")
assert(string.dump == nil, "string.dump must be absent")

-- Binary chunks are refused, whatever mode is asked for.
local bin = "\27Lua\84\0\25\147\13\10\26\10\4\8\8\120\86\0\0\0\0\0\0\0\0\0\0\0\40\119\64"
local f, err = load(bin, "bin", "b")
assert(f == nil and tostring(err):find("binary"), "binary chunk must be refused: " .. tostring(err))
f, err = load(bin)
assert(f == nil and err, "binary chunk must be refused in default mode")

-- load() runs in the sandbox, and even an explicit env cannot reach the host.
assert(load("return io")() == nil)
assert(load("return package", "x", "t", _G)() == nil)
local ok = pcall(load, function() return "return 1" end)
assert(ok == false, "load with a reader function is refused")

-- The string metatable is protected.
assert(getmetatable("") == false, "string metatable must be hidden")
ok = pcall(setmetatable, "", {})
assert(not ok)
-- and method calls still work
assert(("abc"):upper() == "ABC")

-- require: only Lua files from scripts/lib and configured paths.
ok, err = pcall(require, "os")
assert(not ok and tostring(err):find("not found"), tostring(err))
ok, err = pcall(require, "io")
assert(not ok)
ok, err = pcall(require, "../../../etc/passwd")
assert(not ok and tostring(err):find("invalid module name"), tostring(err))
ok, err = pcall(require, "cjson")
assert(not ok, "C modules are not loadable")

-- collectgarbage: only harmless options.
ok = pcall(collectgarbage, "stop")
assert(not ok, "collectgarbage('stop') must be refused")
assert(type(collectgarbage("count")) == "number")

-- Globals a runbook writes stay in its own environment.
leaked_global = 1  -- luacheck: ignore
assert(_G.leaked_global == 1)

print("sandbox ok")
