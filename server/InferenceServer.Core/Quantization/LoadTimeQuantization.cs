using InferenceServer.Core.Backends;
using InferenceServer.Core.Models;
using InferenceServer.Core.Repository;

namespace InferenceServer.Core.Quantization;

/// <summary>
/// The "at load" path: a config whose parameters ask for a quantized variant gets it made once (or taken from the
/// <see cref="VariantCache"/>), checked by the <see cref="AccuracyGate"/> against the FP32 parent on the configured
/// evaluation file or the warm-up samples, and served only when it passes. Every problem on the way (no evaluation
/// rows, a quantizer that refuses the model, a failed gate) keeps the FP32 model serving, with the reason.
/// </summary>
internal static class LoadTimeQuantization
{
    /// <summary>
    /// Decides what version <paramref name="version"/> serves. <paramref name="parent"/> are the FP32 instance's options;
    /// <paramref name="completed"/> the completed config (its outputs are compared).
    /// </summary>
    public static VariantDecision Decide(QuantizeParameters request, string modelFolder, long version, ModelConfig completed, IModelBackend backend,
        InstanceOptions parent, WarmupSources warmup, CancellationToken cancellationToken)
    {
        var method = QuantizeSettings.MethodName(request.Settings.Method);
        string Refused(string why) => $"serving FP32: the {method} variant {why}";
        if (backend.Quantizer is not { } quantizer)
        {
            return Keep(parent, Refused($"cannot be made: backend '{backend.Name}' does not quantize"));
        }
        EvaluationSet? evaluation = null;
        EvaluationSet? calibration = null;
        try
        {
            evaluation = request.EvalFile is { } evalFile
                ? EvaluationSet.ReadFileAsync(InModelFolder(modelFolder, evalFile, QuantizeParameters.EvalFileKey, warmup.FollowLinks), completed, request.EvalLabel,
                    cancellationToken: cancellationToken).GetAwaiter().GetResult()
                : EvaluationSet.FromWarmup(completed, warmup);
            if (evaluation.Batches.Count == 0)
            {
                return Keep(parent, Refused($"was not checked: there are no evaluation rows (give '{QuantizeParameters.EvalFileKey}' or model_warmup samples)"));
            }
            if (request.CalibrationFile is { } calibrationFile)
            {
                calibration = EvaluationSet.ReadFileAsync(InModelFolder(modelFolder, calibrationFile, QuantizeParameters.CalibrationKey, warmup.FollowLinks), completed, null,
                    cancellationToken: cancellationToken).GetAwaiter().GetResult();
            }
            var path = VariantCache.PathFor(modelFolder, version, parent.ModelPath, request.Settings);
            var reused = File.Exists(path);
            if (!reused)
            {
                var samples = (calibration ?? evaluation).AsRequests();
                VariantCache.Write(path, temporary => quantizer.Quantize(parent.ModelPath, temporary, request.Settings, samples, cancellationToken));
                VariantCache.PruneStale(path);
            }
            var gate = AccuracyGate.Evaluate(backend, parent, path, completed.Output.Select(o => o.Name).ToArray(), evaluation, request.Limits, cancellationToken);
            return gate.Passed
                ? new VariantDecision(path, method, "", gate, reused)
                : new VariantDecision(parent.ModelPath, VariantDecision.Fp32, Refused($"was {gate.Summary()}"), gate, reused);
        }
        catch (QuantizationException e)
        {
            return Keep(parent, Refused($"cannot be made: {e.Message}"));
        }
        catch (ModelLoadException e)
        {
            return Keep(parent, Refused($"was not checked: {e.Message}"));
        }
        catch (BackendException e)
        {
            return Keep(parent, Refused($"does not run: {e.Message}"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Keep(parent, Refused($"cannot be cached: {e.Message}"));
        }
        finally
        {
            evaluation?.Dispose();
            calibration?.Dispose();
        }
    }

    private static VariantDecision Keep(InstanceOptions parent, string note) => new(parent.ModelPath, VariantDecision.Fp32, note, null, false);

    // A file a parameter names lies in the model folder, as warm-up data files lie in its warmup folder; and, as for them,
    // a symbolic link on the way (which could point anywhere) is refused unless --repository-follow-symlinks allows it.
    private static string InModelFolder(string modelFolder, string relative, string key, bool followLinks)
    {
        var folder = Path.GetFullPath(modelFolder);
        var path = Path.GetFullPath(Path.Combine(folder, relative));
        if (!path.StartsWith(folder + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new QuantizationException($"parameter '{key}' names '{relative}', which is outside the model folder");
        }
        if (!followLinks && SymbolicLinks.FirstLink(folder, path) is not null)
        {
            throw new QuantizationException($"parameter '{key}' names '{relative}': {SymbolicLinks.Refused(relative)}");
        }
        if (!File.Exists(path))
        {
            throw new QuantizationException($"parameter '{key}' names '{relative}', which is not a file in the model folder");
        }
        return path;
    }
}
