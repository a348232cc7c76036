-- sql_tx.lua — the parts of the sql module (sql_lua.c) written in Lua, where
-- they call the C primitives in sequence: db:tx's commit/rollback rules, and
-- the dry run's check of each statement before it is sent (see sql_lua.h).
-- Receives C: skip(kind, sql, why) records a statement the dry run did not
-- send and returns its success-shaped result.
local C = ...
local pcall, error, select, type, concat = pcall, error, select, type, table.concat

local M = {}

-- ---- db:tx ----------------------------------------------------------------

-- fn's results decide: it raised -> ROLLBACK and re-raise; it returned nil, err
-- -> ROLLBACK and return nil, err; else COMMIT (a failed COMMIT is nil, err).
local function finish(tx, ok, ...)
  if ok and not (select("#", ...) >= 2 and (...) == nil and select(2, ...) ~= nil) then
    local cok, cerr = tx:_ctl("commit")
    tx:_release()
    if not cok then return nil, cerr end
    return ...
  end
  tx:_ctl("rollback")
  tx:_release()
  if not ok then error((...), 0) end
  return nil, (select(2, ...))
end

-- A <close> variable gives the connection back even when the task is cancelled.
function M.tx(db, fn)
  if type(fn) ~= "function" then error("db:tx expects a function", 2) end
  local tx <close>, err = db:_acquire()
  if not tx then return nil, err end
  local ok, berr = tx:_ctl("begin")
  if not ok then return nil, berr end
  return finish(tx, pcall(fn, tx))
end

-- ---- dry run --------------------------------------------------------------

-- Built-in volatile functions a dry run may call: they read (sizes, WAL
-- positions, locks, activity) or only cost time.  Every other volatile
-- built-in (pg_terminate_backend, nextval, pg_notify, set_config,
-- pg_reload_conf, ...) is refused without being named here.
local READ_VOLATILE = {
  "pg_database_size", "pg_relation_size", "pg_total_relation_size", "pg_table_size",
  "pg_indexes_size", "pg_tablespace_size", "random", "random_normal", "clock_timestamp",
  "timeofday", "gen_random_uuid", "pg_sleep", "pg_is_in_recovery", "pg_current_wal_lsn",
  "pg_current_wal_insert_lsn", "pg_current_wal_flush_lsn", "pg_last_wal_receive_lsn",
  "pg_last_wal_replay_lsn", "pg_last_xact_replay_timestamp", "pg_is_wal_replay_paused",
  "pg_get_wal_replay_pause_state", "pg_blocking_pids", "pg_safe_snapshot_blocking_pids",
  "pg_lock_status", "pg_prepared_xact", "pg_cursor", "pg_prepared_statement",
  "pg_get_replication_slots", "pg_get_backend_memory_contexts", "pg_get_shmem_allocations",
  "pg_control_checkpoint", "pg_control_system", "pg_control_init", "pg_control_recovery",
  "txid_current_if_assigned", "pg_current_xact_id_if_assigned", "pg_show_all_settings",
  "pg_available_extensions", "pg_available_extension_versions",
}
-- Built-in stable functions that run SQL of their own (on a view, that is
-- any function the view calls): refused like volatile ones.
local RUNS_SQL = {
  "table_to_xml", "table_to_xmlschema", "table_to_xml_and_xmlschema", "schema_to_xml",
  "schema_to_xmlschema", "schema_to_xml_and_xmlschema", "database_to_xml",
  "database_to_xmlschema", "database_to_xml_and_xmlschema",
}
-- Functions of extensions (extension.function) that only read.
local EXT_READS = { "pg_stat_statements.pg_stat_statements", "pg_stat_statements.pg_stat_statements_info" }

local function array(list)
  return "{" .. concat(list, ",") .. "}"
end
local READ_VOLATILE_A, RUNS_SQL_A, EXT_READS_A = array(READ_VOLATILE), array(RUNS_SQL), array(EXT_READS)

-- What in the statement's parse tree could act beyond the transaction:
-- functions that are volatile (unless listed above) or SQL-running, every
-- function not built in (oid >= 16384: its body may do anything, whatever
-- its declared volatility), operators not built in, domains whose checks
-- call functions not built in.
local CHECK = [[
WITH f(oid) AS (SELECT unnest($1::oid[])), o(oid) AS (SELECT unnest($2::oid[]))
SELECT 'calls ' || p.oid::regprocedure::text AS why
  FROM pg_catalog.pg_proc p
 WHERE (p.oid IN (SELECT oid FROM f) OR p.oid IN (SELECT oid FROM o))
   AND CASE WHEN p.oid < 16384
            THEN (p.provolatile = 'v' AND NOT p.proname = ANY($3::text[])
                  AND p.proname NOT LIKE 'pg\_stat\_get\_%') OR p.proname = ANY($4::text[])
            ELSE NOT EXISTS (
              SELECT 1 FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid
               WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
                 AND d.refclassid = 'pg_catalog.pg_extension'::regclass
                 AND e.extname || '.' || p.proname = ANY($5::text[]))
       END
UNION ALL
SELECT 'uses operator ' || op.oid::regoperator::text
  FROM pg_catalog.pg_operator op WHERE op.oid IN (SELECT oid FROM o)
UNION ALL
SELECT 'uses domain ' || t.oid::regtype::text
  FROM pg_catalog.pg_type t
 WHERE t.oid IN (SELECT oid FROM o) AND t.typtype = 'd' AND EXISTS (
   SELECT 1 FROM pg_catalog.pg_constraint c JOIN pg_catalog.pg_depend d
       ON d.classid = 'pg_catalog.pg_constraint'::regclass AND d.objid = c.oid
      AND d.refclassid = 'pg_catalog.pg_proc'::regclass
    WHERE c.contypid = t.oid AND d.refobjid >= 16384)
LIMIT 3]]

-- On a held connection inside a READ ONLY transaction: the server analyses
-- the statement (parsed only), we check what it would use, and only a plain
-- read is sent.
local function check_and_run(tx, kind, sql, ...)
  local a, err = tx:_analyze(sql, ...)
  if not a then return nil, err end
  local why = a.refuse
  if not why then
    local rows, cerr = tx:_q("rows", CHECK, a.funcs, a.objs, READ_VOLATILE_A, RUNS_SQL_A, EXT_READS_A)
    if not rows then return nil, cerr end
    if #rows > 0 then
      local list = {}
      for i = 1, #rows do list[i] = rows[i].why end
      why = concat(list, ", ")
    end
  end
  if why then return C.skip(kind, sql, why) end
  return tx:_dq(kind, sql, ...)
end

-- self is the db (a connection is taken from its pool for the statement) or,
-- inside db:tx, the tx (its transaction is already READ ONLY).
function M.dry(self, held, kind, sql, ...)
  if held then return check_and_run(self, kind, sql, ...) end
  local tx <close>, err = self:_acquire()
  if not tx then return nil, err end
  local ok, berr = tx:_ctl("begin")
  if not ok then return nil, berr end
  -- closing tx gives the connection back; the pool rolls the transaction back
  return check_and_run(tx, kind, sql, ...)
end

return M
