using InferenceServer.Cli;
using InferenceServer.Hosting;

if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
{
    Console.Out.Write(CommandLine.Usage());
    return args.Length == 0 ? 2 : 0;
}
if (args[0] != "serve")
{
    Console.Error.WriteLine($"inference-server: unknown verb '{args[0]}'");
    Console.Error.Write(CommandLine.Usage());
    return 2;
}
if (args.Contains("--help") || args.Contains("-h"))
{
    Console.Out.Write(CommandLine.Usage());
    return 0;
}

Dictionary<string, string?> settings;
try
{
    settings = CommandLine.Parse(args[1..]);
}
catch (UsageException e)
{
    Console.Error.WriteLine($"inference-server: {e.Message}");
    Console.Error.Write(CommandLine.Usage());
    return 2;
}
return await ServerHost.RunAsync(settings);
