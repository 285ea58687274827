using BenchmarkDotNet.Running;

namespace InferenceServer.Benchmarks;

/// <summary>Entry point: <c>dotnet run -c Release --project benchmarks/InferenceServer.Benchmarks -- --filter '*'</c>.</summary>
internal static class Program
{
    private static void Main(string[] args) =>
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, ShortMemoryConfig.Create());
}
