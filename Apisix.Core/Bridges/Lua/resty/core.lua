-- resty.core: OpenResty loads it by default (the FFI-based ngx API). Here the ngx API is the
-- emulated one from the start, so requiring it only gives its version, as the real module does.
return { version = "0.1.28" }
