if (args.Contains("--parse-only"))
{
    // Minimal wiring until the full CLI lands: --parse-only [--root DIR] FILES-OR-DIRS...
    var root = Directory.GetCurrentDirectory();
    var paths = new List<string>();
    for (var i = 0; i < args.Length; i++)
    {
        if (args[i] == "--root" && i + 1 < args.Length) root = args[++i];
        else if (args[i] != "--parse-only") paths.Add(args[i]);
    }
    return Apisix.TestNginx.Parsing.ParseOnlyCommand.Run(root, paths, Console.Out);
}

return 0;
