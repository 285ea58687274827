using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.InteropServices;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Quantization;

/// <summary>
/// Compares a quantized variant with its FP32 parent before it may serve: creates one instance of each through the
/// backend, runs both on every batch of an evaluation set, and measures per output the absolute errors, how often
/// the two decide alike and, with labels, each one's AUC. Latency is measured side by side: after one warm-up run of
/// each, every batch runs on both, alternating which goes first, so that neither always meets warm caches.
/// The evaluation rows are read for the parent; a variant that takes an input in FP16 where the parent takes FP32 (fp16
/// with FP16 inputs and outputs) is fed those rows rounded to FP16, converted once before any run, and its outputs,
/// whatever their type, are compared as numbers with the parent's.
/// Backend-agnostic: it knows models only through <see cref="IModelBackend.CreateInstance"/>.
/// </summary>
public static class AccuracyGate
{
    /// <summary>
    /// Timed executions of each model at least: a small evaluation set is run this many times round so that the latency
    /// ratio is not one noisy sample.
    /// </summary>
    public const int MinTimedRuns = 20;

    /// <summary>
    /// Runs the gate. <paramref name="parent"/> describes the FP32 instance (its path, kind and parameters); the variant is
    /// the same with <paramref name="variantPath"/>. <paramref name="outputNames"/> are compared (the config's outputs).
    /// Throws <see cref="BackendException"/> when either model cannot be created or run; a variant whose outputs differ in
    /// shape or type fails the gate instead.
    /// </summary>
    public static GateResult Evaluate(IModelBackend backend, InstanceOptions parent, string variantPath, IReadOnlyList<string> outputNames,
        EvaluationSet evaluation, GateLimits limits, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(parent);
        ArgumentNullException.ThrowIfNull(evaluation);
        ArgumentNullException.ThrowIfNull(limits);
        if (evaluation.Batches.Count == 0)
        {
            throw new QuantizationException("the evaluation set holds no rows: the gate has nothing to compare the variant with its parent on");
        }
        using var parentInstance = backend.CreateInstance(parent);
        using var variantInstance = backend.CreateInstance(parent with { ModelPath = variantPath });
        var converted = new List<Tensor>();
        try
        {
            var variantBatches = VariantInputs(variantInstance.Signature, evaluation.Batches, converted);
            return Run(parentInstance, variantInstance, variantBatches, parent.ModelPath, variantPath, outputNames, evaluation, limits, cancellationToken);
        }
        finally
        {
            foreach (var tensor in converted)
            {
                tensor.Dispose();
            }
        }
    }

    private static GateResult Run(IModelInstance parentInstance, IModelInstance variantInstance, IReadOnlyList<Tensor[]> variantBatches, string parentPath,
        string variantPath, IReadOnlyList<string> outputNames, EvaluationSet evaluation, GateLimits limits, CancellationToken cancellationToken)
    {
        var comparisons = outputNames.Select(name => new OutputComparison(name, limits.Threshold)).ToArray();
        var failures = new List<string>();

        // Warm-up: the first run of a session pays for allocations and kernel selection, which is no part of its latency.
        Dispose(parentInstance.Run(evaluation.Batches[0], outputNames));
        Dispose(variantInstance.Run(variantBatches[0], outputNames));

        var parentTicks = new List<long>();
        var variantTicks = new List<long>();
        var rounds = Math.Max(1, (MinTimedRuns + evaluation.Batches.Count - 1) / evaluation.Batches.Count);
        var labels = evaluation.Labels;
        for (var round = 0; round < rounds; round++)
        {
            long row = 0;
            for (var b = 0; b < evaluation.Batches.Count; b++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var batch = evaluation.Batches[b];
                var rows = EvaluationSet.RowsOf(batch);
                Tensor[]? expected = null;
                Tensor[]? actual = null;
                try
                {
                    if ((round + b) % 2 == 0)
                    {
                        expected = Timed(parentInstance, batch, outputNames, parentTicks);
                        actual = Timed(variantInstance, variantBatches[b], outputNames, variantTicks);
                    }
                    else
                    {
                        actual = Timed(variantInstance, variantBatches[b], outputNames, variantTicks);
                        expected = Timed(parentInstance, batch, outputNames, parentTicks);
                    }
                    // Accuracy is the same every round: it is taken from the first.
                    if (round == 0)
                    {
                        var batchLabels = labels is null ? [] : labels.AsSpan((int)row, (int)Math.Min(rows, labels.Length - row));
                        for (var o = 0; o < comparisons.Length; o++)
                        {
                            if (comparisons[o].Add(expected[o], actual[o], batchLabels, labels is not null) is { } problem && !failures.Contains(problem))
                            {
                                failures.Add(problem);
                            }
                        }
                    }
                }
                finally
                {
                    Dispose(expected);
                    Dispose(actual);
                }
                row += rows;
            }
        }

        var outputs = comparisons.Select(c => c.Result()).ToArray();
        foreach (var output in outputs)
        {
            if (limits.MaxAbsError is { } maxAbs && !(output.MaxAbsError <= maxAbs))
            {
                failures.Add(FormattableString.Invariant($"output '{output.Name}': max abs error {output.MaxAbsError:G4} exceeds the max-abs-error limit {maxAbs:G4}"));
            }
            if (limits.MinAgreement is { } minAgreement && output.Agreement < minAgreement)
            {
                failures.Add(FormattableString.Invariant(
                    $"output '{output.Name}': decision agreement {output.Agreement * 100:F2}% ({output.Decision}, {output.Rows} rows) is below the min-agreement limit {minAgreement * 100:F2}%"));
            }
            if (limits.MaxAucDrop is { } maxDrop)
            {
                if (output.AucDrop is { } drop)
                {
                    if (drop > maxDrop)
                    {
                        failures.Add(FormattableString.Invariant(
                            $"output '{output.Name}': AUC fell by {drop:G4} ({output.ParentAuc:F4} to {output.VariantAuc:F4}), more than the max-auc-drop limit {maxDrop:G4}"));
                    }
                }
                else
                {
                    failures.Add($"output '{output.Name}': a max-auc-drop limit is set but no AUC could be measured (the evaluation set needs labels of both classes, and the output one score per row)");
                }
            }
        }
        return new GateResult(outputs, limits, evaluation.Source, evaluation.Rows, FileBytes(parentPath), FileBytes(variantPath),
            TypicalMilliseconds(parentTicks), TypicalMilliseconds(variantTicks), failures);
    }

    // The batches as the variant takes them: the same tensors, but FP32 ones rounded to FP16 where the variant's input is
    // FP16. The new tensors are added to owned, for the caller to release.
    private static IReadOnlyList<Tensor[]> VariantInputs(ModelSignature variant, IReadOnlyList<Tensor[]> batches, List<Tensor> owned)
    {
        var half = new HashSet<string>(StringComparer.Ordinal);
        foreach (var input in variant.Inputs)
        {
            if (input.DataType == DataType.Fp16)
            {
                half.Add(input.Name);
            }
        }
        if (half.Count == 0)
        {
            return batches;
        }
        var result = new Tensor[batches.Count][];
        for (var b = 0; b < batches.Count; b++)
        {
            result[b] = new Tensor[batches[b].Length];
            for (var i = 0; i < batches[b].Length; i++)
            {
                var tensor = batches[b][i];
                if (tensor.DataType != DataType.Fp32 || !half.Contains(tensor.Name))
                {
                    result[b][i] = tensor;
                    continue;
                }
                var values = MemoryMarshal.Cast<byte, float>(tensor.Data);
                var halves = Tensor.Allocate(tensor.Name, DataType.Fp16, tensor.Shape, values.Length * 2);
                owned.Add(halves);
                for (var e = 0; e < values.Length; e++)
                {
                    BinaryPrimitives.WriteHalfLittleEndian(halves.Data[(e * 2)..], (Half)values[e]);
                }
                result[b][i] = halves;
            }
        }
        return result;
    }

    private static Tensor[] Timed(IModelInstance instance, Tensor[] batch, IReadOnlyList<string> outputNames, List<long> runs)
    {
        var started = Stopwatch.GetTimestamp();
        var outputs = instance.Run(batch, outputNames);
        runs.Add(Stopwatch.GetTimestamp() - started);
        return outputs;
    }

    // The time over all timed runs, each counted at the runs' median: a small model's runs take microseconds, so one
    // stall of the machine (a collection, a preempted thread) in a plain sum decided the ratio (×6 and ×0.1 were seen
    // for the same fp16 variant of income).
    private static double TypicalMilliseconds(List<long> runs)
    {
        runs.Sort();
        var median = runs.Count % 2 == 1 ? runs[runs.Count / 2] : (runs[runs.Count / 2 - 1] + runs[runs.Count / 2]) / 2;
        return Stopwatch.GetElapsedTime(0, median * runs.Count).TotalMilliseconds;
    }

    private static long FileBytes(string path) => File.Exists(path) ? new FileInfo(path).Length : 0;

    private static void Dispose(Tensor[]? tensors)
    {
        if (tensors is null)
        {
            return;
        }
        foreach (var tensor in tensors)
        {
            tensor.Dispose();
        }
    }
}
