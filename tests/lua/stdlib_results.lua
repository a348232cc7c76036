-- The bounded copies of string.rep/upper/lower/reverse, table.concat/insert/
-- remove/move/sort and utf8.len/offset (src/lstdlib.c) give Lua 5.4.4's
-- results and errors. Runs with `lua5.4` too, to compare with the stock ones.
local function errs(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "expected an error")
  return tostring(e)
end

-- string
assert(string.rep("ab", 3) == "ababab")
assert(string.rep("ab", 3, ",") == "ab,ab,ab")
assert(string.rep("ab", 0) == "" and string.rep("ab", -5) == "")
assert(string.rep("", 10, "-") == "---------")
assert(("x"):rep(4) == "xxxx")
assert(errs(string.rep, "ab", math.maxinteger):find("resulting string too large", 1, true))
local big = string.rep("aB\0", 100000)
assert(#big == 300000 and big:sub(-3) == "aB\0")
assert(big:upper() == string.rep("AB\0", 100000))
assert(big:lower() == string.rep("ab\0", 100000))
assert(big:reverse() == string.rep("\0Ba", 100000))
assert(("héllo"):upper() == "HéLLO" and (""):reverse() == "")
-- widths over two digits are refused (the stock format caps them too)
assert(errs(string.format, "%100d", 1):find("invalid conversion", 1, true))
assert(#string.format("%99d", 1) == 99)

-- table.concat
assert(table.concat({ 1, 2, "3" }, ", ") == "1, 2, 3")
assert(table.concat({ "a", "b", "c" }, "", 2, 3) == "bc")
assert(table.concat({}, "x") == "" and table.concat({ "a" }, "x", 3, 2) == "")
assert(errs(table.concat, { 1, {}, 3 }):find("invalid value (table) at index 2 in table for 'concat'", 1, true))
local proxy = setmetatable({}, { __index = function(_, i) return "v" .. i end, __len = function() return 3 end })
assert(table.concat(proxy, "-") == "v1-v2-v3")

-- table.insert / remove
local t = { 1, 2, 3 }
table.insert(t, 4)
table.insert(t, 1, 0)
table.insert(t, 3, 1.5)
assert(table.concat(t, ",") == "0,1,1.5,2,3,4")
assert(table.remove(t, 1) == 0 and table.remove(t) == 4 and table.remove(t, 2) == 1.5)
assert(table.concat(t, ",") == "1,2,3")
assert(errs(table.insert, t, 9, 1):find("position out of bounds", 1, true))
assert(errs(table.insert, t, 1, 2, 3):find("wrong number of arguments to 'insert'", 1, true))
assert(errs(table.remove, t, 9):find("position out of bounds", 1, true))
assert(table.remove({}) == nil and table.remove({}, 0) == nil)

-- table.move
local m = table.move({ 1, 2, 3, 4, 5 }, 2, 4, 1)
assert(table.concat(m, ",") == "2,3,4,4,5")
m = table.move({ 1, 2, 3, 4, 5 }, 1, 3, 3)
assert(table.concat(m, ",") == "1,2,1,2,3")
local dst = table.move({ 1, 2, 3 }, 1, 3, 2, { "x" })
assert(table.concat(dst, ",") == "x,1,2,3")
assert(table.move({}, 1, 0, 5)[5] == nil)
assert(errs(table.move, {}, 1, math.maxinteger, 2):find("destination wrap around", 1, true))
assert(errs(table.move, {}, -1, math.maxinteger, 2):find("too many elements to move", 1, true))

-- table.sort
local s = {}
for i = 1, 2000 do s[i] = (i * 7919) % 2003 end
table.sort(s)
for i = 2, #s do assert(s[i - 1] <= s[i]) end
table.sort(s, function(a, b) return a > b end)
for i = 2, #s do assert(s[i - 1] >= s[i]) end
local words = { "pear", "apple", "fig" }
table.sort(words)
assert(table.concat(words, " ") == "apple fig pear")
assert(errs(table.sort, { 1, "x", 2 }):find("attempt to compare", 1, true))
assert(errs(table.sort, { 3, 2, 1 }, 1):find("(function expected, got number)", 1, true))
-- a comparator that sorts too, and one that raises out of a sort
table.sort({ 3, 1, 2 }, function(a, b) table.sort({ 5, 4, 6 }); return a < b end)
assert(not pcall(table.sort, { 3, 1, 2 }, function() error("boom") end))
local again = { 9, 8, 7 }
table.sort(again)
assert(table.concat(again, ",") == "7,8,9")

-- utf8
assert(utf8.len("häßlich") == 7 and utf8.len("") == 0)
assert(utf8.len("abc", 2) == 2 and utf8.len("abc", 1, 1) == 1)
local fail, pos = utf8.len("ab\xffc")
assert(fail == nil and pos == 3)
assert(utf8.len("\xed\xa0\x80", 1, -1, true) == 1 and utf8.len("\xed\xa0\x80") == nil)
assert(errs(utf8.len, "abc", 5):find("initial position out of bounds", 1, true))
assert(utf8.offset("aßc", 3) == 4 and utf8.offset("aßc", -1) == 4 and utf8.offset("aßc", 0, 3) == 2)
assert(utf8.offset("abc", 5) == nil)
assert(errs(utf8.offset, "aßc", 1, 3):find("initial position is a continuation byte", 1, true))

-- the other loops in C are bounded by the stack (about a million values)
local long = string.rep("a", 2000000)
assert(errs(string.byte, long, 1, -1):find("string slice too long", 1, true))
assert(errs(utf8.codepoint, long, 1, -1):find("string slice too long", 1, true))
assert(errs(table.unpack, {}, 1, 1e7):find("too many results to unpack", 1, true))
assert(errs(table.unpack, {}, math.mininteger, math.maxinteger):find("too many results to unpack", 1, true))
assert(select("#", string.byte(long, 1, 100000)) == 100000)

print("stdlib results ok")
