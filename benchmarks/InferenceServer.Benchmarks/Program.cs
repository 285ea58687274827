using BenchmarkDotNet.Running;
using InferenceServer.Benchmarks.Raw;
using InferenceServer.Benchmarks.Scoring;

namespace InferenceServer.Benchmarks;

/// <summary>
/// Entry point: <c>dotnet run -c Release --project benchmarks/InferenceServer.Benchmarks -- --filter '*'</c>
/// for the BenchmarkDotNet suite, or <c>-- raw-throughput --model PATH ...</c> for the in-process
/// model throughput loop (see <see cref="RawThroughput"/>), <c>-- raw-scoring ...</c> for batch scoring's raw ONNX
/// Runtime limit (<see cref="RawScoring"/>), <c>-- generate-income ...</c> for generated income files
/// (<see cref="GenerateIncome"/>).
/// </summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == RawThroughput.Mode)
        {
            return RawThroughput.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == RawScoring.Mode)
        {
            return RawScoring.Run(args[1..]);
        }
        if (args.Length > 0 && args[0] == GenerateIncome.Mode)
        {
            return GenerateIncome.Run(args[1..]);
        }
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, ShortMemoryConfig.Create());
        return 0;
    }
}
