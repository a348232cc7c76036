-- http: Accept-Encoding is sent only when asked for, and then the answer is
-- decoded: compressed = true (libcurl offers what it can decode), or an
-- Accept-Encoding header of the runbook's own (sent as given).  A plain
-- request sends none and gets the body as the server sent it.
local plain = ("tocsin decoded this body "):rep(4)
local gz = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff\x2b\xc9\x4f\x2e\xce\xcc\x53\x48\x49\x4d\xce\x4f" ..
  "\x49\x4d\x51\x28\xc9\xc8\x2c\x56\x48\xca\x4f\xa9\x54\x28\xa1\x9e\x04\x00\x3f\x5c\xb3\x77\x64\x00\x00\x00"

local srv <close> = assert(http.serve { routes = {
  -- gzip whatever the request asked, and say what it asked
  ["GET /gz"] = function(req)
    return { status = 200, body = gz, headers = {
      ["Content-Encoding"] = "gzip",
      ["X-Asked"] = req.headers["accept-encoding"] or "none",
    } }
  end,
} })

local res = assert(http.get(srv.url .. "/gz", { compressed = true }))
assert(res.body == plain, "compressed = true: not decoded: " .. #res.body .. " bytes")
assert(res.headers["x-asked"]:find("gzip", 1, true), "offered: " .. res.headers["x-asked"])

res = assert(http.get(srv.url .. "/gz", { headers = { ["Accept-Encoding"] = "gzip" } }))
assert(res.body == plain, "Accept-Encoding header: not decoded")
assert(res.headers["x-asked"] == "gzip", "sent: " .. res.headers["x-asked"])

res = assert(http.get(srv.url .. "/gz"))
assert(res.headers["x-asked"] == "none", "a plain GET offered " .. res.headers["x-asked"])
assert(res.body == gz, "a plain GET decoded a body it did not ask to be encoded")
assert(res.headers["content-encoding"] == "gzip")

-- the option on http.request too
res = assert(http.request { url = srv.url .. "/gz", compressed = true })
assert(res.body == plain)
print("http_compressed ok")
