-- lua-resty-string's resty.sha384 (see resty.digest).
return require("resty.digest").module("sha384")
