using System.CommandLine;
using System.CommandLine.Invocation;
using InferenceServer.Core.Serving;

namespace InferenceServer.Cli;

/// <summary><c>--version</c>: the version server metadata (<c>GET /v2</c>) reports, so the two never disagree.</summary>
internal sealed class VersionAction(TextWriter output) : SynchronousCommandLineAction
{
    public override int Invoke(ParseResult parseResult)
    {
        output.WriteLine($"inference-server {new ServerInfo().Version}");
        return 0;
    }
}
