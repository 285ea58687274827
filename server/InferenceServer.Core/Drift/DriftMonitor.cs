using InferenceServer.Core.Features;
using InferenceServer.Core.Inference;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Drift;

/// <summary>
/// Drift monitoring of one serving model version: its training profile, compiled, and the live window its sampled
/// requests write. On the request path it costs, per request, one random draw; per sampled request, one interlocked add
/// and the copy of at most <see cref="DriftOptions.MaxRowsPerRequest"/> rows' values. The report is computed when read.
/// </summary>
public sealed class DriftMonitor
{
    private readonly double _sampleRate;
    private readonly int _maxRows;
    private readonly bool _batched;

    internal DriftMonitor(string model, string version, DriftPlan plan, DriftOptions options, bool batched)
    {
        Model = model;
        Version = version;
        Plan = plan;
        _sampleRate = options.SampleRate;
        _maxRows = options.MaxRowsPerRequest;
        _batched = batched;
        Window = new DriftWindow(plan, options.WindowSize);
    }

    /// <summary>The model.</summary>
    public string Model { get; }

    /// <summary>The version.</summary>
    public string Version { get; }

    /// <summary>The live window.</summary>
    public DriftWindow Window { get; }

    internal DriftPlan Plan { get; }

    /// <summary>
    /// Called as the version starts to run <paramref name="request"/>: true when the request is sampled (its outputs then
    /// go to <see cref="Answered"/>). A request whose raw rows the feature stage kept was sampled there: its rows are
    /// recorded and given back now. Otherwise the request is drawn here, and a tensor-level profile records its inputs.
    /// </summary>
    internal bool Starting(InferenceRequest request)
    {
        if (request.DriftDrawn)
        {
            if (request.DriftRows is not { } rows)
            {
                return false;
            }
            request.DriftRows = null;
            try
            {
                // Rows of another view (a route's own, or this model's view changed since the version loaded) do not
                // hold the fields the plan reads; the request's predictions are still recorded.
                if (Plan.View is { } view && (ReferenceEquals(rows.View, view) || view.SameAs(rows.View)))
                {
                    Window.RecordRows(rows, _maxRows);
                }
            }
            finally
            {
                rows.Dispose();
            }
            return true;
        }
        if (!Draw(_sampleRate))
        {
            return false;
        }
        Window.RecordInputs(request.Inputs, _batched, _maxRows);
        return true;
    }

    /// <summary>
    /// For a version without monitoring: gives back the raw rows the feature stage kept for it at once (they are pooled),
    /// rather than when the request is disposed. Always false: nothing is sampled.
    /// </summary>
    internal static bool Release(InferenceRequest request)
    {
        if (request.DriftRows is { } rows)
        {
            request.DriftRows = null;
            rows.Dispose();
        }
        return false;
    }

    /// <summary>Records a sampled request's outputs.</summary>
    internal void Answered(Tensor[] outputs) => Window.RecordOutputs(outputs, _batched, _maxRows);

    /// <summary>The live window against the profile.</summary>
    public DriftReport Report() => Window.Report(Model, Version, "live", _sampleRate);

    /// <summary>One draw at <paramref name="rate"/>: thread-safe and lock-free (each thread has its own generator).</summary>
    internal static bool Draw(double rate) => rate >= 1 || (rate > 0 && Random.Shared.NextDouble() < rate);
}
