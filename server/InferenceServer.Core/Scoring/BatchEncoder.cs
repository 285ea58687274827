using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Scoring;

/// <summary>
/// Turns a batch's raw rows into the model's input tensors: through the model's feature view when it has one (the
/// engine the online path uses), else column by column into the inputs of the same names. Rows that cannot be encoded
/// are left out and reported; the tensors hold the others, in order.
/// </summary>
internal abstract class BatchEncoder
{
    /// <summary>The columns the encoder reads, first in a batch's column order (the key columns follow them).</summary>
    public abstract IReadOnlyList<string> Columns { get; }

    /// <summary>
    /// Encodes the rows of <paramref name="batch"/> that are not in <paramref name="bad"/> already; adds the rows it
    /// refuses to <paramref name="bad"/> (batch row, reason) and the rows it encoded, in order, to <paramref name="good"/>.
    /// The tensors (owned by the caller) have one row per good row; none when no row is good.
    /// </summary>
    public abstract Tensor[] Encode(RecordBatch batch, List<int> good, Dictionary<int, string> bad, DateTimeOffset now);
}
