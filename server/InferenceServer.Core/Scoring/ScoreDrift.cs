using InferenceServer.Core.Drift;
using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// What a <see cref="ScorePipeline"/> run scored, compared with the model's training profile: each batch's raw cells (a
/// view-level profile) or encoded inputs (a tensor-level one) and its outputs go into a <see cref="DriftBatch"/>, whose
/// report the summary prints. Batches are scored concurrently and the batch takes one writer at a time, so recording
/// holds a lock: a few microseconds per batch of hundreds of rows, off the inference itself.
/// </summary>
public sealed class ScoreDrift
{
    private readonly DriftBatch _batch;
    private readonly bool _batched;
    private readonly Lock _lock = new();

    /// <summary>
    /// Records into <paramref name="batch"/>; <paramref name="batched"/>: the model's tensors carry a batch dimension
    /// (max_batch_size above 0).
    /// </summary>
    public ScoreDrift(DriftBatch batch, string model, string version, string source, bool batched)
    {
        ArgumentNullException.ThrowIfNull(batch);
        _batch = batch;
        _batched = batched;
        Model = model;
        Version = version;
        Source = source;
    }

    /// <summary>The model the report names.</summary>
    public string Model { get; }

    /// <summary>The version the report names (the one whose profile is compared against).</summary>
    public string Version { get; }

    /// <summary>What was scored, as the report names it: the input as given.</summary>
    public string Source { get; }

    // Before inference: the rows scored (good) of a read batch, and the inputs encoded from them, which running may
    // release. The batch goes back to the pool after this.
    internal void Encoded(RecordBatch batch, IReadOnlyList<int> good, IReadOnlyList<Tensor> inputs)
    {
        if (good.Count == 0)
        {
            return;
        }
        lock (_lock)
        {
            if (_batch.Plan.ViewLevel)
            {
                _batch.RecordCells(batch, good);
            }
            else
            {
                _batch.RecordInputs(inputs, _batched);
            }
        }
    }

    // After inference: the model's answers for those rows.
    internal void Answered(IReadOnlyList<Tensor> outputs)
    {
        lock (_lock)
        {
            _batch.RecordOutputs(outputs, _batched);
        }
    }

    /// <summary>The report of every row recorded so far (every row is offered; a seeded reservoir keeps a bounded sample).</summary>
    public DriftReport Report()
    {
        lock (_lock)
        {
            return _batch.Report(Model, Version, Source, 1);
        }
    }
}
