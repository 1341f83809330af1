--- lpact lesson [list | check FILE | handout NAME DIR] — the guided lessons, for instructors.
-- lpact lesson                  list the lessons (as lpact-repl --lesson)
-- lpact lesson check FILE|NAME  validate a lesson: every step has text, a
--                               question, a check, a hint and a reference
--                               answer; text fits 80 columns; each check
--                               accepts the step's answer and rejects its
--                               wrong answer (run in order, as a student would)
-- lpact lesson handout NAME DIR write DIR/NAME.md (explanations, views,
--                               exercises, hints), DIR/NAME-answers.md (the
--                               answer key) and the figures, PNG and SVG,
--                               drawn by gnuplot

local lpact = require "lpact"
local lesson = require "lpact.lesson"

local fmt_str = string.format
local cli = require "lpact.cli"

local function errmsg(e) return lpact.is_failure(e) and e.msg or tostring(e) end

-- Runs a chunk as the prompt would; returns true and the packed values,
-- or false and the error text.
local function try(code, what)
  local ok, vals = pcall(lesson.run, code, "=" .. what)
  if not ok then return false, errmsg(vals) end
  return true, vals
end

-- Walks the steps in order as a student who answers right would, calling
-- visit(i, step, answer_values) after each answer; returns the problems
-- found (one-line strings).
local function walk(l, visit)
  require "lpact.repl"             -- the lab's globals: levels, plot, ...
  local problems = {}
  local function bad(...) problems[#problems + 1] = fmt_str(...) end
  for i, s in ipairs(l.steps) do
    local who = lesson.step_name(i, s)
    local ok, err
    if s.setup then
      ok, err = try(s.setup, "setup")
      if not ok then bad("%s: its setup fails: %s", who, err) end
    end
    if s.show then
      ok, err = try(s.show, "show")
      if not ok then bad("%s: its view fails: %s", who, err) end
    end
    if s.wrong then
      local vals
      ok, vals = try(s.wrong, "wrong")
      if not ok then
        bad("%s: its wrong answer raises an error: %s", who, vals)
      else
        local cok, verdict, why = pcall(lesson.judge, s, vals, s.wrong)
        if not cok then
          bad("%s: its check fails on the wrong answer: %s", who, errmsg(verdict))
        elseif verdict ~= false then
          bad("%s: its check does not reject the wrong answer %s (it returns %s)", who, s.wrong, tostring(verdict))
        elseif type(why) ~= "string" then
          bad("%s: its check rejects the wrong answer without saying why", who)
        end
      end
    end
    local vals
    ok, vals = try(s.answer, "answer")
    if not ok then
      bad("%s: its answer raises an error: %s", who, vals)
    else
      local cok, verdict, note = pcall(lesson.judge, s, vals, s.answer)
      if not cok then
        bad("%s: its check fails on the answer: %s", who, errmsg(verdict))
      elseif verdict ~= true then
        bad("%s: its check does not accept the answer %s", who, s.answer)
      end
      if visit then visit(i, s, vals, verdict == true and note or nil) end
    end
  end
  return problems
end

-- The lesson table of a file or name, or the shape problems (the
-- lesson module fails on the first; here every one is listed).
local function load_all_problems(name)
  local path = lesson.find(name)
  local chunk, err = loadfile(path, "t")
  if not chunk then lpact.fail("lesson: " .. err) end
  local ok, l = pcall(chunk)
  if not ok then lpact.fail(fmt_str("lesson: %s: %s", path, errmsg(l))) end
  if type(l) ~= "table" then lpact.fail(fmt_str("lesson: %s does not return a table", path)) end
  l.path, l.name = path, l.name or path:match("([^/]+)%.lua$")
  return l, lesson.problems(l)
end

local function check(name)
  local l, problems = load_all_problems(name)
  if #problems == 0 then problems = walk(l) end
  if #problems > 0 then
    for _, p in ipairs(problems) do io.stderr:write(fmt_str("lpact: lesson %s: %s\n", l.path, p)) end
    return 1
  end
  local with_wrong = 0
  for _, s in ipairs(l.steps) do if s.wrong then with_wrong = with_wrong + 1 end end
  print(fmt_str("lesson %s: %d steps; every check accepts its answer, %d reject a wrong one", l.name,
    #l.steps, with_wrong))
  return 0
end

-- A view's text without colour codes, for a Markdown code block.
local function plain(v)
  local text = require("lpact.repl").render(v):gsub("\27%[[%d;]*m", "")
  return lesson.fit(text)
end

-- A lesson's text as Markdown: runs of lines indented by two spaces or
-- more (code, tables) become code blocks; the rest stays as it is.
local function markdown(text)
  local out, code = {}, false
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    local indented = line:match("^  ") ~= nil
    if indented ~= code then
      out[#out + 1] = code and "```" or "\n```"
      code = indented
    end
    out[#out + 1] = line
  end
  if code then out[#out + 1] = "```" end
  return table.concat(out, "\n")
end

local function handout(name, dir)
  local l = lesson.load(name)
  if not lpact.io.isdir(dir) then
    local ok, err = lpact.io.mkdir(dir)
    if not ok then lpact.fail("lesson handout: cannot make the folder: " .. tostring(err), 1) end
  end
  local files = require "lpact.files"
  local md, key, figures = {}, {}, {}
  local function add(t, ...) t[#t + 1] = fmt_str(...) end
  add(md, "# %s\n", l.title)
  add(md, "*lpact lesson `%s`%s. At the prompt: `lpact-repl --lesson %s`.*\n", l.name,
    l.minutes and fmt_str(", about %d minutes", l.minutes) or "", l.name)
  if l.intro then add(md, "%s\n", l.intro) end
  add(key, "# %s — answer key\n", l.title)
  add(key, "Each answer is one line typed at the lpact prompt; its value follows.\n")
  local hints = {}
  local problems = walk(l, function(i, s, vals, note)
    add(md, "## %d.\n", i)
    add(md, "%s\n", markdown(s.text))
    if s.show then
      local ok, v = try(s.show, "show")
      local view = ok and v[1]
      if type(view) == "table" and view.figure then
        local base = fmt_str("%s-%d", l.name, i)
        for _, ext in ipairs { "png", "svg" } do
          view:save(dir .. "/" .. base .. "." .. ext)
          figures[#figures + 1] = base .. "." .. ext
        end
        add(md, "![`%s`](%s.png)\n", s.show, base)
        add(md, "(`lpact> %s`; also as %s.svg)\n", s.show, base)
      elseif ok then
        add(md, "```\nlpact> %s\n%s\n```\n", s.show, plain(view))
      end
    end
    add(md, "**Exercise %d.** %s\n", i, markdown(s.ask))
    hints[#hints + 1] = fmt_str("%d. %s", i, s.hint)
    local shown = {}
    for k = 1, vals.n do shown[k] = plain(vals[k]) end
    add(key, "**%d.** `%s`%s\n", i, s.answer, vals.n > 0 and (" → `" .. table.concat(shown, ", ") .. "`") or "")
    if note then add(key, "%s\n", tostring(note)) end
    if s.explain then add(key, "%s\n", s.explain) end
  end)
  if #problems > 0 then lpact.fail(fmt_str("lesson handout: %s: %s (lpact lesson check %s)", l.path, problems[1], l.path), 1) end
  add(md, "## Hints\n")
  add(md, "%s\n", table.concat(hints, "\n"))
  local sheet = dir .. "/" .. l.name .. ".md"
  local answers = dir .. "/" .. l.name .. "-answers.md"
  files.write_atomic(sheet, table.concat(md, "\n"), "the handout")
  files.write_atomic(answers, table.concat(key, "\n"), "the answer key")
  print(fmt_str("%s: %d exercises; answer key %s; %d figure files", sheet, #l.steps, answers, #figures))
  return 0
end

return function(args)
  local p = cli.parser("lpact lesson", "The guided lessons, for instructors (lpact help lesson says more).")
  p:command_target("action")
  p:command("list", "list the lessons (as lpact-repl --lesson)")
  p:command("check", "validate a lesson"):argument("lesson", "a lesson file or name"):argname("FILE|NAME")
  local h = p:command("handout", "write DIR/NAME.md, DIR/NAME-answers.md and the figures")
  h:argument("name", "the lesson"):argname("NAME")
  h:argument("dir", "the folder"):argname("DIR")
  local list = {}
  for i = 1, #args do list[i] = args[i] end
  if #list == 0 then list[1] = "list" end
  local o = cli.parse(p, list)
  if o.action == "check" then return check(o.lesson) end
  if o.action == "handout" then return handout(o.name, o.dir) end
  lesson.print_list()
  return 0
end
