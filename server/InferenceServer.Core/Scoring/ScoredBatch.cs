using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// A batch on its way to the writer: the rows that were scored (their keys and the model's outputs, one row each) and
/// the rows that were refused, for one split. The last item of a split carries <see cref="EndOfSplit"/> and no rows.
/// </summary>
internal sealed class ScoredBatch : IDisposable
{
    public required InputSplit Split { get; init; }

    /// <summary>True for the marker that closes its split (commit it).</summary>
    public bool EndOfSplit { get; init; }

    /// <summary>Rows scored.</summary>
    public int Count { get; init; }

    /// <summary>Per key column, each scored row's key as text (null: missing).</summary>
    public string?[][] Keys { get; init; } = [];

    /// <summary>The response's outputs, as <see cref="OutputSchema.Outputs"/> orders them; [Count, ...] each.</summary>
    public Tensor[] Outputs { get; init; } = [];

    /// <summary>The version that answered.</summary>
    public string ModelVersion { get; init; } = "";

    /// <summary>Rows refused, in row order.</summary>
    public IReadOnlyList<BadRow> Bad { get; init; } = [];

    /// <summary>Rows read (scored and refused).</summary>
    public int RowsRead { get; init; }

    public void Dispose()
    {
        foreach (var output in Outputs)
        {
            output.Dispose();
        }
    }
}
