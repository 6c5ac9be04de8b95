-- apisix.plugins.ai-transport.auth-aws: SigV4 for Bedrock requests.
-- When lua-resty-aws's modules can be required (only when something put them in
-- package.loaded, as tests do with fakes), its signer is used; otherwise the C#
-- implementation (Apisix.Plugins.AiProxy.AiTransport.AuthAws) signs.
local core = require("apisix.core")
local impl = __bridge("apisix.plugins.ai-transport.auth-aws")
local type = type
local pcall = pcall
local require = require

local resty_aws, resty_sign
do
    local ok_aws, aws = pcall(require, "resty.aws")
    local ok_sign, sign = pcall(require, "resty.aws.request.sign")
    if ok_aws and ok_sign then
        resty_aws, resty_sign = aws, sign
    end
end

local aws_object

local _M = {}


local function with_resty_signer(params, aws_conf, region, signing_host)
    if not aws_object then
        aws_object = resty_aws()
    end
    local config = {
        region = region,
        signatureVersion = "v4",
        endpointPrefix = aws_conf.endpoint_prefix or "bedrock",
        credentials = aws_object:Credentials({
            accessKeyId = aws_conf.access_key_id,
            secretAccessKey = aws_conf.secret_access_key,
            sessionToken = aws_conf.session_token,
        }),
    }
    local signed, err = resty_sign(config, {
        headers = {},
        method = params.method or "POST",
        canonicalURI = impl:NormalizePath(params.path, 2),
        host = signing_host,
        port = params.port or 443,
        body = params.body,
        query = params.query,
    })
    if not signed then
        return nil, err or "unknown"
    end
    return signed.headers or {}
end


local function with_builtin_signer(params, aws_conf, region, signing_host)
    local host = signing_host
    if not host then
        host = params.host or ""
        local port = params.port or 443
        if port ~= 443 and port ~= 80 then
            host = host .. ":" .. port
        end
    end
    local token = aws_conf.session_token
    if token == "" then
        token = nil
    end
    local authorization, amz_date, err = impl:Sign(params.method or "POST",
        impl:NormalizePath(params.path, 2), params.query, host, params.body or "",
        aws_conf.access_key_id, aws_conf.secret_access_key, token, region,
        aws_conf.endpoint_prefix or "bedrock")
    if not authorization then
        return nil, err
    end
    return {
        Authorization = authorization,
        ["X-Amz-Date"] = amz_date,
        ["X-Amz-Security-Token"] = token,
        Host = host,
    }
end


function _M.sign_request(params, aws_conf, region)
    if type(aws_conf) ~= "table" then
        return "missing or invalid aws_conf for SigV4 signing"
    end
    if type(region) ~= "string" or region == "" then
        return "missing or invalid region for SigV4 signing"
    end
    if type(params.path) ~= "string" or params.path == "" then
        return "missing or invalid path for SigV4 signing"
    end

    params.path = impl:NormalizePath(params.path, 1)

    if type(params.body) == "table" then
        local text, err = core.json.encode(params.body)
        if not text then
            return "failed to encode body: " .. (err or "")
        end
        params.body = text
    end

    local headers = params.headers or {}
    local signing_host = headers["Host"] or headers["host"]
    local signed, err
    if resty_sign then
        signed, err = with_resty_signer(params, aws_conf, region, signing_host or params.host)
    else
        signed, err = with_builtin_signer(params, aws_conf, region, signing_host)
    end
    if not signed then
        return "SigV4 signing failed: " .. (err or "unknown")
    end

    -- lower-case names, as the forwarded headers are keyed
    params.headers = headers
    if signed["Authorization"] then
        headers["authorization"] = signed["Authorization"]
    end
    if signed["X-Amz-Date"] then
        headers["x-amz-date"] = signed["X-Amz-Date"]
    end
    if signed["X-Amz-Security-Token"] then
        headers["x-amz-security-token"] = signed["X-Amz-Security-Token"]
    end
    if signed["Host"] then
        headers["host"] = nil
        headers["Host"] = signed["Host"]
    end
    return nil
end


return _M
