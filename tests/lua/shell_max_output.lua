-- Output past max_output (default 128 MiB, outside the Lua memory cap) is
-- read and dropped, res.truncated says so, and the child is never blocked.
local r = assert(shell.sh("head -c 3000000 /dev/zero | tr '\\0' x; echo done >&2", { max_output = "1MiB" }))
assert(#r.stdout == 1048576 and r.truncated == true and r.ok, #r.stdout)
assert(r.stderr == "done\n")
local r2 = assert(shell.sh("printf abc"))
assert(r2.stdout == "abc" and r2.truncated == nil)
local r3 = assert(shell.sh("printf abcdef", { max_output = 3 }))
assert(r3.stdout == "abc" and r3.truncated)
assert(not pcall(shell.run, { "true", max_output = "lots" }))
print("max_output ok")
