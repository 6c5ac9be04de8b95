-- lua-resty-string's resty.sha512 (see resty.digest).
return require("resty.digest").module("sha512")
