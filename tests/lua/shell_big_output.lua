-- shell.run captures output of any size intact: 50 MiB on stdout (while
-- stderr carries 8 MiB at the same time, so neither pipe may block the other).

local SIZE = 50 * 1024 * 1024

-- 1. 50 MiB of one byte, exact length, nothing else in it.
local res = assert(shell.sh("head -c " .. SIZE .. " /dev/zero | tr '\\0' x", {timeout = 120}))
assert(res.ok, "generator failed: " .. res.stderr)
assert(#res.stdout == SIZE, "length " .. #res.stdout)
assert(not res.stdout:find("[^x]"), "only x bytes")

-- 2. Distinct content: numbered fixed-width lines, so a lost, duplicated or
-- reordered chunk anywhere shows up.  8 bytes per line ("0000000\n").
local LINES = 6553600 -- 50 MiB
res = assert(shell.sh("seq -w 0 " .. (LINES - 1) .. "; head -c 8388608 /dev/zero | tr '\\0' e >&2",
  {timeout = 120}))
assert(res.ok, "seq failed")
local out = res.stdout
assert(#out == LINES * 8, "seq length " .. #out)
assert(#res.stderr == 8388608, "stderr length " .. #res.stderr)
assert(not res.stderr:find("[^e]"), "stderr content")
-- every 997th line, the first and last ones
local function line(i) return string.format("%07d\n", i) end
for i = 0, LINES - 1, 997 do
  local got = out:sub(i * 8 + 1, i * 8 + 8)
  if got ~= line(i) then error(string.format("line %d: %q", i, got)) end
end
assert(out:sub(1, 8) == line(0), "first line")
assert(out:sub(-8) == line(LINES - 1), "last line")
print(string.format("shell_big_output ok: %d bytes stdout in %.2fs", #out, res.time))
