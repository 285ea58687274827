using System.CommandLine;
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
        var modes = new RootCommand("The benchmark program's modes outside BenchmarkDotNet; any other arguments go to BenchmarkDotNet.")
        {
            RawThroughput.Create(), RawScoring.Create(), GenerateIncome.Create(),
        };
        if (args.Length > 0 && modes.Subcommands.Any(mode => mode.Name == args[0]))
        {
            var parsed = modes.Parse(args);
            if (parsed.Errors.Count == 0)
            {
                return parsed.Invoke();
            }
            foreach (var error in parsed.Errors)
            {
                Console.Error.WriteLine(error.Message);
            }
            Console.Error.WriteLine($"usage: {args[0]} --help");
            return 2;
        }
        // --inProcess: the short job in this process. BenchmarkDotNet's own flag would add a second, default job beside
        // the short one, and the short job would still rebuild the project and all it references in a fresh folder.
        var inProcess = args.Contains("--inProcess", StringComparer.OrdinalIgnoreCase);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly)
            .Run([.. args.Where(a => !string.Equals(a, "--inProcess", StringComparison.OrdinalIgnoreCase))], ShortMemoryConfig.Create(inProcess));
        return 0;
    }
}
