# Helpers for the playbook scenario e2e tests (sourced after lib.bash and
# etp_target_lib.bash): playbook_config writes $WORK/tocsin.lua pointing the
# runbooks' params at the started target (platform local, state in $WORK, a
# file channel for every role); run_playbook RUNBOOK [ARGS] runs it --yes.
playbook_config() {
  cat >"$WORK/tocsin.lua" <<LUA
return {
  runbooks = { "$SRC/scripts/runbooks" },
  templates = { "$SRC/scripts/templates" },
  state = "sqlite:$WORK/state.db",
  channels = { audit = { kind = "file", path = "$WORK/notifications.jsonl" } },
  contacts = { first_responder = "audit", escalation_engineer = "audit",
               incident_commander = "audit", product_owner = "audit" },
  params = { platform = "local", backend = "$ETP_BACKEND", frontend = "$ETP_FRONTEND",
             target_control = "$ETP_CONTROL", log_dir = "", settle = 2 $*}, -- logs through the control API: current, no file flush to race
}
LUA
}
run_playbook() { (cd "$WORK" && "$TOCSIN" run "$@" --config "$WORK/tocsin.lua" --yes); }
# incident_text ID: the timeline; postmortem_text ID: the post-mortem
incident_text() { (cd "$WORK" && "$TOCSIN" incident "$1" --config "$WORK/tocsin.lua"); }
postmortem_text() { (cd "$WORK" && "$TOCSIN" postmortem "$1" --config "$WORK/tocsin.lua"); }
