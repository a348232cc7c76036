-- postmortem.lua — `tocsin postmortem ID`: the playbook's post-mortem
-- structure (the post-mortem template) filled from an incident and its
-- timeline.  Run as a script in its own sandboxed state; ctx.params.records
-- holds the incident and its timeline as JSON lines from the store.
-- Blameless: the analysis names roles, never people; the timeline says what
-- happened, not who did it.
local ctx = ...
local records = {}
for line in ctx.params.records:gmatch("[^\n]+") do records[#records + 1] = json.decode(line) end
local inc = records[1]
local entries = {}
for i = 2, #records do
  if records[i].record == "timeline" then entries[#entries + 1] = records[i] end
end

local function duration(secs)
  if not secs or secs < 0 then return "em andamento" end
  local h, m = secs // 3600, (secs % 3600) // 60
  if h > 0 then return ("%dh %02dmin"):format(h, m) end
  if m > 0 then return ("%dmin"):format(m) end
  return ("%ds"):format(math.floor(secs))
end

local function is_null(v) return v == nil or v == json.null end

local ended = not is_null(inc.resolved) and inc.resolved or nil
local timeline, went_well, went_wrong, action_items = {}, {}, {}, {}
local resolution
for _, e in ipairs(entries) do
  local said = e.text:sub(1, #e.kind) == e.kind and e.text or (e.kind .. ": " .. e.text)
  timeline[#timeline + 1] = { time = os.date("%Y-%m-%d %H:%M:%S", math.floor(e.ts)), event = said }
  if e.kind == "step" then
    local mark, title = e.text:match("^(\226\156[\147\151]) (.*)$")
    if mark == "\226\156\147" then
      went_well[#went_well + 1] = title
    elseif mark == "\226\156\151" then
      went_wrong[#went_wrong + 1] = title
      action_items[#action_items + 1] = {
        action = "Investigar e prevenir: " .. title, owner = "incident commander",
        due = "7 dias após a review", priority = inc.severity, done = false }
    end
  elseif e.kind == "resolved" and e.actor ~= "tocsin clock" then
    -- the change itself, not the clock's notification of it
    resolution = e.text:gsub("^resolved:? ?", "")
  end
end
if #went_well == 0 then went_well[1] = "_a preencher na review_" end
if #went_wrong == 0 then went_wrong[1] = "_a preencher na review_" end

local vars = {
  title = inc.title,
  date = os.date("%Y-%m-%d", math.floor(inc.opened)),
  duration = duration(ended and ended - inc.opened),
  severity = inc.severity,
  commander = "incident commander (role)",
  timeline = timeline,
  users_affected = "_a preencher_",
  downtime = duration(ended and ended - inc.opened),
  data_loss = "_a preencher_",
  root_cause = "_a preencher na review_" ..
    (is_null(inc.summary) and "" or (" (sintoma na abertura: " .. inc.summary .. ")")),
  resolution = resolution and resolution ~= "" and resolution or "_a preencher_",
  went_well = went_well,
  went_wrong = went_wrong,
  action_items = action_items,
}
local text, err = template.render("post-mortem", vars)
if not text then error(tostring(err), 0) end
print(text)
