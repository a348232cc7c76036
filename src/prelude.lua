-- prelude.lua — the Lua half of the engine, compiled into the binary and run
-- once per runbook state: coroutine wrappers that forward the scheduler's
-- yields, the task helpers, step(), and small conveniences over the C
-- primitives.  It receives the sandbox environment and the C internals.
local env, C = ...

local SUSPEND = C.suspend_token
local co_create, co_resume, co_yield = coroutine.create, coroutine.resume, coroutine.yield
local co_status, co_close = coroutine.status, coroutine.close
local error, pcall, type, ipairs = error, pcall, type, ipairs
local pack, unpack = table.pack, table.unpack
local make_err = C.err

-- Coroutines: a primitive called inside a runbook's own coroutine yields
-- SUSPEND to our resume; we pass that yield up to the scheduler and hand the
-- results back down, so the primitive never notices it was nested.  While it
-- waits there the coroutine is parked: resuming or closing it from anywhere
-- else (another task) would hand the primitive's results to the wrong code,
-- so that is refused, as it is for the tasks' own threads.
local parked = setmetatable({}, { __mode = "k" })
local task_threads = C.task_threads

local function check(c, what)
  if parked[c] or task_threads[c] then
    error("coroutine." .. what .. ": this coroutine is waiting for the scheduler (a task, "
      .. "or a coroutine suspended in an I/O call); only its own task can resume it", 3)
  end
end

local forward
local function unpark(c, ...)
  parked[c] = nil
  return forward(c, co_resume(c, ...))
end

function forward(c, ok, first, ...)
  if ok and first == SUSPEND and co_status(c) == "suspended" then
    parked[c] = true
    return unpark(c, co_yield(SUSPEND))
  end
  return ok, first, ...
end

local co = {}
for k, v in pairs(coroutine) do co[k] = v end
co.resume = function(c, ...)
  check(c, "resume")
  return forward(c, co_resume(c, ...))
end
co.close = function(c)
  check(c, "close")
  return co_close(c)
end
co.wrap = function(f)
  local c = co_create(f)
  local function finish(ok, ...)
    if not ok then
      co_close(c)
      error((...), 0)
    end
    return ...
  end
  return function(...)
    check(c, "wrap")
    return finish(forward(c, co_resume(c, ...)))
  end
end
env.coroutine = co

-- Tasks.
local task = env.task
local methods = C.task_methods

local function after_wait(status, ...)
  if status == "timeout" then
    return nil, make_err("timeout", "the task did not finish in time")
  end
  return ...
end

function methods.wait(t, timeout)
  if timeout ~= nil and type(timeout) ~= "number" then
    error("wait: timeout must be a number of seconds", 2)
  end
  return after_wait(t:__wait(timeout))
end

function task.all(fns)
  if type(fns) ~= "table" then error("task.all: expected a table of functions", 2) end
  local ts = {}
  for i, f in ipairs(fns) do
    if type(f) ~= "function" then error("task.all: element " .. i .. " is not a function", 2) end
    ts[i] = task.spawn(f)
  end
  local out = {}
  for i, t in ipairs(ts) do out[i] = pack(t:wait()) end
  return out
end

function task.timeout(s, fn, ...)
  if type(s) ~= "number" then error("task.timeout: seconds must be a number", 2) end
  if type(fn) ~= "function" then error("task.timeout: expected a function", 2) end
  local t = task.spawn(fn, ...)
  local function finish(status, ok, ...)
    if status == "timeout" then
      t:cancel()
      return nil, make_err("timeout", ("timed out after %gs"):format(s))
    end
    if ok then return ... end
    error((...), 0)
  end
  return finish(t:__wait(s))
end

function task.retry(opts, fn, ...)
  if type(opts) == "function" then
    return task.retry({}, opts, fn, ...)
  end
  if type(fn) ~= "function" then error("task.retry: expected a function", 2) end
  local attempts = opts.attempts or 3
  local delay = opts.delay or 1
  local backoff = opts.backoff or 2
  local max_delay = opts.max_delay or 60
  local last
  for attempt = 1, attempts do
    last = pack(pcall(fn, ...))
    if last[1] and not (last[2] == nil and last.n >= 3 and last[3] ~= nil) then
      return unpack(last, 2, last.n)
    end
    if attempt < attempts then
      env.time.sleep(delay)
      delay = math.min(delay * backoff, max_delay)
    end
  end
  if not last[1] then error(last[2], 0) end
  return unpack(last, 2, last.n)
end

-- Steps: a raised error marks the step failed and propagates; a `nil, err`
-- result is shown as failed and returned to the caller to decide.
function env.step(title, fn, ...)
  if type(title) ~= "string" then error("step: title must be a string", 2) end
  if type(fn) ~= "function" then error("step: expected a function after the title", 2) end
  local id, started = C.step_begin(title)
  local function finish(ok, ...)
    if not ok then
      C.step_end(id, title, started, false, (...))
      error((...), 0)
    end
    local first, second = ...
    if first == nil and second ~= nil then
      C.step_end(id, title, started, false, second)
    else
      C.step_end(id, title, started, true)
    end
    return ...
  end
  return finish(pcall(fn, ...))
end

-- The context a run receives: runbook defaults < config params < --set.
function C.make_ctx(rb, params, sets, run_id, dry_run)
  local p = {}
  if type(rb) == "table" and type(rb.params) == "table" then
    for k, v in pairs(rb.params) do p[k] = v end
  end
  for k, v in pairs(params or {}) do p[k] = v end
  for k, v in pairs(sets or {}) do
    local d = p[k]
    if type(d) == "number" and tonumber(v) then v = tonumber(v)
    elseif type(d) == "boolean" and (v == "true" or v == "false") then v = (v == "true") end
    p[k] = v
  end
  return { params = p, dry_run = dry_run, run_id = run_id }
end

-- The root task of `tocsin run`: the file's top level runs as the task (an
-- ad-hoc script receives ctx as `...`); a returned runbook table's run(ctx)
-- follows.
function C.main(chunk, params, sets, run_id, dry_run)
  local rb = chunk(C.make_ctx(nil, params, sets, run_id, dry_run))
  if type(rb) == "table" and type(rb.run) == "function" then
    C.set_limits(rb.limits)
    return rb.run(C.make_ctx(rb, params, sets, run_id, dry_run))
  end
  return rb
end
