using System.Diagnostics;
using System.Globalization;
using InferenceServer.Tests.Common.IncomeData;

namespace InferenceServer.Benchmarks.Scoring;

/// <summary>
/// The <c>generate-income</c> mode: writes generated income records (the tests' generator,
/// tests/InferenceServer.Tests.Common/IncomeData) to a Parquet file, a CSV file, or both, and says how fast. The same
/// seed gives the same records in both files.
/// </summary>
internal static class GenerateIncome
{
    public const string Mode = "generate-income";

    private const string Usage =
        "usage: generate-income --rows N [--parquet PATH] [--csv PATH] [--seed 1] [--row-group 1000000] [--shift none|significant]\n" +
        "  at least one of --parquet and --csv; --shift significant draws an older, longer-working, better-educated population.";

    public static int Run(string[] args)
    {
        long rows = -1;
        string? parquet = null;
        string? csv = null;
        var seed = 1;
        var rowGroup = IncomeFiles.DefaultRowGroupRows;
        var shift = IncomeShift.None;
        try
        {
            for (var i = 0; i < args.Length; i++)
            {
                var name = args[i];
                if (i + 1 >= args.Length)
                {
                    throw new ArgumentException($"{name} needs a value");
                }
                var value = args[++i];
                switch (name)
                {
                    case "--rows":
                        rows = long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var r) ? r : throw new ArgumentException($"--rows takes a whole number, 0 or more, not '{value}'");
                        break;
                    case "--parquet":
                        parquet = value;
                        break;
                    case "--csv":
                        csv = value;
                        break;
                    case "--seed":
                        seed = int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var s) ? s : throw new ArgumentException($"--seed takes a whole number, not '{value}'");
                        break;
                    case "--row-group":
                        rowGroup = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var g) && g > 0 ? g : throw new ArgumentException($"--row-group takes a whole number above 0, not '{value}'");
                        break;
                    case "--shift":
                        shift = value switch
                        {
                            "none" => IncomeShift.None,
                            "significant" => IncomeShift.Significant,
                            _ => throw new ArgumentException($"--shift: '{value}' is not known; expected none or significant"),
                        };
                        break;
                    default:
                        throw new ArgumentException($"unknown option '{name}'");
                }
            }
            if (rows < 0)
            {
                throw new ArgumentException("--rows is required");
            }
            if (parquet is null && csv is null)
            {
                throw new ArgumentException("name a file to write: --parquet PATH, --csv PATH or both");
            }
        }
        catch (ArgumentException e)
        {
            Console.Error.WriteLine(e.Message);
            Console.Error.WriteLine(Usage);
            return 2;
        }

        if (parquet is not null)
        {
            var started = Stopwatch.GetTimestamp();
            IncomeFiles.WriteParquetAsync(parquet, rows, seed, shift, rowGroup).GetAwaiter().GetResult();
            Report(parquet, rows, Stopwatch.GetElapsedTime(started));
        }
        if (csv is not null)
        {
            var started = Stopwatch.GetTimestamp();
            IncomeFiles.WriteCsv(csv, rows, seed, shift);
            Report(csv, rows, Stopwatch.GetElapsedTime(started));
        }
        return 0;
    }

    private static void Report(string path, long rows, TimeSpan took) =>
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {rows} rows to {path} ({new FileInfo(path).Length / 1e6:F1} MB) in {took.TotalSeconds:F1} s ({rows / Math.Max(took.TotalSeconds, 1e-9):F0} rows/s)"));
}
