-- notify.lua — notify(channel_or_list, message_or_table) -> results | nil, err.
--
-- Targets: channel names from the config's `channels`, or role names from its
-- `contacts` (first_responder = { "slack", "hook" }), a string or a list.
-- Without a config (or without a `console` channel) "console" is there.
-- Unknown names: nil, err (kind "config") naming the known ones.
--
-- Each channel is delivered in its own task, so a slow or failing one never
-- delays the others; HTTP ones retry (3 attempts, 0.5 s then 1 s apart) on
-- connect errors, 5xx and 429.  notify waits for all and returns an array of
-- {channel=, ok=, status=, error=, attempts=} (also keyed by channel name); a
-- failed delivery is a result, not an error.  Every outcome is logged.
-- Payloads (policy is here): webhook {event, text, role, severity, summary,
-- incident = {id, title, severity, status}}; slack {text, blocks}; pagerduty
-- Events API v2; file: one JSON line; console: log.info; email: a text/plain
-- mail through H.smtp (smtp_lua.c), and "email:ADDRESS" in contacts.
local H = ...
local type, pairs, ipairs, tostring, error = type, pairs, ipairs, tostring, error
local sort, concat = table.sort, table.concat

local PD_URL = "https://events.pagerduty.com/v2/enqueue"
local PD_SEVERITY = {
  P0 = "critical", P1 = "error", P2 = "warning", P3 = "info",
  critical = "critical", error = "error", warning = "warning", info = "info",
}
local PD_ACTION = { opened = "trigger", acknowledged = "acknowledge", resolved = "resolve" }
local KINDS = { slack = true, pagerduty = true, webhook = true, file = true, console = true,
  email = true }
local EVENTS = {
  opened = true, reminder = true, escalated = true, status_update = true, acknowledged = true,
  mitigated = true, resolved = true, note = true,
}

local ROLES = {
  first_responder = true, escalation_engineer = true, incident_commander = true, product_owner = true,
}

local E -- the sandbox's modules, fetched on the first call (they exist by then)

local function modules()
  if not E then
    local env = H.env()
    E = { http = env.http, task = env.task, log = env.log, json = env.json }
  end
  return E
end

local function names(t)
  local out = {}
  for k in pairs(t) do if type(k) == "string" then out[#out + 1] = k end end
  sort(out)
  return #out > 0 and concat(out, ", ") or "none"
end

-- The message as a plain table: text, event, role, severity, summary, incident.
local function normalize(msg)
  if type(msg) == "string" then msg = { text = msg } end -- redacted below like any other
  if type(msg) ~= "table" then
    error("notify: the message must be a string or a table (got " .. type(msg) .. ")", 3)
  end
  local m = { event = msg.event or "note", role = msg.role }
  if not EVENTS[m.event] then
    error("notify: unknown event '" .. tostring(m.event) .. "' (opened, reminder, escalated, "
      .. "status_update, acknowledged, mitigated, resolved, note)", 3)
  end
  local inc = msg.incident
  if inc ~= nil then
    if type(inc) ~= "table" then error("notify: incident must be an incident object", 3) end
    m.incident = { id = inc.id, title = inc.title, severity = inc.severity, status = inc.status }
  end
  m.severity = msg.severity or (inc and inc.severity)
  m.text = msg.text or msg.summary or (inc and inc.title) or ""
  m.summary = msg.summary or m.text
  for _, k in ipairs({ "text", "summary", "severity", "role" }) do
    if m[k] ~= nil and type(m[k]) ~= "string" then
      error("notify: message field '" .. k .. "' must be a string", 3)
    end
  end
  -- Secrets never leave in a notification: every text is redacted here,
  -- before any channel formats it.
  m.text, m.summary = H.redact(m.text), H.redact(m.summary)
  if m.incident then
    for k, v in pairs(m.incident) do
      if type(v) == "string" then m.incident[k] = H.redact(v) end
    end
  end
  return m
end

local function headline(m)
  local inc = m.incident
  if not inc then return m.text end
  local head = ("[%s] %s %s (%s)"):format(tostring(inc.severity or m.severity or "?"),
    tostring(inc.id), tostring(inc.title or ""), tostring(inc.status or ""))
  if m.text == "" or m.text == inc.title then return head end
  return head .. ": " .. m.text
end

local payload = {}

function payload.webhook(m, _, role)
  return { event = m.event, text = m.text, role = role or m.role, severity = m.severity,
    summary = m.summary, incident = m.incident }
end

function payload.slack(m)
  local inc = m.incident
  local md = m.text
  if inc then
    md = ("*[%s] %s* %s\n_%s_ · %s"):format(tostring(inc.severity or m.severity or "?"),
      tostring(inc.id), tostring(inc.title or ""), m.event, tostring(inc.status or ""))
    if m.text ~= "" and m.text ~= inc.title then md = md .. "\n" .. m.text end
  end
  return { text = headline(m), blocks = { { type = "section", text = { type = "mrkdwn", text = md } } } }
end

function payload.pagerduty(m, ch)
  local summary = headline(m)
  if #summary > 1024 then summary = summary:sub(1, 1024) end -- the API's limit
  return {
    routing_key = ch.routing_key,
    event_action = PD_ACTION[m.event] or "trigger",
    dedup_key = m.incident and m.incident.id and tostring(m.incident.id) or nil,
    payload = { summary = summary, source = "tocsin", severity = PD_SEVERITY[m.severity] or "error" },
  }
end

-- Email: the subject is the incident's headline without the text, which
-- goes in the body with the incident's fields (the mail must make sense
-- read alone, on a phone).
local function email_subject(m)
  local inc = m.incident
  if inc then
    return ("[%s] %s %s (%s)"):format(tostring(inc.severity or m.severity or "?"),
      tostring(inc.id), tostring(inc.title or ""), tostring(inc.status or ""))
  end
  local first = m.text:match("^[^\r\n]*")
  return first ~= "" and first or ("Tocsin: " .. m.event)
end

function payload.email(m, _, role)
  local inc, out = m.incident, {}
  local function add(label, v) if v ~= nil and v ~= "" then out[#out + 1] = label .. v end end
  if m.text ~= "" then out[1], out[2] = m.text, "" end
  if inc then
    add("Incident: ", tostring(inc.id) .. " " .. tostring(inc.title or ""))
    add("Severity: ", tostring(inc.severity or m.severity or "?"))
    add("Status:   ", inc.status and tostring(inc.status))
  else
    add("Severity: ", m.severity)
  end
  add("Event:    ", m.event)
  add("Role:     ", role or m.role)
  if m.summary ~= m.text then add("Summary:  ", m.summary) end
  out[#out + 1] = ""
  out[#out + 1] = "-- Tocsin"
  return concat(out, "\n") .. "\n"
end

-- SMTP's 4xx replies are transient (RFC 5321 4.2.1): tried again, as
-- connect and DNS failures are.  5xx, auth, TLS and timeouts are not (after
-- a timeout the mail may have been delivered).
local function email_retryable(err)
  if type(err) ~= "table" then return false end
  if err.kind == "connect" or err.kind == "dns" then return true end
  return math.type(err.code) == "integer" and err.code >= 400 and err.code < 500
end

local function deliver_email(M, r, ch, m, role)
  local mail = {
    url = ch.url, from = ch.from, to = ch.to, subject = email_subject(m),
    body = payload.email(m, ch, role), username = ch.username, password = ch.password,
    starttls = ch.starttls, insecure = ch.insecure, cacert = ch.cacert, timeout = ch.timeout or 10,
  }
  local ok, err
  M.task.retry({ attempts = 3, delay = 0.5 }, function()
    r.attempts = r.attempts + 1
    local called
    called, ok, err = pcall(H.smtp, mail)
    if not called then ok, err = nil, ok end -- a bad option raised: no retry
    if not ok and email_retryable(err) then return nil, err end
    return true
  end)
  r.ok = ok == true
  if not r.ok then
    r.error = tostring(err)
    if type(err) == "table" then r.status = err.code end
  end
  return r
end

local function retryable(res, err)
  if res then return res.status >= 500 or res.status == 429 end
  return err and (err.kind == "connect" or err.kind == "dns")
end

-- One channel: {channel, ok, status, error, attempts}.
local function deliver(M, name, ch, m, role)
  local r = { channel = name, ok = false, attempts = 0 }
  if ch.kind == "console" then
    M.log.info("notify " .. name .. ": " .. headline(m), { channel = name, event = m.event })
    r.ok, r.attempts = true, 1
    return r
  end
  if ch.kind == "file" then
    local line = M.json.encode(payload.webhook(m, ch, role))
    local ok, e = H.append(name, line)
    r.ok, r.attempts, r.error = ok == true, 1, e
    return r
  end
  if ch.kind == "email" then return deliver_email(M, r, ch, m, role) end
  local url = ch.url or (ch.kind == "pagerduty" and PD_URL) or nil
  if type(url) ~= "string" then
    r.error = "channel '" .. name .. "' has no url"
    return r
  end
  if ch.kind == "pagerduty" and type(ch.routing_key) ~= "string" then
    r.error = "channel '" .. name .. "' has no routing_key"
    return r
  end
  local body = payload[ch.kind](m, ch, role)
  local timeout = ch.timeout or 10
  local last_res, last_err
  M.task.retry({ attempts = 3, delay = 0.5 }, function()
    r.attempts = r.attempts + 1
    last_res, last_err = M.http.post(url, body, { timeout = timeout })
    if retryable(last_res, last_err) then return nil, last_err or "retry" end
    return true
  end)
  if last_res then
    r.status = last_res.status
    r.ok = last_res.status >= 200 and last_res.status < 300
    if not r.ok then r.error = "HTTP " .. last_res.status end
  else
    r.error = tostring(last_err)
  end
  return r
end

-- "email:ADDRESS" (in contacts, or as a target): the config's email
-- channel (the one named "email", else the only one of kind "email") with
-- `to` = ADDRESS.
local function email_channel(channels, spec)
  local ch = channels.email
  if type(ch) ~= "table" or ch.kind ~= "email" then
    local found = {}
    for k, c in pairs(channels) do
      if type(c) == "table" and c.kind == "email" then found[#found + 1] = k end
    end
    sort(found)
    if #found == 0 then
      return nil, H.err("config", ("notify: '%s' needs an email channel in the config "
        .. "(channels = { email = { kind = \"email\", url = \"smtp://...\", from = ... } })"):format(spec))
    elseif #found > 1 then
      return nil, H.err("config", ("notify: '%s': several email channels (%s); name the one to use "
        .. "'email'"):format(spec, concat(found, ", ")))
    end
    ch = channels[found[1]]
  end
  local copy = {}
  for k, v in pairs(ch) do copy[k] = v end
  copy.to = { spec:sub(7) }
  return copy
end

local function resolve(target, channels, contacts)
  local list = type(target) == "table" and target or { target }
  local out, seen = {}, {}
  for _, n in ipairs(list) do
    if type(n) ~= "string" then error("notify: a channel or role name must be a string", 3) end
    local chs, role
    if channels[n] then
      chs = { n }
    elseif type(contacts[n]) == "table" then
      chs, role = contacts[n], n
    elseif type(contacts[n]) == "string" then
      chs, role = { contacts[n] }, n
    elseif n:sub(1, 6) == "email:" then
      chs = { n }
    end
    if not chs and ROLES[n] then
      chs, role = { "console" }, n -- a role nobody configured: the console (SPEC defaults)
    end
    if not chs then
      return nil, H.err("config", ("notify: no channel or role '%s' (channels: %s; roles: %s)")
        :format(n, names(channels), names(contacts)))
    end
    for _, c in ipairs(chs) do
      local ch = channels[c]
      if ch == nil and type(c) == "string" and c:sub(1, 6) == "email:" then
        local e
        ch, e = email_channel(channels, c)
        if not ch then return nil, e end
      end
      if type(ch) ~= "table" then
        return nil, H.err("config", ("notify: role '%s' names channel '%s', which is not configured "
          .. "(channels: %s)"):format(n, tostring(c), names(channels)))
      end
      if not KINDS[ch.kind] then
        return nil, H.err("config", ("notify: channel '%s' has kind '%s' (slack, pagerduty, webhook, "
          .. "email, file, console)"):format(c, tostring(ch.kind)))
      end
      if not seen[c] then
        seen[c] = true
        out[#out + 1] = { name = c, ch = ch, role = role }
      end
    end
  end
  return out
end

return function(target, msg)
  if type(target) ~= "string" and type(target) ~= "table" then
    error("notify: expected a channel or role name, or a list of them", 2)
  end
  local m = normalize(msg)
  local M = modules()
  local channels, contacts = H.config()
  channels, contacts = channels or {}, contacts or {}
  if channels.console == nil then channels.console = { kind = "console" } end
  local targets, err = resolve(target, channels, contacts)
  if not targets then return nil, err end
  local tasks = {}
  for i, t in ipairs(targets) do
    tasks[i] = M.task.spawn(deliver, M, t.name, t.ch, m, t.role)
  end
  local results = {}
  for i, t in ipairs(tasks) do
    local ok, r = t:wait()
    if not ok then r = { channel = targets[i].name, ok = false, attempts = 0, error = tostring(r) } end
    results[i], results[r.channel] = r, r
    local fields = { channel = r.channel, status = r.status, attempts = r.attempts, error = r.error,
      event = m.event }
    if r.ok then
      M.log.info("notified " .. r.channel, fields)
    else
      M.log.warn("notify " .. r.channel .. " failed: " .. tostring(r.error), fields)
    end
  end
  -- Every notification about an incident goes on its timeline.
  local id = m.incident and type(m.incident.id) == "string" and tonumber(m.incident.id:match("^INC%-(%d+)$"))
  if id then
    local parts = {}
    for _, r in ipairs(results) do
      parts[#parts + 1] = r.channel .. (r.ok and " ok" or (" failed (" .. tostring(r.error) .. ")"))
    end
    H.timeline(id, ("%s%s: %s"):format(m.event, m.role and (" → " .. m.role) or "", concat(parts, ", ")))
  end
  return results
end
