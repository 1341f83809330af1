-- help(): the overview lists the lab, help(x) shows the doc comment that
-- sits next to x's definition; every public function of the REPL's
-- modules has one.
local t = require "lpact.tap"
local help = require "lpact.help"
local repl = require "lpact.repl"

local all = help.text()
t.like(all, "^lpact %d+%.%d+%.%d+ — ", "overview: first line names lpact")
for _, name in ipairs { "levels", "compare", "hist", "plot", "errors", "help" } do
  t.like(all, "\n  " .. name .. "%(", "overview lists " .. name)
end
t.like(all, "lpact functions:\n.*format", "overview lists lpact.format")
t.like(all, "lpact%.nn", "overview lists the lazy modules")

local lv = help.text(levels)
t.like(lv, "^function levels%(fmt, learned, opts%)\n", "help(levels): its definition line")
t.like(lv, "every code of a format: bit fields %(sign | exponent |\nmantissa%)", "help(levels): its doc comment")
t.like(lv, "repl%.lua:%d+", "help(levels): where it is defined")
t.like(help.text "levels", "every code of a format", "help \"levels\" looks the name up")
t.like(help.text(lpact.unknown_option), "The first %(alphabetically%) string key", "help of a stdlib function in lpact.lua")
t.like(help.text "lpact.show", "^lpact%.show — text renderers", "help of a module: its leading comment")
t.like(help.text "lpact.show", "\n  hist%s+A histogram of a tensor", "help of a module: its functions")
t.is(help.text "nosuch.thing", "help: nothing is called 'nosuch.thing'", "help of an unknown name")
t.like(help.text(lpact.format "fp4"), "Methods .*\n  round%s", "help of a Format lists its methods")
t.like(help.text(lpact.format), "lpact%.format", "help of a C function names it")
t.like(tostring(help.help(levels)), "every code", "help() returns a printable view")
t.is(help.text(42), "help: 42 is a number value", "help of a number")

-- every public function of the REPL's modules documents itself
for _, modname in ipairs { "lpact.show", "lpact.figure", "lpact.help", "lpact.repl" } do
  local mod = require(modname)
  local missing = {}
  for k, v in pairs(mod) do
    if type(v) == "function" and not help.doc_of_function(v) then missing[#missing + 1] = k end
  end
  table.sort(missing)
  t.is(table.concat(missing, " "), "", modname .. ": every function has a doc comment")
end
for _, name in ipairs { "levels", "compare", "hist", "plot", "errors", "help" } do
  t.ok(help.doc_of_function(_G[name]) ~= nil, "global " .. name .. " has a doc comment")
end
t.ok(repl.banner():find("^lpact ") and not repl.banner():find("\n"), "the banner is one line")
t.done()
