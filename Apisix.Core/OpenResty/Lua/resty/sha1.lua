-- lua-resty-string's resty.sha1 (see resty.digest).
return require("resty.digest").module("sha1")
