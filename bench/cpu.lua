-- CPU-bound pure Lua: table work and pattern matching, the kind a runbook
-- does on a log or an API reply. Runs unchanged under `lua5.4` (at its top
-- level) and under `tocsin run` (as a runbook's run), using plain functions
-- and string/table/math only, and prints the seconds of CPU the work took
-- (os.clock), per part and in total, so start-up and building the input are
-- left out of the figures.
-- usage: lua5.4 bench/cpu.lua [ROUNDS]; tocsin run bench/cpu.lua --set rounds=N
-- (A runbook rather than an ad-hoc script: `tocsin run` runs an ad-hoc
-- script's top level twice, once to load it and once as the task.)
local first = ... -- lua5.4: the first argument (tocsin loads it with none)

-- A log of 2,000 lines, built once (not timed).
local levels = { "INFO", "WARN", "ERROR", "DEBUG" }
local lines = {}
for i = 1, 2000 do
  lines[i] = string.format("2024-01-%02d 12:%02d:%02d %s svc%d request id=%d took %dms path=/api/v%d/items",
    i % 28 + 1, i % 60, (i * 7) % 60, levels[i % 4 + 1], i % 13, i * 31, (i * 17) % 900, i % 3 + 1)
end
local log = table.concat(lines, "\n")

local function words(text)
  local count = {}
  for w in text:gmatch("%a+") do
    count[w] = (count[w] or 0) + 1
  end
  return count
end

local function slow_requests(text)
  local slow = {}
  for lvl, svc, ms in text:gmatch("(%u+) (svc%d+) request id=%d+ took (%d+)ms") do
    ms = tonumber(ms)
    if ms > 500 and lvl ~= "DEBUG" then
      slow[#slow + 1] = { svc = svc, ms = ms }
    end
  end
  table.sort(slow, function(a, b)
    if a.ms ~= b.ms then return a.ms > b.ms end
    return a.svc < b.svc
  end)
  return slow
end

local function by_service(text)
  local per = {}
  for line in text:gmatch("[^\n]+") do
    local svc, path = line:match("(svc%d+).-path=(%S+)")
    local t = per[svc]
    if not t then
      t = { n = 0, paths = {} }
      per[svc] = t
    end
    t.n = t.n + 1
    t.paths[path] = true
  end
  return per
end

-- Table work without strings: a sieve and a small matrix product.
local function sieve(n)
  local composite, primes = {}, {}
  for i = 1, n do composite[i] = false end
  for i = 2, n do
    if not composite[i] then
      primes[#primes + 1] = i
      for j = i * i, n, i do composite[j] = true end
    end
  end
  return #primes
end

local function matmul(n)
  local a, b, c = {}, {}, {}
  for i = 1, n do
    a[i], b[i], c[i] = {}, {}, {}
    for j = 1, n do
      a[i][j] = i + j
      b[i][j] = i - j
    end
  end
  for i = 1, n do
    local ai, ci = a[i], c[i]
    for j = 1, n do
      local s = 0
      for k = 1, n do s = s + ai[k] * b[k][j] end
      ci[j] = s
    end
  end
  return c[n][n]
end

-- Each part runs `rounds` times in a row; a line per part, then the total.
local parts = {
  { "words", function() return words(log).request end },
  { "slow_requests", function() return #slow_requests(log) end },
  { "by_service", function() return by_service(log).svc1.n end },
  { "sieve", function() return sieve(5000) + sieve(5000) + sieve(5000) + sieve(5000) end },
  { "matmul", function() return matmul(32) end },
}

local function bench(rounds)
  local total, check = 0, 0
  for _, part in ipairs(parts) do
    local t0 = os.clock()
    for _ = 1, rounds do check = check + part[2]() end
    local secs = os.clock() - t0
    total = total + secs
    print(string.format("part %-13s %.4f s", part[1], secs))
  end
  print(string.format("cpu.lua: %d rounds in %.4f s (check %d)", rounds, total, check))
end

if type(task) ~= "table" then -- lua5.4: no runbook engine around
  bench(tonumber(first) or 20)
  return nil
end
return {
  name = "cpu",
  params = { rounds = 20 },
  limits = { cpu = 600 },
  run = function(ctx)
    bench(tonumber(ctx.params.rounds) or 20)
  end,
}
