using Apisix.Core.OpenResty.Conf;
using NLua;

namespace Apisix.Core.OpenResty;

/// <summary>The outcome of one Lua entry thread (a handler, a timer, a user thread).</summary>
public sealed record LuaEntryResult(bool Ok, bool Exited, object?[] Values, string? Error, string? Traceback);

/// <summary>
/// One emulated nginx worker: a Lua state, its event loop, and the scheduler that runs every
/// Lua entry as a coroutine. Blocking ngx APIs start an "op" in C# and yield its id; when the op
/// completes, the loop resumes the coroutine with the op's results. Everything that touches the
/// Lua state runs on the loop's thread.
/// </summary>
public sealed class LuaWorker : IDisposable, IAsyncDisposable
{
    private sealed class CoInfo
    {
        public required long Id { get; init; }
        public NgxRequest? Request { get; init; }
        public TaskCompletionSource<LuaEntryResult>? Completion { get; init; }
        /// <summary>For a user thread: the entry thread it belongs to (nested threads too).</summary>
        public long Entry { get; init; }
        /// <summary>For an entry thread that ended while its user threads run: its result, given when they end.</summary>
        public LuaEntryResult? Pending { get; set; }
        /// <summary>Outside requests (timers): what follows each log line, as lua-nginx-module's timer log handler writes it.</summary>
        public string? LogContext { get; init; }
        /// <summary>ngx.on_abort's handler: created with its entry thread's request, started only when the client goes.</summary>
        public bool Dormant { get; set; }
    }

    private readonly Dictionary<long, CoInfo> _cos = new();
    private readonly Dictionary<long, Task<object?[]>> _ops = new();
    private readonly Dictionary<long, List<TaskCompletionSource<object?[]>>> _threadWaiters = new();
    private readonly Dictionary<string, LuaFunction> _chunks = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private long _nextCo, _nextOp;
    private LuaFunction _step = null!, _rtNew = null!, _timerEntry = null!, _freeRequest = null!, _rtKill = null!;
    private CoInfo? _current;

    public LuaWorker(Nginx nginx, int id)
    {
        Nginx = nginx;
        Id = id;
        Loop = new WorkerLoop($"nginx-worker-{id}", e => nginx.LogInternal(LogLevel.Alert, $"unhandled exception in worker loop: {e}"),
            reactor: nginx.Network is Net.SocketNetwork { UseReactor: true });
        Bridge = new NgxBridge(this);
    }

    public Nginx Nginx { get; }
    public int Id { get; }
    public WorkerLoop Loop { get; }
    public NgxBridge Bridge { get; }
    public Lua Lua { get; private set; } = null!;
    public CancellationToken Stopping => _stop.Token;

    /// <summary>This worker's sleeps and timer delays, expiring in deadline order.</summary>
    public WorkerTimers Timers { get; } = new();
    public bool Exiting => _stop.IsCancellationRequested;

    /// <summary>lua-nginx-module's cache of spent Lua threads, for its debug lines.</summary>
    public LuaThreadCache Threads => _threads ??= new LuaThreadCache(Nginx.Conf.ThreadCacheMaxEntries);
    private LuaThreadCache? _threads;

    /// <summary>The phase outside any request (init, init_worker, timer).</summary>
    public string Phase { get; set; } = "init";
    /// <summary>The number of the fake connection ngx_lua opens for this worker's init_worker_by_lua (its log lines' <c>*N</c>), once logged.</summary>
    internal long? InitWorkerConnection { get; set; }

    /// <summary>The SNI of the TLS handshake whose ssl_certificate_by_lua* runs now (`ngx.ssl.server_name()`).</summary>
    public string? SslServerName { get; set; }

    /// <summary>The request the running coroutine belongs to (null in init and timers).</summary>
    public NgxRequest? CurrentRequest => _current?.Request;
    /// <summary>The log context of the running timer (and its threads), null elsewhere.</summary>
    public string? CurrentLogContext => _current?.LogContext;
    public long? CurrentCoId => _current?.Id;

    /// <summary>Create the Lua state and load the runtime (on the loop).</summary>
    public Task InitAsync() => Loop.RunAsync(() =>
    {
        var lua = new Lua();
        lua.State.Encoding = System.Text.Encoding.Latin1;
        Lua = lua;
        var asm = typeof(LuaWorker).Assembly;
        lua.DoString(LuaModules.ReadResource(asm, "lua/prelude.lua"), "=prelude");
        var rt = (LuaTable)lua.DoString(LuaModules.ReadResource(asm, "lua/rt.lua"), "=rt")[0];
        lua["__rt"] = rt;
        lua["__cs"] = Bridge;
        var ngxChunk = lua.LoadString(LuaModules.ReadResource(asm, "lua/ngx.lua"), "=ngx");
        var ngx = (LuaTable)ngxChunk.Call(Bridge, rt)[0];
        lua["ngx"] = ngx;
        // as in OpenResty, require("ngx") is the ngx table
        lua.DoString("package.loaded.ngx = ngx", "=setup");
        lua.DoString(SetupLua, "=setup");
        _step = (LuaFunction)rt["step"];
        _rtNew = (LuaFunction)rt["new"];
        _rtKill = (LuaFunction)rt["kill"];
        _timerEntry = (LuaFunction)rt["timer_entry"];
        _freeRequest = (LuaFunction)rt["free_request"];
        var path = string.Join(";", Nginx.Modules.PackagePath);
        lua.DoString($"package.path = [[{path}]]; package.cpath = ''", "=setup");
        // the configured path is what Lua sees; the search path stays ours (see LuaModules.VisiblePath)
        if (Nginx.Modules.VisiblePath is { } shown)
            lua.DoString($"__rt.search_path = package.path; package.path = [[{shown}]]", "=setup");
        if (Nginx.Modules.VisibleCpath is { } shownC)
            lua.DoString($"package.cpath = [[{shownC}]]", "=setup");
        return Task.CompletedTask;
    });

    // Lua glue that needs both halves: request ctx tables, timers, and the module searchers.
    private const string SetupLua = """
        local cs, rt = __cs, __rt
        local ctxs = {}
        function rt.request_ctx()
            local id = cs:CurrentRequestId()
            if not id then return {} end
            local c = ctxs[id]
            if not c then c = {} ctxs[id] = c end
            return c
        end
        function rt.set_request_ctx(v)
            local id = cs:CurrentRequestId()
            if id then ctxs[id] = v end
        end
        function rt.set_ctx_of(id, v) ctxs[id] = v end
        function rt.free_request(id)
            -- lua-nginx-module unrefs a request's ngx.ctx table at its cleanup
            if ctxs[id] ~= nil then cs:Log(8, "lua release ngx.ctx at ref " .. tostring(id)) end
            ctxs[id] = nil
        end
        function rt.timer_entry(id, premature, every)
            local t = rt.timer_fns[id]
            if not t then return end
            if not every or premature then rt.timer_fns[id] = nil end
            return t.fn(premature, table.unpack(t.args, 1, t.args.n))
        end
        local function searcher(kind)
            return function(name)
                local src, chunkname = cs:ModuleSource(name, kind)
                if not src then return "\n\tno " .. kind .. " module '" .. name .. "'" end
                local f, err = load(src, chunkname)
                if not f then error("error loading module '" .. name .. "':\n\t" .. err, 0) end
                return f, chunkname
            end
        end
        -- LuaJIT (Lua 5.1) has no _ENV: there it is an ordinary name, and a module's
        -- `local _ENV = nil` (dkjson's "blocking globals in Lua 5.2") changes nothing. On 5.4 it
        -- would cut the module off its globals, so such a file is loaded with the name renamed.
        local function lua51(src)
            if not src:find("_ENV", 1, true) then return src end
            return (src:gsub("%f[%w_]_ENV%f[^%w_]", "_ENV_of_lua51"))
        end
        table.insert(package.searchers, 2, function(name)
            local path = package.searchpath(name, package.path)
            if not path then return nil end
            local fh = io.open(path, "rb")
            if not fh then return nil end
            local src = fh:read("a")
            fh:close()
            if not src or not src:find("_ENV", 1, true) then return nil end
            local f, err = load(lua51(src), "@" .. path)
            if not f then error("error loading module '" .. name .. "' from file '" .. path .. "':\n\t" .. err, 0) end
            return f, path
        end)
        -- files kept in memory (user_files) on package.path, before the disk
        -- with a configured package.path on show, the search goes through our own path, then
        -- the shown one without the default's system directories (OpenResty's libraries are ours)
        local system_dirs = { "^/usr/share/lua/", "^/usr/local/share/lua/", "^/usr/share/luajit" }
        local function search_templates()
            if not rt.search_path then return package.path end
            local t = { rt.search_path }
            for template in package.path:gmatch("[^;]+") do
                local system = false
                for _, d in ipairs(system_dirs) do if template:find(d) then system = true end end
                if not system then t[#t + 1] = template end
            end
            return table.concat(t, ";")
        end
        rt.search_templates = search_templates
        table.insert(package.searchers, 2, function(name)
            local file = name:gsub("%.", "/")
            for template in search_templates():gmatch("[^;]+") do
                local path = template:gsub("%?", file)
                local src = cs:ConfFile(path)
                if src then
                    local f, err = load(lua51(src), "@" .. path)
                    if not f then error("error loading module '" .. name .. "' from file '" .. path .. "':\n\t" .. err, 0) end
                    return f, path
                end
            end
            return nil
        end)
        table.insert(package.searchers, 2, searcher("override"))
        table.insert(package.searchers, searcher("fallback"))
        -- Lua's own file searcher (4th now), on the search templates when a configured path is on show
        do
            local std_lua = package.searchers[4]
            package.searchers[4] = function(name)
                if not rt.search_path then return std_lua(name) end
                local file, err = package.searchpath(name, search_templates())
                if not file then return "\n" .. err end
                local f, e = loadfile(file)
                if not f then error("error loading module '" .. name .. "' from file '" .. file .. "':\n\t" .. e, 0) end
                return f, file
            end
        end
        function __bridge(name) return cs:BridgeObject(name) end
        os.getenv = function(name) return cs:GetEnv(name) end
        -- logs/error.log under the prefix is the in-memory error log, read as a file
        do
            local open, sub, find = io.open, string.sub, string.find
            local function text_file(text)
                local pos = 1
                local f = {}
                function f:read(fmt)
                    fmt = fmt or "l"
                    if type(fmt) == "string" then fmt = fmt:gsub("^%*", "") end
                    if fmt == "a" then
                        local rest = sub(text, pos)
                        pos = #text + 1
                        return rest
                    end
                    if pos > #text then return nil end
                    if type(fmt) == "number" then
                        local s = sub(text, pos, pos + fmt - 1)
                        pos = pos + fmt
                        return s
                    end
                    local e = find(text, "\n", pos, true)
                    local line = sub(text, pos, (e or #text + 1) - 1)
                    pos = (e or #text) + 1
                    return fmt == "L" and line .. "\n" or line
                end
                function f:lines(fmt) return function() return f:read(fmt) end end
                function f:seek(whence, offset)
                    whence, offset = whence or "cur", offset or 0
                    local base = whence == "set" and 0 or whence == "end" and #text or pos - 1
                    pos = base + offset + 1
                    return pos - 1
                end
                function f:close() return true end
                return f
            end
            io.open = function(path, mode)
                if type(path) == "string" and (mode == nil or not find(mode, "[wa+]")) then
                    local text = cs:ErrorLogText(path)
                    if text then return text_file(text) end
                end
                return open(path, mode)
            end
        end
        """;

    /// <summary>Compile a configuration chunk once per worker.</summary>
    /// <exception cref="LuaChunkException">The chunk does not compile, or its file cannot be read.</exception>
    public LuaFunction Chunk(LuaChunk chunk)
    {
        var path = chunk.File is { } file ? (Path.IsPathRooted(file) ? file : Path.Combine(Nginx.Prefix, file)) : null;
        var key = path != null ? "@" + path : chunk.ChunkName;
        if (_chunks.TryGetValue(key, out var f)) return f;
        string code;
        if (path != null)
        {
            try
            {
                code = System.Text.Encoding.Latin1.GetString(Nginx.Conf.Files.TryGetValue(path, out var kept) ? kept : File.ReadAllBytes(path));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // ngx_http_lua_cache_loadfile: a missing file is 404, another open failure 503
                var missing = e is FileNotFoundException or DirectoryNotFoundException;
                var reason = missing ? "No such file or directory" : e is UnauthorizedAccessException ? "Permission denied" : e.Message;
                throw new LuaChunkException($"failed to load external Lua file \"{path}\": cannot open {path}: {reason}") { Status = missing ? 404 : 503 };
            }
            // as Lua's file loader: a first line starting with '#' (#!/usr/bin/lua) is skipped, its line still counted
            if (code.StartsWith('#'))
            {
                var eol = code.IndexOf('\n');
                code = eol < 0 ? "" : code[eol..];
            }
        }
        else code = chunk.Code;
        try { f = Lua.LoadString(code, path != null ? "@" + path : "=" + chunk.ChunkName); }
        catch (NLua.Exceptions.LuaException e)
        {
            throw new LuaChunkException(path != null
                ? $"failed to load external Lua file \"{path}\": {e.Message}"
                : $"failed to load inlined Lua code: {e.Message}", e.Message);
        }
        _chunks[key] = f;
        return f;
    }

    /// <summary>Run a Lua function as a new entry thread (must be called on the loop).</summary>
    public Task<LuaEntryResult> RunEntry(LuaFunction fn, NgxRequest? request, params object?[] args) =>
        RunEntryWith(fn, request, null, args);

    private Task<LuaEntryResult> RunEntryWith(LuaFunction fn, NgxRequest? request, string? logContext, object?[] args)
    {
        var id = ++_nextCo;
        if (request != null) request.LuaEntered = true;
        var tcs = new TaskCompletionSource<LuaEntryResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        _cos[id] = new CoInfo { Id = id, Request = request, Completion = tcs, LogContext = logContext };
        // the coroutine rt.new returns is not kept: its registry reference goes at once (a finalizer
        // would free it only at the next .NET GC, and Lua's memory would grow with each timer run)
        foreach (var o in _rtNew.Call(id, fn)) (o as IDisposable)?.Dispose();
        Step(id, args);
        return tcs.Task;
    }

    /// <summary>A new coroutine id for a user thread spawned by the running coroutine.</summary>
    public long NewThreadCo()
    {
        var id = ++_nextCo;
        var entry = _current is { } cur ? (cur.Entry != 0 ? cur.Entry : cur.Id) : 0;
        _cos[id] = new CoInfo { Id = id, Request = _current?.Request, Entry = entry, LogContext = _current?.LogContext };
        return id;
    }

    public long NewOp(Task<object?[]> task)
    {
        var id = ++_nextOp;
        _ops[id] = task;
        return id;
    }

    private void Step(long id, object?[] args)
    {
        _stepDepth++;
        try { StepCore(id, args); }
        finally
        {
            if (--_stepDepth == 0) RunPostedRequests();
        }
    }

    // nginx's posted requests ------------------------------------------------------------------
    // ngx_http_subrequest only posts a subrequest to its main request; nginx starts posted requests
    // once the handler that created them has returned to the event loop. A Lua handler returns only
    // when every thread it ran has yielded and no thread of the request is posted to run again
    // (ngx.thread.spawn posts its spawner), so subrequests wait for that.

    private readonly Dictionary<NgxRequest, List<TaskCompletionSource>> _postedRequests = new();
    private readonly Dictionary<NgxRequest, int> _postedCos = new();
    private int _stepDepth;

    /// <summary>A subrequest of <paramref name="main"/>'s tree is posted: the task completes when nginx would run it.</summary>
    internal Task PostRequest(NgxRequest main)
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_postedRequests.TryGetValue(main, out var list)) _postedRequests[main] = list = new();
        list.Add(gate);
        if (_stepDepth == 0) RunPostedRequests();
        return gate.Task;
    }

    /// <summary>ngx_http_run_posted_requests: start, in posting order, the subrequests of every request whose Lua handler has returned.</summary>
    private void RunPostedRequests()
    {
        if (_postedRequests.Count == 0) return;
        foreach (var main in _postedRequests.Keys.ToList())
        {
            if (_postedCos.GetValueOrDefault(main) > 0) continue;
            _postedRequests.Remove(main, out var gates);
            foreach (var g in gates!) g.TrySetResult();
        }
    }

    private void StepCore(long id, object?[] args)
    {
        if (!_cos.TryGetValue(id, out var info)) return;
        var prev = _current;
        _current = info;
        object[] res;
        try
        {
            var callArgs = new object?[args.Length + 1];
            callArgs[0] = id;
            Array.Copy(args, 0, callArgs, 1, args.Length);
            res = _step.Call(callArgs);
        }
        catch (Exception e)
        {
            res = ["error", e.Message, ""];
        }
        finally
        {
            _current = prev;
        }
        AfterStep(id, res.Length > 0 ? res[0] as string ?? "dead" : "dead", res.Skip(1).ToArray());
    }

    /// <summary>Act on the result of resuming coroutine `id` (also called from Lua after an inline resume).</summary>
    public void AfterStep(long id, string status, object?[] rest)
    {
        if (!_cos.TryGetValue(id, out var info)) return;
        switch (status)
        {
            case "yield":
                Park(id, rest.Length > 0 ? Convert.ToInt64(rest[0] ?? 0L) : 0);
                break;
            case "done":
                _cos.Remove(id);
                EntryEnded(info, new LuaEntryResult(true, false, rest, null, null), killThreads: false);
                break;
            case "exit":
                _cos.Remove(id);
                // ngx.exit in any thread of a request ends them all
                if (info.Entry != 0 && _cos.TryGetValue(info.Entry, out var entryOfExit))
                {
                    _cos.Remove(info.Entry);
                    _rtKill.Call(info.Entry);
                    EntryEnded(entryOfExit, new LuaEntryResult(true, true, [], null, null), killThreads: true);
                }
                else if (info.Entry != 0 && _pendingEntries.Remove(info.Entry, out var waitingEntry))
                    EntryEnded(waitingEntry, new LuaEntryResult(true, true, [], null, null), killThreads: true);
                else EntryEnded(info, new LuaEntryResult(true, true, [], null, null), killThreads: true);
                break;
            case "error":
                _cos.Remove(id);
                var msg = rest.Length > 0 ? LuaText(rest[0]) : "unknown error";
                var tb = rest.Length > 1 ? rest[1] as string : null;
                if (info.Completion != null)
                    EntryEnded(info, new LuaEntryResult(false, false, [], msg, tb), killThreads: true);
                else
                {
                    Nginx.Log(this, LogLevel.Error, $"lua user thread aborted: runtime error: {msg}\n{tb}", info.Request);
                    EntryEnded(info, null, killThreads: false);
                }
                break;
            default:
                _cos.Remove(id);
                EntryEnded(info, new LuaEntryResult(true, false, [], null, null), killThreads: false);
                break;
        }
    }

    /// <summary>
    /// A coroutine ended. An entry thread's handler completes once its user threads have ended too
    /// (lua-nginx-module waits for them), at once when it exited or failed (they are aborted). A user
    /// thread's end may be the last one its waiting entry thread needed.
    /// </summary>
    private void EntryEnded(CoInfo info, LuaEntryResult? result, bool killThreads)
    {
        if (info.Completion == null)
        {
            if (info.Entry != 0 && _pendingEntries.TryGetValue(info.Entry, out var parked)
                && !_cos.Values.Any(c => c.Entry == info.Entry && !c.Dormant))
            {
                _pendingEntries.Remove(info.Entry);
                DropDormant(info.Entry);
                parked.Completion?.TrySetResult(parked.Pending!);
            }
            return;
        }
        var threads = _cos.Values.Where(c => c.Entry == info.Id && !c.Dormant).ToList();
        if (threads.Count == 0 || result == null) { DropDormant(info.Id); info.Completion.TrySetResult(result!); return; }
        if (killThreads)
        {
            foreach (var t in threads)
            {
                _cos.Remove(t.Id);
                _rtKill.Call(t.Id);
            }
            DropDormant(info.Id);
            info.Completion.TrySetResult(result);
            return;
        }
        info.Pending = result;
        _pendingEntries[info.Id] = info;
    }

    private readonly Dictionary<long, CoInfo> _pendingEntries = new();

    /// <summary>An entry thread is over: the on_abort handler it registered will never run.</summary>
    private void DropDormant(long entry)
    {
        foreach (var c in _cos.Values.Where(c => c.Dormant && c.Entry == entry).ToList())
        {
            _cos.Remove(c.Id);
            _rtKill.Call(c.Id);
        }
    }

    // Client abort ----------------------------------------------------------------------------

    /// <summary>
    /// ngx.on_abort: a coroutine id for the handler of the running entry thread's request; a string
    /// (lua-nginx-module's error) when the request already has one or lua_check_client_abort is off.
    /// </summary>
    public object OnAbort()
    {
        if (_current is not { Request: { } req } cur) return "no request found";
        if (req.OnAbortRegistered) return "duplicate call";
        if (!req.CheckClientAbort) return "lua_check_client_abort is off";
        req.OnAbortRegistered = true;
        var id = ++_nextCo;
        var entry = cur.Entry != 0 ? cur.Entry : cur.Id;
        _cos[id] = new CoInfo { Id = id, Request = req, Entry = entry, Dormant = true };
        return id;
    }

    /// <summary>
    /// The client closed the connection (on the loop). With lua_check_client_abort on and Lua running
    /// for the request in rewrite, access or content (lua-nginx-module watches the connection then),
    /// nginx logs it at info; ngx.on_abort's handler then runs as a user thread, or without one the
    /// request ends at once with 499, its Lua threads aborted (the log phase still runs).
    /// </summary>
    public void ClientAborted(NgxRequest req)
    {
        if (req.Finished || req.AbortHandled || !req.CheckClientAbort || req.Phase is not ("rewrite" or "access" or "content")) return;
        // while the body is read, the read itself fails (ngx.req.socket: "client aborted")
        if (req.BodyReading || req.BodySocket is { Reading: true }) return;
        var entry = _cos.Values.FirstOrDefault(c => c.Request == req && c.Completion != null)
                    ?? _pendingEntries.Values.FirstOrDefault(c => c.Request == req);
        if (entry == null) return;
        req.AbortHandled = true;
        Nginx.Log(this, LogLevel.Info, "client prematurely closed connection", req);
        if (_cos.Values.FirstOrDefault(c => c.Dormant && c.Entry == entry.Id) is { } handler)
        {
            handler.Dormant = false;
            Step(handler.Id, []);
            return;
        }
        req.ExitStatus = 499;
        _cos.Remove(entry.Id);
        _pendingEntries.Remove(entry.Id);
        _rtKill.Call(entry.Id);
        EntryEnded(entry, new LuaEntryResult(true, true, [], null, null), killThreads: true);
    }

    private static string LuaText(object? o) => o switch
    {
        null => "nil",
        string s => s,
        LuaTable => "table",
        double d => Apisix.Core.Json.LuaNumber.ToLuaString(d),
        long l => l.ToString(),
        _ => o.ToString() ?? "",
    };

    /// <summary>Resume coroutine `id` (running now) on a later turn of the loop, after what is already posted; it yields op -1 meanwhile.</summary>
    public void PostCo(long id)
    {
        var main = _cos.TryGetValue(id, out var info) ? info.Request?.Main : null;
        if (main != null) _postedCos[main] = _postedCos.GetValueOrDefault(main) + 1;
        Loop.Post(_ =>
        {
            if (main != null && --_postedCos[main] == 0) _postedCos.Remove(main);
            Step(id, []);
        }, null);
    }

    private async void Park(long coId, long opId)
    {
        if (opId < 0) return; // already posted (PostCurrent)
        object?[] result;
        if (opId == 0 || !_ops.Remove(opId, out var task))
        {
            await Task.Yield();
            result = [];
        }
        else
        {
            try { result = await task; }
            catch (Exception e) { result = [null, e.Message]; }
        }
        if (_stop.IsCancellationRequested) return;
        Step(coId, result);
    }

    // User threads ----------------------------------------------------------------------------

    public void ThreadDone(long id)
    {
        if (_threadWaiters.Remove(id, out var waiters))
            foreach (var w in waiters) w.TrySetResult([true]);
    }

    /// <summary>ngx.thread.kill: the thread no longer counts among its entry thread's live ones.</summary>
    public void ThreadKilled(long id)
    {
        if (_cos.Remove(id, out var info)) EntryEnded(info, null, killThreads: false);
    }

    private readonly Dictionary<long, TaskCompletionSource<object?[]>> _wakeable = new();

    public long WaitOp(double timeoutSeconds)
    {
        var tcs = new TaskCompletionSource<object?[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        var op = NewOp(tcs.Task);
        _wakeable[op] = tcs;
        _ = TimeOutAsync(op, tcs, timeoutSeconds);
        return op;
    }

    private async Task TimeOutAsync(long op, TaskCompletionSource<object?[]> tcs, double seconds)
    {
        try { await Timers.DelayAsync(TimeSpan.FromSeconds(seconds), _stop.Token); }
        catch (OperationCanceledException) { return; }
        _wakeable.Remove(op);
        tcs.TrySetResult([null, "timeout"]);
    }

    public bool WakeOp(long op) => _wakeable.Remove(op, out var tcs) && tcs.TrySetResult([true]);

    public void Defer(LuaFunction fn) => Loop.Post(_ =>
    {
        if (_stop.IsCancellationRequested) return;
        // disposed at once: the function's registry reference would otherwise keep what it holds from Lua's GC
        try { using (fn) fn.Call(); }
        catch (Exception e) { Nginx.Log(this, LogLevel.Error, $"posted handler failed: {e.Message}", null); }
    }, null);

    public long ThreadWait(IEnumerable<long> ids)
    {
        var tcs = new TaskCompletionSource<object?[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        foreach (var id in ids)
        {
            if (!_threadWaiters.TryGetValue(id, out var list)) _threadWaiters[id] = list = new();
            list.Add(tcs);
        }
        return NewOp(tcs.Task);
    }

    // Timers ----------------------------------------------------------------------------------

    private long _nextTimer;
    public int TimersPending { get; private set; }
    public int TimersRunning { get; private set; }

    public long NewTimerId() => ++_nextTimer;

    /// <summary>
    /// A timer of ngx.timer.at / every. As lua-nginx-module: an every-timer is set again as soon as
    /// it expires, before its handler runs (so a slow handler does not delay the next); a timer
    /// expiring while lua_max_running_timers handlers run is dropped with an alert.
    /// </summary>
    public async void ScheduleTimer(long id, double delaySeconds, bool every, string? logContext, LuaThreadCache.Thread thread)
    {
        TimersPending++;
        try { await Timers.DelayAsync(TimeSpan.FromSeconds(Math.Max(0, delaySeconds)), _stop.Token); }
        catch (OperationCanceledException)
        {
            TimersPending--;
            Nginx.ErrorLog.Write(LogLevel.Debug, Nginx.Pid(this), 0, $"lua unref lua thread {thread}", "");
            return;
        }
        TimersPending--;
        Nginx.ErrorLog.Write(LogLevel.Debug, Nginx.Pid(this), 0, "lua ngx.timer expired", "");
        if (every && !_stop.IsCancellationRequested)
        {
            // the next round is a copy of this timer, with a thread of its own
            var next = Threads.Take(out var reused);
            Nginx.ErrorLog.Write(LogLevel.Debug, Nginx.Pid(this), 0, LuaThreadCache.TakenLine(next, reused), "");
            ScheduleTimer(id, delaySeconds, every, logContext, next);
        }
        if (TimersRunning >= Nginx.Conf.MaxRunningTimers)
        {
            Nginx.ErrorLog.Write(LogLevel.Alert, Nginx.Pid(this), 0, $"{Nginx.Conf.MaxRunningTimers} lua_max_running_timers are not enough", "");
            Nginx.ErrorLog.Write(LogLevel.Debug, Nginx.Pid(this), 0, $"lua unref lua thread {thread}", "");
            Nginx.ErrorLog.Write(LogLevel.Debug, Nginx.Pid(this), 0, "http lua close fake http connection", "");
            return;
        }
        TimersRunning++;
        try
        {
            var r = await RunEntryWith(_timerEntry, null, logContext, [id, false, every]);
            // given back as the timer's entry thread ends (after the error line when it failed)
            if (!r.Ok) Nginx.ErrorLog.Write(LogLevel.Error, Nginx.Pid(this), 0,
                $"lua entry thread aborted: runtime error: {r.Error}\n{r.Traceback}", logContext ?? "");
            Nginx.ErrorLog.Write(LogLevel.Debug, Nginx.Pid(this), 0, LuaThreadCache.ReleasedLine(thread, Threads.Release(thread)), "");
        }
        finally { TimersRunning--; }
        Nginx.ErrorLog.Write(LogLevel.Debug, Nginx.Pid(this), 0, "http lua close fake http connection", "");
    }

    /// <summary>
    /// Drop the request's <c>ngx.ctx</c> on the Lua side. Lua keeps an <c>ngx.ctx</c> table only for a
    /// request it ran code for (or a subrequest given one by <c>ngx.location.capture</c>'s
    /// <c>ctx</c>), so a request Lua never saw has nothing to release and no call into Lua.
    /// </summary>
    public void FreeRequest(NgxRequest request)
    {
        if (request.LuaEntered || request.IsSubrequest) _freeRequest.Call(request.Id);
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>Stop timers and sleeps, close sockets and the Lua state on the loop, then end the loop.</summary>
    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        var closing = Loop.RunAsync(() =>
        {
            foreach (var s in Bridge.Sockets.Values) s.Dispose();
            Bridge.Sockets.Clear();
            try { Lua?.DoString("__closing = true", "=close"); } catch (NLua.Exceptions.LuaException) { }
            Lua?.Dispose();
            return Task.CompletedTask;
        });
        await Task.WhenAny(closing, Task.Delay(TimeSpan.FromSeconds(5)));
        await Task.Run(Loop.Dispose);
        Timers.Dispose();
    }
}

/// <summary>A configuration chunk that cannot be loaded; the message is nginx's error-log text.</summary>
public sealed class LuaChunkException(string message, string? luaError = null) : Exception(message)
{
    /// <summary>The status the request ends with when its chunk can't be loaded.</summary>
    public int Status { get; init; } = 500;

    /// <summary>The Lua loader's own message (`chunk:LINE: error`), or the file error.</summary>
    public string LuaError { get; } = luaError ?? message;
}
