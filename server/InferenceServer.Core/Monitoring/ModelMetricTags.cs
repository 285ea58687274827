using InferenceServer.Core.Scheduling;

namespace InferenceServer.Core.Monitoring;

/// <summary>
/// The tag lists of one model version, built once at load so that recording a measurement passes
/// a ready span instead of allocating a tag list per request.
/// </summary>
internal sealed class ModelMetricTags
{
    /// <summary>Tag names as Triton labels its per-model series.</summary>
    public const string Model = "model";

    /// <inheritdoc cref="Model"/>
    public const string Version = "version";

    /// <inheritdoc cref="Model"/>
    public const string Reason = "reason";

    private readonly KeyValuePair<string, object?>[][] _failures;

    public ModelMetricTags(string model, string version)
    {
        Base = [new(Model, model), new(Version, version)];
        var reasons = Enum.GetValues<SchedulerFailure>();
        _failures = new KeyValuePair<string, object?>[reasons.Length][];
        foreach (var reason in reasons)
        {
            _failures[(int)reason] = [new(Model, model), new(Version, version), new(Reason, ReasonName(reason))];
        }
    }

    /// <summary><c>model</c> and <c>version</c>.</summary>
    public KeyValuePair<string, object?>[] Base { get; }

    /// <summary><c>model</c>, <c>version</c> and the failure's <c>reason</c>.</summary>
    public KeyValuePair<string, object?>[] Failure(SchedulerFailure reason) => _failures[(int)reason];

    /// <summary>Triton's spelling of a failure reason.</summary>
    public static string ReasonName(SchedulerFailure reason) => reason switch
    {
        SchedulerFailure.Rejected => "REJECTED",
        SchedulerFailure.Canceled => "CANCELED",
        SchedulerFailure.Backend => "BACKEND",
        _ => "OTHER",
    };
}
