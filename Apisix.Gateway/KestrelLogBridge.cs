using Apisix.Core.OpenResty;
using Microsoft.Extensions.Logging;
using LogLevel = Apisix.Core.OpenResty.LogLevel;
using MsLogLevel = Microsoft.Extensions.Logging.LogLevel;

namespace Apisix.Gateway;

/// <summary>
/// Requests Kestrel refuses before nginx's code sees them (a malformed request line, a request
/// line over the limit, a body cut short) become the one line nginx writes for them, at nginx's
/// level for client errors (info). Everything else Kestrel says is dropped.
/// </summary>
public sealed class KestrelLogBridge(Nginx nginx) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) =>
        categoryName == "Microsoft.AspNetCore.Server.Kestrel.BadRequests" ? new BadRequests(nginx) : Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    public void Dispose() { }

    private sealed class BadRequests(Nginx nginx) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(MsLogLevel logLevel) => true;

        public void Log<TState>(MsLogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var text = exception?.Message ?? formatter(state, exception);
            var line = text switch
            {
                _ when text.Contains("Request line too long", StringComparison.OrdinalIgnoreCase)
                    => "client sent too long URI while reading client request line",
                _ when text.Contains("headers", StringComparison.OrdinalIgnoreCase) && text.Contains("too", StringComparison.OrdinalIgnoreCase)
                    => "client sent too large request while reading client request headers",
                _ when text.Contains("request line", StringComparison.OrdinalIgnoreCase) || text.Contains("method", StringComparison.OrdinalIgnoreCase)
                    || text.Contains("HTTP version", StringComparison.OrdinalIgnoreCase)
                    => "client sent invalid request while reading client request line",
                _ when text.Contains("header", StringComparison.OrdinalIgnoreCase)
                    => "client sent invalid header line while reading client request headers",
                _ when text.Contains("end of request content", StringComparison.OrdinalIgnoreCase)
                    => null, // the gateway's body reader logs this one
                _ => "client sent invalid request",
            };
            if (line != null) nginx.LogInternal(LogLevel.Info, line);
        }
    }
}
