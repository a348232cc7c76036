-- template.lua — template.render(name_or_text, vars[, opts]) -> string: Mustache
-- (github.com/mustache/spec: interpolation, sections, inverted, comments,
-- partials, set delimiters) for notification and post-mortem text.
--
-- Which argument is a name: a string matching [A-Za-z0-9_.-]+ without ".."
-- (no newline, no slash) is a template name, looked up by template_lua.c as
-- <folder>/<name>, <name>.md, <name>.txt, <name>.html in the configured
-- template folders (config `templates`, default scripts/templates); anything
-- else is the template text itself.
--
-- HTML escaping: {{x}} escapes & < > " ' only when the output is HTML, i.e. the
-- template was read from a file whose name ends in ".html" (or opts.html is
-- true).  Markdown, plain text and inline text (Slack, e-mail bodies, the
-- terminal) are not escaped: "&" in a service name must stay "&".  {{{x}}} and
-- {{& x}} never escape.  Partials follow the template they are rendered in.
--
-- Values: strings as they are; integers, and floats with an integral value,
-- without ".0"; other numbers as tostring; booleans "true"/"false"; nil and
-- json.null render empty.  A function value is called with no arguments and
-- its result used in its place (a simple form of the spec's optional lambdas:
-- the result is not re-parsed as a template).
-- Sections: false, nil, json.null, "" and an empty table are false; a table
-- with [1] is a list (each element pushed in turn); any other value is pushed
-- on the context stack once.
-- Partials {{> name}}: opts.partials[name] (text), else a template file of
-- that name; a partial that does not exist renders empty (as the spec says),
-- one whose name is not a template name (a slash, "..") is an error.
--
-- Errors (unclosed tags, mismatched section ends, a missing template) return
-- nil, err with err.kind "template" and a message naming the template and line.
-- Values are never logged here.
local C = ...
local type, tostring, error, pcall, next = type, tostring, error, pcall, next
local setmetatable, getmetatable = setmetatable, getmetatable
local find, sub, gsub, match, format, gmatch = string.find, string.sub, string.gsub, string.match,
  string.format, string.gmatch
local concat = table.concat
local mtype, tointeger = math.type, math.tointeger

local NULL = C.null
local MAX_PARTIAL_DEPTH = 64

local M = {}

-- A template error travels to render() as this table, raised (it may start
-- deep in the rendering of a partial).
local failure_mt = {}
local function fail(msg)
  error(setmetatable({ msg = msg }, failure_mt), 0)
end

local function line_of(src, pos)
  local _, n = gsub(sub(src, 1, pos - 1), "\n", "")
  return n + 1
end

local function where(tname, src, pos)
  return format("%s line %d", tname, line_of(src, pos))
end

-- ---- parsing ---------------------------------------------------------------

local STANDALONE = { ["#"] = true, ["^"] = true, ["/"] = true, ["!"] = true, [">"] = true, ["="] = true }

-- Parses src into a tree: a list of strings (text) and tables
-- {kind, name, ...} (kind "var", "raw", "#", "^", ">"); sections hold their
-- children in .body.
local function parse(src, tname)
  local otag, ctag = "{{", "}}"
  local root = {}
  local cur = root
  local stack = {}
  local pos = 1
  local n = #src
  -- Where the current line starts, and whether it already holds a tag or
  -- other text than blanks: kept as the scan goes, so a long line with many
  -- tags costs no rescanning.
  local line_start, dirty = 1, false
  while pos <= n do
    local ts = find(src, otag, pos, true)
    if not ts then
      cur[#cur + 1] = sub(src, pos)
      break
    end
    local text = sub(src, pos, ts - 1)
    local nl = match(text, ".*()\n")
    if nl then
      line_start, dirty = pos + nl, find(text, "[^ \t]", nl + 1) ~= nil
    elseif not dirty then
      dirty = find(text, "[^ \t]") ~= nil
    end
    local p = ts + #otag
    local kind = sub(src, p, p)
    local content, te -- te: the last character of the tag
    if kind == "{" then
      local cs, ce = find(src, "}" .. ctag, p + 1, true)
      if not cs then fail(where(tname, src, ts) .. ": unclosed tag '" .. otag .. "{'") end
      content, te, kind = sub(src, p + 1, cs - 1), ce, "&"
    elseif kind == "=" then
      local cs, ce = find(src, "=" .. ctag, p + 1, true)
      if not cs then fail(where(tname, src, ts) .. ": unclosed set-delimiter tag") end
      content, te = sub(src, p + 1, cs - 1), ce
    else
      local cs, ce = find(src, ctag, p, true)
      if not cs then fail(where(tname, src, ts) .. ": unclosed tag '" .. otag .. "'") end
      content, te = sub(src, p, cs - 1), ce
      if kind == "#" or kind == "^" or kind == "/" or kind == "!" or kind == ">" or kind == "&" then
        content = sub(content, 2)
      else
        kind = "var"
      end
    end
    -- Standalone: only whitespace before the tag on its line and after it up
    -- to the line's end; the whole line then disappears from the output.
    local indent = ""
    local after = te + 1
    local blank_before = not dirty
    dirty = true
    if STANDALONE[kind] and blank_before then
      local trail = match(src, "^[ \t]*\r?\n", te + 1) or match(src, "^[ \t]*$", te + 1)
      if trail then
        indent = sub(src, line_start, ts - 1)
        text = sub(text, 1, #text - #indent)
        after = te + 1 + #trail
        line_start, dirty = after, false
      end
    end
    if text ~= "" then cur[#cur + 1] = text end
    if kind == "!" then -- luacheck: ignore 542
    elseif kind == "=" then
      local o, c = match(content, "^%s*(%S+)%s+(%S+)%s*$")
      if not o or find(o, "=", 1, true) or find(c, "=", 1, true) then
        fail(where(tname, src, ts) .. ": bad set-delimiter tag '" .. content .. "'")
      end
      otag, ctag = o, c
    else
      local name = match(content, "^%s*(.-)%s*$")
      if name == "" then fail(where(tname, src, ts) .. ": empty tag") end
      if kind == "#" or kind == "^" then
        local node = { kind = kind, name = name, body = {}, pos = ts, otag = otag, ctag = ctag }
        cur[#cur + 1] = node
        stack[#stack + 1] = { node = node, parent = cur }
        cur = node.body
      elseif kind == "/" then
        local top = stack[#stack]
        if not top then
          fail(where(tname, src, ts) .. ": '" .. otag .. "/" .. name .. ctag .. "' closes no open section")
        end
        if top.node.name ~= name then
          fail(format("%s: section '%s' (opened on line %d) closed by '%s/%s%s'", where(tname, src, ts),
            top.node.name, line_of(src, top.node.pos), otag, name, ctag))
        end
        stack[#stack] = nil
        cur = top.parent
      elseif kind == ">" then
        cur[#cur + 1] = { kind = ">", name = name, indent = indent }
      elseif kind == "&" then
        cur[#cur + 1] = { kind = "raw", name = name }
      else
        cur[#cur + 1] = { kind = "var", name = name }
      end
    end
    pos = after
  end
  if #stack > 0 then
    local node = stack[#stack].node
    fail(format("%s: section '%s' is never closed", where(tname, src, node.pos), node.name))
  end
  return root
end

-- ---- values ----------------------------------------------------------------

local function resolve_value(v)
  if type(v) == "function" then return v() end
  return v
end

-- The name's value in the context stack: "." is the top; a dotted name finds
-- its first part in the nearest context holding it, the rest in that value.
local function lookup(stack, depth, name)
  if name == "." then return resolve_value(stack[depth]) end
  local first, rest = match(name, "^([^.]*)%.?(.*)$")
  local v
  for i = depth, 1, -1 do
    local ctx = stack[i]
    if type(ctx) == "table" then
      local x = ctx[first]
      if x ~= nil then
        v = x
        break
      end
    end
  end
  v = resolve_value(v)
  if rest == "" then return v end
  for part in gmatch(rest, "[^.]+") do
    if type(v) ~= "table" then return nil end
    v = resolve_value(v[part])
  end
  return v
end

local function to_text(v)
  local t = type(v)
  if v == nil or v == NULL then return "" end
  if t == "string" then return v end
  if t == "number" then
    if mtype(v) == "float" and v == v and v % 1 == 0 and v > -2 ^ 53 and v < 2 ^ 53 then
      return tostring(tointeger(v))
    end
    return tostring(v)
  end
  return tostring(v)
end

local HTML = { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;", ["'"] = "&#39;" }

local function falsy(v)
  return v == nil or v == false or v == NULL or v == "" or (type(v) == "table" and next(v) == nil)
end

-- ---- rendering ---------------------------------------------------------------

local render_nodes

-- Prepends indent to every line of a standalone partial's text.
local function indent_lines(text, indent)
  if indent == "" then return text end
  local out = {}
  for line in gmatch(text, "[^\n]*\n?") do
    if line ~= "" then out[#out + 1] = indent .. line end
  end
  return concat(out)
end

local function render_partial(r, node, stack, depth)
  if r.partial_depth >= MAX_PARTIAL_DEPTH then
    fail(format("%s: partials nested more than %d deep ('%s')", r.tname, MAX_PARTIAL_DEPTH, node.name))
  end
  local key = node.indent .. "\0" .. node.name
  local tree = r.cache[key]
  if not tree then
    local text = r.partials and r.partials[node.name]
    if type(text) ~= "string" then
      local body, err, missing = C.read(node.name)
      if not body then
        if missing then return end -- the spec: a missing partial renders empty
        fail(err)
      end
      text = body
    end
    tree = parse(indent_lines(text, node.indent), "partial '" .. node.name .. "'")
    r.cache[key] = tree
  end
  r.partial_depth = r.partial_depth + 1
  render_nodes(r, tree, stack, depth)
  r.partial_depth = r.partial_depth - 1
end

function render_nodes(r, nodes, stack, depth)
  local out = r.out
  for i = 1, #nodes do
    local node = nodes[i]
    if type(node) == "string" then
      out[#out + 1] = node
    else
      local kind = node.kind
      if kind == "var" or kind == "raw" then
        local s = to_text(lookup(stack, depth, node.name))
        if kind == "var" and r.html then s = gsub(s, "[&<>\"']", HTML) end
        out[#out + 1] = s
      elseif kind == "#" then
        local v = lookup(stack, depth, node.name)
        if not falsy(v) then
          if type(v) == "table" and v[1] ~= nil then
            for j = 1, #v do
              stack[depth + 1] = v[j]
              render_nodes(r, node.body, stack, depth + 1)
            end
          else
            stack[depth + 1] = v
            render_nodes(r, node.body, stack, depth + 1)
          end
          stack[depth + 1] = nil
        end
      elseif kind == "^" then
        if falsy(lookup(stack, depth, node.name)) then render_nodes(r, node.body, stack, depth) end
      elseif kind == ">" then
        render_partial(r, node, stack, depth)
      end
    end
  end
end

-- A template name, or nil when s is template text.
local function as_name(s)
  if find(s, "^[A-Za-z0-9_.-]+$") and not find(s, "..", 1, true) then return s end
  return nil
end

local function render(src, vars, opts)
  local tname, html = "inline text", false
  local name = as_name(src)
  if name then
    local body, file = C.read(name)
    if not body then fail(file) end
    src, tname, html = body, "'" .. file .. "'", find(file, "%.html$") ~= nil
  end
  if opts.html ~= nil then html = opts.html and true or false end
  local r = { out = {}, html = html, tname = tname, cache = {}, partials = opts.partials, partial_depth = 0 }
  render_nodes(r, parse(src, tname), { vars }, 1)
  return concat(r.out)
end

-- template.render(name_or_text, vars[, opts]) -> string | nil, err
-- opts: html = true/false (override the rule above), partials = {name = text}.
function M.render(src, vars, opts)
  if type(src) ~= "string" then error("template.render: name_or_text must be a string", 2) end
  if vars ~= nil and type(vars) ~= "table" then error("template.render: vars must be a table", 2) end
  if opts ~= nil and type(opts) ~= "table" then error("template.render: opts must be a table", 2) end
  opts = opts or {}
  if opts.partials ~= nil and type(opts.partials) ~= "table" then
    error("template.render: opts.partials must be a table", 2)
  end
  local ok, res = pcall(render, src, vars or {}, opts)
  if ok then return res end
  if getmetatable(res) == failure_mt then return nil, C.err("template", res.msg) end
  error(res, 0)
end

return M
