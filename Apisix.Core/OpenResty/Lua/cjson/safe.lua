-- lua-cjson's safe variant (emulated): errors come back as nil, message.
return require("cjson.impl").new_instance(true)
