local t = { "leaf" }
for _ = 1, 12 do t = { a = t, b = t, [t] = t } end
return { params = { x = t }, secrets = { x = env("HOME", "h") } }
