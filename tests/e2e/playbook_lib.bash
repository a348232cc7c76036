# Helpers for the playbook scenario e2e tests (sourced after lib.bash and
# etp_target_lib.bash): pb_config writes $WORK/tocsin.lua pointing the
# runbooks' params at the started target (platform local, state in $WORK, a
# file channel for every role; extra params as arguments: ', k = v');
# pb_run RUNBOOK [ARGS] runs it --yes; pb_run_noyes without --yes (confirm
# then answers its default, no, as with no terminal); pb_incident ID and
# pb_postmortem ID print the timeline and the post-mortem.
pb_config() {
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
pb_run() { (cd "$WORK" && "$TOCSIN" run "$@" --config "$WORK/tocsin.lua" --yes); }
pb_run_noyes() { (cd "$WORK" && "$TOCSIN" run "$@" --config "$WORK/tocsin.lua" </dev/null); }
pb_incident() { (cd "$WORK" && "$TOCSIN" incident "$1" --config "$WORK/tocsin.lua"); }
pb_postmortem() { (cd "$WORK" && "$TOCSIN" postmortem "$1" --config "$WORK/tocsin.lua"); }
# pb_status ID: the incident's status word (its first line: "INC-1  P1  resolved  Title")
pb_status() { pb_incident "$1" | awk 'NR == 1 { print $3 }'; }
