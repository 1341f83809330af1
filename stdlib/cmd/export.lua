--- lpact export MODEL.safetensors DIR — write every quantized activation's lookup table.
-- For a model saved with model:save_safetensors, rebuilds it from the
-- file's own configuration and writes, for each quantized activation site
-- k, DIR/site<k>.json, .c, .hex ($readmemh) and .npy: the table from
-- every input code to the output code or value (see docs/interop.md).

local lpact = require "lpact"

local cli = require "lpact.cli"

return function(args)
  local p = cli.parser("lpact export", "Write every quantized activation's lookup table of a saved model " ..
    "(DIR/site<k>.json, .c, .hex, .npy; docs/interop.md).")
  p:argument("model", "a model saved with model:save_safetensors"):argname("MODEL.safetensors")
  p:argument("dir", "the folder of the tables"):argname("DIR")
  local o = cli.parse(p, args)
  args = { o.model, o.dir }
  local model = lpact.load_model(args[1])
  local lut = require "lpact.lut"
  local ok, err = pcall(lut.export_model, model, args[2])
  if not ok then
    if lpact.is_failure(err) then lpact.fail(args[1] .. ": " .. err.msg, err.exit) end
    error(err, 0)
  end
  for _, p in ipairs(err) do print(p) end
  return 0
end
