using System.Buffers;
using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace InferenceServer.Core.Features.Sidecar;

/// <summary>
/// One persistent connection to the sidecar. A lookup on an idle connection is written at once by the caller that
/// queues it (no hand-over to another thread on the way out). While a frame is in flight, lookups wait in the queue
/// and go out together when its answer comes, coalesced into one lookup frame per view and field list: one send, one
/// sidecar read and one pipelined store round trip for all of them, so a busy connection batches by itself and an
/// idle one adds no wait. A read loop on a thread of the connection's own, waiting on the socket (see
/// <see cref="SidecarSocket"/>), matches each answer to its frame by id, in whatever order the answers come, and the
/// caller's continuation runs there. When the read loop ends or a write fails (the sidecar went away, a malformed answer,
/// the server stopping), <see cref="RunAsync"/> returns why, and every lookup still waiting fails with that reason at once.
/// </summary>
internal sealed class SidecarConnection : IDisposable
{
    // The most lookups one frame carries: a frame of 1,024 keys stays far below the wire's body limit.
    private const int MaxKeysPerFrame = 1024;

    // Frames sent and not yet answered after which lookups wait to go out together with the next answer.
    private const int MaxFramesInFlight = 2;

    // Only a thread-pool thread waits for the socket, and only while the sidecar reads nothing (its reader drains the
    // socket); past this the sidecar counts as gone.
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Why a lookup failed when a defect on this side ended its connection; the defect itself is only logged.</summary>
    internal const string InternalFailure = "the server's connection to it failed unexpectedly (the server logged why)";

    private readonly SidecarSocket _connection;
    private readonly string _address;
    private readonly int _index;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<PendingLookup> _queue = NewQueue();
    private readonly ConcurrentDictionary<uint, PendingFrame> _frames = new();
    private readonly List<PendingLookup> _group = [];
    private readonly List<PendingLookup?> _batch = [];
    private readonly CancellationTokenSource _ending = new();
    // Set with why a write failed; ends the connection as the read loop ending does.
    private readonly TaskCompletionSource<string> _writeFailed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    // 1 while one caller drains the queue onto the socket: the only writer, and the queue's only reader.
    private int _writing;
    private int _inFlight;
    private uint _nextId;

    public SidecarConnection(Socket socket, string address, int index, TimeProvider time, ILogger logger)
    {
        _connection = new SidecarSocket(socket, SendTimeout);
        _address = address;
        _index = index;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// The queue of lookups waiting to go out. Every caller and the read loop peek at it (<see cref="CanSend"/>) while
    /// the writer takes from it, so it must allow concurrent readers: the single-reader queue's peek writes the
    /// reader's cached view of the tail, and peeks racing the writer made it hand out empty slots (a lookup read as null).
    /// </summary>
    internal static Channel<PendingLookup> NewQueue() => Channel.CreateUnbounded<PendingLookup>(new UnboundedChannelOptions { SingleReader = false });

    /// <summary>
    /// Queues <paramref name="lookup"/> and, when no write is under way, writes the queue out on this thread; false once
    /// the connection is closing (the caller fails it).
    /// </summary>
    public bool TryEnqueue(PendingLookup lookup)
    {
        if (!_queue.Writer.TryWrite(lookup))
        {
            return false;
        }
        TryDrain();
        return true;
    }

    // Writes the queue out on this thread when a frame may be sent now and no one else is writing. Called after a lookup
    // is queued and after an answer is matched; each side changes its state before it looks at the other's, so the
    // last of them sees both and no lookup is left waiting for an answer that will not come.
    private void TryDrain(bool onReader = false)
    {
        Interlocked.MemoryBarrier();
        if (CanSend() && Interlocked.CompareExchange(ref _writing, 1, 0) == 0)
        {
            // A failure ends the connection through _writeFailed.
            if (onReader)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static connection => connection.Drain(mayWait: true), this, preferLocal: false);
            }
            else
            {
                Drain(mayWait: false);
            }
        }
    }

    private bool CanSend() => Volatile.Read(ref _inFlight) < MaxFramesInFlight && _queue.Reader.TryPeek(out _);

    /// <summary>Runs the connection until it breaks or <paramref name="stopping"/>; returns why it ended, for the lookups' errors.</summary>
    public async Task<string> RunAsync(CancellationToken stopping)
    {
        using var stop = stopping.UnsafeRegister(static state => ((SidecarConnection)state!).Interrupt(), this);
        var reading = SidecarSocket.StartReader(ReadLoop, "feature-sidecar reader");
        var first = await Task.WhenAny(_writeFailed.Task, reading).ConfigureAwait(false);
        var reason = stopping.IsCancellationRequested ? "the server is stopping" : await first.ConfigureAwait(false);
        _queue.Writer.TryComplete();
        Interrupt();
        await reading.ConfigureAwait(false);
        // Takes the writer's place for good, once a write under way has ended (the shutdown above ends one that waits):
        // nothing is added to the frames or taken from the queue after this.
        while (Interlocked.CompareExchange(ref _writing, 1, 0) != 0)
        {
            await Task.Delay(1).ConfigureAwait(false);
        }
        var message = $"the feature sidecar at {_address} is not reachable: {reason}";
        foreach (var frame in _frames.Values)
        {
            frame.Fail(SidecarLookupStatus.Unreachable, message);
        }
        _frames.Clear();
        while (_queue.Reader.TryRead(out var lookup))
        {
            lookup.Complete(new SidecarLookupResult(SidecarLookupStatus.Unreachable, message));
        }
        return reason;
    }

    // Ends the blocking receive (and a send that waits) with the connection.
    private void Interrupt()
    {
        _ending.Cancel();
        try
        {
            _connection.Socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Not connected any more: nothing to unblock.
        }
    }

    // The writer's loop: what queued meanwhile goes out together, until the queue is empty or the frames in flight are
    // as many as allowed. The writer's place is given up before the last look at both, so a lookup queued or an answer
    // matched meanwhile is either seen here or finds the place free. A caller's thread (mayWait false) sends only what the
    // socket takes at once, and hands the rest, still the writer, to a thread-pool thread that may wait for the socket.
    private void Drain(bool mayWait)
    {
        string? failure;
        try
        {
            if (mayWait)
            {
                // What a caller's thread left unsent goes first.
                _connection.Send();
            }
            do
            {
                while (CanSend())
                {
                    while (_batch.Count < MaxKeysPerFrame && _queue.Reader.TryRead(out var lookup))
                    {
                        if (!lookup.Abandoned)
                        {
                            _batch.Add(lookup);
                        }
                    }
                    if (_ending.IsCancellationRequested)
                    {
                        throw new OperationCanceledException();
                    }
                    WriteFrames(_batch);
                    _batch.Clear();
                    if (mayWait)
                    {
                        _connection.Send();
                    }
                    else if (!_connection.TrySend())
                    {
                        ThreadPool.UnsafeQueueUserWorkItem(static connection => connection.Drain(mayWait: true), this, preferLocal: false);
                        return;
                    }
                }
                Interlocked.Exchange(ref _writing, 0);
            }
            while (CanSend() && Interlocked.CompareExchange(ref _writing, 1, 0) == 0);
            return;
        }
        catch (OperationCanceledException)
        {
            failure = "the server is stopping";
        }
        catch (Exception e) when (e is SocketException or IOException or ObjectDisposedException)
        {
            failure = e.Message;
        }
        catch (Exception e)
        {
            // A defect of this side, not the sidecar's: this may run on a thread-pool thread, where an exception that
            // escaped would end the process; here it is logged with its stack and ends the connection, which reconnects.
            // The callers get what failed, not the runtime's message.
            SidecarClientLog.Failed(_logger, e, _address, _index);
            failure = InternalFailure;
        }
        // Still the writer here. The frames written are registered, so they fail with the connection; lookups taken from
        // the queue and not yet in a frame fail now (one that is in a frame too keeps the first answer). The place is
        // given up so that RunAsync can take it.
        var message = $"the feature sidecar at {_address} is not reachable: {failure}";
        foreach (var lookup in _batch)
        {
            lookup?.Complete(new SidecarLookupResult(SidecarLookupStatus.Unreachable, message));
        }
        _batch.Clear();
        Volatile.Write(ref _writing, 0);
        _writeFailed.TrySetResult(failure);
    }

    // One frame per view and field list among the batch; each lookup's keys follow the previous one's.
    private void WriteFrames(List<PendingLookup?> batch)
    {
        var now = _time.GetTimestamp();
        for (var first = 0; first < batch.Count; first++)
        {
            if (batch[first] is not { } lead)
            {
                continue;
            }
            _group.Add(lead);
            var keys = lead.Keys.Length;
            var latest = lead.Deadline;
            for (var other = first + 1; other < batch.Count; other++)
            {
                if (batch[other] is { } candidate && SameQuery(lead, candidate) && keys + candidate.Keys.Length <= MaxKeysPerFrame)
                {
                    _group.Add(candidate);
                    batch[other] = null;
                    keys += candidate.Keys.Length;
                    latest = Math.Max(latest, candidate.Deadline);
                }
            }
            var lookups = _group.ToArray();
            _group.Clear();
            var id = ++_nextId;
            // Registered before it is written: the answer may come back before the write returns.
            _frames[id] = new PendingFrame(lookups, keys);
            Interlocked.Increment(ref _inFlight);
            WriteFrame(id, lookups, keys, TimeoutMilliseconds(latest - now));
        }
    }

    private static bool SameQuery(PendingLookup a, PendingLookup b) =>
        ReferenceEquals(a.Fields, b.Fields) && string.Equals(a.View, b.View, StringComparison.Ordinal);

    // The sidecar gets the latest deadline of the frame's lookups; each caller still stops at its own.
    private uint TimeoutMilliseconds(long ticks) =>
        (uint)Math.Clamp(Math.Ceiling(_time.GetElapsedTime(0, Math.Max(ticks, 0)).TotalMilliseconds), 1, uint.MaxValue);

    // [1, id, timeout_ms, view, fields, keys], framed. A lone lookup's keys go as they are; a frame of several joins
    // theirs in a pooled array.
    private void WriteFrame(uint id, PendingLookup[] lookups, int keys, uint timeoutMs)
    {
        var lead = lookups[0];
        if (lookups.Length == 1)
        {
            SidecarMessages.WriteLookup(_connection.Output, id, timeoutMs, lead.View, lead.Fields, lead.Keys);
            return;
        }
        var joined = ArrayPool<string>.Shared.Rent(keys);
        try
        {
            var next = 0;
            foreach (var lookup in lookups)
            {
                lookup.Keys.CopyTo(joined, next);
                next += lookup.Keys.Length;
            }
            SidecarMessages.WriteLookup(_connection.Output, id, timeoutMs, lead.View, lead.Fields, joined.AsSpan(0, keys));
        }
        finally
        {
            ArrayPool<string>.Shared.Return(joined, clearArray: true);
        }
    }

    private string ReadLoop()
    {
        try
        {
            while (true)
            {
                if (!_connection.Receive())
                {
                    return _ending.IsCancellationRequested ? "the server is stopping" : "the sidecar closed the connection";
                }
                var buffer = _connection.Buffered;
                while (SidecarFrames.TryReadFrame(ref buffer, out var body))
                {
                    if (Dispatch(body) is { } broken)
                    {
                        return broken;
                    }
                }
                _connection.Consume(buffer);
                // What queued while the answered frames were in flight goes out now, together, from a thread-pool
                // thread: the reader never waits on a send, so a sidecar that waits for this side to read its answers
                // while this side waits for it to read lookups cannot hold both. At low load the queue is empty here.
                TryDrain(onReader: true);
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return _ending.IsCancellationRequested ? "the server is stopping" : e.Message;
        }
        catch (SidecarProtocolException e)
        {
            return "it sent a frame that is not a lookup answer: " + e.Message;
        }
        catch (Exception e)
        {
            // A defect of this side: the loop's task must end with a reason, never fault, or the connection would stay
            // in the client's list with no reader, silently, and never reconnect.
            SidecarClientLog.Failed(_logger, e, _address, _index);
            return InternalFailure;
        }
    }

    // Matches one answer to its frame; returns why the connection must close when the answer cannot be matched.
    private string? Dispatch(ReadOnlySequence<byte> body)
    {
        SidecarMessageKind kind;
        uint id;
        try
        {
            kind = SidecarMessages.ReadHeader(body, out id);
        }
        catch (SidecarProtocolException e)
        {
            return "it sent a frame that is not a lookup answer: " + e.Message;
        }
        if (kind == SidecarMessageKind.Ping)
        {
            return null;
        }
        if (kind == SidecarMessageKind.Lookup)
        {
            return "it sent a lookup, which only the server sends";
        }
        if (!_frames.TryRemove(id, out var frame))
        {
            // A protocol error about a frame it could not read names id 0, which no frame has: it ends the connection.
            return kind == SidecarMessageKind.ProtocolError
                ? "it reported a protocol error: " + ReadProtocolError(body)
                : $"it answered lookup {id}, which this connection did not send or was answered already";
        }
        Interlocked.Decrement(ref _inFlight);
        try
        {
            if (kind == SidecarMessageKind.ProtocolError)
            {
                frame.Fail(SidecarLookupStatus.BadRequest, $"the feature sidecar at {_address} refused the lookup: {SidecarMessages.ReadProtocolError(body, out _)}");
                return null;
            }
            var result = new SidecarLookupResultReader(body);
            if (result.Status != SidecarStatus.Ok)
            {
                frame.Fail((SidecarLookupStatus)result.Status, Failure(result.Status, result.Message));
                return null;
            }
            frame.Answer(SidecarAnswer.Read(ref result, frame.Keys, frame.Lookups[0].Fields.Count, frame.Lookups.Length));
            return null;
        }
        catch (SidecarProtocolException e)
        {
            // The frame itself was whole, so the connection stays in step; only these lookups fail.
            frame.Fail(SidecarLookupStatus.BadRequest, $"the feature sidecar at {_address} sent a malformed answer: {e.Message}");
            return null;
        }
    }

    private static string ReadProtocolError(ReadOnlySequence<byte> body)
    {
        try
        {
            return SidecarMessages.ReadProtocolError(body, out _);
        }
        catch (SidecarProtocolException e)
        {
            return e.Message;
        }
    }

    private string Failure(SidecarStatus status, string message) => status switch
    {
        SidecarStatus.DeadlineExceeded => $"the feature sidecar at {_address} found the online store too slow: {message}",
        SidecarStatus.StoreUnavailable => $"the feature sidecar at {_address} cannot reach the online store: {message}",
        SidecarStatus.Overloaded => $"the feature sidecar at {_address} is overloaded: {message}",
        _ => $"the feature sidecar at {_address} refused the lookup: {message}",
    };

    public void Dispose()
    {
        _connection.Dispose();
        _ending.Dispose();
    }
}
