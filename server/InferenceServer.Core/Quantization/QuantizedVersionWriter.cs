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
/// <para>
/// A variant that should not share the parent's config (fp16 with native FP16 inputs and outputs, or any variant
/// served under a name of its own) is written as a new model instead, with <see cref="QuantizeJob.OutputModel"/>:
/// <c>&lt;repository&gt;/NAME/1/&lt;file&gt;</c> and a <c>config.pbtxt</c> made by <see cref="QuantizedModelConfig"/>
/// (the parent's, renamed, with the variant's types), checked against the variant like any version's. The gate is the
/// same; it feeds each model the input types it takes.
/// </para>
/// The variant is written in a hidden folder (in the model folder for a version, in the repository for a model; the
/// repository scanner ignores both) and renamed to its number or name only once it passed: a refused or failed variant
/// leaves nothing behind, and a polling server never sees half a version or half a model.
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
        var newModel = job.OutputModel;
        var version = job.OutputVersion ?? (newModel is null ? directory.Versions.Keys.Max() + 1 : 1);
        var versionName = version.ToString(CultureInfo.InvariantCulture);
        string target;
        if (newModel is null)
        {
            target = Path.Combine(directory.Path, versionName);
            if (Directory.Exists(target) || File.Exists(target))
            {
                throw new QuantizationException($"model '{job.Model}' already has a version {version}; choose another with --output-version");
            }
        }
        else
        {
            if (!IsModelFolderName(newModel))
            {
                throw new QuantizationException($"output model '{newModel}' is not valid; expected {ModelFolderNameExpected}");
            }
            target = Path.Combine(Path.GetDirectoryName(directory.Path)!, newModel);
            if (Directory.Exists(target) || File.Exists(target))
            {
                throw new QuantizationException($"model repository '{job.Repository}' already has a model '{newModel}'; choose another name with --output-model (nothing is overwritten)");
            }
        }
        if (job.Settings is { Method: not QuantizationMethod.Fp16, KeepIoFp32: false } || (!job.Settings.KeepIoFp32 && newModel is null))
        {
            throw new QuantizationException("FP16 inputs and outputs are made only by fp16 written as a new model (--method fp16 --output-model NAME)");
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

        // A hidden sibling folder: invisible to the scanner until renamed to its number (or, for a new model, its name).
        var staging = newModel is null
            ? Path.Combine(directory.Path, $".quantize-{versionName}-{Guid.NewGuid():N}")
            : Path.Combine(Path.GetDirectoryName(directory.Path)!, $".quantize-{newModel}-{Guid.NewGuid():N}");
        try
        {
            var variantFolder = newModel is null ? staging : Path.Combine(staging, versionName);
            Directory.CreateDirectory(variantFolder);
            var variantPath = Path.Combine(variantFolder, fileName);
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
            var notes = new List<string>();
            ModelConfig? newConfig = null;
            using (var variant = CreateInstance(backend, parent with { ModelPath = variantPath }, "the variant"))
            {
                if (newModel is null)
                {
                    if (ConfigSignatureValidator.FindMismatch(completed, variant.Signature) is { } changed)
                    {
                        throw new QuantizationException(
                            $"the variant does not fit model '{job.Model}'s config.pbtxt, which every version shares: {changed}; a variant whose inputs or outputs differ needs a model of its own (--output-model NAME)");
                    }
                }
                else
                {
                    newConfig = QuantizedModelConfig.For(ReadAsWritten(directory, job.Model), newModel, variant.Signature, notes);
                    if (ConfigSignatureValidator.FindMismatch(QuantizedModelConfig.For(completed, newModel, variant.Signature), variant.Signature) is { } changed)
                    {
                        throw new QuantizationException($"the variant does not fit the config written for model '{newModel}' (model '{job.Model}'s, renamed, with the variant's types): {changed}");
                    }
                }
            }
            string? written = null;
            if (gate.Passed)
            {
                if (newConfig is not null)
                {
                    await File.WriteAllTextAsync(Path.Combine(staging, ModelRepositoryScanner.ConfigFileName),
                        QuantizedModelConfig.Text(newConfig, job.Model, parentVersion, job.Settings), cancellationToken).ConfigureAwait(false);
                    foreach (var file in QuantizedModelConfig.ReferencedFiles(newConfig))
                    {
                        CopyBeside(directory.Path, staging, file);
                    }
                }
                Directory.Move(staging, target);
                // As the user named it (a relative repository stays relative in the report).
                written = newModel is null
                    ? Path.Combine(job.Repository, job.Model, versionName)
                    : Path.Combine(job.Repository, newModel);
            }
            notes.AddRange(newModel is null
                ? PolicyNotes(config, directory, parentVersion, version)
                : [$"a server serves model '{newModel}' once it sees the folder (poll mode, or a load request); model '{job.Model}' is unchanged"]);
            return new QuantizeOutcome(job.Model, parentVersion, version, QuantizeSettings.MethodName(job.Settings.Method), report, gate, written, notes)
            {
                OutputModel = newModel,
            };
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }
    }

    // The parent's config as its author wrote it (no defaults filled in, no names given to instance groups), for the new
    // model's config: what the author left to the server is left to it again.
    private static ModelConfig ReadAsWritten(ModelDirectory directory, string model)
    {
        var config = new ModelConfig();
        if (directory.ConfigPath is { } path)
        {
            try
            {
                ConfigTextReader.ReadText(File.ReadAllText(path), $"{model}/{ModelRepositoryScanner.ConfigFileName}", config);
            }
            catch (ModelConfigException e)
            {
                throw new QuantizationException($"model '{model}'s config cannot be read: {e.Message}", e);
            }
        }
        return config;
    }

    // A file or folder the new config names, copied from the parent's model folder; one that is not there is not
    // copied (the server reports it when it loads the new model, as it would the parent).
    private static void CopyBeside(string from, string to, string relative)
    {
        var source = Path.GetFullPath(Path.Combine(from, relative));
        if (!source.StartsWith(Path.GetFullPath(from) + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            return;
        }
        var destination = Path.Combine(to, relative);
        if (File.Exists(source))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(source, destination);
        }
        else if (Directory.Exists(source))
        {
            foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
            {
                CopyBeside(from, to, Path.GetRelativePath(from, file));
            }
        }
    }

    /// <summary>What <see cref="IsModelFolderName"/> takes, for messages.</summary>
    public const string ModelFolderNameExpected = "a model folder name without path separators, not starting with '.', such as income_fp16";

    /// <summary>Whether <paramref name="name"/> is a folder name the repository scanner serves as a model of its own.</summary>
    public static bool IsModelFolderName(string name) =>
        name.Length > 0 && !name.StartsWith('.') && name.IndexOfAny(['/', '\\']) < 0 && name.IndexOfAny(Path.GetInvalidFileNameChars()) < 0;

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
