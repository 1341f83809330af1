--- lpact.show — text renderers for the terminal: a format's summary, its
-- table of levels, value sets on a number line, histograms, line charts
-- of a function and its quantized version, error reports.
--
--     local show = require "lpact.show"
--     print(show.levels "fp4")
--     print(show.hist({1, 2, 2, 3, 3, 3}, {bins = 3}))
--     local p = show.plot("tanh", "fp4", -3, 3); print(p); p:save("tanh.png")
--
-- Every renderer returns a view object: tostring(view) is the text (drawn
-- for the current terminal width), and histogram and chart views can
-- :save("x.png" | "x.svg") through lpact.figure. Widths come from opts.width,
-- else $COLUMNS, else the terminal's size, else 80. Colours appear only on a
-- terminal that has them, and never when NO_COLOR is set.
--
-- The format views read every figure from the engine (f:info(),
-- f:codes()); none works a code's value out again in Lua.

-- The views live in three files: lpact.show.draw (primitives, histograms,
-- tensors, tables), lpact.show.formats and lpact.show.acts; this module
-- gathers them into one table.

local show = {}
for _, part in ipairs { "draw", "formats", "acts" } do
  for k, v in pairs(require("lpact.show." .. part)) do
    if k ~= "D" and k ~= "get_format" then show[k] = v end
  end
end
return show
