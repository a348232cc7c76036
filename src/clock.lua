-- clock.lua — fires the incident clock's claimed deadlines (clock.c): one
-- task per deadline, so a slow channel delays no other.  For each it prints
-- one line clock.c reads: "done ID TEXT" (TEXT goes on the incident's
-- timeline) or "draft ID INCIDENT" (clock.c writes the post-mortem draft).
-- On-call roles get a short line; stakeholders (product_owner) get the
-- playbook's templates, in Portuguese, as written.

local function str(v) return type(v) == "string" and v or nil end
local function num(v) return type(v) == "number" and v or nil end

local function span(secs)
  secs = math.max(0, math.floor((secs or 0) + 0.5))
  if secs < 120 then return secs .. " s" end
  local h, m = secs // 3600, (secs % 3600) // 60
  if h == 0 then return m .. " min" end
  if m == 0 then return h .. " h" end
  return ("%d h %d min"):format(h, m)
end

-- "30 minutos", "1 hora", "3 segundos": the templates' language.
local function span_pt(secs)
  secs = math.floor((secs or 0) + 0.5)
  local function unit(n, one, many) return ("%d %s"):format(n, n == 1 and one or many) end
  if secs < 60 then return unit(secs, "segundo", "segundos") end
  if secs < 3600 or secs % 3600 ~= 0 then return unit(secs // 60, "minuto", "minutos") end
  return unit(secs // 3600, "hora", "horas")
end

local ROLE = {
  first_responder = "first responder", escalation_engineer = "escalation engineer",
  incident_commander = "incident commander", product_owner = "product owner",
}

local STATUS_PT = {
  triggered = "Nossa equipe está investigando o problema",
  acknowledged = "Nossa equipe está trabalhando na resolução",
  mitigated = "O impacto foi mitigado; seguimos acompanhando até a resolução completa",
}

local function stakeholder_text(d, inc)
  local name, vars
  if d.kind == "resolved" then
    name = "incident-resolved"
    vars = { title = inc.title, cause = str(d.text) or "em análise",
      resolved_at = os.date("%H:%M", math.floor(time.now())),
      duration = span(time.now() - (num(inc.opened) or time.now())),
      actions = str(d.text), post_mortem = inc.severity == "P0" or inc.severity == "P1" }
  else
    name = "incident-notification"
    vars = { title = inc.title, summary = str(inc.summary), impact = inc.severity .. " — " .. inc.title,
      status = STATUS_PT[inc.status], update_interval = num(d.every) and span_pt(d.every) }
  end
  local text = template.render(name, vars)
  return text or (inc.title .. " (" .. inc.status .. ")")
end

local function message(d, inc, role)
  local age = span((num(d.due) or time.now()) - (num(inc.opened) or time.now()))
  local kind = d.kind
  if role == "product_owner" and (kind == "status_update" or kind == "resolved") then
    return { event = kind, text = stakeholder_text(d, inc) }
  end
  if kind == "opened" then
    return { event = "opened", text = str(inc.summary) or inc.title }
  elseif kind == "reminder" then
    return { event = "reminder", text = ("not acknowledged %s after opening: respond now"):format(age) }
  elseif kind == "escalated" then
    return { event = "escalated", text = str(d.text)
      or ("unresolved %s after opening: escalated to the %s"):format(age, ROLE[role] or role) }
  elseif kind == "status_update" then
    return { event = "status_update", text = ("still %s, %s after opening"):format(inc.status, age) }
  elseif kind == "review" then
    return { event = "reminder", text = "the post-mortem review meeting is due (within 48 h of the draft)" }
  elseif kind == "actions" then
    return { event = "reminder", text = "the post-mortem action items are due (within 7 days of the review)" }
  end
  return { event = kind, text = str(d.text) or kind }
end

local function outcome(results, err)
  if not results then return "failed: " .. tostring(err) end
  local parts = {}
  for _, r in ipairs(results) do
    parts[#parts + 1] = r.channel .. (r.ok and " ok" or (" failed (" .. tostring(r.error) .. ")"))
  end
  return #parts > 0 and table.concat(parts, ", ") or "no channel"
end

local function fire(d)
  local inc = d.incident
  local num_id = tonumber(inc.id:match("%d+"))
  if d.kind == "draft" then
    print(("draft %d %d"):format(d.deadline, num_id))
    return
  end
  local said = {}
  for _, role in ipairs(d.roles) do
    local m = message(d, inc, role)
    m.role = role
    m.incident = { id = inc.id, title = inc.title, severity = inc.severity, status = inc.status }
    local ok, results, err = pcall(notify, role, m)
    if not ok then results, err = nil, results end
    said[#said + 1] = role .. ": " .. outcome(results, err)
  end
  local what = d.kind == "status_update" and "status update" or d.kind
  print(("done %d %s → %s"):format(d.deadline, what, table.concat(said, "; ")))
end

return {
  name = "tocsin-clock",
  description = "the incident clock's notifications and deadlines",
  run = function(ctx)
    local tasks = {}
    for i, d in ipairs(ctx.params.deadlines or {}) do tasks[i] = task.spawn(fire, d) end
    for _, t in ipairs(tasks) do
      local ok, err = t:wait()
      if not ok then log.error("incident clock: " .. tostring(err)) end
    end
  end,
}
