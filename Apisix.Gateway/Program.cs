// Twin of bin/apisix (the `start` command): read conf/config.yaml, start serving, stop on SIGTERM/SIGINT.
using Apisix.Gateway;

// the collector's gen0 budget is only read from the environment: set it, then start again (docs/gateway.md, Tuning)
GcBudget.Apply();

var prefix = Directory.GetCurrentDirectory();
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "start": break;
        case "-p" or "--prefix" when i + 1 < args.Length: prefix = Path.GetFullPath(args[++i]); break;
        case "-h" or "--help" or "help":
            Console.WriteLine("usage: Apisix.Gateway [start] [-p PREFIX]   (PREFIX holds conf/config.yaml; default: the current directory)");
            return 0;
        default:
            Console.Error.WriteLine($"unknown argument: {args[i]} (try --help)");
            return 1;
    }
}

// the signals are ours before the host listens: one that comes while it is still starting
// stops it once started (registered after, it could hit a listening host that never stops)
var stop = new TaskCompletionSource();
using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
    System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.TrySetResult(); });
using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(
    System.Runtime.InteropServices.PosixSignal.SIGINT, ctx => { ctx.Cancel = true; stop.TrySetResult(); });

GatewayHost host;
try { host = await GatewayHost.StartAsync(new GatewayOptions { Prefix = prefix }); }
catch (GatewayStartException e)
{
    // as `apisix start` (util.die): the message on stderr, exit code 1, no trace
    Console.Error.WriteLine(e.Message);
    return 1;
}

Console.WriteLine($"APISIX (C# port) listening: {string.Join(", ", host.Endpoints)}");
await stop.Task;
await host.StopAsync();
return 0;
