-- The pattern classes (%a, %d, ... and their complements), alone and inside
-- brackets, against every byte: the C locale's answers, which lpattern.c now
-- computes without ctype calls for the class letter; and an escaped
-- non-letter (%@, %[, %`, %{ ...) still matches only itself.
local function range(a, b, set)
  for i = a, b do set[i] = true end
  return set
end
local function union(...)
  local set = {}
  for _, s in ipairs({ ... }) do for k in pairs(s) do set[k] = true end end
  return set
end
local upper, lower, digit = range(65, 90, {}), range(97, 122, {}), range(48, 57, {})
local alpha = union(upper, lower)
local classes = {
  a = alpha,
  c = range(127, 127, range(0, 31, {})),
  d = digit,
  g = range(33, 126, {}),
  l = lower,
  p = range(123, 126, range(91, 96, range(58, 64, range(33, 47, {})))),
  s = range(9, 13, { [32] = true }),
  u = upper,
  w = union(alpha, digit),
  x = range(97, 102, range(65, 70, range(48, 57, {}))),
  z = { [0] = true },
}

for letter, set in pairs(classes) do
  for _, k in ipairs({ letter, letter:upper() }) do
    local want_in = k == letter
    for b = 0, 255 do
      local c = string.char(b)
      local want = (set[b] == true) == want_in
      local alone = c:find("^%" .. k .. "$") ~= nil
      local bracket = c:find("^[%" .. k .. "]$") ~= nil
      assert(alone == want, ("%%%s against byte %d: %s"):format(k, b, tostring(alone)))
      assert(bracket == want, ("[%%%s] against byte %d: %s"):format(k, b, tostring(bracket)))
    end
  end
end

-- escaped characters that are not class letters match themselves only,
-- among them the neighbours of the letters that differ in bit 0x20 from them
for _, e in ipairs({ 64, 91, 92, 93, 94, 95, 96, 123, 124, 125, 126, 46, 37, 128, 193, 225, 1 }) do
  local p = "^%" .. string.char(e) .. "$"
  for b = 0, 255 do
    local hit = string.char(b):find(p) ~= nil
    assert(hit == (b == e), ("%s against byte %d: %s"):format(p, b, tostring(hit)))
  end
end
print("pattern classes ok")
