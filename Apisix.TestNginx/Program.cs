return await Apisix.TestNginx.Runner.RunCommand.MainAsync(args, Console.Out, Console.Error);
