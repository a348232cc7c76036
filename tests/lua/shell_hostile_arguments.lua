-- shell.run with argument and option tables that have
-- metamethods.  A cwd made by __index was used after the collector freed
-- it, and a __len claiming 2^61 arguments overflowed argv's size (a heap
-- overflow while the arguments were copied).

local function fresh_tmp()
  return "/" .. string.rep("t", 1) .. "mp" -- a new string nothing else holds
end

local hostile = { __index = function(_, k)
  if k == "cwd" then return fresh_tmp() end
  if k == "env" then
    collectgarbage()
    collectgarbage()
    local junk = {}
    for i = 1, 2000 do junk[i] = string.rep("z", 40) .. i end
    assert(#junk == 2000)
  end
  return nil
end }
local res, err = shell.run(setmetatable({ "/bin/pwd" }, hostile))
assert(res, tostring(err))
assert(res.stdout == "/tmp\n", "cwd: " .. res.stdout)
local res2, err2 = shell.sh("pwd", setmetatable({}, hostile))
assert(res2 and res2.stdout == "/tmp\n", tostring(err2 or res2.stdout))

local argv = setmetatable({}, {
  __len = function() return 1 << 61 end,
  __index = function(_, i)
    if i > 64 then error("read past the claimed arguments: " .. i) end
    return "x"
  end,
})
local ok, e = pcall(shell.run, argv)
assert(not ok and tostring(e):find("too many arguments"), tostring(e))

-- Still fine with a plain array.
local r3 = assert(shell.run({ "/bin/echo", "ok" }))
assert(r3.stdout == "ok\n")
