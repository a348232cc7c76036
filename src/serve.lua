-- serve.lua — the Lua half of http.serve (server_lua.c): the dispatcher loop
-- and the task each request runs in.  server_lua.c loads it once per state and
-- calls it with the C functions below; it sees nothing else (it runs with the
-- state's real globals, never a runbook's sandbox) and returns start, wait.
local spawn, next_request, respond, fail, traceback, started, stopped = ...
local xpcall, pcall, setmetatable, type = xpcall, pcall, setmetatable, type

-- One request: the handler's result becomes the answer.  h answers the
-- request when this task ends however it ends (its __close), so a handler
-- that is cancelled or that kills its task still gets its client an answer.
local function handle(handler, req, h)
  local _ <close> = h
  local ok, res = xpcall(handler, traceback, req)
  if ok then ok, res = pcall(respond, h, res) end
  if not ok then fail(h, res) end
end

-- However the dispatcher ends, the server closes; stopped() is told why (an
-- error: the run fails, a server that stopped serving is not a success).
local guard_mt = { __close = function(g, err) stopped(g.srv, err) end }

local function dispatch(srv)
  local _ <close> = setmetatable({ srv = srv }, guard_mt)
  while true do
    local req, handler, h = next_request(srv)
    if req == false then return true end
    if req then spawn(handle, handler, req, h) end
  end
end

local tasks = setmetatable({}, { __mode = "k" })

local function start(srv)
  tasks[srv] = spawn(dispatch, srv)
  started(srv)
end

local function wait(srv, timeout)
  local t = tasks[srv]
  if t then
    local ok, err = t:wait(timeout)
    if ok == nil and err then return nil, err end -- timeout
    if ok == false and not (type(err) == "table" and err.kind == "canceled") then
      return nil, err -- the dispatcher failed (CPU or memory limit)
    end
  end
  return true
end

return start, wait
