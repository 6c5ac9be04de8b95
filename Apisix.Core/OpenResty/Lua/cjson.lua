-- lua-cjson (emulated): errors are raised.
return require("cjson.impl").new_instance(false)
