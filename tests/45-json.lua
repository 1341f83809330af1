-- lpact.json: deterministic encoding, escaping, number subtypes, decoding
-- and its errors.
local t = require "lpact.tap"
local json = require "lpact.json"

t.is(json.encode { b = 1, a = { 1, 2.5, "x" }, c = true, d = json.null },
  '{"a":[1,2.5,"x"],"b":1,"c":true,"d":null}', "keys sorted, arrays in order")
t.is(json.encode {}, "[]", "empty table is an array")
t.is(json.encode(json.object {}), "{}", "json.object marks an empty object")
t.is(json.encode { [1] = "a", [3] = "c" }, '{"1":"a","3":"c"}', "sparse keys: an object")
t.is(json.encode { 3.0, 0.1, -0.0, 1e300, 2 ^ 53, 5e-324, 123456789 },
  "[3.0,0.1,-0.0,1e+300,9007199254740992.0,4.94065645841247e-324,123456789]",
  "floats keep a point or exponent and the fewest digits that read back")
t.is(json.encode('a"b\\c\n\t\1\127/é'), '"a\\"b\\\\c\\n\\t\\u0001\\u007f/é"', "escapes; UTF-8 passes through")
t.is(json.encode({ x = { y = { 1, 2 } } }, { indent = 2 }), '{\n  "x": {\n    "y": [\n      1,\n      2\n    ]\n  }\n}',
  "indent")
t.raises(function() json.encode(0 / 0) end, "has no JSON spelling", "NaN refused")
t.is(json.encode({ math.huge, -math.huge, 0 / 0 }, { nonfinite = "null" }), "[null,null,null]", "nonfinite = null")
local cyc = {}
cyc.self = cyc
t.raises(function() json.encode(cyc) end, "contains itself", "cycles refused")
t.raises(function() json.encode { f = print } end, "cannot encode a function", "functions refused")

-- Decoding.
local v = json.decode(' {"a" : [1, -2.5e1, 0, 1E2, true, false, null], "s": "\\u00e9\\ud83d\\ude00\\n\\"\\/"} ')
t.same(v.a[1], 1, "integer")
t.is(math.type(v.a[1]), "integer", "integer stays an integer")
t.is(v.a[2], -25.0, "exponent")
t.is(math.type(v.a[4]), "float", "1E2 is a float")
t.ok(v.a[5] == true and v.a[6] == false and v.a[7] == json.null, "literals")
t.is(v.s, "é😀\n\"/", "escapes, surrogate pair to UTF-8")
-- Round trip: decode(encode(x)) encodes identically, and numbers are exact.
local vals = { 0.1, 1 / 3, -1e-310, 2 ^ 60, math.maxinteger, math.mininteger, 6.02214076e23 }
local back = json.decode(json.encode(vals))
local exact = true
for i, x in ipairs(vals) do if back[i] ~= x or math.type(back[i]) ~= math.type(x) then exact = false end end
t.ok(exact, "numbers round-trip exactly, subtype included")
local doc = { name = "run", list = { 1, { deep = json.object {} }, "z" }, e = {} }
t.is(json.encode(json.decode(json.encode(doc))), json.encode(doc), "encode . decode . encode is stable")
for _, case in ipairs {
  { "01", "text after the value at line 1 column 2" },
  { "1.", "bad number at line 1 column 1" },
  { "[1,]", "unexpected character ']' at line 1 column 4" },
  { '{"a" 1}', "':' expected at line 1 column 6" },
  { '"abc', "unterminated string" },
  { '"\\ud800"', "unpaired surrogate" },
  { '"a\tb"', "control character in string" },
  { "[1,\n 2,\n x]", "unexpected character 'x' at line 3 column 2" },
  { "", "unexpected end of text" },
} do
  t.raises(json.decode, "json.decode: " .. case[2]:gsub("[%[%]%(%)%.%-]", "%%%0"), "refused: " .. case[1]:gsub("\n", " "), case[1])
end
t.done()
