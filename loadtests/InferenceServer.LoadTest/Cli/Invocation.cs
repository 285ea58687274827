namespace InferenceServer.LoadTest.Cli;

/// <summary>A parsed command line: what applies to all runs, and the runs in order.</summary>
internal sealed record Invocation(GlobalOptions Global, IReadOnlyList<RunOptions> Runs);
