-- A first runbook: check this machine the way an on-call engineer would.
-- Run it:      build/tocsin run examples/first.lua
-- Rehearse it: build/tocsin run examples/first.lua --dry-run
return {
  name = "first",
  title = "Check this machine",
  severity = "P3",
  params = { url = "http://127.0.0.1:8080/api/health", min_free_mb = 500 },

  run = function(ctx)
    -- Every primitive reads like a blocking call; underneath it yields to the loop.
    local health, err = step("Check health endpoint", function()
      return http.get(ctx.params.url, { timeout = 2 })
    end)
    if not health then
      log.warn("health endpoint unreachable", { url = ctx.params.url, kind = err.kind })
    end

    -- Several checks at once: each function runs as its own task.
    local results = step("Gather facts in parallel", function()
      return task.all {
        function() return shell.run { "uname", "-sr", readonly = true } end,
        function() return shell.sh("df -Pm / | tail -1", { readonly = true }) end,
        function() return shell.run { "uptime", readonly = true } end,
      }
    end)
    local uname, df, uptime = results[1][2], results[2][2], results[3][2]
    print("kernel: " .. uname.stdout:gsub("%s+$", ""))
    print("uptime: " .. uptime.stdout:gsub("^%s+", ""):gsub("%s+$", ""))

    local free_mb = tonumber(df.stdout:match("^%S+%s+%d+%s+%d+%s+(%d+)"))
    step("Verify free disk space", function()
      assert(free_mb, "could not read df output")
      if free_mb < ctx.params.min_free_mb then
        error(("only %d MB free on /"):format(free_mb))
      end
    end)

    -- A write: in a dry run it is listed, not done.
    step("Record the check", function()
      return shell.run { "touch", "/tmp/tocsin-first-check" }
    end)
  end,
}
