using InferenceServer.Core.Tensors;

namespace InferenceServer.Core.Scheduling;

/// <summary>
/// The requests one instance runs together, filled by the <see cref="BatchFormer"/>. Each instance
/// owns one and reuses its arrays from batch to batch.
/// </summary>
internal sealed class Batch(int capacity)
{
    /// <summary>The batch's requests in batch order; the first <see cref="Count"/> are set while it is formed and runs.</summary>
    public QueuedRequest[] Requests { get; } = new QueuedRequest[capacity];

    /// <summary>The same requests' work, as the assembler wants it.</summary>
    public SchedulerWork[] Works { get; } = new SchedulerWork[capacity];

    /// <summary>Per-request outputs the scatter fills.</summary>
    public Tensor[]?[] Results { get; } = new Tensor[]?[capacity];

    /// <summary>The assembled inputs handed to the instance, sized to the model's input count.</summary>
    public Tensor[] Inputs { get; set; } = [];

    public int Count { get; set; }

    /// <summary>Sum of the batch dimensions of <see cref="Requests"/>.</summary>
    public int TotalSize { get; set; }
}
