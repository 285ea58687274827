using System.Buffers;

namespace InferenceServer.Grpc;

/// <summary>
/// What a handler writes one response message through: forwards to the response pipe (or to the staging buffer when
/// compressing) and counts, so a message can never run past the length already promised in its prefix.
/// </summary>
internal sealed class MessageBodyWriter : IBufferWriter<byte>
{
    private IBufferWriter<byte>? _target;

    /// <summary>Bytes still owed to the current message.</summary>
    public int Remaining { get; private set; }

    public void Start(IBufferWriter<byte> target, int length)
    {
        _target = target;
        Remaining = length;
    }

    public void Stop() => _target = null;

    public void Advance(int count)
    {
        if ((uint)count > (uint)Remaining)
        {
            throw new InvalidOperationException($"Advanced {count} bytes with only {Remaining} left of the message's declared length.");
        }
        Target.Advance(count);
        Remaining -= count;
    }

    public Memory<byte> GetMemory(int sizeHint = 0) => Target.GetMemory(sizeHint);

    public Span<byte> GetSpan(int sizeHint = 0) => Target.GetSpan(sizeHint);

    private IBufferWriter<byte> Target => _target ?? throw new InvalidOperationException("No response message is being written; call BeginMessage first.");
}
