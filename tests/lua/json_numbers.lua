-- json keeps numbers exact: Lua integers are written as integers (lua-cjson
-- wrote 123456789012345 as 1.2345678901234e+14), integer tokens decode as
-- integers even past 2^53 (9007199254740993 became ...992), floats round-trip
-- and stay floats. Plus the edges: -0, 1e308, nesting, escapes, surrogates,
-- invalid UTF-8, and clear errors on invalid input.
local enc, dec = json.encode, json.decode

local function errs(f, ...)
  local ok, e = pcall(f, ...)
  assert(not ok, "expected an error")
  return tostring(e)
end

local function same(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then
    return a == b and math.type(a) == math.type(b) and (a ~= 0 or 1 / a == 1 / b)
  end
  for k, v in pairs(a) do if not same(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

-- integers: written exactly, decoded as integers
for _, n in ipairs({ 0, 1, -1, 123456789012345, 9007199254740993, -9007199254740993,
                     math.maxinteger, math.mininteger }) do
  assert(enc(n) == string.format("%d", n), enc(n))
  local back = dec(enc(n))
  assert(back == n and math.type(back) == "integer", n)
end
assert(enc(123456789012345) == "123456789012345")
assert(dec("9007199254740993") == 9007199254740993)
assert(dec("[9007199254740993]")[1] == 9007199254740993)
assert(dec('{"id": 1234567890123456789}').id == 1234567890123456789)
-- past the integers: a float, as in Lua's own reader
assert(math.type(dec("9223372036854775808")) == "float" and dec("9223372036854775808") == 2 ^ 63)
assert(math.type(dec("-9223372036854775809")) == "float")

-- floats: the fewest digits that read back the same, always float-looking
assert(enc(0.1) == "0.1" and enc(1.5) == "1.5" and enc(-2.25) == "-2.25")
assert(enc(1 / 3) == "0.3333333333333333" and dec(enc(1 / 3)) == 1 / 3)
assert(enc(100.0) == "100.0" and math.type(dec(enc(100.0))) == "float")
assert(enc(1e308) == "1e+308" and dec("1e308") == 1e308)
assert(enc(5e-324) == "4.94065645841247e-324" and dec(enc(5e-324)) == 5e-324)
assert(enc(2 ^ 63) == "9.223372036854776e+18" and dec(enc(2 ^ 63)) == 2 ^ 63)
for _, f in ipairs({ 0.1, 0.2, 0.3, 1 / 3, 2 / 3, math.pi, 1e-7, 123456.789, 1e21, 1.7976931348623157e308,
                     2.2250738585072014e-308, 0.1 + 0.2 }) do
  local back = dec(enc(f))
  assert(back == f and math.type(back) == "float", string.format("%.17g", f))
  assert(dec(enc(-f)) == -f)
end
assert(math.type(dec("1.0")) == "float" and math.type(dec("1e2")) == "float" and dec("1E+2") == 100)
assert(dec("-1.5e-3") == -0.0015)

-- -0: the float -0.0 both ways (an integer has no -0)
assert(enc(-0.0) == "-0.0" and enc(0.0) == "0.0")
local z = dec("-0")
assert(z == 0 and math.type(z) == "float" and 1 / z < 0)
assert(1 / dec("-0.0") < 0 and math.type(dec("0")) == "integer")

-- no NaN or infinity in JSON
assert(errs(enc, 0 / 0):find("NaN", 1, true))
assert(errs(enc, math.huge):find("math.huge", 1, true))
assert(errs(enc, { x = -math.huge }):find("-math.huge", 1, true))
assert(errs(dec, "1e400"):find("number out of range", 1, true))
for _, bad in ipairs({ "NaN", "Infinity", "-Infinity", "0x10", "+1", ".5", "1.", "01", "-", "1e", "1e+" }) do
  assert(errs(dec, bad):find("json.decode: ", 1, true), bad)
end

-- tables: arrays, objects, sparse arrays, json.null, nesting
assert(enc({ 1, 2, 3 }) == "[1,2,3]" and enc({}) == "{}")
assert(enc({ a = 1 }) == '{"a":1}')
assert(enc({ [1] = "a", [3] = "c" }) == '["a",null,"c"]')
assert(enc({ [20] = 1 }) == '{"20":1}') -- excessively sparse: an object
-- lua-cjson's rule: an object when the largest index is over 10 and over twice the count
assert(enc({ [1] = 1, [2] = 2, [3] = 3, [4] = 4, [5] = 5, [11] = 11 }) == "[1,2,3,4,5,null,null,null,null,null,11]")
assert(enc({ [1] = 1, [2] = 2, [3] = 3, [4] = 4, [5] = 5, [13] = 13 }):sub(1, 1) == "{")
assert(enc({ [1] = 1, [2] = 2, [3] = 3, [4] = 4, [5] = 5, [12] = 12 }):sub(1, 1) == "[")
assert(enc({ [10] = 1 }):sub(1, 1) == "[")
assert(enc({ json.null, false }) == "[null,false]")
assert(enc({ [1.5] = true }) == '{"1.5":true}')
assert(dec("null") == json.null and dec("[null]")[1] == json.null)
local doc = { name = "db-1", ids = { 1, 2, 9007199254740993 }, load = 0.75, ok = true,
              nested = { deeper = { list = { { x = 1 }, { y = -0.5 } } } } }
assert(same(dec(enc(doc)), doc))
local deep = {}
local cur = deep
for _ = 1, 127 do cur[1] = {}; cur = cur[1] end
assert(#enc(deep) == 256)
cur[1] = {}
assert(errs(enc, deep):find("nesting deeper than 128", 1, true))
local cyc = {}
cyc.self = cyc
assert(errs(enc, cyc):find("nesting deeper than 128", 1, true))
assert(type(dec(string.rep("[", 128) .. string.rep("]", 128))) == "table")
assert(errs(dec, string.rep("[", 129) .. string.rep("]", 129)):find("nesting deeper than 128", 1, true))
assert(errs(enc, { f = print }):find("cannot encode a function", 1, true))
assert(errs(enc, { [true] = 1 }):find("key must be a string or a number", 1, true))

-- strings: lua-cjson's escapes, unicode escapes, surrogate pairs
assert(enc('a"b\\c/d\n\r\t\b\f\0\127') == [["a\"b\\c\/d\n\r\t\b\f\u0000\u007f"]])
assert(dec([["a\"b\\c\/d\n\r\t\b\f\u0000\u007f"]]) == 'a"b\\c/d\n\r\t\b\f\0\127')
assert(dec([["\u00e9\u20AC"]]) == "é€")
assert(dec([["\ud83d\ude00"]]) == "😀" and enc("😀") == '"😀"')
assert(dec([["\ud800"]]) == "\u{FFFD}" and dec([["\udc00x"]]) == "\u{FFFD}x")
assert(dec([["\ud800\u0041"]]) == "\u{FFFD}A")
-- invalid UTF-8 becomes U+FFFD, encoding and decoding alike
assert(enc("ok\xff\xfe") == '"ok\u{FFFD}\u{FFFD}"')
assert(enc("\xe2\x82") == '"\u{FFFD}\u{FFFD}"' and enc("\xed\xa0\x80") == '"\u{FFFD}\u{FFFD}\u{FFFD}"')
assert(dec('"ok\xff"') == "ok\u{FFFD}" and dec('"\xc0\xaf"') == "\u{FFFD}\u{FFFD}")
assert(dec(enc("\xff")) == "\u{FFFD}")

-- invalid input: clear messages with a position
local function bad(s, want)
  local e = errs(dec, s)
  assert(e:find(want, 1, true), s .. " gave " .. e)
end
bad("", "value expected at the end of the input")
bad("[1,]", "value expected at byte 4")
bad('{"a":1,}', "object key (a string) expected at byte 8")
bad('{"a" 1}', "':' expected at byte 6")
bad("[1 2]", "',' or ']' expected at byte 4")
bad('"abc', "unfinished string")
bad('"a\nb"', "control character in a string")
bad([["\x"]], "invalid escape in a string at byte 2")
bad([["\u12"]], "invalid \\u escape")
bad("[1] x", "unexpected data after the value at byte 5")
bad("tru", "value expected at byte 1")
assert(same(dec(' \t\r\n{ "a" : [ 1 , 2 ] } \n'), { a = { 1, 2 } }))
print("json numbers ok")
