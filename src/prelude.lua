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
  if type(opts) ~= "table" then error("task.retry: expected an options table", 2) end
  local attempts = opts.attempts or 3
  if math.type(attempts) ~= "integer" or attempts < 1 then
    error("task.retry: attempts must be an integer >= 1 (got " .. tostring(opts.attempts) .. ")", 2)
  end
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

-- Incidents: the C calls answer the new status; the object keeps it, and
-- the method returns the incident (or nil, err).
local inc_methods = C.incident_methods
for _, m in ipairs({ "ack", "mitigate", "resolve", "note", "escalate" }) do
  local raw = inc_methods["__" .. m]
  inc_methods[m] = function(inc, ...)
    local status, err = raw(inc, ...)
    if status == nil then return nil, err end
    rawset(inc, "status", status)
    return inc
  end
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

-- ctx.params: the runbook's declared params < the config's params < --set.
-- A --set value is text: it takes the type of the value it overrides, and
-- must fit it; a runbook (not an ad-hoc script) refuses undeclared keys.
local truth = { ["true"] = true, yes = true, on = true, ["1"] = true,
                ["false"] = false, no = false, off = false, ["0"] = false }

local function convert(k, old, v)
  local t = type(old)
  if t == "nil" or t == "string" then return v end
  if t == "number" then
    local n = tonumber(v)
    if math.type(old) == "integer" then
      local i = n and math.tointeger(n)
      if i == nil then
        error(("--set %s=%s: %s is an integer (default %d)"):format(k, v, k, old), 0)
      end
      return i
    end
    if n == nil then
      error(("--set %s=%s: %s is a number (default %s)"):format(k, v, k, tostring(old)), 0)
    end
    return n + 0.0
  end
  if t == "boolean" then
    local b = truth[v:lower()]
    if b == nil then
      error(("--set %s=%s: %s is a boolean: true or false (yes/no, on/off, 1/0)"):format(k, v, k), 0)
    end
    return b
  end
  error(("--set %s: %s is a %s, which --set cannot give; set it in the config"):format(k, k, t), 0)
end

local function make_params(rb, params, sets)
  local declared = type(rb) == "table" and type(rb.params) == "table" and rb.params or nil
  local p = {}
  if declared then for k, v in pairs(declared) do p[k] = v end end
  for k, v in pairs(params or {}) do p[k] = v end
  local keys = {}
  for k in pairs(sets) do keys[#keys + 1] = k end
  table.sort(keys)
  for _, k in ipairs(keys) do
    if type(rb) == "table" and p[k] == nil then
      local names = {}
      for n in pairs(p) do names[#names + 1] = tostring(n) end
      table.sort(names)
      error(("--set %s: unknown param (this runbook's params: %s)"):format(
        k, #names > 0 and table.concat(names, ", ") or "none"), 0)
    end
    p[k] = convert(k, p[k], sets[k])
  end
  return p
end

-- Each run's ctx by run id (weak: gone with the run), so incident.open can
-- set ctx.incident for the run that opened (or joined) one.
local ctx_of_run = setmetatable({}, { __mode = "v" })

local function make_ctx(rb, params, sets, run_id, dry_run, trigger, alert)
  local ctx = { params = make_params(rb, params, sets), dry_run = dry_run, run_id = run_id,
                trigger = trigger, alert = alert }
  ctx_of_run[run_id] = ctx
  return ctx
end

local raw_open = env.incident.open
env.incident.open = function(t)
  local ctx = ctx_of_run[C.run_id()]
  -- A run started by an alert opens (or joins) the alert's incident: the
  -- alert's resolution is noted on it, and a repeat joins it.
  if type(t) == "table" and t.dedup_key == nil and ctx and type(ctx.alert) == "table"
      and type(ctx.alert.dedup_key) == "string" then
    local copy = {}
    for k, v in pairs(t) do copy[k] = v end
    copy.dedup_key = ctx.alert.dedup_key
    t = copy
  end
  local inc, err = raw_open(t)
  if inc and ctx and ctx.incident == nil then ctx.incident = inc end
  return inc, err
end

-- ctx.params as JSON for the run's record (nil when JSON cannot say it).
local function params_json(p)
  local ok, s = pcall(env.json.encode, p)
  return ok and s or nil
end

-- A loaded runbook's run: run(ctx) is the root task.
function C.prepare(rb, ...)
  local ctx = make_ctx(rb, ...)
  local run = rb.run
  return function() return run(ctx) end, params_json(ctx.params)
end

-- An ad-hoc script: its top level is the root task, ctx its `...`.
function C.prepare_script(chunk, ...)
  local ctx = make_ctx(nil, ...)
  return function() return chunk(ctx) end, params_json(ctx.params)
end
