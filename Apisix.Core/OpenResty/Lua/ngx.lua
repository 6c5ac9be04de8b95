-- The `ngx` API of an emulated OpenResty worker. Lua-side wrappers over the C# bridge `cs`;
-- every call that blocks in OpenResty waits on a C# op through rt.await, so only the calling
-- coroutine waits, never the worker.
local cs, rt = ...
local await = rt.await
local tostring, type, select, pairs, ipairs = tostring, type, select, pairs, ipairs
local concat, insert = table.concat, table.insert
local num2str = __num2str

local function err() return cs:Err() end

local real = {}
local hidden_keys = { get_request = true }
local ngx = setmetatable({}, {
    __index = function(_, k)
        if k == "status" then return cs:GetStatus() end
        if k == "ctx" then return rt.request_ctx() end
        if k == "headers_sent" then return cs:HeadersSent() end
        return real[k]
    end,
    __newindex = function(_, k, v)
        if k == "status" then
            if type(v) ~= "number" then v = tonumber(v) end
            cs:SetStatus(v)
            return
        end
        if k == "ctx" then return rt.set_request_ctx(v) end
        real[k] = v
    end,
    -- pairs(ngx) walks the API table, as lua-nginx-module's ngx is a plain table (our own
    -- helpers that OpenResty lacks are left out)
    __pairs = function()
        return function(_, k)
            local v
            repeat k, v = next(real, k) until k == nil or not hidden_keys[k]
            return k, v
        end, real, nil
    end,
})

real.OK, real.ERROR, real.AGAIN, real.DONE, real.DECLINED = 0, -1, -2, -4, -5
real.STDERR, real.EMERG, real.ALERT, real.CRIT, real.ERR, real.WARN, real.NOTICE, real.INFO, real.DEBUG = 0, 1, 2, 3, 4, 5, 6, 7, 8
real.HTTP_GET, real.HTTP_HEAD, real.HTTP_POST, real.HTTP_PUT, real.HTTP_DELETE = 2, 4, 8, 16, 32
real.HTTP_MKCOL, real.HTTP_COPY, real.HTTP_MOVE, real.HTTP_OPTIONS = 64, 128, 256, 512
real.HTTP_PROPFIND, real.HTTP_PROPPATCH, real.HTTP_LOCK, real.HTTP_UNLOCK = 1024, 2048, 4096, 8192
real.HTTP_PATCH, real.HTTP_TRACE = 16384, 32768
local status_codes = {
    HTTP_CONTINUE = 100, HTTP_SWITCHING_PROTOCOLS = 101, HTTP_OK = 200, HTTP_CREATED = 201, HTTP_ACCEPTED = 202,
    HTTP_NO_CONTENT = 204, HTTP_PARTIAL_CONTENT = 206, HTTP_SPECIAL_RESPONSE = 300, HTTP_MOVED_PERMANENTLY = 301,
    HTTP_MOVED_TEMPORARILY = 302, HTTP_SEE_OTHER = 303, HTTP_NOT_MODIFIED = 304, HTTP_TEMPORARY_REDIRECT = 307,
    HTTP_PERMANENT_REDIRECT = 308, HTTP_BAD_REQUEST = 400, HTTP_UNAUTHORIZED = 401, HTTP_PAYMENT_REQUIRED = 402,
    HTTP_FORBIDDEN = 403, HTTP_NOT_FOUND = 404, HTTP_NOT_ALLOWED = 405, HTTP_NOT_ACCEPTABLE = 406,
    HTTP_REQUEST_TIMEOUT = 408, HTTP_CONFLICT = 409, HTTP_GONE = 410, HTTP_UPGRADE_REQUIRED = 426,
    HTTP_TOO_MANY_REQUESTS = 429, HTTP_CLOSE = 444, HTTP_ILLEGAL = 451, HTTP_INTERNAL_SERVER_ERROR = 500,
    HTTP_NOT_IMPLEMENTED = 501, HTTP_METHOD_NOT_IMPLEMENTED = 501, HTTP_BAD_GATEWAY = 502, HTTP_SERVICE_UNAVAILABLE = 503,
    HTTP_GATEWAY_TIMEOUT = 504, HTTP_VERSION_NOT_SUPPORTED = 505, HTTP_INSUFFICIENT_STORAGE = 507,
}
for k, v in pairs(status_codes) do real[k] = v end

real.null = setmetatable({}, { __name = "userdata: NULL", __tostring = function() return "userdata: NULL" end })

-- Output ----------------------------------------------------------------------------------

local function flatten(buf, v, what)
    local t = type(v)
    if t == "string" then buf[#buf + 1] = v
    elseif t == "number" then buf[#buf + 1] = num2str(v)
    elseif t == "nil" then buf[#buf + 1] = "nil"
    elseif t == "boolean" then buf[#buf + 1] = v and "true" or "false"
    elseif v == real.null then buf[#buf + 1] = "null"
    elseif t == "table" then
        for _, x in ipairs(v) do flatten(buf, x, what) end
    else
        error("bad argument to '" .. what .. "' (string, number, boolean, nil, ngx.null, or array table expected, got " .. t .. ")", 3)
    end
end

local function output(what, newline, ...)
    local buf = {}
    for i = 1, select("#", ...) do flatten(buf, (select(i, ...)), what) end
    if newline then buf[#buf + 1] = "\n" end
    if cs:Print(concat(buf)) then return 1 end
    return nil, err()
end

function real.say(...) return output("ngx.say", true, ...) end
function real.print(...) return output("ngx.print", false, ...) end
function real.flush(...)
    local n = select("#", ...)
    if n > 1 then error("attempt to pass " .. n .. " arguments, but accepted 0 or 1", 2) end
    local wait = ...
    if n == 1 and type(wait) ~= "boolean" then
        error("bad argument #1 to 'flush' (boolean expected, got " .. type(wait) .. ")", 2)
    end
    local op = cs:Flush(wait and true or false)
    if not op then return nil, err() end
    local ok, e = await(op)
    if not ok then return nil, e end
    return 1
end
function real.eof()
    local op = cs:Eof()
    if not op then return nil, err() end
    return await(op)
end
-- as ngx_http_lua_ffi_exit: NGX_AGAIN and NGX_DONE are refused; an error status once the header
-- is out can't be sent any more: logged (when it differs), and the request ends as 200
function real.exit(status)
    status = status or 0
    if status == real.AGAIN or status == real.DONE then
        error("bad argument to 'ngx.exit': does not accept NGX_AGAIN or NGX_DONE", 2)
    end
    if type(status) == "number" and status >= 300 and status ~= 408 and status ~= 499 and status ~= 444
        and cs:HeadersSent() then
        local sent = cs:GetStatus()
        if status ~= sent then
            cs:Log(4, "attempt to set status " .. num2str(status) .. " via ngx.exit after sending out the response status " .. num2str(sent))
        end
        status = 200
    end
    cs:Exit(status)
    coroutine.yield(rt.EXIT)
end
-- ngx.on_abort(fn): fn runs as a user thread of the request when the client closes the connection
-- (lua_check_client_abort on); one per request
local on_abort_contexts = { rewrite = true, access = true, content = true }
function real.on_abort(fn)
    rt.check_context(on_abort_contexts, 2)
    if type(fn) ~= "function" then
        error("bad argument #1 to 'on_abort' (function expected, got " .. (fn == nil and "no value" or type(fn)) .. ")", 2)
    end
    local id = cs:OnAbort()
    if type(id) == "string" then return nil, id end
    rt.new(id, fn)
    return 1
end
-- ngx.exec(uri, args?): an internal redirect once the running handler has ended; "@name" is a
-- named location (whose arguments stay as they were)
local exec_contexts = { rewrite = true, server_rewrite = true, access = true, content = true }
function real.exec(...)
    local n = select("#", ...)
    if n ~= 1 and n ~= 2 then error("expecting one or two arguments, but got " .. n, 2) end
    local uri, args = ...
    if type(uri) == "number" then uri = num2str(uri)
    elseif type(uri) ~= "string" then
        error("bad argument #1 to 'exec' (string expected, got " .. (uri == nil and "nil" or type(uri)) .. ")", 2)
    end
    if uri == "" then error("The uri argument is empty", 2) end
    rt.check_context(exec_contexts, 2)
    local user_args
    local t = type(args)
    if t == "string" then user_args = args
    elseif t == "number" then user_args = num2str(args)
    elseif t == "table" then user_args = real.encode_args(args)
    elseif t ~= "nil" then
        error("bad argument #2 to 'exec' (string, number, or table expected, but got " .. t .. ")", 2)
    end
    local e = cs:Exec(uri, user_args)
    if e then error(e, 2) end
    coroutine.yield(rt.EXIT)
end
-- ngx.redirect: Location exactly as given (lua-nginx-module keeps nginx from making it
-- absolute), then the status as ngx.exit sends it
-- ngx_http_lua_check_unsafe_uri_bytes: control bytes but tab, and DEL; the error log shows the
-- URI with control bytes, '"', '\\' and bytes >= 0x80 as \xHH (ngx_http_lua_escape_log)
local function escape_log(s)
    return (s:gsub('[%c"\\\128-\255]', function(c) return string.format("\\x%02X", c:byte()) end))
end
function real.redirect(...)
    local n = select("#", ...)
    if n ~= 1 and n ~= 2 then error("expecting one or two arguments", 2) end
    local uri, status = ...
    if type(uri) == "number" then uri = num2str(uri)
    elseif type(uri) ~= "string" then
        error("bad argument #1 to 'redirect' (string expected, got " .. (uri == nil and "nil" or type(uri)) .. ")", 2)
    end
    if n == 2 then
        status = rt.check_number(status, 2, "redirect", 2)
        status = status < 0 and math.ceil(status) or math.floor(status)
    else
        status = 302
    end
    if status ~= 301 and status ~= 302 and status ~= 303 and status ~= 307 and status ~= 308 then
        error("only ngx.HTTP_MOVED_TEMPORARILY, ngx.HTTP_MOVED_PERMANENTLY, ngx.HTTP_PERMANENT_REDIRECT, "
            .. "ngx.HTTP_SEE_OTHER, and ngx.HTTP_TEMPORARY_REDIRECT are allowed", 2)
    end
    rt.check_context(exec_contexts, 2)
    if cs:HeadersSent() then error("attempt to call ngx.redirect after sending out the headers", 2) end
    local bad = uri:find("[\0-\8\10-\31\127]")
    if bad then
        error(string.format('unsafe byte "0x%02x" in redirect uri "%s"', uri:byte(bad), escape_log(uri)), 2)
    end
    cs:SetRespHeader("Location", uri)
    return real.exit(status)
end
function real.get_phase() return cs:Phase() end
function real.send_headers() cs:SendHeaders() return 1 end

-- Logging ---------------------------------------------------------------------------------

local function log_prefix(level)
    local info = debug.getinfo(level, "Sln")
    if not info then return "[lua] " end
    local src = info.short_src or "?"
    src = src:match("([^/]+)$") or src
    local name = info.name
    if name and info.what ~= "main" then
        return "[lua] " .. src .. ":" .. (info.currentline or 0) .. ": " .. name .. "(): "
    end
    return "[lua] " .. src .. ":" .. (info.currentline or 0) .. ": "
end

-- the message of ngx.log and print, as lua-nginx-module's log_wrapper joins it: strings and numbers,
-- nil/true/false, ngx.null as "null", a table through its __tostring; anything else is a bad argument
-- (numbered from the first message argument, ngx.log's level left out)
local function log_message(what, ...)
    local buf = {}
    for i = 1, select("#", ...) do
        local v = select(i, ...)
        local t = type(v)
        if t == "string" then buf[#buf + 1] = v
        elseif t == "number" then buf[#buf + 1] = num2str(v)
        elseif t == "nil" then buf[#buf + 1] = "nil"
        elseif t == "boolean" then buf[#buf + 1] = v and "true" or "false"
        elseif v == real.null then buf[#buf + 1] = "null"
        elseif t == "table" then
            local mt = getmetatable(v)
            if not (mt and mt.__tostring) then
                error("bad argument #" .. i .. " to '" .. what .. "' (expected table to have __tostring metamethod)", 3)
            end
            buf[#buf + 1] = tostring(v)
        else error("bad argument #" .. i .. " to '" .. what .. "' (string, number, boolean, or nil expected, got " .. t .. ")", 3) end
    end
    return concat(buf)
end

function real.log(level, ...)
    if type(level) ~= "number" then error("bad argument #1 to 'log' (number expected, got " .. type(level) .. ")", 2) end
    if not cs:LogEnabled(level) then return end
    cs:Log(level, log_prefix(3) .. log_message("log", ...))
end

-- print() goes to the error log at NOTICE, as in OpenResty
function print(...)
    if not cs:LogEnabled(6) then return end
    cs:Log(6, log_prefix(3) .. log_message("print", ...))
end

-- Time ------------------------------------------------------------------------------------

function real.now() return cs:Now() end
function real.time() return math.floor(cs:Now()) end
function real.update_time() end
function real.today() return os.date("%Y-%m-%d") end
function real.localtime() return os.date("%Y-%m-%d %H:%M:%S") end
function real.utctime() return os.date("!%Y-%m-%d %H:%M:%S") end
function real.http_time(t) return os.date("!%a, %d %b %Y %H:%M:%S GMT", t) end
function real.cookie_time(t) return os.date("!%a, %d-%b-%y %H:%M:%S GMT", t) end
function real.parse_http_time(s) return cs:ParseHttpTime(s) end
-- lua-nginx-module's names for the contexts an API refuses ("API disabled in the context of ...")
local context_names = {
    init = "init_by_lua*", init_worker = "init_worker_by_lua*", set = "set_by_lua*",
    server_rewrite = "server_rewrite_by_lua*", rewrite = "rewrite_by_lua*", access = "access_by_lua*",
    content = "content_by_lua*", log = "log_by_lua*", header_filter = "header_filter_by_lua*",
    body_filter = "body_filter_by_lua*", timer = "ngx.timer", balancer = "balancer_by_lua*",
    ssl_cert = "ssl_certificate_by_lua*", exit_worker = "exit_worker_by_lua*",
}
local function check_context(allowed, level)
    local phase = cs:Phase()
    if not allowed[phase] then
        error("API disabled in the context of " .. (context_names[phase] or phase), level + 1)
    end
end
rt.check_context = check_context

-- luaL_checknumber: a number or a string that reads as one
local function check_number(v, argn, fname, level)
    local n = type(v) == "number" and v or (type(v) == "string" and tonumber(v))
    if not n then
        error("bad argument #" .. argn .. " to '" .. fname .. "' (number expected, got "
            .. (v == nil and "no value" or type(v)) .. ")", level + 1)
    end
    return n
end
rt.check_number = check_number

local sleep_contexts = { rewrite = true, server_rewrite = true, access = true, content = true, timer = true, ssl_cert = true }
function real.sleep(...)
    local n = select("#", ...)
    if n ~= 1 then error("attempt to pass " .. n .. " arguments, but accepted 1", 2) end
    local delay = check_number((...), 1, "sleep", 2) * 1000
    delay = delay < 0 and math.ceil(delay) or math.floor(delay) -- (ngx_int_t) truncates
    if delay < 0 then error("invalid sleep duration \"" .. delay .. "\"", 2) end
    check_context(sleep_contexts, 2)
    cs:Log(8, "lua ready to sleep for " .. delay .. " ms")
    local me = coroutine.running()
    rt.sleeping[me] = true
    await(cs:Sleep(delay / 1000))
    rt.sleeping[me] = nil
    cs:Log(8, "lua sleep timer expired: \"" .. (cs:GetVar("uri") or "") .. "?" .. (cs:GetVar("args") or "") .. "\"")
end

-- ngx.var and ngx.header ------------------------------------------------------------------

real.var = setmetatable({}, {
    __index = function(_, k) return cs:GetVar(tostring(k)) end,
    __newindex = function(_, k, v)
        if v ~= nil then v = tostring(v) end
        cs:SetVar(tostring(k), v)
    end,
})

local function header_name(k)
    return (tostring(k):gsub("_", "-"))
end

real.header = setmetatable({}, {
    __index = function(_, k)
        local v = cs:GetRespHeader(header_name(k))
        if v == nil then return nil end
        local n = cs:RespHeaderCount(header_name(k))
        if n <= 1 then return v end
        local list = {}
        for i = 1, n do list[i] = cs:RespHeaderAt(header_name(k), i - 1) end
        return list
    end,
    __newindex = function(_, k, v)
        local name = header_name(k)
        if cs:HeadersSent() then
            real.log(real.ERR, "attempt to set ngx.header.", name, " after sending out response headers")
            return
        end
        if type(v) == "table" then
            cs:SetRespHeader(name, nil)
            for _, x in ipairs(v) do cs:AddRespHeader(name, tostring(x)) end
        elseif v == nil then
            cs:SetRespHeader(name, nil)
        else
            cs:SetRespHeader(name, tostring(v))
        end
    end,
})

-- Arguments -------------------------------------------------------------------------------

local function unescape(s)
    s = s:gsub("+", " ")
    return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

-- as ngx_http_lua_unescape_uri: "+" is a space too (the README's "b%20r56+7" -> "b r56 7")
function real.unescape_uri(s)
    if s == nil then return "" end
    return unescape(tostring(s))
end

-- ngx.escape_uri(s, type): lua-nginx-module's escape tables, as 8 words of 32 bits (bit n of
-- word w: byte 32*w+n is escaped). 0 uri, 1 args, 2 uri component (the default), 3 html,
-- 4 refresh, 5 memcached, 6 mail auth (memcached's table).
local escape_maps = {}
do
    local high = { 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff }
    local words = {
        [0] = { 0xffffffff, 0x80000029, 0x00000000, 0x80000000 },
        [1] = { 0xffffffff, 0x80000829, 0x00000000, 0x80000000 },
        [2] = { 0xffffffff, 0xfc00987d, 0x78000001, 0xb8000001 },
        [3] = { 0xffffffff, 0x000000ad, 0x00000000, 0x80000000 },
        [4] = { 0xffffffff, 0x00000085, 0x00000000, 0x80000000 },
        [5] = { 0xffffffff, 0x00000021, 0x00000000, 0x00000000, 0, 0, 0, 0 },
    }
    words[6] = words[5]
    for typ, w in pairs(words) do
        local set = {}
        for byte = 0, 255 do
            local word = w[(byte >> 5) + 1] or high[(byte >> 5) - 3]
            if (word >> (byte & 31)) & 1 == 1 then set[string.char(byte)] = string.format("%%%02X", byte) end
        end
        escape_maps[typ] = set
    end
end
function real.escape_uri(s, typ)
    if type(s) ~= "string" then
        if not s then s = "" else s = tostring(s) end
    end
    if typ == nil then
        typ = 2
    else
        if type(typ) ~= "number" then error('"type" is not a number', 3) end
        if typ < 0 or typ > 6 then error('"type" ' .. num2str(typ) .. " out of range", 3) end
    end
    local map = escape_maps[math.floor(typ)]
    return (s:gsub(".", map))
end


-- As lua-nginx-module's ngx_http_lua_parse_args: pairs end at "&"; a pair with an empty key is
-- dropped but still counts towards max (default 100, 0 = no limit); reaching max at an "&" stops
-- with "truncated", even when nothing follows.
function real.decode_args(str, max)
    if max == nil then max = 100 end
    local args = {}
    if not str or str == "" then return args end
    local count, pos = 0, 1
    local function add(pair)
        local k, v = pair:match("^([^=]*)=(.*)$")
        if k then
            k, v = unescape(k), unescape(v)
        else
            k, v = unescape(pair), true
        end
        if k ~= "" then
            local old = args[k]
            if old == nil then args[k] = v
            elseif type(old) == "table" then old[#old + 1] = v
            else args[k] = { old, v } end
        end
    end
    while true do
        local amp = str:find("&", pos, true)
        if not amp then break end
        add(str:sub(pos, amp - 1))
        pos = amp + 1
        count = count + 1
        if max > 0 and count == max then
            if cs:LogEnabled(8) then cs:Log(8, "lua hit query args limit " .. max) end
            return args, "truncated"
        end
    end
    if pos <= #str then add(str:sub(pos)) end
    return args
end

function real.encode_args(t)
    local keys = {}
    for k in pairs(t) do keys[#keys + 1] = k end
    local out = {}
    for _, k in ipairs(keys) do
        local v = t[k]
        local ek = real.escape_uri(tostring(k))
        if type(v) == "table" then
            for _, x in ipairs(v) do
                if x == true then out[#out + 1] = ek else out[#out + 1] = ek .. "=" .. real.escape_uri(tostring(x)) end
            end
        elseif v == true then out[#out + 1] = ek
        elseif v ~= false and v ~= nil then out[#out + 1] = ek .. "=" .. real.escape_uri(tostring(v)) end
    end
    return concat(out, "&")
end

-- ngx.req ---------------------------------------------------------------------------------

local req = {}
real.req = req

local function headers_table(flat, raw)
    local h = {}
    local i = 1
    while true do
        local name_end = flat:find("\0", i, true)
        if not name_end then break end
        local value_end = flat:find("\0", name_end + 1, true) or (#flat + 1)
        local name = flat:sub(i, name_end - 1)
        local value = flat:sub(name_end + 1, value_end - 1)
        if not raw then name = name:lower() end
        local old = h[name]
        if old == nil then h[name] = value
        elseif type(old) == "table" then old[#old + 1] = value
        else h[name] = { old, value } end
        i = value_end + 1
    end
    if raw then return h end
    return setmetatable(h, {
        __index = function(t, k)
            if type(k) ~= "string" then return nil end
            local n = k:lower():gsub("_", "-")
            if n ~= k then return rawget(t, n) end
        end,
    })
end
rt.headers_table = headers_table

function req.get_headers(max, raw) return headers_table(cs:ReqHeaders() or "", raw) end
function req.get_method() return cs:ReqMethod() end
function req.set_method(m)
    local names = { [2] = "GET", [4] = "HEAD", [8] = "POST", [16] = "PUT", [32] = "DELETE", [64] = "MKCOL",
        [128] = "COPY", [256] = "MOVE", [512] = "OPTIONS", [1024] = "PROPFIND", [2048] = "PROPPATCH",
        [4096] = "LOCK", [8192] = "UNLOCK", [16384] = "PATCH", [32768] = "TRACE" }
    cs:SetReqMethod(names[m] or tostring(m))
end
function req.http_version() return cs:HttpVersion() end
function req.get_uri_args(max) return real.decode_args(cs:GetVar("args"), max or 100) end
function req.set_uri_args(args)
    if type(args) == "table" then args = real.encode_args(args) end
    cs:SetVar("args", args)
end
-- ngx.req.set_uri(uri, jump?, binary?): with jump (rewrite phases only) the handler ends there and
-- the location is looked up again for the new URI, with a fresh ngx.ctx
local jump_contexts = { rewrite = true, server_rewrite = true }
function req.set_uri(...)
    local n = select("#", ...)
    if n < 1 or n > 3 then error("expecting 1, 2 or 3 arguments but seen " .. n, 2) end
    local uri, jump, binary = ...
    if type(uri) == "number" then uri = num2str(uri)
    elseif type(uri) ~= "string" then
        error("bad argument #1 to 'set_uri' (string expected, got " .. (uri == nil and "nil" or type(uri)) .. ")", 2)
    end
    if uri == "" then error("attempt to use zero-length uri", 2) end
    if n >= 3 and type(binary) ~= "boolean" then
        error("bad argument #3 to 'set_uri' (boolean expected, got " .. type(binary) .. ")", 2)
    end
    local bad = not binary and uri:find("[\0-\8\10-\31\127]")
    if bad then
        error(string.format('unsafe byte "0x%02x" in uri "%s" (maybe you want to set the \'binary\' argument?)',
            uri:byte(bad), escape_log(uri)), 2)
    end
    if n >= 2 then
        if type(jump) ~= "boolean" then
            error("bad argument #2 to 'set_uri' (boolean expected, got " .. type(jump) .. ")", 2)
        end
        if jump then rt.check_context(jump_contexts, 2) end
    end
    cs:SetUri(uri, jump == true)
    if jump then coroutine.yield(rt.EXIT) end
end
function req.read_body()
    local op = cs:ReadBody()
    -- the body timed out (client_body_timeout): nginx ends the request there, as ngx.exit(408)
    if op and await(op) then real.exit(408) end
end
function req.discard_body() end
function req.get_body_data() return cs:GetBody() end
function req.get_body_file() return cs:GetBodyFile() end
function req.set_body_data(data) cs:SetBody(data) end
-- the body's data comes from the file (auto_clean removes it here once read)
function req.set_body_file(path, auto_clean)
    if type(path) ~= "string" then error("bad argument #1 to 'set_body_file' (string expected, got " .. type(path) .. ")", 2) end
    if not cs:BodyRead() then error("request body not read yet", 2) end
    local f = io.open(path, "rb")
    if not f then error("open() \"" .. path .. "\" failed", 2) end
    local data = f:read("*a")
    f:close()
    if auto_clean then os.remove(path) end
    cs:SetBody(data)
end
function req.init_body() end
function req.append_body(data) cs:SetBody((cs:GetBody() or "") .. data) end
function req.finish_body() end
function req.get_post_args(...)
    local n = select("#", ...)
    if n > 1 then error("expecting 0 or 1 arguments but seen " .. n, 2) end
    if not cs:BodyRead() then
        error("no request body found; maybe you should turn on lua_need_request_body?", 2)
    end
    if cs:GetBodyFile() then return nil, "request body in temp file not supported" end
    local body = cs:GetBody()
    if not body then return {} end
    return real.decode_args(body, (...) or 100)
end
function req.set_header(name, value)
    if type(value) == "table" then value = value[#value] end
    cs:SetReqHeader(tostring(name), value ~= nil and tostring(value) or nil)
end
function req.clear_header(name) cs:SetReqHeader(tostring(name), nil) end
function req.start_time() return cs:StartTime() end
function req.raw_header(no_request_line) return cs:RawHeader(no_request_line and true or false) end
function req.is_internal() return false end

real.resp = {
    get_headers = function(max, raw) return headers_table(cs:RespHeaders() or "", raw) end,
}

-- Shared dicts ----------------------------------------------------------------------------

local dict_mt = {}
dict_mt.__index = dict_mt
local function check(self) if type(self) ~= "table" or not self.name then error("bad \"zone\" argument", 3) end end
function dict_mt.get(self, key)
    check(self)
    local v = cs:DictGet(self.name, tostring(key), false)
    local flags = cs:DictFlags()
    -- as lua-resty-core: the flags only come back when non-zero (so `say(d:get(k))` prints one value)
    if flags == 0 then return v end
    return v, flags
end
function dict_mt.get_stale(self, key)
    check(self)
    local v = cs:DictGet(self.name, tostring(key), true)
    if v == nil then return nil end
    local flags = cs:DictFlags()
    return v, flags ~= 0 and flags or nil, cs:DictStale()
end
local function store(mode)
    return function(self, key, value, exptime, flags)
        check(self)
        if key == nil then return nil, "nil key" end
        local ok = cs:DictStore(self.name, mode, tostring(key), value, exptime or 0, flags or 0)
        if ok then return true, nil, false end
        return false, err(), false
    end
end
dict_mt.set, dict_mt.safe_set, dict_mt.add, dict_mt.safe_add, dict_mt.replace =
    store("set"), store("set"), store("add"), store("add"), store("replace")
function dict_mt.delete(self, key) check(self) cs:DictDelete(self.name, tostring(key)) end
function dict_mt.incr(self, key, value, init, init_ttl)
    check(self)
    local v = cs:DictIncr(self.name, tostring(key), value or 1, init, init_ttl or 0)
    if v == nil then return nil, err() end
    -- as lua-resty-core: only the value without init; value, nil, forcible with one
    if init == nil then return v end
    return v, nil, false
end
function dict_mt.flush_all(self) check(self) cs:DictFlushAll(self.name) end
function dict_mt.flush_expired(self, max) check(self) return cs:DictFlushExpired(self.name, max or 0) end
function dict_mt.get_keys(self, max)
    check(self)
    local flat = cs:DictKeys(self.name, max or 1024)
    local keys = {}
    for k in flat:gmatch("([^%z]*)%z") do keys[#keys + 1] = k end
    return keys
end
function dict_mt.ttl(self, key)
    local v = cs:DictTtl(self.name, tostring(key))
    if v == nil then return nil, err() end
    return v
end
function dict_mt.expire(self, key, exptime)
    if cs:DictExpire(self.name, tostring(key), exptime or 0) then return true end
    return nil, err()
end
function dict_mt.lpush(self, key, v) local n = cs:DictPush(self.name, tostring(key), v, true) if n == nil then return nil, err() end return n end
function dict_mt.rpush(self, key, v) local n = cs:DictPush(self.name, tostring(key), v, false) if n == nil then return nil, err() end return n end
local function pop(self, key, left)
    local v = cs:DictPop(self.name, tostring(key), left)
    if v ~= nil then return v end
    local e = err()
    if e then return nil, e end
    return nil -- an empty or missing list: one nil, as lua-nginx-module returns
end
function dict_mt.lpop(self, key) return pop(self, key, true) end
function dict_mt.rpop(self, key) return pop(self, key, false) end
function dict_mt.llen(self, key) local n = cs:DictLlen(self.name, tostring(key)) if n == nil then return nil, err() end return n end
function dict_mt.capacity(self) return cs:DictCapacity(self.name) end
function dict_mt.free_space(self) return cs:DictCapacity(self.name) end

local dicts = {}
real.shared = setmetatable({}, {
    __index = function(_, name)
        local d = dicts[name]
        if d then return d end
        if not cs:DictExists(tostring(name)) then return nil end
        d = setmetatable({ name = name }, dict_mt)
        dicts[name] = d
        return d
    end,
})

-- Timers and threads ----------------------------------------------------------------------

local timer_fns = {}
rt.timer_fns = timer_fns
local function add_timer(every, delay, fn, ...)
    if type(fn) ~= "function" then error("bad argument #2 to 'ngx.timer.at' (function expected)", 3) end
    local id = cs:NewTimerId()
    timer_fns[id] = { fn = fn, args = table.pack(...) }
    local e = cs:ScheduleTimer(id, delay or 0, every)
    if e then
        timer_fns[id] = nil
        return nil, e
    end
    return 1 -- a "conditional true", the integer 1, as lua-nginx-module pushes
end
real.timer = {
    at = function(delay, fn, ...) return add_timer(false, delay, fn, ...) end,
    every = function(delay, fn, ...) return add_timer(true, delay, fn, ...) end,
    running_count = function() return cs:TimersRunning() end,
    pending_count = function() return cs:TimersPending() end,
}

-- A user thread is its coroutine, as in lua-nginx-module (coroutine.status works on it); what the
-- scheduler knows of it is kept beside, by coroutine.
local uthreads = setmetatable({}, { __mode = "k" })
rt.uthreads = uthreads
real.thread = {}
local spawn_contexts = { rewrite = true, server_rewrite = true, access = true, content = true, timer = true, ssl_cert = true }
function real.thread.spawn(fn, ...)
    rt.check_context(spawn_contexts, 2)
    local id = cs:NewCo()
    local info = { id = id, parent = coroutine.running() }
    local co = rt.new(id, function(...)
        local r = table.pack(xpcall(fn, debug.traceback, ...))
        info.results = r
        rt.zombies[info.co] = true
        cs:ThreadDone(id)
        if not r[1] then cs:Log(4, "lua user thread aborted: runtime error: " .. tostring(rt.luajit_wording(r[2]))) end
    end)
    info.co = co
    uthreads[co] = info
    -- as lua-nginx-module: the spawner is posted to run again, then the new thread runs until it
    -- first yields; posted threads then run in the order they were posted
    cs:PostCo(rt.current())
    local st, a, b = rt.step(id, ...)
    cs:AfterStep(id, st, a, b)
    -- ngx.exit in the new thread before it first yields ends the request, the spawner too
    if st == "exit" then coroutine.yield(rt.EXIT) end
    await(-1)
    return co
end
function real.thread.wait(...)
    local hs = { ... }
    while true do
        for _, h in ipairs(hs) do
            local info = uthreads[h]
            if info and info.results and not info.reaped then
                info.reaped = true
                rt.zombies[h] = nil
                local r = info.results
                if r[1] then return true, table.unpack(r, 2, r.n) end
                return false, r[2]
            end
        end
        local ids = {}
        for _, h in ipairs(hs) do
            local info = uthreads[h]
            if info and not info.reaped then ids[#ids + 1] = info.id end
        end
        if #ids == 0 then return nil, "already waited or killed" end
        await(cs:ThreadWait(concat(ids, ",")))
    end
end
function real.thread.kill(h)
    local info = uthreads[h]
    if not info then return nil, "not user thread" end
    if info.parent ~= coroutine.running() then return nil, "killer not parent" end
    if info.reaped then return nil, "already waited or killed" end
    info.reaped = true
    if info.results then
        rt.zombies[h] = nil
        return nil, "already terminated"
    end
    if rt.sleeping[h] then cs:Log(8, "lua clean up the timer for pending ngx.sleep") end
    rt.kill(info.id)
    info.results = { false, "killed", n = 2 }
    cs:ThreadDone(info.id)
    cs:ThreadKilled(info.id)
    return 1 -- lua-nginx-module pushes the integer 1, not true
end

-- Sockets ---------------------------------------------------------------------------------

-- A socket object holds no fields of ours, as lua-nginx-module's holds only its own slots: [1] once
-- connected, [2], [4] and [5] the connect, send and read timeouts once set. Our state (the C#
-- connection id, whether it was ever used) lives beside it, keyed weakly by the object.
local sock_state = setmetatable({}, { __mode = "k" })
local function state(self)
    local st = sock_state[self]
    if not st then
        st = {}
        sock_state[self] = st
    end
    return st
end

local sock_mt = {}
sock_mt.__index = sock_mt

local function new_tcp()
    return setmetatable({}, sock_mt)
end

local function timeouts_of(self)
    return self[2] or 60000, self[4] or 60000, self[5] or 60000
end
local function apply_timeouts(self)
    local st = sock_state[self]
    if st and st.id then cs:SockTimeouts(st.id, timeouts_of(self)) end
end
function sock_mt.settimeout(self, ms)
    self[2], self[4], self[5] = ms, ms, ms
    apply_timeouts(self)
end
function sock_mt.settimeouts(self, c, s, r)
    self[2], self[4], self[5] = c, s, r
    apply_timeouts(self)
end
function sock_mt.setoption() return true end
function sock_mt.getoption(self)
    if not (sock_state[self] and sock_state[self].id) then
        error("socket is never created nor connected", 2)
    end
    return nil, "unsupported option"
end
function sock_mt.bind(self, ip)
    if type(ip) ~= "string" then error("bad argument #2 to 'bind' (string expected, got " .. type(ip) .. ")", 2) end
    state(self).bind = ip
    return true
end
function sock_mt.setclientcert() return true end
function sock_mt.getreusedtimes(self)
    local st = sock_state[self]
    if not (st and st.id) then return nil, "closed" end
    return cs:SockReused(st.id)
end
function sock_mt.sslhandshake(self) return true end

-- luaL_argerror as a C function of lua-nginx-module raises it: no position; called as a method
-- (sock:connect(...)) the self argument is not counted; called without a name (through pcall) '?'
local function argerror(info, narg, msg)
    local name = info and info.name
    if info and info.namewhat == "method" then narg = narg - 1 end
    error("bad argument #" .. narg .. " to '" .. (name or "?") .. "' (" .. msg .. ")", 0)
end

-- pool options of connect's table argument (argument narg), checked as lua-nginx-module checks them
local function pool_options(opts, narg, info)
    local key, size = nil, 0
    local pool = opts.pool
    if pool ~= nil then
        local t = type(pool)
        if t == "number" then key = num2str(pool)
        elseif t == "string" then key = pool
        else argerror(info, narg, "bad \"pool\" option type: " .. t) end
    end
    local pool_size = opts.pool_size
    if pool_size ~= nil then
        if type(pool_size) ~= "number" then argerror(info, narg, "bad \"pool_size\" option type: " .. type(pool_size)) end
        pool_size = math.floor(pool_size)
        if pool_size <= 0 then argerror(info, narg, "bad \"pool_size\" option value: " .. pool_size) end
        size = pool_size
    end
    local backlog = opts.backlog
    if backlog ~= nil then
        if type(backlog) ~= "number" then argerror(info, narg, "bad \"backlog\" option type: " .. type(backlog)) end
        backlog = math.floor(backlog)
        if backlog < 0 then argerror(info, narg, "bad \"backlog\" option value: " .. backlog) end
        if size == 0 then size = -1 end -- the pool is created now, of lua_socket_pool_size
    end
    return key, size
end

local function connect(info, self, ...)
    local n = select("#", ...) + 1
    if n < 2 or n > 4 then
        error("ngx.socket connect: expecting 2, 3, or 4 arguments (including the object), but seen " .. n, 0)
    end
    local host, port, opts = ...
    local st = state(self)
    if st.id then cs:SockClose(st.id) st.id = nil end
    if type(host) ~= "string" then argerror(info, 2, "string expected, got " .. type(host)) end
    local key, size
    if host:sub(1, 5) == "unix:" then
        opts = port
        if opts ~= nil and type(opts) ~= "table" then argerror(info, 3, "table expected, got " .. type(opts)) end
        if opts then key, size = pool_options(opts, 3, info) end
        key = key or host
        port = 0
    else
        if port == nil or type(port) == "table" then return nil, "missing the port number" end
        if opts ~= nil and type(opts) ~= "table" then argerror(info, 4, "table expected, got " .. type(opts)) end
        if opts then key, size = pool_options(opts, 4, info) end
        local pnum = tonumber(port)
        if not pnum then argerror(info, 3, "number expected, got " .. type(port)) end
        pnum = math.floor(pnum)
        if pnum < 0 or pnum > 65535 then return nil, "bad port number: " .. pnum end
        port = pnum
        key = key or (host .. ":" .. port)
    end
    st.used = true
    if size == -1 then size = cs:SocketPoolSize() end
    if port ~= 0 then cs:Log(8, "lua tcp socket connect timeout: " .. num2str(self[2] or 60000)) end
    local ok, e = await(cs:SockConnect(host, port, key, size or 0))
    if not ok then return nil, e end
    st.id = ok
    self[1] = self[1] or true
    cs:SockTimeouts(st.id, timeouts_of(self))
    return 1
end
function sock_mt.connect(self, ...) return connect(debug.getinfo(1, "n"), self, ...) end

-- lua-nginx-module logs a use of a closed cosocket (unless lua_socket_log_errors is off), naming
-- its upstream struct and connection (none here once closed), the failure type and eof flag
local function closed(self, what)
    local st = sock_state[self]
    cs:SockClosedLog(what, st and st.used and true or false)
    return nil, "closed"
end
local function id_of(self)
    local st = sock_state[self]
    return st and st.id
end

function sock_mt.send(self, data)
    local id = id_of(self)
    if not id then return closed(self, "send data on") end
    local buf = {}
    flatten(buf, data, "send")
    return await(cs:SockSend(id, concat(buf)))
end
function sock_mt.receive(self, pattern)
    local id = id_of(self)
    if not id then return closed(self, "receive data on") end
    if pattern == nil then pattern = "*l" end
    if type(pattern) == "number" then return await(cs:SockReceive(id, "n", pattern)) end
    if pattern == "*l" or pattern == "l" then return await(cs:SockReceive(id, "l", 0)) end
    if pattern == "*a" or pattern == "a" then return await(cs:SockReceive(id, "a", 0)) end
    error("bad pattern argument: " .. tostring(pattern), 2)
end
function sock_mt.receiveany(self, ...)
    local n = select("#", ...) + 1
    if n ~= 2 then error("expecting 2 arguments (including the object), but got " .. n, 2) end
    local max = ...
    max = tonumber(max)
    if not max or max <= 0 then error("bad argument #2 to '?' (bad max argument)", 2) end
    local id = id_of(self)
    if not id then return closed(self, "receive data on") end
    cs:Log(8, "lua tcp socket calling receiveany() method to read at most " .. math.floor(max) .. " bytes")
    return await(cs:SockReceive(id, "any", max))
end
function sock_mt.receiveuntil(self, pattern, opts)
    local inclusive = opts and opts.inclusive or false
    local reached = false
    return function(size)
        local id = id_of(self)
        if not id then return nil, "closed" end
        -- after a sized read reached the pattern, one nil, nil, nil ends the part
        if reached then
            reached = false
            return nil, nil, nil
        end
        local data, e, partial, at_pattern = await(cs:SockReceiveUntil(id, pattern, inclusive and true or false, size or 0))
        if at_pattern then reached = true end
        return data, e, partial
    end
end
function sock_mt.close(self)
    local st = sock_state[self]
    if not (st and st.id) then return nil, "closed" end
    cs:SockClose(st.id)
    st.id = nil
    return 1
end
function sock_mt.setkeepalive(self, timeout, size)
    local info = debug.getinfo(1, "n")
    local st = sock_state[self]
    if not (st and st.id) then return nil, "closed" end
    if size ~= nil then
        size = tonumber(size)
        if size and size <= 0 then argerror(info, 3, "bad \"pool_size\" option value: " .. math.floor(size)) end
    end
    local e = cs:SockSetKeepalive(st.id, timeout and tonumber(timeout) or -1, size or 0)
    st.id = nil
    if e then return nil, e end
    return 1
end

-- ngx.req.socket(): reads the rest of the request body; only receive* and settimeout*, and
-- only while its own request lasts ("closed" afterwards)
local req_sock_mt = {}
req_sock_mt.__index = req_sock_mt
for _, name in ipairs({ "receive", "receiveany", "receiveuntil", "settimeout", "settimeouts" }) do
    req_sock_mt[name] = function(self, ...)
        local st = sock_state[self]
        if st and st.id and st.owner ~= cs:CurrentRequestId() then
            cs:SockClose(st.id)
            st.id = nil
        end
        return sock_mt[name](self, ...)
    end
end

local function load_re(t)
    local m = require("ngx.re_impl")
    -- the five functions ngx.re has; re_impl's helpers stay reachable through __index only
    for _, n in ipairs({ "find", "gmatch", "gsub", "match", "sub" }) do rawset(t, n, m[n]) end
    return m
end
real.re = setmetatable({}, {
    __index = function(t, k) return load_re(t)[k] end,
    __pairs = function(t) load_re(t) return next, t, nil end,
})
-- ngx.req.socket(true) after a 101: the client's connection itself (see NgxBridge.ReqSocketUpgraded)
function req.socket(raw)
    if raw and cs:ReqSocketSwitched() then
        local id, e = await(cs:ReqSocketUpgraded())
        if not id then return nil, e end
        local sock = new_tcp()
        state(sock).id = id
        sock[1] = true
        return sock
    end
    local id = cs:ReqSocket(raw and true or false)
    if not id then return nil, err() end
    local sock = setmetatable({ true }, req_sock_mt)
    sock_state[sock] = { id = id, owner = cs:CurrentRequestId(), used = true }
    return sock
end

-- ngx.socket.udp: a datagram socket to what listens on the network (a test's mock UDP server);
-- where nothing listens, a datagram sent is lost and a receive hears "connection refused" (the
-- ICMP answer from a loopback port nobody listens on)
local udp_mt = {}
udp_mt.__index = udp_mt
function udp_mt.setpeername(self, host, port)
    if type(host) ~= "string" then error("bad argument #2 to 'setpeername' (string expected, got " .. type(host) .. ")", 2) end
    if host:sub(1, 5) ~= "unix:" then
        local pnum = tonumber(port)
        if not pnum then return nil, "missing the port number" end
        if pnum < 0 or pnum > 65535 then return nil, "bad port number: " .. math.floor(pnum) end
        if not host:match("^[%d.]+$") and not host:find(":", 1, true) then
            if cs:HasResolver() == false then return nil, "no resolver defined to resolve \"" .. host .. "\"" end
            local ok, e = await(cs:Resolve(host))
            if not ok then return nil, e end
        end
    end
    local st = state(self)
    if st.udp then cs:UdpClose(st.udp) end
    st.peer = host
    st.udp = cs:UdpOpen(host, tonumber(port) or 0)
    return 1
end
function udp_mt.settimeout(self, ms) self[2] = ms end
local function udp_closed(what)
    if cs:LogSocketErrors() then
        cs:Log(4, "attempt to " .. what .. " a closed socket: u:0000000000000000, c:0000000000000000")
    end
    return nil, "closed"
end
function udp_mt.send(self, data)
    local st = sock_state[self]
    if not (st and st.peer) then return udp_closed("send data on") end
    local buf = {}
    flatten(buf, data, "send")
    if st.udp then cs:UdpSend(st.udp, concat(buf)) end
    return 1
end
function udp_mt.receive(self, size)
    local st = sock_state[self]
    if not (st and st.peer) then return udp_closed("receive data on") end
    if st.udp then
        -- the socket's read timeout: settimeout's, else lua_socket_read_timeout (60s)
        return await(cs:UdpReceive(st.udp, self[2] or 60000, tonumber(size) or 65536))
    end
    if cs:LogSocketErrors() then cs:Log(4, "recv() failed (111: Connection refused)") end
    return nil, "connection refused"
end
function udp_mt.close(self)
    local st = sock_state[self]
    if not (st and st.peer) then return nil, "closed" end
    if st.udp then cs:UdpClose(st.udp) end
    st.peer, st.udp = nil, nil
    return 1
end

real.socket = {
    tcp = new_tcp,
    stream = new_tcp,
    udp = function() return setmetatable({}, udp_mt) end,
    -- ngx.socket.connect(host, port[, opts]): a new socket, connected
    connect = function(...)
        local sock = new_tcp()
        local ok, e = connect(nil, sock, ...)
        if not ok then return nil, e end
        return sock
    end,
}

-- ngx.ssl (lua-resty-core): what a handshake's Lua hook can ask; the SNI the client sent, or nil
package.preload["ngx.ssl"] = function()
    return {
        server_name = function() return cs:SslServerName() end,
    }
end

-- Misc ------------------------------------------------------------------------------------

real.config = {
    subsystem = "http", debug = false, nginx_version = cs:NginxVersion(), ngx_lua_version = cs:NgxLuaVersion(),
    nginx_configure = function() return "" end,
    prefix = function() return cs:Prefix() end,
}
real.worker = {
    id = function() return cs:WorkerId() end,
    count = function() return cs:WorkerCount() end,
    pid = function() return cs:WorkerPid() end,
    exiting = function() return cs:Exiting() end,
    -- every worker's pid, in worker order
    pids = function()
        local base = cs:WorkerPid() - cs:WorkerId()
        local t = {}
        for i = 0, cs:WorkerCount() - 1 do t[#t + 1] = base + i end
        return t
    end,
}
-- ngx.location.capture: the subrequest runs the location's phases in C# and hands back its
-- status, headers (name, value pairs joined by "\0") and body.
local subrequest_methods = {
    [2] = "GET", [4] = "HEAD", [8] = "POST", [16] = "PUT", [32] = "DELETE", [64] = "MKCOL", [128] = "COPY",
    [256] = "MOVE", [512] = "OPTIONS", [1024] = "PROPFIND", [2048] = "PROPPATCH", [4096] = "LOCK",
    [8192] = "UNLOCK", [16384] = "PATCH", [32768] = "TRACE",
}
local function start_capture(uri, opts, level)
    if type(uri) ~= "string" then error("bad argument #1 to 'capture' (string expected, got " .. type(uri) .. ")", level) end
    local method, args, body = "GET", nil, nil
    if opts ~= nil then
        if type(opts) ~= "table" then error("the 2nd argument is not a table", level) end
        if opts.method ~= nil then
            method = subrequest_methods[opts.method]
            if not method then error("unsupported HTTP method: " .. tostring(opts.method), level) end
        end
        args = opts.args
        if type(args) == "table" then args = real.encode_args(args)
        elseif args ~= nil and type(args) ~= "string" then
            error("Bad args option value", level)
        end
        if opts.body ~= nil then body = tostring(opts.body) end
    end
    local forward = opts ~= nil and opts.always_forward_body and true or false
    local vars_mode, extra_vars
    if opts ~= nil then
        local vars = opts.vars
        if vars ~= nil then
            if type(vars) ~= "table" then error("Bad vars option value", level) end
            local buf = {}
            for k, v in pairs(vars) do
                local tk, tv = type(k), type(v)
                if tk ~= "string" and tk ~= "number" then error("attempt to use a non-string key in the \"vars\" option table", level) end
                if tv ~= "string" and tv ~= "number" then error("attempt to use bad variable value type " .. tv, level) end
                buf[#buf + 1] = tostring(k) .. "\0" .. tostring(v) .. "\0"
            end
            extra_vars = concat(buf)
        end
        for _, name in ipairs({ "share_all_vars", "copy_all_vars" }) do
            local flag = opts[name]
            if flag ~= nil and type(flag) ~= "boolean" then error("Bad " .. name .. " option value", level) end
        end
        if opts.copy_all_vars then vars_mode = "copy" end
        if opts.share_all_vars then vars_mode = "share" end
    end
    local op = cs:Capture(uri, method, args, body, forward, vars_mode, extra_vars)
    if op == -1 then error("failed to issue subrequest: -1", level) end
    if opts ~= nil and opts.ctx ~= nil then
        if type(opts.ctx) ~= "table" then error("Bad ctx option value type " .. type(opts.ctx) .. ", expected a Lua table", level) end
        rt.set_ctx_of(cs:LastSubrequestId(), opts.ctx)
    end
    return op
end
local function capture_result(status, headers, body, truncated)
    local header = {}
    local i = 1
    for name, value in string.gmatch(headers or "", "([^%z]*)%z([^%z]*)%z") do
        local old = header[name]
        if old == nil then header[name] = value
        elseif type(old) == "table" then old[#old + 1] = value
        else header[name] = { old, value } end
        i = i + 1
    end
    return { status = status, header = header, body = body, truncated = truncated and true or false }
end
real.location = {
    capture = function(uri, opts)
        return capture_result(await(start_capture(uri, opts, 3)))
    end,
    capture_multi = function(reqs)
        if type(reqs) ~= "table" then error("only one argument is allowed", 2) end
        local ops = {}
        for i, r in ipairs(reqs) do
            if type(r) ~= "table" then error("the query argument " .. i .. " is not a table, but a " .. type(r), 2) end
            ops[i] = start_capture(r[1], r[2], 3)
        end
        local res = {}
        for i, op in ipairs(ops) do res[i] = capture_result(await(op)) end
        return table.unpack(res, 1, #ops)
    end,
}
real.arg = {}
-- resty.core's string arguments: nil and false are "", anything else not a string goes through tostring
local function str_arg(s)
    if type(s) == "string" then return s end
    if not s then return "" end
    return tostring(s)
end
function real.md5(s) return cs:Md5(str_arg(s)) end
function real.md5_bin(s) return cs:Md5Bin(str_arg(s)) end
function real.sha1_bin(s) return cs:Sha1Bin(str_arg(s)) end
function real.hmac_sha1(k, s) return cs:HmacSha1(tostring(k), tostring(s)) end
function real.crc32_short(s) return cs:Crc32(str_arg(s)) end
real.crc32_long = real.crc32_short
function real.encode_base64(s, no_padding)
    if no_padding and no_padding ~= true then
        error("bad no_padding: boolean expected, got " .. type(no_padding), 2)
    end
    return cs:EncodeBase64(str_arg(s), no_padding and true or false)
end
function real.decode_base64(s)
    if type(s) ~= "string" then error("string argument only", 2) end
    return cs:DecodeBase64(s)
end
-- as ngx_http_lua_ngx_escape_sql_str: NUL, \b, \n, \r, \t, ^Z, backslash and both quotes get a backslash
local sql_escapes = { ["\0"] = "\\0", ["\b"] = "\\b", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t",
    ["\26"] = "\\Z", ["\\"] = "\\\\", ["'"] = "\\'", ['"'] = '\\"' }
function real.quote_sql_str(s)
    if type(s) == "number" then s = num2str(s) elseif type(s) ~= "string" then s = tostring(s) end
    return "'" .. (s:gsub("[\0\b\n\r\t\26\\'\"]", sql_escapes)) .. "'"
end
function real.get_request() return cs:CurrentRequestId() end

-- The rest of what lua-nginx-module 0.10.23 (with lua-resty-core) puts in ngx, so that the table
-- holds the same names: the phase context slot, resty.core's raw phase getter, the thread pool
-- API (no thread_pool is configured here) and ngx.on_abort when nothing better defined it (with
-- lua_check_client_abort off, its only answer).
real._phase_ctx = real._phase_ctx or function() return 0 end
real.get_raw_phase = real.get_raw_phase or function() return cs:Phase() end
real.run_worker_thread = real.run_worker_thread or function(pool)
    return false, "thread pool " .. tostring(pool) .. " not found"
end
if real.on_abort == nil then
    real.on_abort = function() return nil, "lua_check_client_abort is off" end
end

-- ndk.set_var: ngx_devel_kit's bridge to set_* directives; none of those modules is loaded here
ndk = ndk or {
    set_var = setmetatable({}, {
        __index = function(_, name)
            error("ndk.set_var: directive \"" .. tostring(name) .. "\" not found or does not use ndk_set_var_value", 2)
        end,
    }),
}

-- LuaJIT's coroutine library as lua-nginx-module leaves it: the standard six functions, the
-- originals kept under _name and __name, and none of Lua 5.4's additions
do
    local co = coroutine
    for _, name in ipairs({ "create", "resume", "status", "wrap", "yield" }) do
        if co["_" .. name] == nil then co["_" .. name] = co[name] end
        if co["__" .. name] == nil then co["__" .. name] = co[name] end
    end
    co.close, co.isyieldable = nil, nil
end

return ngx
