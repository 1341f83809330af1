--- lpact export MODEL.safetensors DIR — write every quantized activation's lookup table.
-- For a model saved with model:save_safetensors, rebuilds it from the
-- file's own configuration and writes, for each quantized activation site
-- k, DIR/site<k>.json, .c, .hex ($readmemh) and .npy: the table from
-- every input code to the output code or value (see docs/interop.md).

local lpact = require "lpact"

local USAGE = "usage: lpact export MODEL.safetensors DIR"

return function(args)
  if args[1] == "-h" or args[1] == "--help" then print(USAGE) return 0 end
  if #args ~= 2 then lpact.fail(USAGE) end
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
