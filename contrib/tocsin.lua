-- A sample config for `tocsin daemon` (contrib/tocsin.service reads it from
-- /etc/tocsin/tocsin.lua).  Secrets come from the environment through
-- secret(): they never appear in logs, transcripts or notifications.
return {
  state = "sqlite:/var/lib/tocsin/state.db",
  runbooks = { "runbooks" },
  listen = "127.0.0.1:9077",
  api_token = secret("TOCSIN_API_TOKEN"),   -- POST routes need: Authorization: Bearer <token>
  grace = "30s",                            -- SIGTERM: time given to running runs

  params = {
    backend = "https://backend.example.com",
    frontend = "https://frontend.example.com",
  },

  channels = {
    slack = { kind = "slack", url = secret("SLACK_WEBHOOK_URL") },
    pagerduty = { kind = "pagerduty", routing_key = secret("PAGERDUTY_ROUTING_KEY") },
    ops = { kind = "file", path = "/var/lib/tocsin/notifications.jsonl" },
  },
  contacts = {
    first_responder = { "slack", "pagerduty" },
    escalation_engineer = { "slack", "pagerduty" },
    incident_commander = { "slack" },
    product_owner = { "slack" },
  },
  -- The playbook's SLA is the default; scale it here.
  severity = { P2 = { respond = "4h" } },

  schedules = {
    { every = "30s", runbook = "health_check" },
    { cron = "0 3 * * *", tz = "America/Sao_Paulo", runbook = "backup_check", missed = "once" },
  },
  alerts = {
    { match = { alertname = "DatabaseDown" }, runbook = "database_down" },
    { match = { alertname = "HighMemory" }, runbook = "memory_leak", cooldown = "10m" },
  },
}
