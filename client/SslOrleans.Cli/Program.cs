using SslOrleans.Cli;

return await Sslo.MainAsync(args, Console.Out, Console.Error);
