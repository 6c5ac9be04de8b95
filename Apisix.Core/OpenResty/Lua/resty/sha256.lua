-- lua-resty-string's resty.sha256 (see resty.digest).
return require("resty.digest").module("sha256")
