-- luacheck config: the engine's globals (SPEC.md section 4) and Lua 5.4.
std = "lua54"
max_line_length = 120
read_globals = {
  "http", "sql", "shell", "time", "task", "json", "log", "env", "secret", "step", "confirm",
  "incident", "notify", "template",
}
files["src/prelude.lua"] = { globals = { "coroutine" }, read_globals = { "coroutine" } }
files["tests/"] = { ignore = { "111", "112", "113", "311" } } -- tests set globals and reuse locals on purpose
exclude_files = { "build*/" }
