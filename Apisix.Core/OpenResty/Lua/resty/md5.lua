-- lua-resty-string's resty.md5 (see resty.digest).
return require("resty.digest").module("md5")
