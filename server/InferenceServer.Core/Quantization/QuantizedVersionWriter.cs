using System.Globalization;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Lifecycle;
using InferenceServer.Core.Models;
using InferenceServer.Core.Repository;
using Microsoft.Extensions.Logging.Abstractions;

namespace InferenceServer.Core.Quantization;

/// <summary>
/// <c>inference-server quantize</c>: makes a quantized variant of a version of a repository's model, checks it with the
/// <see cref="AccuracyGate"/>, and only if it passes writes it as a new version folder.
/// <para>
/// In a Triton repository every version shares the model folder's <c>config.pbtxt</c>, so "consistent with the model"
/// means: the config is not changed, and the variant must fit it as it is, under the same file name, with the same
/// inputs and outputs (names, types, shapes). A variant that does not (fp16 with native FP16 inputs, say) is refused,
/// as it would break every client of the model. What the config's <c>version_policy</c> makes of the new version is
/// reported (hidden by <c>specific</c>, served beside the parent by <c>all</c> or <c>latest</c> &gt; 1).
/// </para>
/// The variant is written in a hidden folder in the model folder (which the repository scanner ignores) and renamed to
/// its number only once it passed: a refused or failed variant leaves nothing behind, and a polling server never sees
/// half a version.
/// </summary>
public static class QuantizedVersionWriter
{
    /// <summary>Runs the job. Throws <see cref="QuantizationException"/> naming what is wrong (no such model, no evaluation rows, a bad file).</summary>
    public static async Task<QuantizeOutcome> RunAsync(QuantizeJob job, IEnumerable<IModelBackend> backends, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var folder = Path.Combine(job.Repository, job.Model);
        if (!Directory.Exists(job.Repository))
        {
            throw new QuantizationException($"model repository '{job.Repository}' does not exist");
        }
        if (!Directory.Exists(folder))
        {
            throw new QuantizationException($"no model '{job.Model}' in '{job.Repository}': expected a folder of that name");
        }
        var directory = ModelRepositoryScanner.ScanModel(Path.GetFullPath(folder));
        var options = new ModelLifecycleOptions();
        var plan = new ModelLoader(backends, options, NullLogger<ModelLoader>.Instance).Plan(directory);
        if (plan.Config is null || plan.Backend is null)
        {
            throw new QuantizationException($"model '{job.Model}' cannot be read: {plan.FailureReason}");
        }
        var (config, backend) = (plan.Config, plan.Backend);
        var quantizer = backend.Quantizer ?? throw new QuantizationException($"model '{job.Model}' runs on backend '{backend.Name}', which does not quantize");
        if (directory.Versions.Count == 0)
        {
            throw new QuantizationException($"model '{job.Model}' has no numeric version folder to quantize");
        }
        var parentVersion = job.Version ?? directory.Versions.Keys.Max();
        if (!directory.Versions.TryGetValue(parentVersion, out var parentFolder))
        {
            throw new QuantizationException($"model '{job.Model}' has no version {parentVersion}; it has {string.Join(", ", directory.Versions.Keys.Order())}");
        }
        var version = job.OutputVersion ?? directory.Versions.Keys.Max() + 1;
        var target = Path.Combine(directory.Path, version.ToString(CultureInfo.InvariantCulture));
        if (Directory.Exists(target) || File.Exists(target))
        {
            throw new QuantizationException($"model '{job.Model}' already has a version {version}; choose another with --output-version");
        }
        var fileName = config.DefaultModelFilename.Length > 0 ? config.DefaultModelFilename : backend.DefaultModelFilename;
        var parentPath = Path.Combine(parentFolder, fileName);
        if (!File.Exists(parentPath))
        {
            throw new QuantizationException($"version {parentVersion} of model '{job.Model}' has no model file '{fileName}'");
        }
        var parent = new InstanceOptions(parentPath, InstanceKind.Cpu, 0, config.StringParameters()) { GraphOptimizationLevel = config.Optimization?.Graph?.Level };

        ModelConfig completed;
        using (var probe = CreateInstance(backend, parent, "the FP32 model"))
        {
            completed = ConfigAutoCompleter.Complete(config, probe.Signature, backend, options.DefaultMaxBatchSize);
            if (ConfigSignatureValidator.FindMismatch(completed, probe.Signature) is { } mismatch)
            {
                throw new QuantizationException($"version {parentVersion} of model '{job.Model}' does not match its config: {mismatch}");
            }
        }

        using var calibration = job.CalibrationFile is { } calibrationFile
            ? await EvaluationSet.ReadFileAsync(calibrationFile, completed, null, cancellationToken: cancellationToken).ConfigureAwait(false)
            : null;
        using var evaluation = job.EvalFile is { } evalFile
            ? await EvaluationSet.ReadFileAsync(evalFile, completed, job.Label, cancellationToken: cancellationToken).ConfigureAwait(false)
            : calibration is not null ? EvaluationSet.FromBatches(calibration.AsRequests(), calibration.Source) : Warmup(completed, directory.Path, options);
        if (evaluation.Batches.Count == 0)
        {
            throw new QuantizationException($"no evaluation rows for model '{job.Model}': give --eval (or --calibration), or add model_warmup samples to its config");
        }
        if (job.Settings.Method == QuantizationMethod.Int8Static && calibration is null && job.EvalFile is null)
        {
            throw new QuantizationException("int8-static needs calibration rows: give --calibration FILE (a CSV or JSONL file of the model's inputs)");
        }

        // A hidden sibling folder: invisible to the scanner until renamed to its number.
        var staging = Path.Combine(directory.Path, $".quantize-{version.ToString(CultureInfo.InvariantCulture)}-{Guid.NewGuid():N}");
        try
        {
            Directory.CreateDirectory(staging);
            var variantPath = Path.Combine(staging, fileName);
            QuantizationReport report;
            try
            {
                report = quantizer.Quantize(parentPath, variantPath, job.Settings, (calibration ?? evaluation).AsRequests(), cancellationToken);
            }
            catch (QuantizationException e)
            {
                // Name the version, which the user may not have chosen: the highest may be a variant already.
                throw new QuantizationException(
                    $"version {parentVersion} of model '{job.Model}'{(job.Version is null ? " (the highest; choose the FP32 one with --version)" : "")}: {e.Message}", e);
            }
            GateResult gate;
            try
            {
                gate = AccuracyGate.Evaluate(backend, parent, variantPath, [.. completed.Output.Select(o => o.Name)], evaluation, job.Limits, cancellationToken);
            }
            catch (BackendException e)
            {
                throw new QuantizationException($"the {QuantizeSettings.MethodName(job.Settings.Method)} variant does not run: {e.Message.Replace(staging, target, StringComparison.Ordinal)}", e);
            }
            using (var variant = CreateInstance(backend, parent with { ModelPath = variantPath }, "the variant"))
            {
                if (ConfigSignatureValidator.FindMismatch(completed, variant.Signature) is { } changed)
                {
                    throw new QuantizationException(
                        $"the variant does not fit model '{job.Model}'s config.pbtxt, which every version shares: {changed}. fp16 keeps FP32 inputs and outputs unless asked otherwise");
                }
            }
            string? written = null;
            if (gate.Passed)
            {
                Directory.Move(staging, target);
                // As the user named it (a relative repository stays relative in the report).
                written = Path.Combine(job.Repository, job.Model, version.ToString(CultureInfo.InvariantCulture));
            }
            return new QuantizeOutcome(job.Model, parentVersion, version, QuantizeSettings.MethodName(job.Settings.Method), report, gate, written,
                PolicyNotes(config, directory, parentVersion, version));
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    private static EvaluationSet Warmup(ModelConfig completed, string modelFolder, ModelLifecycleOptions options)
    {
        try
        {
            return EvaluationSet.FromWarmup(completed, new WarmupSources(modelFolder, options.ModelWarmupMaxBytes, options.RepositoryFollowSymlinks));
        }
        catch (ModelLoadException e)
        {
            throw new QuantizationException($"the model's warm-up samples cannot be used as evaluation rows: {e.Message}", e);
        }
    }

    private static IModelInstance CreateInstance(IModelBackend backend, InstanceOptions options, string what)
    {
        try
        {
            return backend.CreateInstance(options);
        }
        catch (BackendException e)
        {
            throw new QuantizationException($"{what} cannot be loaded: {e.Message}", e);
        }
    }

    // What the version policy will do with the new version once the server sees it.
    private static List<string> PolicyNotes(ModelConfig config, ModelDirectory directory, long parentVersion, long version)
    {
        var notes = new List<string>();
        long[] versions = [.. directory.Versions.Keys, version];
        var selected = config.VersionPolicy.Select(versions);
        if (!selected.Contains(version))
        {
            notes.Add($"the config's version_policy does not select version {version}, so a server will not serve it; add it to version_policy (e.g. specific {{ versions: [{version}] }})");
        }
        else if (selected.Contains(parentVersion))
        {
            notes.Add($"the config's version_policy serves both version {parentVersion} (FP32) and version {version}; a request without a version gets {selected.Max()}");
        }
        else
        {
            notes.Add($"a server serves version {version} in place of version {parentVersion} once it sees the folder (poll mode, or a load request)");
        }
        return notes;
    }
}
