--- lpact.lesson — guided, self-checking lessons in lpact-repl.
--
-- A lesson is a plain Lua file (stdlib/lessons/NAME.lua, or any file)
-- that returns a table: a name, a title, and a list of steps. Each step
-- explains something, may show a view of the lab (`show`), asks the
-- student to do something at the prompt (`ask`), and judges what was
-- typed with its `check` function. docs/teaching.md describes the format.
--
-- At the prompt, `lesson "rounding"` (or `lpact-repl --lesson rounding`)
-- starts or resumes a lesson; every chunk the student types runs as
-- usual, and its values are then handed to the current step's check.
-- `:hint`, `:skip`, `:back`, `:repeat`, `:quit` steer the lesson.
-- Progress is kept per user in $XDG_STATE_HOME/lpact/lessons.json
-- (default ~/.local/state/lpact/lessons.json), written atomically.

local lpact = require "lpact"

local lesson = {}

local fmt_str = string.format
local WIDTH = 80                -- lesson text fits an 80-column terminal

-- Finding and loading lessons -----------------------------------------------

--- The folders searched for lessons, in order: those of $LPACT_LESSONS
-- (colon-separated), then the stdlib's lessons/ folder.
function lesson.dirs()
  local dirs = {}
  for d in (os.getenv("LPACT_LESSONS") or ""):gmatch("[^:]+") do dirs[#dirs + 1] = d end
  dirs[#dirs + 1] = (lpact.engine.stdlib_dir or ".") .. "/lessons"
  return dirs
end

local function is_file(path)
  local f = io.open(path, "r")
  if not f then return false end
  f:close()
  return not lpact.io.isdir(path)
end

--- The file of a lesson: `name` found in lesson.dirs() as NAME.lua, or
-- `name` itself when it is a path to a file. Fails (one line) when there
-- is no such lesson.
function lesson.find(name)
  if type(name) ~= "string" or name == "" then
    lpact.fail("lesson: a lesson name expected (lpact-repl --lesson lists them)")
  end
  if name:find("/", 1, true) or name:match("%.lua$") then
    if is_file(name) then return name end
    lpact.fail(fmt_str("lesson: cannot read the lesson file '%s'", name))
  end
  if name:match("^[%w_%-]+$") then
    for _, d in ipairs(lesson.dirs()) do
      local p = d .. "/" .. name .. ".lua"
      if is_file(p) then return p end
    end
  end
  local names = {}
  for _, l in ipairs(lesson.list()) do names[#names + 1] = l.name end
  lpact.fail(fmt_str("lesson: no lesson '%s' (lessons: %s)", name, table.concat(names, ", ")))
end

local STEP_FIELDS = { "text", "show", "ask", "check", "hint", "answer", "wrong", "explain", "setup" }
local LESSON_FIELDS = { "name", "title", "order", "minutes", "intro", "steps", "next" }

--- Loads a lesson file and returns its table, its fields checked for
-- shape (lesson.problems lists what is wrong; the first problem fails
-- with one line). `name` is a lesson name or a path.
function lesson.load(name)
  local path = lesson.find(name)
  local chunk, err = loadfile(path, "t")
  if not chunk then lpact.fail("lesson: " .. err) end
  local ok, l = pcall(chunk)
  if not ok then
    lpact.fail(fmt_str("lesson: %s: %s", path, lpact.is_failure(l) and l.msg or tostring(l)))
  end
  if type(l) ~= "table" then lpact.fail(fmt_str("lesson: %s does not return a table", path)) end
  l.path = path
  l.name = l.name or path:match("([^/]+)%.lua$")
  local problems = lesson.problems(l)
  if #problems > 0 then lpact.fail(fmt_str("lesson: %s: %s", path, problems[1])) end
  return l
end

-- The widest line of a text, in characters (UTF-8).
local function widest(s)
  local w = 0
  for line in (s .. "\n"):gmatch("([^\n]*)\n") do w = math.max(w, utf8.len(line) or #line) end
  return w
end

-- "step 3 ("Round 2.5 to fp4 ...")": a step named for messages.
local function step_name(i, s)
  local words = type(s) == "table" and (type(s.ask) == "string" and s.ask or type(s.text) == "string" and s.text)
  if not words then return "step " .. i end
  words = words:gsub("%s+", " "):gsub("^ ", "")
  if utf8.len(words) > 40 then words = words:sub(1, utf8.offset(words, 38) - 1) .. "..." end
  return fmt_str("step %d (\"%s\")", i, words)
end
lesson.step_name = step_name

--- The problems of a lesson table's shape, as a list of one-line strings
-- (empty when it is well formed): every step needs text, a question
-- (ask), a check function, a hint and a reference answer; every text
-- fits 80 columns; no unknown field.
function lesson.problems(l)
  local out = {}
  local function bad(...) out[#out + 1] = fmt_str(...) end
  local f, guess = lpact.unknown_option(l, LESSON_FIELDS)
  if f and f ~= "path" then bad("unknown lesson field '%s'%s", f, guess and (" (did you mean '" .. guess .. "'?)") or "") end
  if type(l.title) ~= "string" or l.title == "" then bad("the lesson has no title") end
  if type(l.steps) ~= "table" or #l.steps == 0 then
    bad("the lesson has no steps")
    return out
  end
  for i, s in ipairs(l.steps) do
    local who = step_name(i, s)
    if type(s) ~= "table" then
      bad("%s is not a table", who)
    else
      local u, g = lpact.unknown_option(s, STEP_FIELDS)
      if u then bad("%s: unknown field '%s'%s", who, u, g and (" (did you mean '" .. g .. "'?)") or "") end
      for _, k in ipairs { "text", "ask", "hint", "answer" } do
        if type(s[k]) ~= "string" or not s[k]:find("%S") then bad("%s has no %s", who, k) end
      end
      if type(s.check) ~= "function" then bad("%s has no check", who) end
      for _, k in ipairs { "show", "wrong", "explain", "setup" } do
        if s[k] ~= nil and type(s[k]) ~= "string" then bad("%s: %s must be a string", who, k) end
      end
      for _, k in ipairs { "answer", "wrong" } do
        if type(s[k]) == "string" and s[k]:find("\n") then
          bad("%s: its %s must be one line (it is typed at the prompt)", who, k)
        end
      end
      -- the question is printed after "» ", a hint after "Hint: "
      for _, kr in ipairs { { "text", WIDTH }, { "ask", WIDTH - 2 }, { "hint", WIDTH - 6 }, { "explain", WIDTH } } do
        local k, room = kr[1], kr[2]
        if type(s[k]) == "string" and widest(s[k]) > room then
          bad("%s: its %s has a line wider than %d columns", who, k, room)
        end
      end
    end
  end
  for _, k in ipairs { "title", "intro" } do
    if type(l[k]) == "string" and widest(l[k]) > WIDTH then bad("the lesson's %s is wider than %d columns", k, WIDTH) end
  end
  return out
end

--- Every lesson found in lesson.dirs(): a list of {name, title, order,
-- minutes, steps, path}, sorted by order then name (a lesson that does
-- not load is listed with its error as title).
function lesson.list()
  local seen, out = {}, {}
  for _, d in ipairs(lesson.dirs()) do
    for _, f in ipairs(lpact.io.isdir(d) and lpact.io.listdir(d) or {}) do
      local n = f:match("^([%w_%-]+)%.lua$")
      if n and not seen[n] then
        seen[n] = true
        local ok, l = pcall(lesson.load, d .. "/" .. f)
        if ok then
          out[#out + 1] = { name = n, title = l.title, order = l.order or math.huge, minutes = l.minutes,
            steps = #l.steps, path = l.path }
        else
          out[#out + 1] = { name = n, title = "(does not load: " .. tostring(l) .. ")", order = math.huge, steps = 0 }
        end
      end
    end
  end
  table.sort(out, function(a, b)
    if a.order ~= b.order then return a.order < b.order end
    return a.name < b.name
  end)
  return out
end

-- Progress -------------------------------------------------------------------

--- The progress file: $XDG_STATE_HOME/lpact/lessons.json, else
-- $HOME/.local/state/lpact/lessons.json; nil when neither is set.
function lesson.state_path()
  local xdg = os.getenv("XDG_STATE_HOME")
  if xdg and xdg:match("^/") then return xdg .. "/lpact/lessons.json" end
  local home = os.getenv("HOME")
  if home and home ~= "" then return home .. "/.local/state/lpact/lessons.json" end
  return nil
end

local memory_progress = {}      -- without a state folder: this session only

--- The progress of every lesson: {[name] = {step = next step, done =
-- true once finished, results = "rrs-..." (one letter a step: r right,
-- s skipped, - not yet)}}. A missing or unreadable file is no progress;
-- of a file that reads, an entry or field of another type is dropped.
function lesson.progress()
  local path = lesson.state_path()
  if not path then return memory_progress end
  local f = io.open(path, "r")
  if not f then return {} end
  local text = f:read("a")
  f:close()
  local json = require "lpact.json"
  local ok, p = pcall(json.decode, text)
  if not ok or type(p) ~= "table" or p == json.null then return {} end
  -- a file edited by hand or by another program: only the fields this
  -- module writes, of the types it writes, are kept (an entry of other
  -- types would break the next save or the list)
  local clean = {}
  for name, e in pairs(p) do
    if type(name) == "string" and type(e) == "table" and e ~= json.null then
      local c = {}
      if math.type(e.step) == "integer" and e.step >= 1 then c.step = e.step end
      if math.type(e.steps) == "integer" and e.steps >= 1 then c.steps = e.steps end
      if type(e.done) == "boolean" then c.done = e.done end
      if type(e.results) == "string" then c.results = e.results end
      if next(c) then clean[name] = c end
    end
  end
  return clean
end

--- Records the progress of lesson `name` (a table as lesson.progress
-- gives) in the progress file, written to a temporary name and renamed.
function lesson.save_progress(name, entry)
  local path = lesson.state_path()
  if not path then
    memory_progress[name] = entry
    return
  end
  local all = lesson.progress()
  all[name] = entry
  local json = require "lpact.json"
  local dir = path:match("^(.*)/[^/]*$")
  if not lpact.io.isdir(dir) then
    local ok, err = lpact.io.mkdir(dir)
    if not ok then lpact.fail("lesson: cannot keep progress: " .. tostring(err), 1) end
  end
  require("lpact.files").write_atomic(path, json.encode(all, { indent = 1 }) .. "\n", "the lesson progress")
end

-- Checks, for lesson authors ----------------------------------------------------
--
-- A check is a function(a) of the student's input: a.value (the first
-- value the chunk returned), a.values (all of them, with a.values.n),
-- a.n, a.text (what was typed) and a.env (the globals). It returns true
-- (right, optionally with a note shown after "Right."), false and a
-- reason (wrong), or nil when the input was not an answer at all (a look
-- at a view, say): the lesson then stays silent.

local function num_text(x)
  if x ~= x then return "nan" end
  if math.type(x) == "integer" then return tostring(x) end
  return fmt_str("%.10g", x)
end
lesson.num_text = num_text

local function reason(why, v, default)
  if type(why) == "function" then return why(v) or default end
  if type(why) == "table" then return why[v] or default end
  return default
end

--- A check that the typed expression's value is the number `expected`:
-- exactly, or within opts.tol. Other values are not answers (nil).
-- opts.why maps a wrong value (a table value -> text, or a function) to
-- the explanation given; opts.sign = true tells -0 from +0.
function lesson.number(expected, opts)
  opts = opts or {}
  return function(a)
    local v = a.value
    if type(v) ~= "number" then return nil end
    local right
    if expected ~= expected then
      right = v ~= v
    elseif opts.tol then
      right = math.abs(v - expected) <= opts.tol
    else
      right = v == expected and (not opts.sign or 1 / v == 1 / expected)
    end
    if right then return true end
    return false, reason(opts.why, v, fmt_str("you got %s", num_text(v)))
  end
end

--- A check for "type 1, 2 or 3": the value must be the integer k.
function lesson.choice(k, why)
  return function(a)
    local v = a.value
    if math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v)) then return nil end
    if v == k then return true end
    return false, reason(why, v, fmt_str("%s is not it", num_text(v)))
  end
end

--- A check that the typed expression's value is the boolean `expected`;
-- other values are not answers. `why` explains the wrong one.
function lesson.boolean(expected, why)
  return function(a)
    if type(a.value) ~= "boolean" then return nil end
    if a.value == expected then return true end
    return false, why or fmt_str("it is %s", tostring(expected))
  end
end

--- A check of a global the step asks the student to set: test(value, a)
-- returns true, or false and a reason. While the global is unset, the
-- input is not an answer (nil).
function lesson.global(name, test)
  return function(a)
    local v = rawget(a.env, name)
    if v == nil then return nil end
    return test(v, a)
  end
end

local function is_format(v)
  local mt = debug.getmetatable(v)
  return mt ~= nil and mt == debug.getregistry()["lpact.Format"]
end
lesson.is_format = is_format

--- A check that the global `name` holds the Format of `spec` (the same
-- spec once parsed: "e3m2" and "fp6" are one format).
function lesson.format(name, spec)
  local want = lpact.format(spec).spec
  return lesson.global(name, function(v)
    if not is_format(v) then return false, fmt_str("%s is a %s, not a format (lpact.format \"...\")", name, type(v)) end
    if v.spec == want then return true end
    return false, fmt_str("%s is %s; the step asks for %s", name, v.spec, want)
  end)
end

-- Running chunks (the reference answers, `show` views) -------------------------

-- Compiles code as the REPL does: first as `return <code>`.
local function compile(code, chunkname)
  local f = load("return " .. code .. ";", chunkname, "t")
  if f then return f end
  local g, err = load(code, chunkname, "t")
  if not g then lpact.fail("lesson: " .. err) end
  return g
end

--- Runs a chunk of Lua as if typed at the prompt and returns its values
-- packed ({n = count, ...}).
function lesson.run(code, chunkname)
  return table.pack(compile(code, chunkname or "=lesson")())
end

--- Judges input against a step: `values` packed as lesson.run gives them,
-- `text` what was typed. Returns the check's verdict (true; false and a
-- reason; or nil).
function lesson.judge(step, values, text)
  return step.check { value = values[1], values = values, n = values.n, text = text, env = _G }
end

-- The session at the prompt ---------------------------------------------------------

local active                    -- {l = lesson, i = step index, results = {...}}
local out = io.stdout

local function say(s) out:write(s, "\n") end

local function rule(title)
  local head = "── " .. title .. " "
  return head .. string.rep("─", math.max(3, WIDTH - utf8.len(head)))
end

local LETTER = { right = "r", skipped = "s" }

local function save()
  local letters = {}
  for k = 1, #active.l.steps do letters[k] = LETTER[active.results[k]] or "-" end
  lesson.save_progress(active.l.name, { step = active.i, steps = #active.l.steps,
    done = active.i > #active.l.steps, results = table.concat(letters) })
end

--- Text fitted to `width` columns (default 80): a longer line is broken
-- at its last space that fits, its rest indented by two spaces. Lesson
-- views are shown through it, so a lesson fits an 80-column terminal.
function lesson.fit(text, width)
  width = width or WIDTH
  local out = {}
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    while (utf8.len(line) or #line) > width do
      local cut = utf8.offset(line, width + 1) - 1
      local at = line:sub(1, cut):match("^.*() ")
      if not at or at <= 3 then break end
      out[#out + 1] = line:sub(1, at - 1)
      line = "  " .. line:sub(at + 1)
    end
    out[#out + 1] = line
  end
  return table.concat(out, "\n")
end

-- Runs a step's setup (what it needs from earlier steps, for a resumed
-- lesson) and its `show` view, printing the view.
local function show_view(code)
  say("  lpact> " .. code)
  local ok, vals = pcall(lesson.run, code, "=lesson")
  if not ok then
    say("  (the lesson's view failed: " .. (lpact.is_failure(vals) and vals.msg or tostring(vals)) .. ")")
  elseif vals.n > 0 then
    say(lesson.fit(require("lpact.repl").render(vals[1])))
  end
end

local function show_step()
  local l, i = active.l, active.i
  local s = l.steps[i]
  say("")
  say(rule(fmt_str("%s · step %d of %d", l.name, i, #l.steps)))
  if s.setup then
    local ok, err = pcall(lesson.run, s.setup, "=setup")
    if not ok then say("  (the lesson's setup failed: " .. (lpact.is_failure(err) and err.msg or tostring(err)) .. ")") end
  end
  say(s.text)
  if s.show then show_view(s.show) end
  say("")
  say("» " .. s.ask)
  out:flush()
end

local function finish()
  local l = active.l
  local right, skipped = 0, 0
  for _, r in ipairs(active.results) do
    if r == "right" then right = right + 1 elseif r == "skipped" then skipped = skipped + 1 end
  end
  save()
  say("")
  say(rule(l.name .. " · done"))
  say(fmt_str("Lesson complete: %d of %d steps answered, %d skipped.", right, #l.steps, skipped))
  if l.next then say(fmt_str("Next: lpact-repl --lesson %s   (or lesson \"%s\" here)", l.next, l.next)) end
  say("The prompt is yours: everything you set is still there.")
  out:flush()
  active = nil
  require("lpact.repl").hook = nil
end

local function advance(result)
  active.results[active.i] = result
  active.i = active.i + 1
  if active.i > #active.l.steps then return finish() end
  save()
  show_step()
end

local COMMANDS = {
  hint = "a hint for this step",
  skip = "go on to the next step without answering",
  back = "go back one step",
  ["repeat"] = "show this step again",
  quit = "leave the lesson (progress is kept; resume it later)",
  help = "this list",
}
local COMMAND_ORDER = { "hint", "skip", "back", "repeat", "quit", "help" }

local hook = {}

function hook.command(line)
  local word = line:match("^%s*:(%a+)%s*$")
  if not word or not COMMANDS[word] then
    local list = {}
    for _, c in ipairs(COMMAND_ORDER) do list[#list + 1] = ":" .. c end
    say(fmt_str("unknown command '%s'; the lesson's commands: %s", line:match("^%s*(.-)%s*$"), table.concat(list, " ")))
    return
  end
  local s = active.l.steps[active.i]
  if word == "hint" then
    say("Hint: " .. s.hint)
  elseif word == "skip" then
    say(fmt_str("Skipped. One answer: %s", s.answer))
    advance("skipped")
  elseif word == "back" then
    if active.i > 1 then active.i = active.i - 1 end
    save()
    show_step()
  elseif word == "repeat" then
    show_step()
  elseif word == "quit" then
    save()
    say(fmt_str("Lesson '%s' left at step %d of %d; lpact-repl --lesson %s resumes it.",
      active.l.name, active.i, #active.l.steps, active.l.name))
    active = nil
    require("lpact.repl").hook = nil
  else
    for _, c in ipairs(COMMAND_ORDER) do say(fmt_str("  :%-7s %s", c, COMMANDS[c])) end
  end
  out:flush()
end

function hook.after(values, text)
  local s = active.l.steps[active.i]
  local ok, verdict, why = pcall(lesson.judge, s, values, text)
  if not ok then
    say("(the lesson's check failed: " .. (lpact.is_failure(verdict) and verdict.msg or tostring(verdict)) .. ")")
  elseif verdict == true then
    say("✓ Right." .. (why and (" " .. tostring(why)) or ""))
    if s.explain then say(s.explain) end
    advance("right")
  elseif verdict == false then
    say("✗ Not quite: " .. tostring(why or "that is not it") .. ".")
    say("  (:hint for a hint, :skip to go on)")
  end
  out:flush()
end

--- Starts lesson `name` at the prompt, or resumes it at the step where
-- it was left (a finished lesson starts again). Without a name, lists
-- the lessons with their progress.
function lesson.start(name)
  if name == nil then return lesson.print_list() end
  local l = lesson.load(name)
  local p = lesson.progress()[l.name]
  local i, results = 1, {}
  if type(p) == "table" and not p.done and math.type(p.step) == "integer" and p.step >= 1 and p.step <= #l.steps then
    i = p.step
    local k = 0
    for c in tostring(p.results or ""):gmatch(".") do
      k = k + 1
      results[k] = (c == "r" and "right") or (c == "s" and "skipped") or nil
    end
  end
  active = { l = l, i = i, results = results }
  require("lpact.repl").hook = hook
  say(rule(l.title))
  if i > 1 then
    say(fmt_str("Resuming at step %d of %d.", i, #l.steps))
  else
    if l.intro then say(l.intro) end
    say("Type answers at the prompt; everything else works as usual. :hint for a")
    say("hint, :skip, :back, :repeat, :quit; :help lists them.")
  end
  save()
  show_step()
end

--- Prints every lesson with its progress (lpact-repl --lesson).
function lesson.print_list()
  local progress = lesson.progress()
  say("Lessons (lpact-repl --lesson NAME starts or resumes one):")
  for _, l in ipairs(lesson.list()) do
    local p = progress[l.name]
    local state = "not started"
    if type(p) == "table" and p.done then
      state = "done"
    elseif type(p) == "table" and math.type(p.step) == "integer" and p.step <= l.steps then
      state = fmt_str("at step %d of %d", p.step, l.steps)
    end
    local line = fmt_str("  %-12s %-16s %s", l.name, state, l.title)
    if utf8.len(line) > WIDTH then line = line:sub(1, utf8.offset(line, WIDTH)) .. "…" end
    say(line)
  end
  if not lesson.state_path() then say("(HOME is not set: progress is kept for this session only)") end
  out:flush()
end

--- The lesson running at the prompt ({l, i, results}), or nil.
function lesson.active() return active end

return lesson
