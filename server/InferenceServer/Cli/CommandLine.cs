using System.Globalization;

namespace InferenceServer.Cli;

/// <summary>
/// The <c>serve</c> verb's flags, spelled as Triton spells them, turned into configuration keys so
/// that command line, environment and <c>config/appsettings.json</c> bind to the same options (the
/// command line wins).
/// </summary>
internal static class CommandLine
{
    private sealed record Flag(string Name, string Key, string Help, bool IsSwitch = false, bool Repeats = false);

    private static readonly Flag[] Flags =
    [
        new("--model-repository", "Server:ModelRepository", "Path of the model repository (default: models)."),
        new("--model-control-mode", "Server:ModelControlMode", "none | poll | explicit (default: none)."),
        new("--load-model", "Server:LoadModels", "With explicit control: a model to load at startup; repeat for several.", Repeats: true),
        new("--repository-poll-secs", "Server:RepositoryPollSeconds", "With poll control: rescan the repository this often, besides file-system events (default: 15; 0: events only)."),
        new("--repository-poll-quiet-ms", "Server:RepositoryPollQuietMilliseconds", "With poll control: a version folder loads once its files are unchanged this long (default: 2000)."),
        new("--repository-poll-marker", "Server:RepositoryPollMarker", "With poll control: load a version folder only once it holds a file of this name (default: none)."),
        new("--model-load-thread-count", "Server:ModelLoadThreadCount", "How many models load at the same time (default: 4)."),
        new("--strict-model-config", "Server:StrictModelConfig", "Refuse models whose config.pbtxt is missing or incomplete (default: false).", IsSwitch: true),
        new("--http-address", "Http:Address", "Address the HTTP/REST endpoint binds (default: 0.0.0.0)."),
        new("--http-port", "Http:Port", "HTTP/REST port (default: 8000; 0 picks a free port)."),
        new("--http-max-body-bytes", "Http:MaxRequestBodyBytes", "Largest request body accepted; larger ones get 413 (default: 268435456)."),
        new("--allow-grpc", "Grpc:Enabled", "Serve gRPC (default: true)."),
        new("--grpc-address", "Grpc:Address", "Address the gRPC endpoint binds (default: the HTTP address)."),
        new("--grpc-port", "Grpc:Port", "gRPC port (default: 8001; 0 picks a free port)."),
        new("--grpc-server-cert", "Grpc:ServerCertificate", "PEM certificate for gRPC over TLS (with --grpc-server-key); cleartext HTTP/2 without."),
        new("--grpc-server-key", "Grpc:ServerKey", "PEM private key for gRPC over TLS."),
        new("--grpc-max-message-bytes", "Grpc:MaxReceiveMessageBytes", "Largest gRPC request message; larger ones get RESOURCE_EXHAUSTED (default: 268435456)."),
        new("--grpc-response-compression", "Grpc:ResponseCompression", "gzip or deflate: compress gRPC responses for clients that accept it (default: none)."),
        new("--metrics-port", "Metrics:Port", "Prometheus metrics port (default: 8002)."),
        new("--log-verbose", "Server:LogVerbose", "Verbose logging level; 0 is off (default: 0)."),
    ];

    /// <summary>Parses the flags after the verb into configuration key/values; throws <see cref="UsageException"/> on bad usage.</summary>
    public static Dictionary<string, string?> Parse(IReadOnlyList<string> args)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        var repeats = new Dictionary<string, int>();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                throw new UsageException($"unexpected argument '{arg}'");
            }
            var equals = arg.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? arg : arg[..equals];
            var flag = Array.Find(Flags, f => f.Name == name) ?? throw new UsageException($"unknown flag '{name}'");
            string value;
            if (equals >= 0)
            {
                value = arg[(equals + 1)..];
            }
            else if (flag.IsSwitch && (i + 1 >= args.Count || !bool.TryParse(args[i + 1], out _)))
            {
                value = "true";
            }
            else if (i + 1 < args.Count)
            {
                value = args[++i];
            }
            else
            {
                throw new UsageException($"flag '{name}' needs a value");
            }

            if (flag.Repeats)
            {
                var n = repeats.GetValueOrDefault(flag.Key);
                repeats[flag.Key] = n + 1;
                settings[$"{flag.Key}:{n.ToString(CultureInfo.InvariantCulture)}"] = value;
            }
            else
            {
                settings[flag.Key] = value;
            }
        }
        return settings;
    }

    /// <summary>The usage text.</summary>
    public static string Usage()
    {
        var text = new System.Text.StringBuilder();
        text.AppendLine("Usage: inference-server serve [flags]");
        text.AppendLine();
        text.AppendLine("Serves the models of a Triton-style model repository over the KServe v2 protocol.");
        text.AppendLine("Every flag can also be set in config/appsettings.json or the environment (e.g. Server__ModelRepository=/models);");
        text.AppendLine("the command line wins.");
        text.AppendLine();
        text.AppendLine("Flags:");
        // The widest flag sets the column, so a long name never runs into its description.
        var width = Flags.Max(f => f.Name.Length) + 2;
        foreach (var flag in Flags)
        {
            text.Append("  ").Append(flag.Name.PadRight(width)).AppendLine(flag.Help);
        }
        return text.ToString();
    }
}
