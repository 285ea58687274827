using System.CommandLine;
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

    /// <summary>The mode as a command of the benchmark program.</summary>
    public static Command Create()
    {
        var rows = ModeOptions.Count<long>("--rows", null, 0, "Records to write.");
        var parquet = new Option<string?>("--parquet") { Description = "Parquet file to write.", HelpName = "PATH" };
        var csv = new Option<string?>("--csv") { Description = "CSV file to write.", HelpName = "PATH" };
        var seed = ModeOptions.Seed();
        var rowGroup = ModeOptions.Count("--row-group", IncomeFiles.DefaultRowGroupRows, 1, "Rows per Parquet row group.");
        var shift = new Option<string>("--shift")
        {
            Description = "'significant' draws an older, longer-working, better-educated population.",
            DefaultValueFactory = _ => "none",
        };
        shift.AcceptOnlyFromAmong("none", "significant");
        var command = new Command(Mode, "Writes generated income records to Parquet, CSV or both; the same seed gives the same records in both.")
        {
            rows, parquet, csv, seed, rowGroup, shift,
        };
        command.Validators.Add(result =>
        {
            if (result.GetValue(parquet) is null && result.GetValue(csv) is null)
            {
                result.AddError("name a file to write: --parquet PATH, --csv PATH or both");
            }
        });
        command.SetAction(result => Run(result.GetValue(rows), result.GetValue(parquet), result.GetValue(csv), result.GetValue(seed), result.GetValue(rowGroup),
            result.GetValue(shift) == "significant" ? IncomeShift.Significant : IncomeShift.None));
        return command;
    }

    private static int Run(long rows, string? parquet, string? csv, int seed, int rowGroup, IncomeShift shift)
    {
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
