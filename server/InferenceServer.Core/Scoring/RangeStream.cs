namespace InferenceServer.Core.Scoring;

/// <summary>A read-only window [begin, end) of a file, so a CSV or JSONL parser sees only its split's lines.</summary>
internal sealed class RangeStream : Stream
{
    private readonly FileStream _file;
    private readonly long _begin;
    private readonly long _end;

    public RangeStream(FileStream file, long begin, long end)
    {
        _file = file;
        _begin = begin;
        _end = end;
        _file.Position = begin;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => _end - _begin;

    public override long Position
    {
        get => _file.Position - _begin;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var left = _end - _file.Position;
        if (left <= 0)
        {
            return 0;
        }
        return _file.Read(buffer[..(int)Math.Min(buffer.Length, left)]);
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var left = _end - _file.Position;
        return left <= 0 ? ValueTask.FromResult(0) : _file.ReadAsync(buffer[..(int)Math.Min(buffer.Length, left)], cancellationToken);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _file.Dispose();
        }
        base.Dispose(disposing);
    }
}
