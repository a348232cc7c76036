#!/usr/bin/env bash
# A server whose Lua side dies (here its dispatcher runs out of the state's
# memory) fails the run, even though the runbook ignores srv:wait()'s result:
# the exit status is 1 and the error says which server stopped and why.
. "$SRC/tests/e2e/lib.bash"
. "$SRC/tests/e2e/http_serve_lib.bash"

cat >"$WORK/hog.lua" <<'LUA'
return { limits = { memory = "16MiB" }, run = function()
  local hog = {}
  local srv = assert(http.serve { routes = {
    ["GET /hog"] = function()
      -- fill the state's memory to within a few bytes of its cap, and keep it
      local size = 1 << 20
      while size >= 8 do
        local ok, s = pcall(string.rep, "h", size)
        if ok then hog[#hog + 1] = s else size = size // 2 end
      end
      return "full"
    end,
    ["GET /x"] = function() return "x" end,
  } })
  print("PORT " .. srv.port)
  srv:wait() -- result ignored on purpose
  print("after wait")
end }
LUA
serve_start "$WORK/hog.lua"
curl -s -m 10 -o /dev/null "http://127.0.0.1:$PORT/hog"
# the next requests find no memory to be dispatched in: the server dies.
# Which allocation fails first (the dispatcher's or a handler's) depends on
# the collector, so keep asking until the run ends (bounded).
for _ in $(seq 40); do
  kill -0 "$SERVE_PID" 2>/dev/null || break
  curl -s -m 5 -o /dev/null "http://127.0.0.1:$PORT/x"
  sleep 0.05
done
serve_end 1
grep -q "the server on port $PORT stopped: not enough memory" "$WORK/run.out" ||
  { cat "$WORK/run.out"; fail "no error naming the stopped server"; }

# a server closed on purpose still ends the run cleanly
cat >"$WORK/ok.lua" <<'LUA'
local srv
srv = assert(http.serve { routes = {
  ["POST /quit"] = function() task.spawn(function() srv:close() end); return "bye" end,
} })
print("PORT " .. srv.port)
assert(srv:wait())
LUA
serve_start "$WORK/ok.lua"
curl -s -m 10 -X POST "http://127.0.0.1:$PORT/quit" >/dev/null
serve_end 0
echo "http_serve_dies_fails_run ok"
