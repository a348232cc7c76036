-- template.render: Mustache behaviour, cases written from reading the Mustache
-- spec (interpolation, sections, inverted, comments, partials, delimiters);
-- each asserts the exact output.
local render = template.render

local function check(name, tpl, vars, want, opts)
  local got, err = render(tpl, vars, opts)
  assert(got ~= nil, name .. ": " .. tostring(err))
  if got ~= want then
    error(string.format("%s: want %q, got %q", name, want, got), 0)
  end
end

local html = { html = true }

-- ---- interpolation ----------------------------------------------------------
check("plain text", "Nothing to see here\n", {}, "Nothing to see here\n")
check("basic", "Hello, {{who}}!\n", { who = "mundo" }, "Hello, mundo!\n")
check("no re-interpolation", "{{t}}: {{p}}", { t = "{{p}}", p = "Terra" }, "{{p}}: Terra")
check("html escaping (html output)", "<{{f}}>", { f = [[& " < > ']] }, "<&amp; &quot; &lt; &gt; &#39;>", html)
check("no escaping in text output", "<{{f}}>", { f = [[& " < >]] }, [[<& " < >>]])
check("triple mustache never escapes", "{{{f}}}", { f = "& <b>" }, "& <b>", html)
check("ampersand never escapes", "{{&f}}|{{& f }}", { f = "& <b>" }, "& <b>|& <b>", html)
check("integer", '"{{mph}} miles"', { mph = 85 }, '"85 miles"')
check("integral float has no .0", "{{n}}", { n = 3.0 }, "3")
check("decimal", "{{p}} GW", { p = 1.210 }, "1.21 GW")
check("booleans", "{{t}} {{f}}", { t = true, f = false }, "true false")
check("json.null renders empty", "I ({{c}}) be seen", { c = json.null }, "I () be seen")
check("missing renders empty", "I ({{c}}) ({{{c}}}) ({{&c}})", {}, "I () () ()")
check("dotted names", '"{{p.name}}" == "{{#p}}{{name}}{{/p}}"', { p = { name = "Joe" } }, '"Joe" == "Joe"')
check("dotted triple", "{{{p.name}}}{{&p.name}}", { p = { name = "<J>" } }, "<J><J>", html)
check("dotted arbitrary depth", "{{a.b.c.d.e.name}}", { a = { b = { c = { d = { e = { name = "Phil" } } } } } }, "Phil")
check("dotted broken chain", '"{{a.b.c}}"', { a = {} }, '""')
check("dotted resolves against parent only", '"{{a.b.c.name}}"', { a = { b = {} }, c = { name = "Jim" } }, '""')
check("dotted initial part through the stack", "{{#a}}{{b.c.d.e.name}}{{/a}}",
  { a = { x = 1 }, b = { c = { d = { e = { name = "Phil" } } } } }, "Phil")
check("dotted context precedence", "[{{#a}}{{b.c}}{{/a}}]", { a = { b = {} }, b = { c = "ERROR" } }, "[]")
check("dotted names are never single keys", "[{{a.b}}]", { ["a.b"] = "c" }, "[]")
check("dotted names are not masked by a dotted key", "{{a.b}}", { ["a.b"] = "c", a = { b = "d" } }, "d")
check("root-level list with {{#.}}", "{{#.}}({{value}}){{/.}}", { { value = "a" }, { value = "b" } }, "(a)(b)")
check("implicit iterator at the root", "{{#list}}({{.}}){{/list}}", { list = { "a", "b", "c" } }, "(a)(b)(c)")
check("implicit iterator escapes in html", "{{#l}}({{.}}){{/l}}", { l = { "&", "<" } }, "(&amp;)(&lt;)", html)
check("implicit iterator triple", "{{#l}}({{{.}}}){{/l}}", { l = { "&", "<" } }, "(&)(<)", html)
check("implicit iterator numbers", "{{#l}}({{.}}){{/l}}", { l = { 1, 2.5, 3 } }, "(1)(2.5)(3)")
check("surrounding whitespace kept", "| {{s}} |", { s = "---" }, "| --- |")
check("standalone interpolation keeps its line", "  {{s}}\n", { s = "---" }, "  ---\n")
check("padding inside tags", "|{{ s }}|{{{ s }}}|{{& s }}|", { s = "-" }, "|-|-|-|")
check("function value is called", "{{f}}", { f = function() return "called" end }, "called")

-- ---- sections -----------------------------------------------------------------
check("truthy", '"{{#b}}shown{{/b}}"', { b = true }, '"shown"')
check("falsey", '"{{#b}}hidden{{/b}}"', { b = false }, '""')
check("null is falsey", '"{{#n}}hidden{{/n}}"', { n = json.null }, '""')
check("context pushed", '"{{#c}}Hi {{name}}.{{/c}}"', { c = { name = "Joe" } }, '"Hi Joe."')
check("parent contexts", '"{{#sec}}{{a}}, {{b}}, {{c.d}}{{/sec}}"',
  { a = "foo", b = "wrong", sec = { b = "bar" }, c = { d = "baz" } }, '"foo, bar, baz"')
check("variable pushed as context", '"{{#foo}}{{.}} is {{foo}}{{/foo}}"', { foo = "bar" }, '"bar is bar"')
check("list contexts reach every level",
  "{{#tops}}{{#middles}}{{tname.lower}}{{mname}}.{{#bottoms}}{{tname.upper}}{{mname}}{{bname}}."
    .. "{{/bottoms}}{{/middles}}{{/tops}}",
  { tops = { { tname = { upper = "A", lower = "a" },
    middles = { { mname = "1", bottoms = { { bname = "x" }, { bname = "y" } } } } } } }, "a1.A1x.A1y.")
check("deeply nested", "{{#a}}{{one}}{{#b}}{{one}}{{two}}{{#c}}{{one}}{{two}}{{three}}{{/c}}{{/b}}{{/a}}",
  { a = { one = 1 }, b = { two = 2 }, c = { three = 3 } }, "112123")
check("list", '"{{#list}}{{item}}{{/list}}"', { list = { { item = 1 }, { item = 2 }, { item = 3 } } }, '"123"')
check("empty list is falsey", '"{{#list}}Yay{{/list}}"', { list = {} }, '""')
check("empty string is falsey", '"{{#s}}Yay{{/s}}{{^s}}none{{/s}}"', { s = "" }, '"none"')
check("doubled", "{{#b}}a{{/b}}{{two}}{{#b}}c{{/b}}", { b = true, two = "-" }, "a-c")
check("nested truthy", "| A {{#b}}B {{#b}}C{{/b}} D{{/b}} E |", { b = true }, "| A B C D E |")
check("nested falsey", "| A {{#b}}B {{#b}}C{{/b}} D{{/b}} E |", { b = false }, "| A  E |")
check("context miss is falsey", "[{{#missing}}found{{/missing}}]", {}, "[]")
check("nested arrays with {{#.}}", '"{{#list}}({{#.}}{{.}}{{/.}}){{/list}}"',
  { list = { { 1, 2, 3 }, { "a", "b", "c" } } }, '"(123)(abc)"')
check("dotted section truthy", "{{#a.b.c}}Here{{/a.b.c}}", { a = { b = { c = true } } }, "Here")
check("dotted section falsey", "[{{#a.b.c}}Here{{/a.b.c}}]", { a = { b = { c = false } } }, "[]")
check("dotted section broken chain", "[{{#a.b.c}}Here{{/a.b.c}}]", { a = {} }, "[]")
check("section surrounding whitespace", " | {{#b}}\t|\t{{/b}} | \n", { b = true }, " | \t|\t | \n")
check("section internal whitespace", " | {{#b}} {{! Important }}\n {{/b}} | \n", { b = true }, " |  \n  | \n")
check("indented inline sections", " {{#b}}YES{{/b}}\n {{#b}}GOOD{{/b}}\n", { b = true }, " YES\n GOOD\n")
check("standalone lines removed", "| This Is\n{{#b}}\n|\n{{/b}}\n| A Line\n", { b = true },
  "| This Is\n|\n| A Line\n")
check("indented standalone lines removed", "| This Is\n  {{#b}}\n|\n  {{/b}}\n| A Line\n", { b = true },
  "| This Is\n|\n| A Line\n")
check("standalone \\r\\n", "|\r\n{{#b}}\r\n{{/b}}\r\n|", { b = true }, "|\r\n|")
check("standalone without previous line", "  {{#b}}\n#{{/b}}\n/", { b = true }, "#\n/")
check("standalone without newline", "#{{#b}}\n/\n  {{/b}}", { b = true }, "#\n/\n")
check("section padding", "|{{# b }}={{/ b }}|", { b = true }, "|=|")
check("function value decides a section", "{{#f}}yes{{/f}}{{#g}}no{{/g}}",
  { f = function() return true end, g = function() return false end }, "yes")

-- ---- inverted -------------------------------------------------------------------
check("inverted falsey", '"{{^b}}shown{{/b}}"', { b = false }, '"shown"')
check("inverted truthy", '"{{^b}}hidden{{/b}}"', { b = true }, '""')
check("inverted null", '"{{^n}}shown{{/n}}"', { n = json.null }, '"shown"')
check("inverted context", '"{{^c}}Hi{{/c}}"', { c = { name = "Joe" } }, '""')
check("inverted list", '"{{^l}}{{n}}{{/l}}"', { l = { { n = 1 } } }, '""')
check("inverted empty list", '"{{^l}}Yay{{/l}}"', { l = {} }, '"Yay"')
check("inverted missing", "[{{^missing}}none{{/missing}}]", {}, "[none]")
check("inverted doubled", "{{^b}}a{{/b}}{{two}}{{^b}}c{{/b}}", { b = false, two = "-" }, "a-c")
check("inverted standalone lines", "| This Is\n{{^b}}\n|\n{{/b}}\n| A Line\n", { b = false },
  "| This Is\n|\n| A Line\n")
check("inverted standalone without newline", "^{{^b}}\n/\n  {{/b}}", { b = false }, "^\n/\n")

-- ---- comments ---------------------------------------------------------------------
check("inline comment", "12345{{! Comment Block! }}67890", {}, "1234567890")
check("multiline comment", "12345{{!\n  This is a\n  multi-line comment...\n}}67890\n", {}, "1234567890\n")
check("standalone comment", "Begin.\n{{! Comment Block! }}\nEnd.\n", {}, "Begin.\nEnd.\n")
check("indented standalone comment", "Begin.\n  {{! Indented Comment Block! }}\nEnd.\n", {}, "Begin.\nEnd.\n")
check("standalone comment \\r\\n", "|\r\n{{! Standalone Comment }}\r\n|", {}, "|\r\n|")
check("standalone comment without previous line", "  {{! I'm Still Standalone }}\n!", {}, "!")
check("standalone comment without newline", "!\n  {{! I'm Still Standalone }}", {}, "!\n")
check("multiline standalone comment", "Begin.\n{{!\nSomething's going on here...\n}}\nEnd.\n", {}, "Begin.\nEnd.\n")
check("inline comment keeps its line", "  12 {{! 34 }}\n", {}, "  12 \n")
check("comment surrounding whitespace", "12345 {{! Comment Block! }} 67890", {}, "12345  67890")
check("comment names are not looked up", "{{! comment }}{{! comment=}}{{!comment}}{{! comment }}|",
  { ["! comment"] = 1, ["! comment="] = 2, ["!comment"] = 3, ["comment"] = 4 }, "|")
check("comment with braces", "_{{! {{! }}_", {}, "__")

-- ---- partials ------------------------------------------------------------------------
local function partials(p) return { partials = p } end
check("partial", '"{{>text}}"', {}, '"from partial"', partials { text = "from partial" })
check("missing partial renders empty", '"{{>text}}"', {}, '""', partials {})
check("partial uses the context", '"{{>p}}"', { text = "content" }, '"*content*"', partials { p = "*{{text}}*" })
check("partial recursion", "{{>node}}", { content = "X", nodes = { { content = "Y", nodes = {} } } }, "X<Y<>>",
  partials { node = "{{content}}<{{#nodes}}{{>node}}{{/nodes}}>" })
check("nested partials", "{{>outer}}", { a = "hello", b = "world" }, "*hello world!*",
  partials { outer = "*{{a}} {{>inner}}*", inner = "{{b}}!" })
check("partial surrounding whitespace", "| {{>p}} |", {}, "| \t|\t |", partials { p = "\t|\t" })
check("partial inline indentation untouched", "  {{data}}  {{> p}}\n", { data = "|" }, "  |  >\n>\n",
  partials { p = ">\n>" })
check("standalone partial \\r\\n", "|\r\n{{>p}}\r\n|", {}, "|\r\n>|", partials { p = ">" })
check("standalone partial without previous line", "  {{>p}}\n>", {}, "  >\n  >>", partials { p = ">\n>" })
check("standalone partial without newline", ">\n  {{>p}}", {}, ">\n  >\n  >", partials { p = ">\n>" })
check("standalone partial indentation", "\\\n {{>p}}\n/\n", { content = "<\n->" }, "\\\n |\n <\n->\n |\n/\n",
  partials { p = "|\n{{{content}}}\n|\n" })
check("partial padding", "|{{> p }}|", {}, "|[]|", partials { p = "[]" })
check("partials escape like the template", "{{>p}}", { x = "<" }, "&lt;", { html = true, partials = { p = "{{x}}" } })

-- ---- set delimiters ---------------------------------------------------------------------
check("delimiter pair", "{{=<% %>=}}(<%text%>)", { text = "Hey!" }, "(Hey!)")
check("special characters", "({{=[ ]=}}[text])", { text = "It worked!" }, "(It worked!)")
check("delimiters in sections", "[\n{{#section}}\n  {{data}}\n  |data|\n{{/section}}\n\n{{= | | =}}\n"
  .. "|#section|\n  {{data}}\n  |data|\n|/section|\n]\n", { section = true, data = "I got interpolated." },
  "[\n  I got interpolated.\n  |data|\n\n  {{data}}\n  I got interpolated.\n]\n")
check("delimiters in inverted sections", "[\n{{^section}}\n  {{data}}\n  |data|\n{{/section}}\n\n{{= | | =}}\n"
  .. "|^section|\n  {{data}}\n  |data|\n|/section|\n]\n", { section = false, data = "I got interpolated." },
  "[\n  I got interpolated.\n  |data|\n\n  {{data}}\n  I got interpolated.\n]\n")
check("partials keep their own delimiters", "[ {{>include}} ]\n{{= | | =}}\n[ |>include| ]\n", { value = "yes" },
  "[ .yes. ]\n[ .yes. ]\n", partials { include = ".{{value}}." })
check("delimiters set in a partial stay there", "[ {{>include}} ]\n[ .{{value}}.  .|value|. ]\n", { value = "yes" },
  "[ .yes.  .yes. ]\n[ .yes.  .|value|. ]\n", partials { include = ".{{value}}. {{= | | =}} .|value|." })
check("delimiter surrounding whitespace", "| {{=@ @=}} |", {}, "|  |")
check("delimiter outlying whitespace", " | {{=@ @=}}\n", {}, " | \n")
check("standalone delimiter tag", "Begin.\n{{=@ @=}}\nEnd.\n", {}, "Begin.\nEnd.\n")
check("indented standalone delimiter tag", "Begin.\n  {{=@ @=}}\nEnd.\n", {}, "Begin.\nEnd.\n")
check("standalone delimiter \\r\\n", "|\r\n{{= @ @ =}}\r\n|", {}, "|\r\n|")
check("standalone delimiter without previous line", "  {{=@ @=}}\n=", {}, "=")
check("standalone delimiter without newline", "=\n  {{=@ @=}}", {}, "=\n")
check("delimiter pair with padding", "|{{= @   @ =}}|", {}, "||")

-- A long line of tags renders in linear time (the standalone check does not
-- rescan the line): 100,000 comments on one line.
check("long line of tags", string.rep("a{{! c }}", 100000) .. "\n", {}, string.rep("a", 100000) .. "\n")

-- ---- errors name the template and the line -----------------------------------------------
local function check_err(name, tpl, want, opts)
  local got, err = render(tpl, {}, opts)
  assert(got == nil, name .. ": rendered " .. tostring(got))
  assert(err.kind == "template", name .. ": kind " .. tostring(err.kind))
  if err.message ~= want then error(string.format("%s: want %q, got %q", name, want, err.message), 0) end
end
check_err("unclosed tag", "line one\nHello {{name\n", "inline text line 2: unclosed tag '{{'")
check_err("unclosed triple", "{{{x}}\n", "inline text line 1: unclosed tag '{{{'")
check_err("unclosed section", "a\n{{#items}}\nb\n", "inline text line 2: section 'items' is never closed")
check_err("mismatched end", "{{#a}}\n{{#b}}\n{{/a}}\n",
  "inline text line 3: section 'b' (opened on line 2) closed by '{{/a}}'")
check_err("stray end", "x {{/a}}", "inline text line 1: '{{/a}}' closes no open section")
check_err("bad delimiters", "{{=<%=}}", "inline text line 1: bad set-delimiter tag '<%'")
check_err("endless partial recursion", "{{>self}}", "inline text: partials nested more than 64 deep ('self')",
  partials { self = "x{{>self}}" })
check_err("error in a partial names it", "{{>p}}", "partial 'p' line 2: section 's' is never closed",
  partials { p = "\n{{#s}}" })
assert(tostring(select(2, render("{{x", {}))) == "template: inline text line 1: unclosed tag '{{'")
