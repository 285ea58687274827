using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using InferenceServer.Core.Features;
using InferenceServer.Tests.Common.IncomeData;
using Microsoft.ML.OnnxRuntime;

namespace InferenceServer.Benchmarks.Scoring;

/// <summary>
/// The <c>raw-scoring</c> mode: the limit batch scoring is measured against. Generated income records are encoded once,
/// up front, by income's own feature view into one array of [rows, 58] floats; then the model runs over them batch after
/// batch on one thread (or <c>--callers</c> threads at once) with ONNX Runtime's <see cref="InferenceSession"/> called directly: each batch's input an
/// <see cref="OrtValue"/> over its slice of that array and its output one over a reused array, so nothing is read,
/// parsed, copied or written. Session options are ONNX Runtime's defaults (as the server's with no parameters in
/// config.pbtxt) unless <c>--intra-op</c> is given. Rows/s counts rows scored, cycling over the encoded rows until the
/// time is up.
/// </summary>
internal static class RawScoring
{
    public const string Mode = "raw-scoring";

    /// <summary>The mode as a command of the benchmark program.</summary>
    public static Command Create()
    {
        var model = ModeOptions.Path("--model", "FOLDER", "Income's model folder (config.pbtxt, features.pbtxt, <version>/model.onnx).");
        var rows = ModeOptions.Count("--rows", 1_000_000, 1, "Generated records, encoded once and scored in a cycle (at most 30,000,000: they are encoded into one array).");
        var batch = ModeOptions.Count("--batch", 4096, 1, "Rows per run.");
        var seconds = ModeOptions.Seconds(10, "Measured time.");
        var seed = ModeOptions.Seed();
        var intraOp = ModeOptions.OptionalCount("--intra-op", 1, "ONNX Runtime's intra-op threads; default: its own choice.");
        var callers = ModeOptions.Count("--callers", 1, 1, "Threads calling Run at once on the one session.");
        var command = new Command(Mode, "Batch scoring's limit: income's model run over pre-encoded records, nothing read or written.")
        {
            model, rows, batch, seconds, seed, intraOp, callers,
        };
        command.Validators.Add(result =>
        {
            // The encoded rows live in one array: 58 floats a row keeps 30 million of them under its 2^31 elements.
            if (result.GetValue(rows) > 30_000_000)
            {
                result.AddError("--rows is more than 30000000 (the records are encoded into one array)");
            }
            if (result.GetValue(batch) > result.GetValue(rows))
            {
                result.AddError("--batch is more than --rows");
            }
        });
        command.SetAction(result => Run(new Options(result.GetValue(model)!, result.GetValue(rows), result.GetValue(batch), result.GetValue(seconds),
            result.GetValue(seed), result.GetValue(intraOp), result.GetValue(callers))));
        return command;
    }

    private static int Run(Options options)
    {
        var folder = Path.GetFullPath(options.Model);
        var view = FeatureViewReader.Parse(File.ReadAllText(Path.Combine(folder, FeatureView.FileName)), Path.GetFileName(folder));
        var encoded = Encode(view, options.Rows, options.Seed, out var width);
        var modelFile = Directory.GetDirectories(folder)
            .Where(d => long.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out _))
            .OrderBy(d => long.Parse(Path.GetFileName(d), CultureInfo.InvariantCulture))
            .Select(d => Path.Combine(d, "model.onnx"))
            .LastOrDefault(File.Exists) ?? throw new FileNotFoundException($"no <version>/model.onnx in {folder}");

        using var sessionOptions = new SessionOptions();
        if (options.IntraOp is { } intra)
        {
            sessionOptions.IntraOpNumThreads = intra;
        }
        using var session = new InferenceSession(modelFile, sessionOptions);
        var inputName = session.InputNames[0];
        var outputName = session.OutputNames[0];
        var outputWidth = (int)session.OutputMetadata[outputName].Dimensions[^1];
        using var runOptions = new RunOptions();
        var batch = options.Batch;
        var callers = options.Callers;
        var outputs = new float[callers][];
        for (var c = 0; c < callers; c++)
        {
            outputs[c] = new float[batch * outputWidth];
        }
        var handle = GCHandle.Alloc(encoded, GCHandleType.Pinned);
        try
        {
            var rows = options.Rows;
            // Whole batches only, so every run has the same shape (a ragged last batch would be a second plan).
            var batches = Math.Max(1, rows / batch);
            var outputValues = new OrtValue[callers];
            for (var c = 0; c < callers; c++)
            {
                outputValues[c] = OrtValue.CreateTensorValueFromMemory(outputs[c], [batch, outputWidth]);
            }
            var inputs = new OrtValue[batches];
            for (var b = 0; b < batches; b++)
            {
                inputs[b] = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance,
                    encoded.AsMemory(b * batch * width, batch * width), [batch, width]);
            }
            try
            {
                string[] inputNames = [inputName];
                string[] outputNames = [outputName];
                for (var w = 0; w < Math.Min(batches, 3); w++)
                {
                    session.Run(runOptions, inputNames, [inputs[w]], outputNames, [outputValues[0]]);
                }
                Check(outputs[0]);

                // Each caller runs batch after batch on its own thread, on the one session (Run is thread-safe), as a
                // pipeline with several batches in flight would; one caller is the plain loop.
                long scored = 0;
                var limit = TimeSpan.FromSeconds(options.Seconds);
                var started = Stopwatch.GetTimestamp();
                var threads = new Thread[callers];
                for (var c = 0; c < callers; c++)
                {
                    var caller = c;
                    threads[c] = new Thread(() =>
                    {
                        var one = new OrtValue[1];
                        OrtValue[] mine = [outputValues[caller]];
                        var next = caller % batches;
                        long done = 0;
                        do
                        {
                            one[0] = inputs[next];
                            session.Run(runOptions, inputNames, one, outputNames, mine);
                            done += batch;
                            next = next + 1 == batches ? 0 : next + 1;
                        }
                        while (Stopwatch.GetElapsedTime(started) < limit);
                        Interlocked.Add(ref scored, done);
                    });
                    threads[c].Start();
                }
                foreach (var thread in threads)
                {
                    thread.Join();
                }
                var elapsed = Stopwatch.GetElapsedTime(started);

                // One line in a fixed format; benchmarks/scoring.sh reads it.
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"RAW_SCORING batch={batch} callers={callers} intra_op={(options.IntraOp is { } intraOp ? intraOp.ToString(CultureInfo.InvariantCulture) : "default")} rows={scored} seconds={elapsed.TotalSeconds:F2} rows_per_s={scored / elapsed.TotalSeconds:F0} encoded_rows={(long)batches * batch}"));
            }
            finally
            {
                foreach (var input in inputs)
                {
                    input.Dispose();
                }
                foreach (var value in outputValues)
                {
                    value.Dispose();
                }
            }
        }
        finally
        {
            handle.Free();
        }
        return 0;
    }

    /// <summary>The generated records through the view, block by block, into one [rows, width] array.</summary>
    private static float[] Encode(FeatureView view, int rows, int seed, out int width)
    {
        var generator = new IncomeRecordGenerator(seed);
        var block = new IncomeColumns(Math.Min(rows, 8192));
        var numbers = IncomeRecordGenerator.NumericFields.Select(f => Field(view, f)).ToArray();
        var texts = IncomeRecordGenerator.TextFields.Select(f => Field(view, f)).ToArray();
        float[]? encoded = null;
        width = 0;
        var now = DateTimeOffset.UtcNow;
        for (var done = 0; done < rows; done += block.Count)
        {
            generator.Fill(block, Math.Min(block.Capacity, rows - done));
            using var featureRows = view.RentRows(block.Count);
            for (var i = 0; i < block.Count; i++)
            {
                featureRows.SetNumber(i, numbers[0], block.Age[i]);
                featureRows.SetNumber(i, numbers[1], block.EducationNum[i]);
                featureRows.SetNumber(i, numbers[2], block.HoursPerWeek[i]);
                featureRows.SetNumber(i, numbers[3], block.CapitalGain[i]);
                featureRows.SetNumber(i, numbers[4], block.CapitalLoss[i]);
                featureRows.SetText(i, texts[0], block.Workclass[i]);
                featureRows.SetText(i, texts[1], block.Education[i]);
                featureRows.SetText(i, texts[2], block.MaritalStatus[i]);
                featureRows.SetText(i, texts[3], block.Occupation[i]);
                featureRows.SetText(i, texts[4], block.Relationship[i]);
                featureRows.SetText(i, texts[5], block.Sex[i]);
            }
            var tensors = view.Transform(featureRows, now);
            try
            {
                var tensor = tensors[0];
                var values = MemoryMarshal.Cast<byte, float>(tensor.Data);
                if (encoded is null)
                {
                    width = values.Length / block.Count;
                    encoded = new float[(long)rows * width];
                }
                values.CopyTo(encoded.AsSpan(done * width));
            }
            finally
            {
                foreach (var tensor in tensors)
                {
                    tensor.Dispose();
                }
            }
        }
        return encoded ?? throw new ArgumentException("--rows must be above 0");
    }

    private static int Field(FeatureView view, string name) =>
        view.TryGetField(name, out var index) ? index : throw new InvalidOperationException($"the view '{view.Name}' has no field '{name}'");

    private static void Check(float[] output)
    {
        foreach (var value in output)
        {
            if (value is not (>= 0 and <= 1))
            {
                throw new InvalidOperationException($"the model gave {value}, not a probability");
            }
        }
    }

    private sealed record Options(string Model, int Rows, int Batch, double Seconds, int Seed, int? IntraOp, int Callers);
}
