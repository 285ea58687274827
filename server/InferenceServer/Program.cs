using InferenceServer.Cli;
using InferenceServer.Hosting;

return await CommandLine.RunAsync(args, (settings, _) => ServerHost.RunAsync(settings), Console.Out, Console.Error);
