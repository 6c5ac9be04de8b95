-- apisix.utils.google-cloud-oauth for the C# port. The token fetch of ai-transport/auth.lua
-- (Apisix.Plugins.AiProxy.AiTransport.Auth) goes through this module's table on the request's
-- worker, so Lua that replaces refresh_access_token (as tests do) is what runs.
-- A service account's token: a JWT signed RS256 with its private key (lua-resty-jwt's sign,
-- the signature made in C#: GoogleCloudOAuthBridge), traded at token_uri through resty.http.
local core = require("apisix.core")
local http = require("resty.http")
local impl = __bridge("apisix.utils.google-cloud-oauth")
local type = type
local setmetatable = setmetatable
local ngx_update_time = ngx.update_time
local ngx_time = ngx.time
local ngx_encode_args = ngx.encode_args
local ngx_encode_base64 = ngx.encode_base64


local function now()
    ngx_update_time()
    return ngx_time()
end


-- lua-resty-jwt's base64url of a part: a table is JSON encoded first, a string is taken as is
local function b64url(part)
    if type(part) == "table" then
        part = core.json.encode(part)
    end
    return (ngx_encode_base64(part):gsub("+", "-"):gsub("/", "_"):gsub("=", ""))
end


-- jwt:sign(key, {header = ..., payload = ...}) for RS256: "header.payload.signature"
local function sign_rs256(private_key, jwt_obj)
    local signing_input = b64url(jwt_obj.header) .. "." .. b64url(jwt_obj.payload)
    local signature, err = impl:SignRs256(private_key, signing_input)
    if not signature then
        core.log.error("failed to sign google oauth jwt: ", err)
        return nil
    end
    return signing_input .. "." .. signature
end


local _M = {}


function _M.generate_access_token(self)
    if not self.access_token or now() > self.access_token_expire_time - 60 then
        self:refresh_access_token()
    end
    return self.access_token
end


function _M.refresh_access_token(self)
    local client = http.new()
    local res, err = client:request_uri(self.token_uri, {
        ssl_verify = self.ssl_verify,
        method = "POST",
        body = ngx_encode_args({
            grant_type = "urn:ietf:params:oauth:grant-type:jwt-bearer",
            assertion = self:generate_jwt_token(),
        }),
        headers = {
            ["Content-Type"] = "application/x-www-form-urlencoded",
        },
    })
    if not res then
        core.log.error("failed to refresh google oauth access token, ", err)
        return
    end
    if res.status ~= 200 then
        core.log.error("failed to refresh google oauth access token: ", res.body)
        return
    end

    local data
    data, err = core.json.decode(res.body)
    if not data then
        core.log.error("failed to parse google oauth response data: ", err)
        return
    end

    self.access_token = data.access_token
    self.access_token_type = data.token_type
    self.access_token_ttl = data.expires_in
    self.access_token_expire_time = now() + data.expires_in
end


function _M.generate_jwt_token(self)
    local iat = now()
    local payload = core.json.encode({
        iss = self.client_email,
        aud = self.token_uri,
        scope = self.scope,
        iat = iat,
        exp = iat + 3600,
    })
    return sign_rs256(self.private_key, {
        header = { alg = "RS256", typ = "JWT" },
        payload = payload,
    })
end


function _M.new(config, ssl_verify)
    local oauth = {
        client_email = config.client_email,
        private_key = config.private_key,
        project_id = config.project_id,
        token_uri = config.token_uri or "https://oauth2.googleapis.com/token",
        auth_uri = config.auth_uri or "https://accounts.google.com/o/oauth2/auth",
        entries_uri = config.entries_uri,
        access_token = nil,
        access_token_type = nil,
        access_token_expire_time = 0,
        ssl_verify = ssl_verify,
    }

    local scope = config.scope
    if scope == nil then
        oauth.scope = "https://www.googleapis.com/auth/cloud-platform"
    elseif type(scope) == "string" then
        oauth.scope = scope
    elseif type(scope) == "table" then
        oauth.scope = core.table.concat(scope, " ")
    end

    return setmetatable(oauth, { __index = _M })
end


return _M
