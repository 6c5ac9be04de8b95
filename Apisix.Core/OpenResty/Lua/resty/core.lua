-- resty.core: in OpenResty it installs the FFI-based ngx API. Here the ngx API is in place
-- from the start, so requiring it only has to succeed.
return {
    version = "0.1.31",
}
