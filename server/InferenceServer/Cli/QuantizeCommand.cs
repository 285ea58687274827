using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Quantization;
using Spectre.Console;
using static InferenceServer.Cli.CliOptions;

namespace InferenceServer.Cli;

/// <summary>
/// The <c>quantize</c> verb: <c>inference-server quantize --model-repository models --model income --method int8-dynamic</c>
/// makes a quantized variant of a version of the model, compares it with its FP32 parent on an evaluation set (the
/// accuracy gate), and writes it as a new version folder only when no limit is exceeded; with <c>--output-model NAME</c>,
/// as a new model with a config of its own instead, which fp16 with FP16 inputs and outputs (<c>--fp16-io</c>) needs.
/// Exit codes: 0 written, 1 failed, 2 usage error, 3 refused by the gate (nothing written).
/// </summary>
internal static class QuantizeCommand
{
    /// <summary>The exit code when the gate refuses the variant.</summary>
    public const int Refused = 3;

    /// <summary>The verb; <paramref name="backends"/> makes the runtimes a model may run on (ONNX Runtime by default).</summary>
    public static Command Create(TextWriter output, TextWriter error, Func<IEnumerable<IModelBackend>> backends)
    {
        var repository = Text("--model-repository", "DIR", "The model repository the model is in.");
        var model = Text("--model", "NAME", "The model to quantize.");
        var version = Text("--version", "N", "The FP32 version to quantize. [default: the highest version folder]");
        var method = Text("--method", "int8-dynamic|int8-static|fp16", "How: int8 weights with activations quantized at run time; int8 weights and activations calibrated on --calibration (QDQ); or FP16 weights and computation.");
        var calibration = Text("--calibration", "FILE", "Calibration rows for int8-static: a CSV or JSONL file with a column per model input (also the evaluation rows when --eval is not given).");
        var calibrationMethod = Text("--calibration-method", "minmax|percentile", "How int8-static turns activations into ranges. [default: minmax]");
        var percentile = Text("--percentile", "P", "With --calibration-method percentile: the percentile of absolute values kept. [default: 99.99]");
        var eval = Text("--eval", "FILE", "Evaluation rows: a CSV or JSONL file with a column per model input. [default: the calibration rows, else the model's warm-up samples]");
        var label = Text("--label", "COL", "The evaluation file's label column (0/1 or true/false): the gate then reports each model's AUC.");
        var threshold = Text("--threshold", "X", "The decision threshold of an output with one value per row (others decide by argmax). [default: 0.5]");
        var maxAbs = Text("--max-abs-error", "X", "Refuse the variant when any output element differs from the parent's by more than X. [default: no limit]");
        var minAgreement = Text("--min-agreement", "X", "Refuse the variant when parent and variant decide alike on less than this fraction (0..1) of rows. [default: no limit]");
        var maxAucDrop = Text("--max-auc-drop", "X", "Refuse the variant when its AUC is more than X below the parent's (needs --label). [default: no limit]");
        var outputVersion = Text("--output-version", "N", "The version folder to write. [default: the next free number]");
        var outputModel = Text("--output-model", "NAME",
            "Write the variant as a new model NAME in the repository (NAME/1/ and a config.pbtxt: the parent's, renamed, with the variant's types) instead of as a version of --model.");
        var fp16Io = new Option<bool>("--fp16-io")
        {
            Description = "With --method fp16 and --output-model: the variant takes and gives FP16 tensors instead of casting at its edges to keep FP32 inputs and outputs.",
        };
        var perTensor = new Option<bool>("--per-tensor") { Description = "One int8 scale per weight tensor instead of one per output channel." };
        var json = new Option<bool>("--json") { Description = "The result as one JSON object on stdout instead of a table." };

        Check(version, v => Whole(v) is null ? "a version number of at least 1" : null);
        Check(outputVersion, v => Whole(v) is null ? "a version number of at least 1" : null);
        Check(outputModel, v => QuantizedVersionWriter.IsModelFolderName(v) ? null : QuantizedVersionWriter.ModelFolderNameExpected);
        Check(method, v => QuantizeSettings.TryParseMethod(v, out _) ? null : "int8-dynamic, int8-static or fp16");
        Check(calibrationMethod, v => v.ToLowerInvariant() is "minmax" or "percentile" ? null : "minmax or percentile");
        Check(percentile, v => Number(v) is > 0 and <= 100 ? null : "a percentile above 0, at most 100, such as 99.99");
        Check(threshold, v => Number(v) is null ? "a number" : null);
        Check(maxAbs, v => Number(v) is >= 0 ? null : "a number of at least 0");
        Check(minAgreement, v => Number(v) is >= 0 and <= 1 ? null : "a fraction from 0 to 1, such as 0.99");
        Check(maxAucDrop, v => Number(v) is >= 0 and <= 1 ? null : "a number from 0 to 1, such as 0.01");

        var command = new Command("quantize",
            "Makes a quantized variant (int8 or fp16) of a model version, compares it with its FP32 parent on evaluation rows (errors, decision agreement, AUC, "
            + "size, latency), and writes it as a new version folder (or, with --output-model, a new model) only if it is within the limits. "
            + "Exit codes: 0 written, 1 failed, 2 usage error, 3 refused by the gate.")
        {
            repository, model, version, method, calibration, calibrationMethod, percentile, eval, label, threshold, maxAbs, minAgreement, maxAucDrop, outputVersion,
            outputModel, fp16Io, perTensor, json,
        };
        command.Validators.Add(result =>
        {
            foreach (var required in new[] { repository, model, method })
            {
                if (result.GetResult(required) is null)
                {
                    result.AddError($"flag '{required.Name}' is required (see inference-server quantize --help)");
                    return;
                }
            }
            if (result.GetResult(label) is not null && result.GetResult(eval) is null)
            {
                result.AddError("--label names a column of the --eval file; give --eval too");
            }
            if (result.GetResult(maxAucDrop) is not null && result.GetResult(label) is null)
            {
                result.AddError("--max-auc-drop needs labels: give --eval FILE --label COL");
            }
            if (result.GetValue(fp16Io))
            {
                // A variant with FP16 inputs no longer fits the parent's config, which its versions share: it needs a model of its own.
                if (!QuantizeSettings.TryParseMethod(result.GetValue(method) ?? "", out var chosen) || chosen != QuantizationMethod.Fp16)
                {
                    result.AddError("--fp16-io asks for FP16 inputs and outputs, which only --method fp16 makes");
                }
                else if (result.GetResult(outputModel) is null)
                {
                    result.AddError("--fp16-io changes the model's input and output types, which its versions share through config.pbtxt: give --output-model NAME to write a new model");
                }
            }
        });
        command.SetAction(async (result, cancellationToken) =>
        {
            QuantizeSettings.TryParseMethod(result.GetValue(method)!, out var chosen);
            var settings = new QuantizeSettings(chosen)
            {
                Calibration = result.GetValue(calibrationMethod)?.ToLowerInvariant() == "percentile" ? CalibrationMethod.Percentile : CalibrationMethod.MinMax,
                Percentile = Number(result.GetValue(percentile)) ?? 99.99,
                PerChannel = !result.GetValue(perTensor),
                KeepIoFp32 = !result.GetValue(fp16Io),
            };
            var limits = new GateLimits(Number(result.GetValue(maxAbs)), Number(result.GetValue(minAgreement)), Number(result.GetValue(maxAucDrop)))
            {
                Threshold = Number(result.GetValue(threshold)) ?? 0.5,
            };
            var job = new QuantizeJob(result.GetValue(repository)!, result.GetValue(model)!, settings, limits)
            {
                Version = Whole(result.GetValue(version)),
                OutputVersion = Whole(result.GetValue(outputVersion)),
                OutputModel = result.GetValue(outputModel),
                CalibrationFile = result.GetValue(calibration),
                EvalFile = result.GetValue(eval),
                Label = result.GetValue(label),
            };
            QuantizeOutcome outcome;
            try
            {
                outcome = await QuantizedVersionWriter.RunAsync(job, backends(), cancellationToken).ConfigureAwait(false);
            }
            catch (QuantizationException e)
            {
                await error.WriteLineAsync($"inference-server quantize: {e.Message}").ConfigureAwait(false);
                return 1;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await error.WriteLineAsync($"inference-server quantize: {e.Message}").ConfigureAwait(false);
                return 1;
            }
            if (result.GetValue(json))
            {
                await output.WriteLineAsync(Json(outcome)).ConfigureAwait(false);
            }
            else
            {
                Table(outcome, output);
            }
            if (!outcome.Gate.Passed)
            {
                await error.WriteLineAsync($"inference-server quantize: the {outcome.Method} variant of '{outcome.Model}' was {outcome.Gate.Summary()}; no {(outcome.OutputModel is null ? "version" : "model")} folder written")
                    .ConfigureAwait(false);
                return Refused;
            }
            return 0;
        });
        return command;
    }

    private static void Table(QuantizeOutcome outcome, TextWriter output)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        });
        if (!ReferenceEquals(output, Console.Out) || Console.IsOutputRedirected)
        {
            // Not a terminal: no width to wrap at; lines stay whole for whoever reads them.
            console.Profile.Width = 240;
        }
        var gate = outcome.Gate;
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{outcome.Method} variant of '{outcome.Model}' version {outcome.ParentVersion}, compared on {gate.Rows} rows of {gate.Source}; limits: {gate.Limits}"));
        var table = new Table().AddColumns("output", "max abs error", "mean abs error", "decision", "agreement", "AUC fp32", "AUC variant", "AUC drop");
        foreach (var o in gate.Outputs)
        {
            table.AddRow(Markup.Escape(o.Name), F(o.MaxAbsError, "G4"), F(o.MeanAbsError, "G4"), Markup.Escape(o.Decision),
                F(o.Agreement * 100, "F2") + "%", o.ParentAuc is { } p ? F(p, "F4") : "-", o.VariantAuc is { } v ? F(v, "F4") : "-", o.AucDrop is { } d ? F(d, "F4") : "-");
        }
        console.Write(table);
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"size: {gate.VariantBytes:N0} bytes, ×{gate.SizeRatio:F2} of {gate.ParentBytes:N0}; latency: ×{gate.LatencyRatio:F2} ({gate.VariantMilliseconds:F1} ms vs {gate.ParentMilliseconds:F1} ms, same batches, interleaved)"));
        var quantized = string.Join(", ", outcome.Report.QuantizedNodes.Select(n => $"{n.Key} {n.Value.ToString(CultureInfo.InvariantCulture)}"));
        console.WriteLine($"quantized nodes: {(quantized.Length == 0 ? "none" : quantized)}{(outcome.Report.SkippedNodes.Count > 0 ? $"; left in FP32: {outcome.Report.SkippedNodes.Count}" : "")}");
        foreach (var note in outcome.Report.Notes)
        {
            console.WriteLine("quantizer: " + note);
        }
        foreach (var failure in gate.Failures)
        {
            console.WriteLine("FAILED " + failure);
        }
        if (outcome.Written is not null)
        {
            console.WriteLine(outcome.OutputModel is { } name
                ? string.Create(CultureInfo.InvariantCulture, $"wrote model '{name}' version {outcome.Version}: {outcome.Written}")
                : string.Create(CultureInfo.InvariantCulture, $"wrote version {outcome.Version}: {outcome.Written}"));
            foreach (var note in outcome.Notes)
            {
                console.WriteLine("note: " + note);
            }
        }
    }

    private static string Json(QuantizeOutcome outcome)
    {
        using var buffer = new MemoryStream();
        // Relaxed escaping: the output is read by people and scripts, not embedded in HTML.
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            var gate = outcome.Gate;
            writer.WriteStartObject();
            // A null string is written as JSON null: no output model, or nothing written because the gate refused.
            writer.WriteString("model", outcome.Model);
            writer.WriteNumber("parent_version", outcome.ParentVersion);
            writer.WriteNumber("version", outcome.Version);
            writer.WriteString("output_model", outcome.OutputModel);
            writer.WriteString("method", outcome.Method);
            writer.WriteBoolean("passed", gate.Passed);
            writer.WriteString("written", outcome.Written);
            writer.WriteString("source", gate.Source);
            writer.WriteNumber("rows", gate.Rows);
            writer.WriteNumber("parent_bytes", gate.ParentBytes);
            writer.WriteNumber("variant_bytes", gate.VariantBytes);
            writer.WriteNumber("size_ratio", gate.SizeRatio);
            writer.WriteNumber("parent_ms", gate.ParentMilliseconds);
            writer.WriteNumber("variant_ms", gate.VariantMilliseconds);
            writer.WriteNumber("latency_ratio", gate.LatencyRatio);
            writer.WriteStartArray("outputs");
            foreach (var o in gate.Outputs)
            {
                writer.WriteStartObject();
                writer.WriteString("name", o.Name);
                writer.WriteNumber("elements", o.Elements);
                Finite(writer, "max_abs_error", o.MaxAbsError);
                Finite(writer, "mean_abs_error", o.MeanAbsError);
                writer.WriteString("decision", o.Decision);
                writer.WriteNumber("rows", o.Rows);
                writer.WriteNumber("agreement", o.Agreement);
                Optional(writer, "parent_auc", o.ParentAuc);
                Optional(writer, "variant_auc", o.VariantAuc);
                Optional(writer, "auc_drop", o.AucDrop);
                writer.WriteEndObject();
            }
            writer.WriteEndArray();
            writer.WriteStartArray("failures");
            foreach (var failure in gate.Failures)
            {
                writer.WriteStringValue(failure);
            }
            writer.WriteEndArray();
            writer.WriteStartObject("quantized_nodes");
            foreach (var (op, count) in outcome.Report.QuantizedNodes)
            {
                writer.WriteNumber(op, count);
            }
            writer.WriteEndObject();
            writer.WriteStartArray("skipped_nodes");
            foreach (var skipped in outcome.Report.SkippedNodes)
            {
                writer.WriteStringValue(skipped);
            }
            writer.WriteEndArray();
            writer.WriteStartArray("quantizer_notes");
            foreach (var note in outcome.Report.Notes)
            {
                writer.WriteStringValue(note);
            }
            writer.WriteEndArray();
            writer.WriteStartArray("notes");
            foreach (var note in outcome.Notes)
            {
                writer.WriteStringValue(note);
            }
            writer.WriteEndArray();
            writer.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    // JSON has no infinity: an error that is (a NaN in one model only) is written as null.
    private static void Finite(Utf8JsonWriter writer, string name, double value)
    {
        if (double.IsFinite(value))
        {
            writer.WriteNumber(name, value);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private static void Optional(Utf8JsonWriter writer, string name, double? value)
    {
        if (value is { } v)
        {
            Finite(writer, name, v);
        }
        else
        {
            writer.WriteNull(name);
        }
    }

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);

    private static double? Number(string? text) =>
        text is not null && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) ? value : null;

    private static long? Whole(string? text) =>
        text is not null && long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= 1 ? value : null;
}
