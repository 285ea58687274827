using System.Diagnostics;
using System.Globalization;
using InferenceServer.Core.Backends;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Monitoring;
using InferenceServer.Core.Repository;
using InferenceServer.Core.Scheduling;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Models;

/// <summary>
/// One version of a model: READY with its completed config and a scheduler over its instances, or
/// UNAVAILABLE with the reason it could not load. Immutable apart from being disposed.
/// </summary>
public sealed class ModelVersion : IAsyncDisposable
{
    private readonly IScheduler? _scheduler;
    private readonly string[] _allOutputNames = [];

    private ModelVersion(string name, long version, ModelState state, string reason, ModelConfig? config, IScheduler? scheduler, int instanceCount, ModelStatistics? statistics)
    {
        Name = name;
        Version = version;
        VersionText = version.ToString(CultureInfo.InvariantCulture);
        State = state;
        Reason = reason;
        Config = config;
        _scheduler = scheduler;
        InstanceCount = instanceCount;
        Statistics = statistics;
        if (config is not null)
        {
            _allOutputNames = config.Outputs.Select(o => o.Name).ToArray();
        }
    }

    /// <summary>Model name.</summary>
    public string Name { get; }

    /// <summary>Version number (the folder name).</summary>
    public long Version { get; }

    /// <summary>Version number as the protocols spell it.</summary>
    public string VersionText { get; }

    /// <summary>READY or UNAVAILABLE.</summary>
    public ModelState State { get; }

    /// <summary>Why the version is not READY; empty when it is.</summary>
    public string Reason { get; }

    /// <summary>The completed config (what <c>/config</c> returns); null when loading failed before it was known.</summary>
    public ModelConfig? Config { get; }

    /// <summary>How many instances serve this version.</summary>
    public int InstanceCount { get; }

    /// <summary>What this version has served (the statistics extension, the metrics); null unless READY.</summary>
    public ModelStatistics? Statistics { get; }

    /// <summary>A version that serves; <paramref name="statistics"/> should be the scheduler's observer (a fresh, unmetered one when null).</summary>
    public static ModelVersion Ready(string name, long version, ModelConfig config, IScheduler scheduler, int instanceCount, ModelStatistics? statistics = null) =>
        new(name, version, ModelState.Ready, "", config, scheduler, instanceCount,
            statistics ?? new ModelStatistics(name, version.ToString(CultureInfo.InvariantCulture), config.MaxBatchSize));

    /// <summary>A version that failed to load.</summary>
    public static ModelVersion Failed(string name, long version, string reason, ModelConfig? config = null) =>
        new(name, version, ModelState.Unavailable, reason, config, null, 0, null);

    /// <summary>Validates the request against the config, runs it and returns the outputs it asked for.</summary>
    public async Task<InferenceResponse> InferAsync(InferenceRequest request, CancellationToken cancellationToken)
    {
        if (_scheduler is null || Config is null || Statistics is null)
        {
            throw new InferenceException(InferenceErrorKind.Unavailable, $"model '{Name}' version {VersionText} is not ready: {Reason}");
        }
        var startedAt = Stopwatch.GetTimestamp();
        var scheduled = false;
        try
        {
            RequestValidator.Validate(Config, request);
            ApplyInputReshapes(Config, request);

            IReadOnlyList<string> outputNames = request.RequestedOutputs.Count > 0 ? request.RequestedOutputs : _allOutputNames;
            var work = new SchedulerWork(request.Inputs, outputNames, request.Priority, request.TimeoutMicroseconds);
            scheduled = true;
            var outputs = await _scheduler.ScheduleAsync(work, cancellationToken).ConfigureAwait(false);
            scheduled = false;
            ApplyOutputReshapes(Config, outputs);
            var response = new InferenceResponse(Name, VersionText, request.Id, outputs);
            Statistics.InferenceSucceeded(BatchSize(Config, request), Stopwatch.GetElapsedTime(startedAt));
            return response;
        }
        catch (Exception)
        {
            // A failure inside the scheduler was counted there, with its reason; any other is OTHER.
            Statistics.InferenceFailed(Stopwatch.GetElapsedTime(startedAt), reportedByScheduler: scheduled);
            throw;
        }
    }

    // Triton counts a request as as many inferences as its batch dimension holds.
    private static long BatchSize(ModelConfig config, InferenceRequest request) =>
        config.MaxBatchSize > 0 && request.Inputs.Count > 0 && request.Inputs[0].Shape.Length > 0 ? request.Inputs[0].Shape[0] : 1;

    // The model sees the config's reshape.shape; the client sent dims. Bytes are unchanged, only the shape.
    private static void ApplyInputReshapes(ModelConfig config, InferenceRequest request)
    {
        for (var i = 0; i < request.Inputs.Count; i++)
        {
            var input = request.Inputs[i];
            var reshape = FindReshape(config.Inputs, input.Name);
            if (reshape is not null)
            {
                request.Inputs[i] = input.Rename(input.Name, WithBatch(config, input.Shape, reshape));
            }
        }
    }

    private static void ApplyOutputReshapes(ModelConfig config, Tensor[] outputs)
    {
        for (var i = 0; i < outputs.Length; i++)
        {
            var output = outputs[i];
            foreach (var expected in config.Outputs)
            {
                if (expected.Name == output.Name && expected.Reshape is not null)
                {
                    outputs[i] = output.Rename(output.Name, ResolveDims(WithBatch(config, output.Shape, expected.Dims), output.ElementCount));
                }
            }
        }
    }

    private static long[] WithBatch(ModelConfig config, long[] actualShape, long[] dims) =>
        config.MaxBatchSize > 0 ? [actualShape[0], .. dims] : (long[])dims.Clone();

    // A config dim of -1 in a reshaped output takes whatever the element count leaves for it.
    private static long[] ResolveDims(long[] shape, long elementCount)
    {
        var unknown = Array.IndexOf(shape, -1L);
        if (unknown >= 0)
        {
            long known = 1;
            for (var i = 0; i < shape.Length; i++)
            {
                if (i != unknown)
                {
                    known *= shape[i];
                }
            }
            shape[unknown] = known == 0 ? 0 : elementCount / known;
        }
        return shape;
    }

    private static long[]? FindReshape(IReadOnlyList<TensorConfig> tensors, string name)
    {
        foreach (var tensor in tensors)
        {
            if (tensor.Name == name)
            {
                return tensor.Reshape;
            }
        }
        return null;
    }

    /// <summary>Stops taking requests, finishes the accepted ones and releases the instances.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_scheduler is not null)
        {
            await _scheduler.DisposeAsync().ConfigureAwait(false);
        }
        Statistics?.Dispose();
    }
}
